"""Settings from the environment (prefix ``PAYDRAW_``) or a ``.env`` file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYDRAW_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = "change-me-in-production"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "paydraw"
    temporal_ui_port: int = 8233
    # Temporal's workflow sandbox re-imports the workflow module for every new workflow and runs
    # each activation through import hooks and proxies: it checks that workflow code calls
    # nothing non-deterministic, and costs the deployed worker much of its CPU (README,
    # Benchmarks). The tests run every workflow inside it (tests/support/temporal.py), so the
    # check happens where the code changes; a deployment may turn it on too.
    workflow_sandbox: bool = False
    # Where a worker serves the Temporal SDK's metrics (host:port, e.g. 0.0.0.0:9000); off when
    # empty. Each worker process needs a port of its own.
    worker_metrics_address: str = ""
    # An OTLP/HTTP collector (e.g. http://otel-collector:4318) to send traces to; off when empty.
    otlp_endpoint: str = ""

    # The mail relay: a local catcher by default (`paydraw run` starts one); in production, a
    # relay such as Amazon SES, SendGrid, Postmark or Microsoft 365, with STARTTLS on port 587
    # or TLS on 465, a user name and a password (never logged or shown).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # A file of CA certificates to trust besides the system's, for a relay of one's own.
    smtp_ca_file: str = ""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "Paydraw <billing@paydraw.local>"

    contact_link_max_age_days: int = 45
    # A staff sign-in link works once, within this many minutes; a signed-in browser stays
    # signed in this many hours.
    sign_in_link_max_age_minutes: float = Field(default=15, gt=0)
    session_max_age_hours: int = Field(default=12, gt=0)
    # The /mailbox page shows the local SMTP catcher's messages, unauthenticated: `paydraw run`
    # turns it on for its own API; a deployment leaves it off.
    local_mailbox: bool = False

    # Backup documents attached to pay apps: on local disk under the data directory (`local`),
    # or in an S3-compatible bucket (`s3`: AWS S3, MinIO, Ceph, R2, ...). The keys of the stored
    # objects are made by Paydraw; no name a caller sends ever becomes a path.
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str = ""  # empty: AWS's own endpoint for the region
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty: boto3's own chain (environment, instance role, ...)
    s3_secret_access_key: SecretStr = SecretStr("")
    attachment_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    pay_app_attachments_max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    # The kinds of file a pay app takes, by what the content is (not by the name's ending):
    # any of pdf, png, jpeg, heic, xlsx, csv, txt, comma-separated.
    attachment_types: str = "pdf,png,jpeg,heic,xlsx,csv,txt"

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'paydraw.db'}"

    @property
    def mailbox_dir(self) -> Path:
        """Where the local mail server of the one-command run keeps every message it gets."""
        return self.data_dir / "mailbox"

    @property
    def attachments_dir(self) -> Path:
        """Where the local storage keeps backup documents."""
        return self.data_dir / "attachments"

    @property
    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def as_environment(self) -> dict[str, str]:
        """These settings as the PAYDRAW_* variables another process of Paydraw's reads, the
        secrets as they are (a SecretStr otherwise shows as stars)."""
        return {
            f"PAYDRAW_{name.upper()}": (
                value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            )
            for name, value in self.model_dump().items()
            if value is not None
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
