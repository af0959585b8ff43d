"""Bare Temporal for the benchmarks: workflows that each run one activity that does nothing,
started by the client, or as children of one parent (the shape of Paydraw's invite fan-out); and
one commitment's lifecycle as a workflow that takes one Update per step.

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


# A commitment's lifecycle, one Update per step, in this order.
LIFECYCLE_STEPS = ("invite", "accept", "create", "submit", "approve", "finalize", "pay")


@workflow.defn
class LifecycleWorkflow:
    """The shape of Paydraw's CommitmentBillingWorkflow with nothing else: every step is an Update
    whose validator checks the order and whose handler runs one activity under a lock."""

    def __init__(self) -> None:
        self.done: list[str] = []
        # Handlers await an activity; the lock keeps two steps from interleaving, as in Paydraw.
        self.lock = asyncio.Lock()

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.done) == len(LIFECYCLE_STEPS))
        # Return only once the last step's handler has finished, so its caller gets its answer.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.done

    @workflow.update
    async def step(self, name: str) -> int:
        async with self.lock:
            self.validate_step(name)  # again: another step may have gone first
            await workflow.execute_activity(
                do_nothing, start_to_close_timeout=timedelta(seconds=60)
            )
            self.done.append(name)
            return len(self.done)

    @step.validator
    def validate_step(self, name: str) -> None:
        expected = LIFECYCLE_STEPS[len(self.done)] if len(self.done) < len(LIFECYCLE_STEPS) else ""
        if name != expected:
            raise ValueError(f"{name} is not the next step (expected {expected or 'none'})")
