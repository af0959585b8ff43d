"""The production stack's files hang together: docker-compose.yml, the Dockerfile, .dockerignore.

Docker's engine is not available to the tests, so these read the files the way Compose and Docker
would and check what a broken deployment would get wrong first.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAYDRAW_SERVICES = ("migrate", "api", "worker")
PAYDRAW_VARIABLES = (
    "PAYDRAW_DATABASE_URL",
    "PAYDRAW_TEMPORAL_ADDRESS",
    "PAYDRAW_SMTP_HOST",
    "PAYDRAW_SMTP_PORT",
    "PAYDRAW_SECRET_KEY",
    "PAYDRAW_PUBLIC_URL",
)
API_COMMAND = ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
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


class TestComposeServices:
    def test_the_whole_stack_is_there(self, services: dict[str, Any]) -> None:
        assert set(services) == {
            "temporal-db",
            "temporal",
            "temporal-ui",
            "app-db",
            "mailpit",
            "migrate",
            "api",
            "worker",
        }

    def test_temporal_runs_on_its_own_postgresql(self, services: dict[str, Any]) -> None:
        temporal = services["temporal"]
        assert temporal["image"].startswith("temporalio/auto-setup:")
        assert temporal["environment"]["DB"] == "postgres12"
        assert temporal["environment"]["POSTGRES_SEEDS"] == "temporal-db"
        assert services["temporal-db"]["image"].startswith("postgres:")
        assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
        assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"

    def test_the_app_has_a_separate_database(self, services: dict[str, Any]) -> None:
        url = urlsplit(services["api"]["environment"]["PAYDRAW_DATABASE_URL"])
        assert url.scheme == "postgresql+psycopg"
        assert url.hostname == "app-db"
        assert url.path == "/" + services["app-db"]["environment"]["POSTGRES_DB"]
        assert services["app-db"]["volumes"] != services["temporal-db"]["volumes"]

    def test_mailpit_catches_smtp_and_shows_it(self, services: dict[str, Any]) -> None:
        mailpit = services["mailpit"]
        assert mailpit["image"].startswith("axllent/mailpit:")
        published = {port.rsplit(":", 1)[1] for port in mailpit["ports"]}
        assert published == {"1025", "8025"}


class TestPaydrawServices:
    def test_api_worker_and_migrate_are_one_image(self, services: dict[str, Any]) -> None:
        builds = {(services[name]["build"], services[name]["image"]) for name in PAYDRAW_SERVICES}
        assert builds == {(".", "paydraw:latest")}

    @pytest.mark.parametrize("name", PAYDRAW_SERVICES)
    @pytest.mark.parametrize("variable", PAYDRAW_VARIABLES)
    def test_configuration_is_set(self, services: dict[str, Any], name: str, variable: str) -> None:
        assert services[name]["environment"][variable]

    def test_addresses_name_services_of_the_stack(self, services: dict[str, Any]) -> None:
        environment = services["worker"]["environment"]
        assert environment["PAYDRAW_TEMPORAL_ADDRESS"].rpartition(":")[0] in services
        assert environment["PAYDRAW_SMTP_HOST"] == "mailpit"
        assert environment["PAYDRAW_SMTP_PORT"] == "1025"

    def test_the_secret_key_has_no_default(self, services: dict[str, Any]) -> None:
        # ${VAR:?message} makes Compose refuse to start without it.
        assert services["api"]["environment"]["PAYDRAW_SECRET_KEY"].startswith(
            "${PAYDRAW_SECRET_KEY:?"
        )

    def test_commands(self, services: dict[str, Any]) -> None:
        assert services["migrate"]["command"] == ["paydraw", "migrate"]
        assert services["api"]["command"] == API_COMMAND
        assert services["worker"]["command"] == ["python", "-m", "paydraw.worker"]

    def test_two_workers(self, services: dict[str, Any]) -> None:
        assert services["worker"]["deploy"]["replicas"] == 2
        assert "container_name" not in services["worker"]  # a fixed name allows one replica

    @pytest.mark.parametrize("name", ["api", "worker"])
    def test_start_after_the_migration_and_temporal(
        self, services: dict[str, Any], name: str
    ) -> None:
        needed = depends_on(services[name])
        assert needed["migrate"] == "service_completed_successfully"
        assert needed["temporal"] == "service_healthy"


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
        # The UI is a viewer nothing waits for; migrate exits when done.
        assert unchecked == {"temporal-ui", "migrate"}


class TestDockerfile:
    def test_base_image_and_locked_install(self) -> None:
        instructions = dockerfile_instructions()
        assert instructions[0] == ("FROM", "python:3.11-slim")
        runs = [arguments for instruction, arguments in instructions if instruction == "RUN"]
        assert any("uv sync --frozen --no-dev" in run for run in runs)

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
