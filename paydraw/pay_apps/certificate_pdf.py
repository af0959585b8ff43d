"""The G702/G703 as a PDF: a finalized pay app's certificate, kept as it was certified, and a
preview of any other pay app, marked DRAFT (or VOID) on every page.

Finalizing a pay app freezes its document (every figure and word the paper prints) in the same
transaction (`freeze`). The commitment's workflow then prints it by an activity and keeps the PDF
beside it (`kept_pdf`): printed outside any transaction, kept by an update that only fills an
empty PDF, so a retry, a crash mid-way or a download racing the activity never makes a second one
and never loses the first. A download before the activity has run prints it the same way. A
change order approved later changes neither: they are the record of what was certified.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from paydraw.commitments import repository as commitments
from paydraw.commitments.schemas import G702Summary
from paydraw.db.engine import read_scope, session_scope
from paydraw.db.statements import insert_unless_taken
from paydraw.db.tables import (
    AuditEvent,
    BillingPeriod,
    CertificatePdf,
    Commitment,
    PayApp,
    Project,
    utcnow,
)
from paydraw.display import money, who_acted
from paydraw.documents.columns import Align, Column, fixed_width_table
from paydraw.documents.pdf import pdf_of
from paydraw.domain.errors import NotFound
from paydraw.domain.g702 import Application
from paydraw.domain.money import CENT, ZERO
from paydraw.domain.terminology import Terminology, words
from paydraw.domain.transitions import ChangeOrderStatus, PayAppStatus
from paydraw.fields import MoneyAmount
from paydraw.pay_apps import computation

TEMPLATE = "g702.html"
# Letter landscape, less margins of 0.4 in, in points; the height a G703 sheet gives its rows.
SHEET_WIDTH_PT = 11 * 72 - 2 * 0.4 * 72
SHEET_ROWS_PT = 430.0
LINE_HEIGHT = 1.3  # of the font size
ROW_PADDING_PT = 2.0  # a row's share of its block's padding and rule, counted generously
# Columns A to I of the G703, in characters at least, and their headers, a line at a time.
G703_COLUMNS = (
    Column(4, Align.LEFT),
    Column(24, Align.LEFT, wraps=True),
    *(Column(least) for least in (11, 11, 11, 11, 11, 7, 11, 10)),
)
G703_HEADERS = (
    ("A", "B", "C", "D", "E", "F", "G", "", "H", "I"),
    ("", "", "", "Work from", "", "Materials", "Completed", "%", "", ""),
    (
        "Item",
        "",
        "Scheduled",
        "previous",
        "Work this",
        "presently",
        "and stored",
        "(G/C)",
        "Balance",
        "",
    ),
    (
        "no.",
        "Description of work",
        "value",
        "application",
        "period",
        "stored",
        "to date",
        "",
        "to finish",
        "Retainage",
    ),
)
RULE_EVERY = 5  # rows: a rule under every fifth guides the eye across the sheet


class G703Row(BaseModel):
    """One line of the continuation sheet, columns A to I."""

    code: str
    description: str
    scheduled_value: MoneyAmount
    from_previous: MoneyAmount
    this_period: MoneyAmount
    materials_stored: MoneyAmount
    completed_and_stored: MoneyAmount
    percent_complete: Decimal
    balance_to_finish: MoneyAmount
    retainage: MoneyAmount


class ChangeOrderSummary(BaseModel):
    """The G702's change-order summary: approved before the period began, and during it."""

    previous_additions: MoneyAmount = ZERO
    previous_deductions: MoneyAmount = ZERO
    this_period_additions: MoneyAmount = ZERO
    this_period_deductions: MoneyAmount = ZERO

    @property
    def additions(self) -> Decimal:
        return self.previous_additions + self.this_period_additions

    @property
    def deductions(self) -> Decimal:
        return self.previous_deductions + self.this_period_deductions

    @property
    def net(self) -> Decimal:
        return self.additions - self.deductions


class CertificateDocument(BaseModel):
    """Everything the G702/G703 prints, as it stood when the pay app was finalized (or now, for
    a preview)."""

    pay_app_id: str
    number: int
    kind: str
    status: PayAppStatus
    project_name: str
    project_number: str
    general_contractor: str
    owner: str
    terminology: Terminology
    currency: str
    notary_required: bool
    commitment_number: str
    commitment_title: str
    vendor_name: str
    period_start: date | None
    period_end: date | None
    submitted_on: date | None
    summary: G702Summary
    change_orders: ChangeOrderSummary
    lines: list[G703Row]
    certified_at: datetime | None = None
    certified_by: str = ""


# -- the document --------------------------------------------------------------------------------


def document_of(
    session: Session,
    pay_app: PayApp,
    commitment: Commitment,
    project: Project,
    app: Application,
    certified_by: str = "",
) -> CertificateDocument:
    """The document of `pay_app` priced as `app`; a finalized one's G702 is its frozen
    certificate."""
    period = session.get(BillingPeriod, pay_app.period_id) if pay_app.period_id else None
    summary = pay_app.certificate or computation.certificate(app.summary)
    return CertificateDocument(
        pay_app_id=pay_app.id,
        number=pay_app.number,
        kind=pay_app.kind,
        status=PayAppStatus(pay_app.status),
        project_name=project.name,
        project_number=project.number,
        general_contractor=project.general_contractor,
        owner=project.owner,
        terminology=Terminology(project.terminology),
        currency=project.currency,
        notary_required=project.notary_required,
        commitment_number=commitment.number,
        commitment_title=commitment.title,
        vendor_name=commitment.vendor_name,
        period_start=period.start_date if period else None,
        period_end=period.end_date if period else None,
        submitted_on=pay_app.submitted_at.date() if pay_app.submitted_at else None,
        summary=G702Summary.model_validate(summary),
        change_orders=change_order_summary(
            session, commitment.id, period.start_date if period else None, pay_app.finalized_at
        ),
        lines=[
            G703Row(
                code=line.code,
                description=line.description,
                scheduled_value=line.scheduled_value,
                from_previous=line.from_previous,
                this_period=line.this_period,
                materials_stored=line.materials_stored,
                completed_and_stored=line.completed_and_stored,
                percent_complete=line.percent_complete,
                balance_to_finish=line.balance_to_finish,
                retainage=line.retainage,
            )
            for line in app.lines
        ],
        certified_at=pay_app.finalized_at,
        certified_by=who_acted(certified_by) if certified_by else "",
    )


def change_order_summary(
    session: Session, commitment_id: str, period_start: date | None, until: datetime | None
) -> ChangeOrderSummary:
    """The commitment's change orders approved by `until` (all of them without), each added or
    deducted as a whole, before the period began or during it."""
    lines = commitments.change_order_lines(session, commitment_id)
    totals = {"previous": [ZERO, ZERO], "this_period": [ZERO, ZERO]}
    for change_order in commitments.change_orders(session, commitment_id):
        approved_at = change_order.approved_at
        if change_order.status != ChangeOrderStatus.APPROVED or approved_at is None:
            continue
        if until is not None and approved_at > until:
            continue
        amount = sum((line.amount for line in lines.get(change_order.id, [])), ZERO)
        during = period_start is not None and approved_at.date() >= period_start
        column = totals["this_period" if during else "previous"]
        if amount >= 0:
            column[0] += amount
        else:
            column[1] -= amount
    return ChangeOrderSummary(
        previous_additions=totals["previous"][0],
        previous_deductions=totals["previous"][1],
        this_period_additions=totals["this_period"][0],
        this_period_deductions=totals["this_period"][1],
    )


def live_document(session: Session, pay_app_id: str, certified_by: str = "") -> CertificateDocument:
    """The document of the pay app as it stands now."""
    pay_app = _pay_app(session, pay_app_id)
    commitment = session.get(Commitment, pay_app.commitment_id)
    assert commitment is not None
    project = session.get(Project, commitment.project_id)
    assert project is not None
    app = computation.priced(session, commitment, pay_app).app
    return document_of(session, pay_app, commitment, project, app, certified_by)


# -- kept: frozen at finalize, printed once ------------------------------------------------------


def freeze(session: Session, document: CertificateDocument) -> None:
    """Keep the certificate's document, in the finalize transaction; a second freeze of the
    same pay app keeps the first."""
    table = CertificatePdf.__table__  # type: ignore[attr-defined]
    keep = insert_unless_taken(session, table, ("pay_app_id",), table.c.pay_app_id)
    row = {
        "pay_app_id": document.pay_app_id,
        "document": document.model_dump(mode="json"),
        "pdf": None,
        "sha256": "",
        "frozen_at": utcnow(),
        "printed_at": None,
    }
    session.execute(keep, row)


def kept_pdf(engine: Engine, pay_app_id: str) -> bytes:
    """The finalized pay app's PDF, printed now if it has not been yet.
    Idempotent: whoever keeps a PDF first (this call, a retried activity, a download) wins, and
    every caller gets that one. Printing takes the time it takes outside any transaction."""
    found = kept_or_to_print(engine, pay_app_id)
    if isinstance(found, bytes):
        return found
    return keep_printed(engine, found, printed(found.document))


@dataclass(frozen=True)
class ToPrint:
    """A finalized pay app's document, not printed yet; `frozen` unless it was finalized before
    documents were frozen, when it is made from the record and frozen as it is kept."""

    document: CertificateDocument
    frozen: bool


def kept_or_to_print(engine: Engine, pay_app_id: str) -> bytes | ToPrint:
    """The finalized pay app's kept PDF, or else the document to print."""
    with read_scope(engine) as session:
        kept = session.get(CertificatePdf, pay_app_id)
        if kept is None:
            document = live_document(session, pay_app_id, finalized_by(session, pay_app_id))
            return ToPrint(document, frozen=False)
        if kept.pdf is not None:
            return kept.pdf
        return ToPrint(CertificateDocument.model_validate(kept.document), frozen=True)


def keep_printed(engine: Engine, to_print: ToPrint, pdf: bytes) -> bytes:
    """Keep `pdf`, printed from `to_print`, unless a PDF was kept meanwhile; the PDF kept."""
    with session_scope(engine) as session:
        if not to_print.frozen:
            freeze(session, to_print.document)
        return keep(session, to_print.document.pay_app_id, pdf)


def keep(session: Session, pay_app_id: str, pdf: bytes) -> bytes:
    """Fill the certificate's empty PDF with `pdf`; the PDF kept (this one, or one kept before)."""
    fill = (
        update(CertificatePdf)
        .where(col(CertificatePdf.pay_app_id) == pay_app_id, col(CertificatePdf.pdf).is_(None))
        .values(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), printed_at=utcnow())
    )
    session.execute(fill)
    kept = session.exec(
        select(CertificatePdf.pdf).where(CertificatePdf.pay_app_id == pay_app_id)
    ).one()
    assert kept is not None
    return kept


def finalized_by(session: Session, pay_app_id: str) -> str:
    """Who finalized the pay app, as its audit event names them."""
    query = select(AuditEvent.actor).where(
        AuditEvent.entity_id == pay_app_id, AuditEvent.action == "finalize"
    )
    return session.exec(query.order_by(col(AuditEvent.at).desc())).first() or ""


# -- any pay app's paper -------------------------------------------------------------------------


def g702_pdf(engine: Engine, pay_app_id: str) -> bytes:
    """The pay app's G702/G703: a certified one's kept PDF, any other's preview marked DRAFT (or
    VOID) on every page. The caller has checked that the pay app may be seen."""
    with read_scope(engine) as session:
        certified = _pay_app(session, pay_app_id).certificate is not None
        if not certified:
            document = live_document(session, pay_app_id)
    if certified:
        return kept_pdf(engine, pay_app_id)
    return printed(document, mark="VOID" if document.status == PayAppStatus.VOID else "DRAFT")


def file_name(session: Session, pay_app_id: str) -> str:
    """``SC-001-application-2-G702.pdf``: letters, digits and dashes only."""
    pay_app = _pay_app(session, pay_app_id)
    commitment = session.get(Commitment, pay_app.commitment_id)
    assert commitment is not None
    number = "".join(c if c.isascii() and c.isalnum() else "-" for c in commitment.number)
    return f"{number.strip('-') or 'commitment'}-application-{pay_app.number}-G702.pdf"


def _pay_app(session: Session, pay_app_id: str) -> PayApp:
    """The pay app; NotFound when it is gone (a draft deleted since it was looked up)."""
    pay_app = session.get(PayApp, pay_app_id)
    if pay_app is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    return pay_app


# -- printing ------------------------------------------------------------------------------------


def printed(document: CertificateDocument, mark: str = "") -> bytes:
    """The document printed: the G702 page, then the G703 sheets."""
    return pdf_of(TEMPLATE, context_of(document, mark))


def context_of(document: CertificateDocument, mark: str = "") -> dict[str, Any]:
    """What the template shows: the document, its words, and the G703 laid out as sheets of
    fixed-width rows with their page totals and the grand total."""
    currency = document.currency
    cells = [[line.code, line.description, *_figures(line, currency)] for line in document.lines]
    grand_total = ["", "", *_figures(_total(document.lines), currency)]
    table = fixed_width_table(
        G703_COLUMNS, [*cells, grand_total, *G703_HEADERS], available_pt=SHEET_WIDTH_PT
    )
    rows = [(line, table.row(row)) for line, row in zip(document.lines, cells, strict=True)]
    sheets = []
    for sheet in _sheets(rows, table.font_size_pt):
        total = ["", "Page total", *_figures(_total([line for line, _ in sheet]), currency)]
        texts = [text for _, text in sheet]
        sheets.append(
            {
                "rows": texts,
                # Five rows to a block, a rule under each: a block of text is laid out for much
                # less than five of them.
                "blocks": [
                    "\n".join(texts[start : start + RULE_EVERY])
                    for start in range(0, len(texts), RULE_EVERY)
                ],
                "total": table.row(total),
            }
        )
    return {
        "document": document,
        "summary": document.summary,
        "words": words(document.terminology),
        "currency": currency,
        "mark": mark,
        "font_size_pt": table.font_size_pt,
        "headers": "\n".join(table.row(line) for line in G703_HEADERS),
        "sheets": sheets,
        "grand_total": table.row(["", "Grand total", *grand_total[2:]]),
    }


def _sheets(
    rows: list[tuple[G703Row, str]], font_size_pt: float
) -> list[list[tuple[G703Row, str]]]:
    """The rows in sheets that each fit a page: a row is never split, and a sheet without rows
    still prints its (empty) totals."""
    line_pt = font_size_pt * LINE_HEIGHT
    sheets: list[list[tuple[G703Row, str]]] = [[]]
    used = 0.0
    for row in rows:
        height = (row[1].count("\n") + 1) * line_pt + ROW_PADDING_PT
        if sheets[-1] and used + height > SHEET_ROWS_PT:
            sheets.append([])
            used = 0.0
        sheets[-1].append(row)
        used += height
    return sheets


def _total(lines: Sequence[G703Row]) -> G703Row:
    """A totals row: each column summed, G/C of the sums."""

    def summed(field: str) -> Decimal:
        return sum((getattr(line, field) for line in lines), ZERO)

    scheduled, completed = summed("scheduled_value"), summed("completed_and_stored")
    percent = (
        (completed / scheduled * 100).quantize(CENT, rounding=ROUND_HALF_UP) if scheduled else ZERO
    )
    return G703Row(
        code="",
        description="",
        scheduled_value=scheduled,
        from_previous=summed("from_previous"),
        this_period=summed("this_period"),
        materials_stored=summed("materials_stored"),
        completed_and_stored=completed,
        percent_complete=percent,
        balance_to_finish=summed("balance_to_finish"),
        retainage=summed("retainage"),
    )


def _figures(line: G703Row, currency: str) -> list[str]:
    """Columns C to I as the paper writes them."""
    return [
        money(line.scheduled_value, currency),
        money(line.from_previous, currency),
        money(line.this_period, currency),
        money(line.materials_stored, currency),
        money(line.completed_and_stored, currency),
        f"{line.percent_complete:.2f}%",
        money(line.balance_to_finish, currency),
        money(line.retainage, currency),
    ]
