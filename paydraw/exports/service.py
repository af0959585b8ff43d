"""Exports: a pay app's G703 lines and a period's board, as CSV or .xlsx, for whoever may see
their JSON twins (the same services decide: a 404 without a role on the project, or outside a
contact's link)."""

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from paydraw.actors import Actor
from paydraw.contacts import service as contacts
from paydraw.domain.errors import NotFound
from paydraw.domain.transitions import Role
from paydraw.exports import tables
from paydraw.invitations.tokens import ContactClaim
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import PayAppPublic
from paydraw.periods import service as periods


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class Export:
    filename: str
    content_type: str
    content: bytes


def pay_app_g703(session: Session, actor: Actor, pay_app_id: str, form: ExportFormat) -> Export:
    """The G703 lines of a pay app a staff user can see (the workbook adds the G702 lines)."""
    role, _ = pay_apps.locate(session, actor.id, pay_app_id)
    return _g703(pay_apps.get(session, role, pay_app_id), form)


def contact_g703(session: Session, claim: ContactClaim, form: ExportFormat) -> Export:
    """The G703 lines of the contact's own pay app in their period."""
    _, live = contacts.live_pay_app(session, claim)
    if live is None:
        raise NotFound("no pay app yet for this period: fill in its lines to start one")
    return _g703(pay_apps.get(session, Role.CONTACT, live.id), form)


def board(session: Session, actor: Actor, period_id: str, form: ExportFormat) -> Export:
    """The period's board, one row per commitment, as the JSON board has it."""
    sheet = tables.board(periods.board(session, actor, period_id))
    return _export(f"board-{period_id}", [sheet], form)


def _g703(pay_app: PayAppPublic, form: ExportFormat) -> Export:
    sheets = [tables.g703(pay_app)]
    if form == ExportFormat.XLSX:
        sheets.append(tables.g702(pay_app))
    return _export(f"g703-application-{pay_app.number}-{pay_app.id}", sheets, form)


def _export(stem: str, sheets: list[tables.Sheet], form: ExportFormat) -> Export:
    if form == ExportFormat.CSV:
        return Export(f"{stem}.csv", tables.CSV_TYPE, tables.as_csv(sheets[0]))
    return Export(f"{stem}.xlsx", tables.XLSX_TYPE, tables.as_xlsx(sheets))
