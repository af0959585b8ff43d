"""Workflows that were running when the code changed must go on: histories recorded with
earlier code replay through today's workflow code without a non-determinism error.

`histories/commitment_billing_before_relay.json` is a whole pay-app lifecycle (invite, accept,
fill in, submit, approve, finalize, pay, the period's close) recorded on commit 1612b40, before
a step's emails went to the worker's relay: its activities' results have no `relayed` field,
and its workflow delivered what they handed back itself.

`histories/before_typed_steps_*.json` were recorded on commit d16365d, while the messages between
the API, the workflows and the activities still carried actors, roles, actions and statuses as
plain strings and a pay-app step as one model with five optional payloads: a review, a finalize, a
payment and the period's close; a void and the refusals after it; a draft deleted at the close;
reminders, overdue and an extended due date; a decline.

`histories/print_certificate_on_the_billing_queue.json` was recorded on commit a5ff734, when the
certificate's print ran on the billing worker's task queue: a lifecycle whose finalize prints
the G702/G703, then the payment and the period's close.
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.billing_period import BillingPeriodWorkflow
from workflows.commitment_billing import CommitmentBillingWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize("name", sorted(path.name for path in HISTORIES.glob("*.json")))
async def test_a_recorded_history_replays_on_todays_code(name: str) -> None:
    history = WorkflowHistory.from_json(f"replayed-{name}", (HISTORIES / name).read_text())
    replayer = Replayer(
        workflows=[CommitmentBillingWorkflow, BillingPeriodWorkflow],
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_there_is_a_history_to_replay() -> None:
    assert list(HISTORIES.glob("*.json"))
