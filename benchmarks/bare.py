"""Bare Temporal for the invite benchmark: workflows that each run one activity that does nothing,
started by the client, or as children of one parent (the shape of Paydraw's invite fan-out).

A module of its own that imports only temporalio, because the workflow sandbox imports a
workflow's module again for every run, and the benchmark script itself imports all of Paydraw.
"""

import asyncio
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


@workflow.defn
class FanOutWorkflow:
    """Starts one OneActivityWorkflow child per id, all at once, as a billing period starts its
    commitments' workflows."""

    @workflow.run
    async def run(self, child_ids: list[str]) -> None:
        await asyncio.gather(
            *(
                workflow.start_child_workflow(
                    OneActivityWorkflow.run,
                    id=child_id,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
                for child_id in child_ids
            )
        )
