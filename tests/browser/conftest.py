"""The page tests use the workflow tests' Temporal dev server, SMTP server and settings."""

from tests.workflows.conftest import dev_server_env, process_settings, smtp

__all__ = ["dev_server_env", "process_settings", "smtp"]
