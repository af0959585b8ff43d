"""The production stack's files hang together: docker-compose.yml, the Dockerfile, .dockerignore.

Docker's engine is not available to the tests, so these read the files the way Compose and Docker
would and check what a broken deployment would get wrong first.
"""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from compose_spec import PyCompose

ROOT = Path(__file__).resolve().parents[1]
PAYDRAW_SERVICES = ("migrate", "api", "worker")
PAYDRAW_VARIABLES = (
    "PAYDRAW_DATABASE_URL",
    "PAYDRAW_TEMPORAL_ADDRESS",
    "PAYDRAW_SMTP_HOST",
    "PAYDRAW_SMTP_PORT",
    "PAYDRAW_SMTP_SECURITY",
    "PAYDRAW_SMTP_USERNAME",
    "PAYDRAW_SMTP_PASSWORD",
    "PAYDRAW_MAIL_FROM",
    "PAYDRAW_SECRET_KEY",
    "PAYDRAW_PUBLIC_URL",
)
API_COMMAND = ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
ONE_SHOTS = {"temporal-schema", "temporal-namespace", "migrate"}
# ${NAME:-default} and ${NAME-default}: a value Compose uses when the variable is not set.
DEFAULTED = re.compile(r"\$\{(\w+):?-[^}]*\}")


def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load(compose_text())
    services: dict[str, Any] = compose["services"]
    return services


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition; the short list form means the service has started."""
    needed = service.get("depends_on", {})
    if isinstance(needed, list):
        return dict.fromkeys(needed, "service_started")
    return {name: options["condition"] for name, options in needed.items()}


def pinned(image: str) -> bool:
    """An exact release: a tag with a full version (16.6, v1.27.4, 1.29.1-tctl-...), never
    latest and never a major alone (postgres:16 floats)."""
    name, _, tag = image.rpartition(":")
    return bool(name) and re.match(r"v?\d+\.\d+(\.\d+)?([.-]\w+)*$", tag) is not None


class TestTheComposeSpecification:
    def test_the_file_is_a_valid_compose_file(self) -> None:
        # Anchors and merge keys resolved as Compose resolves them, then the specification's own
        # rules (keys, types, conditions, ports, durations) by the compose_spec library.
        PyCompose.from_json(json.dumps(yaml.safe_load(compose_text())))

    @pytest.mark.parametrize(
        "mistake",
        [
            "services:\n  api:\n    imagee: paydraw\n",
            "services:\n  api:\n    image: p\n    depends_on:\n      db:\n        condition: up\n",
            "services:\n  api:\n    image: p\n    ports: ['99999:80']\n",
        ],
    )
    def test_the_check_catches_what_compose_would_refuse(self, mistake: str) -> None:
        with pytest.raises(ValueError):
            PyCompose.from_json(json.dumps(yaml.safe_load(mistake)))


class TestComposeServices:
    def test_the_whole_stack_is_there(self, services: dict[str, Any]) -> None:
        assert set(services) == {
            "temporal-db",
            "temporal-schema",
            "temporal",
            "temporal-namespace",
            "temporal-ui",
            "app-db",
            "migrate",
            "api",
            "worker",
            "proxy",
            "mailpit",
            "prometheus",
            "grafana",
        }

    def test_every_image_is_pinned_to_a_release(self, services: dict[str, Any]) -> None:
        images = {name: service["image"] for name, service in services.items()}
        floating = {
            name: image
            for name, image in images.items()
            if image != "paydraw:latest" and not pinned(image)
        }
        assert floating == {}
        assert pinned("postgres:16.6-bookworm") and not pinned("postgres:16")

    def test_no_password_or_secret_has_a_default(self) -> None:
        defaulted = set(DEFAULTED.findall(compose_text()))
        secrets = {name for name in defaulted if re.search("PASSWORD|SECRET", name)}
        # The SMTP password may be empty: a relay on a private network, or Mailpit.
        assert secrets <= {"PAYDRAW_SMTP_PASSWORD"}
        for required in ("PAYDRAW_DB_PASSWORD", "TEMPORAL_DB_PASSWORD", "PAYDRAW_SECRET_KEY"):
            assert "${" + required + ":?" in compose_text(), required

    def test_temporal_is_its_server_image_with_a_schema_job(self, services: dict[str, Any]) -> None:
        temporal = services["temporal"]
        assert temporal["image"].startswith("temporalio/server:")
        assert temporal["environment"]["DB"] == "postgres12"
        assert temporal["environment"]["POSTGRES_SEEDS"] == "temporal-db"
        assert depends_on(temporal) == {"temporal-schema": "service_completed_successfully"}
        for job in ("temporal-schema", "temporal-namespace"):
            assert services[job]["image"].startswith("temporalio/admin-tools:")
        assert services["temporal-schema"]["command"][-1] == "schema"
        assert services["temporal-namespace"]["command"][-1] == "namespace"
        script = (ROOT / "deploy/temporal-setup.sh").read_text()
        assert "update-schema" in script and "namespace create" in script
        assert "auto-setup" not in compose_text()

    def test_the_app_has_a_separate_database(self, services: dict[str, Any]) -> None:
        written = services["api"]["environment"]["PAYDRAW_DATABASE_URL"]
        url = urlsplit(re.sub(r"\$\{[^}]*\}", "password", written))  # as Compose fills it in
        assert url.scheme == "postgresql+psycopg"
        assert url.hostname == "app-db"
        assert url.path == "/" + services["app-db"]["environment"]["POSTGRES_DB"]
        assert services["app-db"]["volumes"] != services["temporal-db"]["volumes"]

    def test_mailpit_and_monitoring_are_opt_in(self, services: dict[str, Any]) -> None:
        assert services["mailpit"]["profiles"] == ["mailpit"]
        assert services["prometheus"]["profiles"] == ["monitoring"]
        assert services["grafana"]["profiles"] == ["monitoring"]
        for name in PAYDRAW_SERVICES:
            assert not {"mailpit", "prometheus", "grafana"} & set(depends_on(services[name]))


class TestPaydrawServices:
    def test_api_worker_and_migrate_are_one_image(self, services: dict[str, Any]) -> None:
        builds = {(services[name]["build"], services[name]["image"]) for name in PAYDRAW_SERVICES}
        assert builds == {(".", "paydraw:latest")}

    @pytest.mark.parametrize("name", PAYDRAW_SERVICES)
    @pytest.mark.parametrize("variable", PAYDRAW_VARIABLES)
    def test_configuration_is_set(self, services: dict[str, Any], name: str, variable: str) -> None:
        assert variable in services[name]["environment"]

    def test_mail_goes_to_the_relay_the_operator_names(self, services: dict[str, Any]) -> None:
        environment = services["worker"]["environment"]
        assert environment["PAYDRAW_TEMPORAL_ADDRESS"].rpartition(":")[0] in services
        assert environment["PAYDRAW_SMTP_HOST"].startswith("${PAYDRAW_SMTP_HOST:?")
        assert environment["PAYDRAW_SMTP_SECURITY"] == "${PAYDRAW_SMTP_SECURITY:-starttls}"
        assert environment["PAYDRAW_SMTP_PORT"] == "${PAYDRAW_SMTP_PORT:-587}"

    def test_the_secret_key_has_no_default(self, services: dict[str, Any]) -> None:
        # ${VAR:?message} makes Compose refuse to start without it.
        assert services["api"]["environment"]["PAYDRAW_SECRET_KEY"].startswith(
            "${PAYDRAW_SECRET_KEY:?"
        )

    def test_commands(self, services: dict[str, Any]) -> None:
        assert services["migrate"]["command"] == ["paydraw", "migrate"]
        assert services["api"]["command"] == [
            *API_COMMAND,
            "--proxy-headers",
            "--forwarded-allow-ips",
            "*",
        ]
        assert services["worker"]["command"] == ["python", "-m", "paydraw.worker"]

    @pytest.mark.parametrize("name", ["api", "worker"])
    def test_two_of_each_and_more_on_demand(self, services: dict[str, Any], name: str) -> None:
        assert services[name]["deploy"]["replicas"] == 2
        assert "container_name" not in services[name]  # a fixed name allows one replica
        assert "ports" not in services[name]  # a published port allows one replica, too

    def test_the_api_is_reached_through_the_tls_proxy_only(self, services: dict[str, Any]) -> None:
        proxy = services["proxy"]
        assert proxy["image"].startswith("caddy:")
        assert {port.split(":")[-1] for port in proxy["ports"]} == {"80", "443"}
        assert depends_on(proxy) == {"api": "service_healthy"}
        caddyfile = (ROOT / "deploy/Caddyfile").read_text()
        assert "{$PAYDRAW_DOMAIN}" in caddyfile
        assert re.search(r"dynamic a api 8000", caddyfile)
        assert services["api"]["environment"]["PAYDRAW_PUBLIC_URL"].startswith("https://")

    def test_the_api_is_healthy_when_ready(self, services: dict[str, Any]) -> None:
        assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])

    @pytest.mark.parametrize("name", ["api", "worker"])
    def test_start_after_the_migration_and_temporal(
        self, services: dict[str, Any], name: str
    ) -> None:
        needed = depends_on(services[name])
        assert needed["migrate"] == "service_completed_successfully"
        assert needed["temporal-namespace"] == "service_completed_successfully"


class TestMonitoring:
    def test_prometheus_scrapes_every_api_and_worker(self) -> None:
        config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
        targets = {
            (job["job_name"], tuple(sd["names"]), sd["port"])
            for job in config["scrape_configs"]
            for sd in job["dns_sd_configs"]
        }
        assert targets == {("paydraw-api", ("api",), 8000), ("paydraw-worker", ("worker",), 9000)}

    def test_the_dashboard_shows_series_paydraw_exports(self) -> None:
        dashboard = json.loads((ROOT / "deploy/grafana/dashboards/paydraw.json").read_text())
        expressions = [
            target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
        ]
        names = set(re.findall(r"\b(paydraw_\w+|temporal_\w+)", " ".join(expressions)))
        exported = (ROOT / "api/metrics.py").read_text()
        for name in names:
            if name.startswith("paydraw_"):
                base = re.sub(r"_(total|bucket|count|sum)$", "", name)
                assert f'"{base}"' in exported, name
        assert {"temporal_worker_task_slots_available"} <= names
        assert len(dashboard["panels"]) >= 6


class TestDependencies:
    def test_depends_on_names_defined_services(self, services: dict[str, Any]) -> None:
        for name, service in services.items():
            assert set(depends_on(service)) <= set(services) - {name}, name

    def test_waiting_for_healthy_needs_a_healthcheck(self, services: dict[str, Any]) -> None:
        for service in services.values():
            for needed, condition in depends_on(service).items():
                if condition == "service_healthy":
                    assert "healthcheck" in services[needed], needed

    def test_waiting_for_completion_needs_a_one_shot(self, services: dict[str, Any]) -> None:
        for service in services.values():
            for needed, condition in depends_on(service).items():
                if condition == "service_completed_successfully":
                    assert services[needed]["restart"] == "no", needed

    def test_long_running_services_report_health(self, services: dict[str, Any]) -> None:
        unchecked = {name for name, service in services.items() if "healthcheck" not in service}
        # The UI is a viewer nothing waits for; the one-shot jobs exit when done.
        assert unchecked == {"temporal-ui"} | ONE_SHOTS


class TestBackups:
    def test_both_databases_are_dumped_and_restored_together(self) -> None:
        backup = (ROOT / "scripts/backup.sh").read_text()
        restore = (ROOT / "scripts/restore.sh").read_text()
        for database in ("paydraw", "temporal", "temporal_visibility"):
            assert database in backup and database in restore
        assert "pg_dump" in backup and "pg_restore" in restore
        assert "docker compose stop api worker" in backup


class TestDockerfile:
    def test_base_image_and_locked_install(self) -> None:
        instructions = dockerfile_instructions()
        assert instructions[0] == ("FROM", "python:3.11.11-slim-bookworm")
        runs = [arguments for instruction, arguments in instructions if instruction == "RUN"]
        assert any("uv sync --frozen --no-dev" in run for run in runs)

    def test_the_image_installs_what_the_printer_needs_as_make_does(self) -> None:
        """Every Debian package the set-up script may install for the PDFs is in the image, so
        production prints with the fonts and the subsetter the tests printed with."""
        script = (ROOT / "scripts" / "ensure-pdf-libs.sh").read_text()
        wanted: set[str] = set()
        for group in re.findall(r"missing\+=\(([^)]*)\)", script):
            wanted.update(group.split())
        wanted.discard("poppler-utils")  # the tests' PDF-to-PNG tool, not the printer's
        installs = [
            arguments.split()
            for instruction, arguments in dockerfile_instructions()
            if instruction == "RUN" and "apt-get install" in arguments
        ]
        installed = {word for run in installs for word in run}
        assert {"libharfbuzz-subset0", "fonts-liberation", "fonts-dejavu-core"} <= wanted
        assert wanted <= installed, wanted - installed

    def test_runs_as_a_non_root_user(self) -> None:
        users = [
            arguments
            for instruction, arguments in dockerfile_instructions()
            if instruction == "USER"
        ]
        assert users
        assert users[-1] not in {"root", "0"}

    def test_the_default_command_is_the_api(self) -> None:
        instructions = dict(dockerfile_instructions())
        assert "ENTRYPOINT" not in instructions  # compose's commands run as written
        assert json.loads(instructions["CMD"]) == API_COMMAND

    def test_dockerignore_keeps_local_state_out(self) -> None:
        ignored = {
            line.strip().rstrip("/")
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        assert {".venv", "var"} <= ignored
