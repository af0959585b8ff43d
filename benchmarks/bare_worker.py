"""Bare Temporal's worker, in its own process as Paydraw's worker is:

    python -m benchmarks.bare_worker --address HOST:PORT --namespace NS --task-queue Q
        [--max-concurrent-activities N] [--max-concurrent-workflow-tasks N]
        [--max-cached-workflows N]

It runs the workflows of ``benchmarks.bare`` and their activity until SIGTERM or SIGINT. It runs
them as Paydraw's deployed worker runs its own: on uvloop and outside Temporal's sandbox; and the
benchmarks give it the slots and cache size of Paydraw's worker (an option left out is the SDK's
default). The two workers then differ only in what their workflows and activities do.
"""

import argparse
import asyncio
import signal
from typing import Any

import uvloop
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks.bare import FanOutWorkflow, LifecycleWorkflow, OneActivityWorkflow, do_nothing

SLOTS = ("max_concurrent_activities", "max_concurrent_workflow_tasks", "max_cached_workflows")


def slot_arguments(slots: dict[str, Any]) -> list[str]:
    """A worker's ``slots`` (``benchmarks.measure.slots_of``) as this command's options."""
    return [
        argument
        for name in SLOTS
        if slots.get(name) is not None
        for argument in (f"--{name.replace('_', '-')}", str(slots[name]))
    ]


async def run(address: str, namespace: str, task_queue: str, slots: dict[str, Any]) -> None:
    client = await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[OneActivityWorkflow, FanOutWorkflow, LifecycleWorkflow],
        activities=[do_nothing],
        # Outside the sandbox, as Paydraw's deployed worker runs its workflows by default.
        workflow_runner=UnsandboxedWorkflowRunner(),
        **slots,
    ):
        print(f"bare worker polling task queue {task_queue!r}", flush=True)
        await stop.wait()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_worker", description=__doc__)
    parser.add_argument("--address", required=True, metavar="HOST:PORT")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    for name in SLOTS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="N")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    slots = {
        name: getattr(arguments, name) for name in SLOTS if getattr(arguments, name) is not None
    }
    # The event loop of Paydraw's worker, so that the two differ only in what their steps do.
    uvloop.run(run(arguments.address, arguments.namespace, arguments.task_queue, slots))
