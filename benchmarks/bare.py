"""Bare Temporal for the invite benchmark: one workflow that runs one activity that does nothing.

A module of its own that imports only temporalio, because the workflow sandbox imports a
workflow's module again for every run, and the benchmark script itself imports all of Paydraw.
"""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def do_nothing() -> None:
    """The cheapest activity there is: no I/O, no thread pool."""


@workflow.defn
class OneActivityWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(do_nothing, start_to_close_timeout=timedelta(seconds=60))
