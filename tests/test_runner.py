"""``paydraw run`` as a user runs it: a real Temporal dev server, mailbox, worker and API.

Each test starts the installed ``paydraw`` command with its own data directory and free ports,
and reads what it prints, as a person at a terminal would.
"""

import os
import queue
import signal
import smtplib
import socket
import subprocess
import sysconfig
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from emails.mailbox import Mailbox
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]
PAYDRAW = Path(sysconfig.get_path("scripts")) / "paydraw"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

needs_worker = pytest.mark.skipif(
    not (ROOT / "paydraw" / "worker.py").exists(), reason="paydraw/worker.py is not written yet"
)


class PaydrawRun:
    """``paydraw run`` in a subprocess, with its printout collected line by line."""

    def __init__(self, data_dir: Path, temporal_port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.temporal_address = f"127.0.0.1:{temporal_port or free_port()}"
        self.smtp_port = free_port()
        env = {
            **os.environ,
            "PAYDRAW_DATA_DIR": str(data_dir),
            "PAYDRAW_PORT": str(self.port),
            "PAYDRAW_TEMPORAL_ADDRESS": self.temporal_address,
            "PAYDRAW_TEMPORAL_UI_PORT": str(free_port()),
            "PAYDRAW_SMTP_PORT": str(self.smtp_port),
        }
        env.pop("PAYDRAW_DATABASE_URL", None)  # the default: SQLite in the data directory
        self.process = subprocess.Popen(
            [str(PAYDRAW), "run"],
            cwd=data_dir.parent,  # away from the project's own .env and var/
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen_children: set[int] = set()
        self.stdout: list[str] = []
        self.stderr = ""
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line)
            self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    def wait_for_line(self, label: str) -> str:
        """The rest of the first printed line that starts with ``label``."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if line.startswith(label):
                return line.removeprefix(label).strip()
        pytest.fail(f"no {label!r} line; stdout: {self.stdout}; stderr: {self.stderr}")

    def children(self) -> dict[int, str]:
        """The runner's child processes: pid -> command line."""
        found = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                    found[int(stat.parent.name)] = cmdline.decode()
            except (FileNotFoundError, ProcessLookupError):  # exited while we looked
                continue
        self.seen_children.update(found)
        return found

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` as a terminal's Ctrl-C would, and wait for the exit code."""
        os.kill(self.process.pid, signum)
        return self.wait()

    def wait(self) -> int:
        code = self.process.wait(timeout=STOP_TIMEOUT)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def kill_leftovers(self) -> None:
        """After a failed test: kill the runner and every child group it had."""
        if self.process.poll() is None:
            self.children()
            self.process.kill()
            self.process.wait()
        for pgid in self.seen_children:
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)


@contextmanager
def socket_listening() -> Iterator[int]:
    """A port that something else already listens on."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class StartPaydraw(Protocol):
    def __call__(self, temporal_port: int | None = None) -> PaydrawRun: ...


@pytest.fixture
def start_paydraw(tmp_path: Path) -> Iterator[StartPaydraw]:
    """Starts runs on one data directory; whatever a failed test leaves behind is killed."""
    runs: list[PaydrawRun] = []

    def start(temporal_port: int | None = None) -> PaydrawRun:
        runs.append(PaydrawRun(tmp_path / "data", temporal_port))
        return runs[-1]

    yield start
    for run in runs:
        run.kill_leftovers()


def send_mail(smtp_port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "billing@paydraw.local"
    message["To"] = "clerk@framing.example"
    message["Subject"] = subject
    message["Message-ID"] = "<runner-test@paydraw.local>"
    message.set_content("Please bill for November.")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


async def temporal_client(address: str) -> Client:
    client = await Client.connect(address)
    assert await client.service_client.check_health()
    return client


@needs_worker
class TestRunAndStop:
    async def test_everything_answers_and_ctrl_c_stops_every_child(
        self, start_paydraw: StartPaydraw
    ) -> None:
        run = start_paydraw()
        docs = run.wait_for_line("API docs")
        mailbox = run.wait_for_line("Mailbox").split()[0]
        temporal_ui = run.wait_for_line("Temporal UI")
        logs = run.wait_for_line("Logs").split(", ")
        assert httpx.get(docs, timeout=10).status_code == 200
        assert httpx.get(temporal_ui, timeout=10).status_code == 200
        await temporal_client(run.temporal_address)
        send_mail(run.smtp_port, "Invite to bill: Harbor View Tower")
        [kept] = Mailbox(run.data_dir / "mailbox").messages()
        assert kept.subject == "Invite to bill: Harbor View Tower"
        assert "Invite to bill: Harbor View Tower" in httpx.get(mailbox, timeout=10).text
        children = run.children()
        assert len(children) == 3
        for command in ("temporal server start-dev", "-m paydraw.worker", "-m uvicorn api.app"):
            assert any(command in cmdline for cmdline in children.values()), command

        assert run.stop(signal.SIGINT) == 0

        assert "Paydraw has stopped." in "".join(run.stdout)
        assert not [pid for pid in children if group_alive(pid)]
        assert logs == [str(run.data_dir / f"{name}.log") for name in ("temporal", "worker", "api")]
        assert all(Path(log).read_text().startswith("--- started by paydraw run") for log in logs)

    async def test_sigterm_stops_as_cleanly(self, start_paydraw: StartPaydraw) -> None:
        run = start_paydraw()
        run.wait_for_line("API docs")
        children = run.children()

        assert run.stop(signal.SIGTERM) == 0

        assert not [pid for pid in children if group_alive(pid)]
        assert run.stderr == ""


@pytest.mark.slow
@needs_worker
class TestRestart:
    async def test_a_restart_with_the_same_data_dir_loses_nothing(
        self, start_paydraw: StartPaydraw
    ) -> None:
        first = start_paydraw()
        assert first.wait_for_line("First admin").startswith("admin@paydraw.local, API key")
        # The printed link signs the first admin in, once.
        link = first.wait_for_line("Sign in").split()[0]
        async with httpx.AsyncClient() as browser, httpx.AsyncClient() as another:
            signed_in = await browser.post(link)
            assert signed_in.status_code == 303
            assert "paydraw_session=" in signed_in.headers["set-cookie"]
            assert (await browser.get(link.rsplit("/sign-in/", 1)[0] + "/projects")).is_success
            assert (await another.post(link)).status_code == 401
        client = await temporal_client(first.temporal_address)
        # A workflow no worker polls for: it stays running, so only the database can keep it.
        await client.start_workflow(
            "PersistenceProbe", id="restart-probe", task_queue="nobody-polls"
        )
        assert first.stop() == 0

        second = start_paydraw()
        assert second.wait_for_line("Sign in").endswith("/sign-in  (the link is emailed)")
        assert second.wait_for_line("API key").startswith("uv run paydraw create-user")
        client = await temporal_client(second.temporal_address)
        described = await client.get_workflow_handle("restart-probe").describe()
        assert described.status == WorkflowExecutionStatus.RUNNING
        assert second.stop() == 0


@pytest.mark.slow
@needs_worker
class TestFailures:
    def test_a_child_that_dies_stops_the_rest(self, start_paydraw: StartPaydraw) -> None:
        run = start_paydraw()
        run.wait_for_line("API docs")
        children = run.children()
        [worker] = [pid for pid, cmdline in children.items() if "paydraw.worker" in cmdline]

        os.kill(worker, signal.SIGKILL)

        assert run.wait() == 1
        assert "the worker stopped unexpectedly (killed by SIGKILL)" in run.stderr
        assert str(run.data_dir / "worker.log") in run.stderr
        assert not [pid for pid in children if group_alive(pid)]


class TestPortTaken:
    def test_a_taken_temporal_port_is_a_clear_error(self, start_paydraw: StartPaydraw) -> None:
        with socket_listening() as port:
            run = start_paydraw(temporal_port=port)
            code = run.wait()

        assert code == 1
        assert f"Temporal cannot listen on 127.0.0.1:{port}" in run.stderr
        assert "PAYDRAW_TEMPORAL_ADDRESS" in run.stderr
        assert not (run.data_dir / "temporal.db").exists()
