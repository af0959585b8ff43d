"""``paydraw run``: all of Paydraw on one machine, started and stopped by one command.

It starts, in order, the Temporal dev server (persisted to ``<data_dir>/temporal.db``), the local
mailbox (an SMTP server that keeps every message for the app's /mailbox page), the worker and the
API; prints the URLs once Temporal and the API answer; then supervises. Ctrl-C or SIGTERM stops
everything in reverse order and exits 0; a child that dies stops the rest and exits 1.

Every child runs in its own process group, so the terminal's Ctrl-C reaches only this process,
which then stops the children in an order that lets each finish its work.
"""

import asyncio
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn, Self

from temporalio.client import Client
from temporalio.service import RPCError

from emails.mailbox import MailboxServer
from paydraw.db.migrate import upgrade
from paydraw.settings import Settings

READY_TIMEOUT = 30.0  # seconds a server gets to answer once started
PROBE_TIMEOUT = 2.0  # seconds one readiness probe may take (a foreign listener never answers)
POLL_INTERVAL = 0.1
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL_LINES = 15
TEMPORAL_IP = "127.0.0.1"
CHILDREN = ("temporal", "worker", "api")
WORKER_COMMAND = [sys.executable, "-m", "paydraw.worker"]

AdminNotice = Callable[[], str]


class StartupError(Exception):
    """Paydraw could not start; the message says why and what to change."""


@dataclass
class Child:
    """A supervised subprocess in its own process group, writing to ``<data_dir>/<name>.log``."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @classmethod
    async def spawn(
        cls, name: str, command: list[str], data_dir: Path, env: dict[str, str] | None = None
    ) -> Self:
        log_path = data_dir / f"{name}.log"
        with log_path.open("a") as log:
            log.write(f"--- started by paydraw run at {datetime.now():%Y-%m-%d %H:%M:%S}\n")
            log.flush()
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Unbuffered, so the log already holds the last words of a child that crashes.
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        return cls(name, process, log_path)

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    async def stop(self) -> None:
        """Ask the whole process group to stop; kill it if it is still there after the grace."""
        self._signal_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_GRACE)
        except TimeoutError:
            self._signal_group(signal.SIGKILL)
            await self.process.wait()

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group has already gone
            os.killpg(self.process.pid, signum)

    def how_it_ended(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def log_tail(self) -> str:
        """The end of the child's log, for an error message."""
        lines = self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        return f"The end of {self.log_path}:\n" + "\n".join(f"  {line}" for line in lines)


def main(
    settings: Settings, admin_notice: AdminNotice, after_start: Callable[[], None] | None = None
) -> NoReturn:
    """Run Paydraw until Ctrl-C or SIGTERM (exit 0) or until something fails (exit 1);
    ``after_start`` (the demo seed) runs once everything answers."""
    code = asyncio.run(run(settings, admin_notice, after_start))
    # The temporalio client's Rust threads can crash the interpreter's own shutdown
    # (temporalio/sdk-python#300); every child is stopped by now, so leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def run(
    settings: Settings, admin_notice: AdminNotice, after_start: Callable[[], None] | None = None
) -> int:
    """Start and supervise everything, then stop it all; returns the command's exit code."""
    async with AsyncExitStack() as started:
        supervision = asyncio.create_task(
            start_and_supervise(settings, admin_notice, started, after_start)
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # A signal cancels start-up or supervision, and leaving this block stops what was
            # started. A second Ctrl-C cancels a finished task, so the stopping runs to its end.
            loop.add_signal_handler(signum, supervision.cancel)
        try:
            died = await supervision
        except asyncio.CancelledError:
            say("Stopping Paydraw ...")
            code = 0
        except StartupError as error:
            say(f"paydraw: {error}", error=True)
            code = 1
        else:
            say(
                f"paydraw: the {died.name} stopped unexpectedly ({died.how_it_ended()}); "
                f"stopping the rest.\n{died.log_tail()}",
                error=True,
            )
            code = 1
    say("Paydraw has stopped.")
    return code


async def start_and_supervise(
    settings: Settings,
    admin_notice: AdminNotice,
    started: AsyncExitStack,
    after_start: Callable[[], None] | None = None,
) -> Child:
    """Start everything in order, print the URLs, and return the first child that exits."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_ports_free(settings)
    upgrade(settings.resolved_database_url)
    temporal = await start_child(started, "temporal", temporal_command(settings), data_dir)
    await wait_until_ready(temporal, functools.partial(temporal_answers, settings))
    start_mailbox(settings, started)
    worker = await start_child(started, "worker", WORKER_COMMAND, data_dir)
    # Asked only now, just before the API: a failed start must not swallow a key shown once.
    notice = admin_notice()
    # The API shows the mailbox page only here, where the mailbox is this machine's own.
    local = {"PAYDRAW_LOCAL_MAILBOX": "true"}
    api = await start_child(started, "api", api_command(settings), data_dir, local)
    await wait_until_ready(api, functools.partial(api_answers, settings))
    print_urls(settings, notice)
    if after_start is not None:
        await asyncio.to_thread(after_start)
    return await first_exit([temporal, worker, api])


def ensure_ports_free(settings: Settings) -> None:
    """Fail before starting anything if a port is taken (most often: Paydraw already runs)."""
    wanted = [
        ("Temporal", TEMPORAL_IP, temporal_port(settings), "PAYDRAW_TEMPORAL_ADDRESS"),
        ("The Temporal UI", TEMPORAL_IP, settings.temporal_ui_port, "PAYDRAW_TEMPORAL_UI_PORT"),
        ("The mailbox (SMTP)", settings.smtp_host, settings.smtp_port, "PAYDRAW_SMTP_PORT"),
        ("The API", settings.host, settings.port, "PAYDRAW_PORT"),
    ]
    for what, host, port, variable in wanted:
        try:
            socket.create_server((host, port)).close()
        except OSError as error:
            raise StartupError(
                f"{what} cannot listen on {host}:{port} ({os.strerror(error.errno or 0)}). "
                f"Is Paydraw already running? If not, set {variable} to a free port."
            ) from None


async def start_child(
    started: AsyncExitStack,
    name: str,
    command: list[str],
    data_dir: Path,
    env: dict[str, str] | None = None,
) -> Child:
    child = await Child.spawn(name, command, data_dir, env)
    started.push_async_callback(child.stop)
    return child


def temporal_port(settings: Settings) -> int:
    return int(settings.temporal_address.rpartition(":")[2])


def temporal_command(settings: Settings) -> list[str]:
    """The dev server, persisted to a SQLite file so a restart loses no workflow or timer."""
    return [
        str(Path(sysconfig.get_path("scripts")) / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        # WAL lets the server's several connections share the file without "database is locked".
        "--sqlite-pragma",
        "journal_mode=wal",
        "--ip",
        TEMPORAL_IP,
        "--port",
        str(temporal_port(settings)),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
    ]


def api_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
    ]


def start_mailbox(settings: Settings, started: AsyncExitStack) -> None:
    """The local SMTP server, in this process: it keeps every message for the /mailbox page."""
    mailbox = MailboxServer(settings.mailbox_dir, settings.smtp_host, settings.smtp_port)
    mailbox.start()
    started.callback(mailbox.stop)


async def wait_until_ready(child: Child, answers: Callable[[], Awaitable[bool]]) -> None:
    """Poll until the child's server answers; a child that exits or stays silent is an error."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not await answers_in_time(answers):
        if child.exited:
            raise StartupError(
                f"the {child.name} stopped while starting ({child.how_it_ended()}).\n"
                f"{child.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise StartupError(
                f"the {child.name} did not answer within {READY_TIMEOUT:.0f} s.\n{child.log_tail()}"
            )
        await asyncio.sleep(POLL_INTERVAL)


async def answers_in_time(answers: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await asyncio.wait_for(answers(), PROBE_TIMEOUT)
    except TimeoutError:
        return False


async def temporal_answers(settings: Settings) -> bool:
    try:
        client = await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
        return await client.service_client.check_health()
    except (RuntimeError, RPCError):  # RuntimeError: nothing listens on the port yet
        return False


async def api_answers(settings: Settings) -> bool:
    return await asyncio.to_thread(http_ok, f"{local_url(settings)}/healthz")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:
            return bool(response.status == 200)
    except OSError:  # refused, reset or an HTTP error status
        return False


async def first_exit(children: list[Child]) -> Child:
    """Wait until any child exits; while Paydraw runs, none should."""
    waits = {asyncio.create_task(child.process.wait()): child for child in children}
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return waits[done.pop()]


def local_url(settings: Settings) -> str:
    """The API's address as seen from this machine (an API on 0.0.0.0 answers on 127.0.0.1)."""
    host = "127.0.0.1" if settings.host == "0.0.0.0" else settings.host
    return f"http://{host}:{settings.port}"


def print_urls(settings: Settings, admin_notice: str) -> None:
    app = local_url(settings)
    logs = ", ".join(str(settings.data_dir / f"{name}.log") for name in CHILDREN)
    lines = [
        "Paydraw is running; Ctrl-C stops everything.",
        f"App           {app}",
        f"Paydraw API   {app}/api/v1",
        f"API docs      {app}/docs",
        f"Mailbox       {app}/mailbox  (SMTP on {settings.smtp_host}:{settings.smtp_port})",
        f"Temporal UI   http://{TEMPORAL_IP}:{settings.temporal_ui_port}",
        admin_notice,
        f"Logs          {logs}",
        f"Data          {settings.data_dir} (kept across restarts)",
    ]
    say("\n".join(lines))


def say(message: str, *, error: bool = False) -> None:
    print(message, file=sys.stderr if error else sys.stdout, flush=True)
