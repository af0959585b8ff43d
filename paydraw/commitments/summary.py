"""Where a commitment stands: its billing summary, counting only certified pay applications,
from the ledger the domain core recomputes."""

from dataclasses import asdict
from decimal import Decimal

from sqlmodel import Session

from paydraw.access import commitment_for
from paydraw.actors import Actor
from paydraw.commitments import repository
from paydraw.commitments.ledger import CERTIFIED, Ledger, LedgerEntry, build_ledger
from paydraw.commitments.schemas import (
    BillingSummary,
    CertificateSummary,
    CreditEntryPublic,
)
from paydraw.db.tables import (
    Commitment,
)
from paydraw.domain.transitions import (
    PayAppStatus,
)

ZERO = Decimal("0.00")


def billing_summary(session: Session, actor: Actor, commitment_id: str) -> BillingSummary:
    commitment, _, _ = commitment_for(session, actor.id, commitment_id)
    return summarize(session, commitment, build_ledger(session, commitment))


def credits(session: Session, actor: Actor, commitment_id: str) -> list[CreditEntryPublic]:
    """Every move on the commitment's credit balance, oldest first; they add up to it."""
    commitment, _, _ = commitment_for(session, actor.id, commitment_id)
    return [
        CreditEntryPublic.model_validate(entry, from_attributes=True)
        for entry in repository.credit_entries(session, commitment.id)
    ]


def summarize(session: Session, commitment: Commitment, ledger: Ledger) -> BillingSummary:
    """Contract sum, billed, retainage held and released, certified, paid and balance."""
    contract = ledger.contract
    certified = ledger.certified
    last = certified[-1].application.summary if certified else None
    billed = last.total_completed_and_stored if last else ZERO
    held = (last.retainage_on_completed_work + last.retainage_on_stored_materials) if last else ZERO
    released = last.retainage_released if last else ZERO
    earned = last.total_earned_less_retainage if last else ZERO
    # A certificate settled below zero counts as that much paid back: the subcontractor holds it
    # as credit, and the credit, when applied, is counted again as a payment.
    paid = sum((entry.paid for entry in ledger.entries), ZERO) + sum(
        (min(ZERO, entry.pay_app.current_payment_due) for entry in certified), ZERO
    )
    pending = sum(
        (
            entry.application.summary.current_payment_due
            for entry in ledger.entries
            if entry.pay_app.status not in (*CERTIFIED, PayAppStatus.DRAFT)
        ),
        ZERO,
    )
    contract_sum = contract.contract_sum_to_date
    return BillingSummary(
        commitment_id=commitment.id,
        original_contract_sum=contract.original_sum,
        net_change_by_change_orders=contract.change_orders_sum,
        contract_sum_to_date=contract_sum,
        billed_to_date=billed,
        percent_complete=(billed / contract_sum * 100).quantize(Decimal("0.01"))
        if contract_sum
        else ZERO,
        retainage_held=held,
        retainage_released=released,
        retainage_balance=held - released,
        certified_to_date=earned,
        paid_to_date=paid,
        certified_unpaid=earned - paid,
        balance_to_finish=contract_sum - billed,
        balance_to_finish_with_retainage=contract_sum - earned,
        awaiting_certification=pending,
        credit_balance=repository.credit_balance(session, commitment.id),
        fully_billed=bool(contract_sum) and billed == contract_sum,
        certificates=[
            CertificateSummary(
                pay_app_id=entry.pay_app.id,
                application_number=entry.pay_app.number,
                status=entry.pay_app.status,
                **as_certified(entry),
            )
            for entry in certified
        ],
    )


def as_certified(entry: LedgerEntry) -> dict[str, Decimal]:
    """A certificate's G702 figures as they were frozen when it was finalized: a later change
    order moves the contract sum and the balance of the next certificate, never this one's."""
    if entry.pay_app.certificate:
        return {figure: Decimal(amount) for figure, amount in entry.pay_app.certificate.items()}
    return asdict(entry.application.summary)
