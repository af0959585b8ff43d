"""The import rules of the house hold, and `make lint` would catch a change that breaks one."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("paydraw", "api", "workflows", "activities", "emails")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the project's code and its import rules."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


class TestImportRules:
    def test_the_code_keeps_every_rule(self, tree: Path) -> None:
        result = lint_imports(tree)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_the_domain_core_importing_the_database_breaks_a_rule(self, tree: Path) -> None:
        (tree / "paydraw" / "domain" / "shortcut.py").write_text("import paydraw.db.tables\n")
        result = lint_imports(tree)
        assert result.returncode != 0
        assert "The domain core imports nothing of the project and no framework BROKEN" in (
            result.stdout
        )

    def test_the_api_importing_the_worker_breaks_a_rule(self, tree: Path) -> None:
        (tree / "api" / "shortcut.py").write_text("from paydraw.worker import build_worker\n")
        result = lint_imports(tree)
        assert result.returncode != 0
        assert "The API imports neither the activities nor the worker BROKEN" in result.stdout

    def test_one_router_importing_another_breaks_a_rule(self, tree: Path) -> None:
        router = tree / "api" / "pages" / "contact.py"
        router.write_text("from api.contact import router as api_router\n" + router.read_text())
        result = lint_imports(tree)
        assert result.returncode != 0
        assert "No router imports another" in result.stdout
        assert "BROKEN" in result.stdout

    def test_two_areas_importing_each_other_breaks_a_rule(self, tree: Path) -> None:
        # The periods service calls the invitations service; the other way round is a loop.
        shortcut = tree / "paydraw" / "invitations" / "shortcut.py"
        shortcut.write_text("from paydraw.periods.service import locked_period\n")
        result = lint_imports(tree)
        assert result.returncode != 0
        assert "The areas of paydraw do not import each other in a loop BROKEN" in result.stdout

    def test_an_activity_importing_a_workflow_breaks_a_rule(self, tree: Path) -> None:
        shortcut = tree / "activities" / "shortcut.py"
        shortcut.write_text("from workflows.commitment_billing import CommitmentBillingWorkflow\n")
        result = lint_imports(tree)
        assert result.returncode != 0
        assert "Activities import the workflows' messages, never a workflow BROKEN" in result.stdout
