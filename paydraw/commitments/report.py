"""A commitment's billing report: every pay application with what was certified, the retainage
held and released, what was paid and what is still owed, over the billing summary; as PDF and
as CSV (money as plain decimals, for spreadsheets).

Each certified pay application shows the figures frozen on its certificate, so a change order
approved later moves none of them; a pay application not (or no longer) certified shows its
status and no money.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from paydraw.access import commitment_for
from paydraw.actors import Actor
from paydraw.commitments.ledger import build_ledger, paid_by_pay_app
from paydraw.commitments.schemas import BillingSummary
from paydraw.commitments.summary import summarize
from paydraw.db.tables import BillingPeriod, PayApp, utcnow
from paydraw.documents.pdf import pdf_of
from paydraw.domain.money import ZERO
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import PayAppStatus
from paydraw.fields import MoneyAmount

TEMPLATE = "billing_report.html"
CSV_COLUMNS = (
    "application_number",
    "period_start",
    "period_end",
    "status",
    "certified_on",
    "completed_and_stored_to_date",
    "retainage_held",
    "retainage_released",
    "amount_certified",
    "paid",
    "balance_due",
)


class ReportRow(BaseModel):
    """One pay application; the money columns are empty unless it holds a certificate."""

    pay_app_id: str
    application_number: int
    period_start: date | None
    period_end: date | None
    status: PayAppStatus
    certified_on: date | None
    completed_and_stored_to_date: MoneyAmount | None
    retainage_held: MoneyAmount | None
    """Held to date on work and stored material, before releases (G702 5a + 5b)."""
    retainage_released: MoneyAmount | None
    """Released to date."""
    amount_certified: MoneyAmount | None
    """The certificate's current payment due (G702 line 8)."""
    paid: MoneyAmount
    balance_due: MoneyAmount | None


class BillingReport(BaseModel):
    project_name: str
    commitment_id: str
    commitment_number: str
    vendor_name: str
    currency: str
    terminology: Terminology
    summary: BillingSummary
    rows: list[ReportRow]
    total_certified: MoneyAmount
    total_paid: MoneyAmount
    total_balance_due: MoneyAmount
    made_at: datetime


def billing_report(session: Session, actor: Actor, commitment_id: str) -> BillingReport:
    """The report of a commitment the caller has a role on (NotFound otherwise)."""
    commitment, project, _ = commitment_for(session, actor.id, commitment_id)
    summary = summarize(session, commitment, build_ledger(session, commitment))
    query = (
        select(PayApp, BillingPeriod)
        .outerjoin(BillingPeriod, col(BillingPeriod.id) == col(PayApp.period_id))
        .where(PayApp.commitment_id == commitment.id)
        .order_by(col(PayApp.number))
    )
    found = list(session.exec(query))
    paid = paid_by_pay_app(session, [pay_app.id for pay_app, _ in found])
    rows = [_row(pay_app, period, paid.get(pay_app.id, ZERO)) for pay_app, period in found]
    certified = sum((row.amount_certified or ZERO for row in rows), ZERO)
    total_paid = sum((row.paid for row in rows if row.amount_certified is not None), ZERO)
    return BillingReport(
        project_name=project.name,
        commitment_id=commitment.id,
        commitment_number=commitment.number,
        vendor_name=commitment.vendor_name,
        currency=project.currency,
        terminology=Terminology(project.terminology),
        summary=summary,
        rows=rows,
        total_certified=certified,
        total_paid=total_paid,
        total_balance_due=sum((row.balance_due or ZERO for row in rows), ZERO),
        made_at=utcnow(),
    )


def _row(pay_app: PayApp, period: BillingPeriod | None, paid: Decimal) -> ReportRow:
    status = PayAppStatus(pay_app.status)
    certificate = pay_app.certificate if status != PayAppStatus.VOID else None

    def figure(*names: str) -> Decimal | None:
        if certificate is None:
            return None
        return sum((Decimal(certificate[name]) for name in names), ZERO)

    certified = figure("current_payment_due")
    return ReportRow(
        pay_app_id=pay_app.id,
        application_number=pay_app.number,
        period_start=period.start_date if period else None,
        period_end=period.end_date if period else None,
        status=status,
        certified_on=pay_app.finalized_at.date() if pay_app.finalized_at and certificate else None,
        completed_and_stored_to_date=figure("total_completed_and_stored"),
        retainage_held=figure("retainage_on_completed_work", "retainage_on_stored_materials"),
        retainage_released=figure("retainage_released"),
        amount_certified=certified,
        paid=paid,
        balance_due=None if certified is None else max(ZERO, certified - paid),
    )


def as_csv(report: BillingReport) -> str:
    """One row per pay application and a total row; money as plain decimals (``31950.00``),
    dates as ISO 8601, an empty cell where there is no figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        values = row.model_dump(mode="json")
        writer.writerow(["" if values[name] is None else values[name] for name in CSV_COLUMNS])
    totals = {
        "application_number": "total",
        "amount_certified": f"{report.total_certified:.2f}",
        "paid": f"{report.total_paid:.2f}",
        "balance_due": f"{report.total_balance_due:.2f}",
    }
    writer.writerow([totals.get(name, "") for name in CSV_COLUMNS])
    return out.getvalue()


def as_pdf(report: BillingReport) -> bytes:
    context: dict[str, Any] = {
        "report": report,
        "summary": report.summary,
        "words": words(report.terminology),
        "currency": report.currency,
        "mark": "",
    }
    return pdf_of(TEMPLATE, context)


def file_name(report: BillingReport, extension: str) -> str:
    """``SC-001-billing-report-2026-12-05.csv``: letters, digits and dashes only."""
    number = "".join(c if c.isascii() and c.isalnum() else "-" for c in report.commitment_number)
    return (
        f"{number.strip('-') or 'commitment'}-billing-report-{report.made_at:%Y-%m-%d}.{extension}"
    )
