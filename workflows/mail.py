"""Emails that belong to no billing: a staff user's sign-in link, a new member's welcome.

The request queues the email in its own transaction, then starts this workflow with the outbox
id; the workflow delivers it with the same activity and retries as a billing's emails, so a mail
server that is away for a while only delays it.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.commitment_billing import deliver_emails


def mail_workflow_id(outbox_id: str) -> str:
    return f"email:{outbox_id}"


@workflow.defn
class DeliverEmailsWorkflow:
    @workflow.run
    async def run(self, outbox_ids: list[str]) -> None:
        await deliver_emails(outbox_ids)
