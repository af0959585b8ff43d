"""Workflow ids and names that the API and activities use to reach the billing workflows.

Ids are deterministic, so starting the same billing twice finds the one already running.
"""

COMMITMENT_BILLING = "CommitmentBillingWorkflow"


def period_workflow_id(period_id: str) -> str:
    return f"billing-period:{period_id}"


def billing_workflow_id(commitment_id: str, period_id: str) -> str:
    return f"billing:{commitment_id}:{period_id}"


def printer_task_queue(task_queue: str) -> str:
    """The certificate printer's task queue, next to the billing worker's `task_queue`."""
    return f"{task_queue}-printer"
