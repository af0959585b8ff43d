"""The benchmarks' subprocesses, as deployed: Paydraw's worker (``python -m paydraw.worker``) and
API (uvicorn, ``paydraw.runner.api_command``) each in its own process, configured by ``PAYDRAW_*``
variables as ``paydraw run`` and docker-compose start them, and bare Temporal's worker
(``python -m benchmarks.bare_worker``) the same way.

A round starts its processes and stops them when it ends, however it ends (SIGTERM, SIGKILL after
a grace), through ``paydraw.runner.Child``: each writes to ``<name>.log`` in the round's folder,
whose end is printed if the process stops on its own. A worker is ready once the Temporal server
lists it among the pollers of its task queue, the API once it answers /healthz. The CPU time of
each process, and of the Temporal server, is read from /proc.
"""

import asyncio
import functools
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from benchmarks.bare_worker import slot_arguments
from paydraw.runner import (
    WORKER_COMMAND,
    Child,
    answers_in_time,
    api_answers,
    api_command,
    first_exit,
    local_url,
    say,
)
from paydraw.settings import Settings

T = TypeVar("T")

READY_TIMEOUT = 120.0  # seconds; the first start of a run also compiles every module's bytecode
POLL_INTERVAL = 0.1
POLLED_TASK_TYPES = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)


class ProcessStopped(Exception):
    """A benchmark's subprocess stopped on its own, while starting or during the timed run."""


def bytecode_environment() -> dict[str, str]:
    """This process's bytecode cache for a child (see ``benchmarks.measure.dev_server``); an empty
    PYTHONDONTWRITEBYTECODE counts as unset."""
    return {"PYTHONPYCACHEPREFIX": sys.pycache_prefix or "", "PYTHONDONTWRITEBYTECODE": ""}


def environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the PAYDRAW_* variables a deployment sets, and the bytecode cache."""
    return {**settings.as_environment(), **bytecode_environment()}


def temporal_address(client: Client) -> str:
    """Where ``client`` reaches the Temporal server, for a child process to connect to."""
    return client.service_client.config.target_host


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now, for the API to take."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def started(
    name: str, command: list[str], log_dir: Path, env: dict[str, str]
) -> AsyncIterator[Child]:
    """``command`` in its own process, stopped when the block ends."""
    child = await Child.spawn(name, command, log_dir, env)
    try:
        yield child
    finally:
        if child.exited:  # on its own: it is stopped only below
            say(
                f"The {child.name} stopped ({child.how_it_ended()}). {child.log_tail()}", error=True
            )
        await child.stop()


async def until_ready(child: Child, ready: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``ready`` until it says yes; a child that stops or takes too long is an error."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not await answers_in_time(ready):
        if child.exited:
            raise ProcessStopped(f"the {child.name} stopped while starting")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the {child.name} was not ready within {READY_TIMEOUT:.0f} s. {child.log_tail()}"
            )
        await asyncio.sleep(POLL_INTERVAL)


async def polls(client: Client, task_queue: str, worker: Child) -> bool:
    """Whether the server lists ``worker`` among the workflow and the activity pollers of
    ``task_queue``: the SDK names a worker ``<pid>@<hostname>``."""
    identity = f"{worker.process.pid}@{socket.gethostname()}"
    for task_type in POLLED_TASK_TYPES:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=task_type,
            )
        )
        if identity not in {poller.identity for poller in described.pollers}:
            return False
    return True


async def watched(children: list[Child], run: Coroutine[Any, Any, T]) -> T:
    """``run``'s result, unless one of the children stops first: then ``run`` is cancelled."""
    running = asyncio.ensure_future(run)
    stopped = asyncio.ensure_future(first_exit(children))
    try:
        await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not running.done():
            running.cancel()
            await asyncio.wait({running})
    if running.cancelled() and not stopped.cancelled():
        raise ProcessStopped(f"the {stopped.result().name} stopped during the run")
    return running.result()


# -- the two sides' processes --------------------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    """Paydraw's running processes, and where its API answers."""

    api: Child
    worker: Child
    url: str

    @property
    def children(self) -> list[Child]:
        return [self.api, self.worker]


@asynccontextmanager
async def paydraw_processes(client: Client, settings: Settings) -> AsyncIterator[Deployed]:
    """Paydraw's worker and its API, on a free port, with ``settings``; yields once the worker
    polls its task queue and the API answers."""
    settings = settings.model_copy(update={"port": free_port()})
    env, log_dir = environment(settings), settings.data_dir
    async with (
        started("worker", WORKER_COMMAND, log_dir, env) as worker,
        started("api", api_command(settings), log_dir, env) as api,
    ):
        await until_ready(
            worker, functools.partial(polls, client, settings.temporal_task_queue, worker)
        )
        await until_ready(api, functools.partial(api_answers, settings))
        yield Deployed(api, worker, local_url(settings))


@asynccontextmanager
async def bare_worker(
    client: Client, task_queue: str, slots: dict[str, Any], log_dir: Path, name: str
) -> AsyncIterator[Child]:
    """Bare Temporal's worker on ``task_queue``, with ``slots``; yields once it polls."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.bare_worker",
        "--address",
        temporal_address(client),
        "--namespace",
        client.namespace,
        "--task-queue",
        task_queue,
        *slot_arguments(slots),
    ]
    async with started(name, command, log_dir, bytecode_environment()) as worker:
        await until_ready(worker, functools.partial(polls, client, task_queue, worker))
        yield worker


# -- CPU time ------------------------------------------------------------------------------------


def process_cpu(pid: int | None) -> float:
    """Seconds of CPU (user and system, all threads) a process has used so far; 0 where /proc
    does not have it."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def with_children_cpu(pid: int) -> float:
    """Seconds of CPU a process and the processes it started (the worker's certificate printer)
    have used so far."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:  # the parent's pid
            children.append(int(stat.parent.name))
    return process_cpu(pid) + sum(with_children_cpu(child) for child in children)


def child_named(name: str) -> int | None:
    """The pid of this process's child process called ``name``, from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, fields = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except OSError:
            continue  # ended meanwhile
        if command == name and int(fields.split()[1]) == os.getpid():  # the parent's pid
            return int(stat.parent.name)
    return None


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used by this process (the benchmark's client, and for Paydraw the SMTP server),
    by one side's API process (bare Temporal has none) and worker process, and by the Temporal
    server."""

    client: float = 0.0
    api: float = 0.0
    worker: float = 0.0
    server: float = 0.0

    @classmethod
    def now(cls, server: int | None, worker: Child, api: Child | None = None) -> Self:
        """What they have used so far."""
        return cls(
            client=time.process_time(),
            api=process_cpu(api.process.pid) if api else 0.0,
            worker=with_children_cpu(worker.process.pid),
            server=process_cpu(server),
        )

    @property
    def processes(self) -> float:
        """The side's own processes: the API and the worker."""
        return self.api + self.worker

    def __sub__(self, earlier: "Cpu") -> "Cpu":
        return Cpu(*(now - then for now, then in zip(astuple(self), astuple(earlier), strict=True)))
