"""A pay app's G703 lines and a period's board as tables, written as CSV or as an Excel
workbook (.xlsx, with openpyxl).

The figures are the JSON API's, from the same services: money is a plain decimal with two
places (``24300.00``: no currency sign, no thousands separator), so a spreadsheet reads it as a
number; in a workbook it is a number cell shown with two decimals. Text a person typed (a
description, a vendor's name) that a spreadsheet would take for a formula (``=``, ``+``, ``-``,
``@`` first) is written with a leading apostrophe in CSV and as a text cell in a workbook, so an
export never runs what a vendor typed.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from paydraw.pay_apps.schemas import PayAppPublic
from paydraw.periods.schemas import Board

Value = str | Decimal | int | date | datetime | bool | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOLD = Font(bold=True)


@dataclass(frozen=True)
class Column:
    title: str
    money: bool = False


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list[Value]]


G703_COLUMNS = [
    Column("Item"),
    Column("Description of work"),
    Column("C Scheduled value", money=True),
    Column("D From previous application", money=True),
    Column("E This period", money=True),
    Column("F Materials presently stored", money=True),
    Column("G Total completed and stored to date", money=True),
    Column("G/C %"),
    Column("H Balance to finish", money=True),
    Column("I Retainage", money=True),
]
G703_TOTALS = (
    "scheduled_value",
    "from_previous",
    "this_period",
    "materials_stored",
    "completed_and_stored",
)

G702_LINES = [
    ("1", "Original contract sum", "original_contract_sum"),
    ("2", "Net change by change orders", "net_change_by_change_orders"),
    ("3", "Contract sum to date", "contract_sum_to_date"),
    ("4", "Total completed and stored to date", "total_completed_and_stored"),
    ("5a", "Retainage on completed work", "retainage_on_completed_work"),
    ("5b", "Retainage on stored material", "retainage_on_stored_materials"),
    ("", "Retainage released", "retainage_released"),
    ("5", "Total retainage", "total_retainage"),
    ("6", "Total earned less retainage", "total_earned_less_retainage"),
    ("7", "Less previous certificates for payment", "previous_certificates"),
    ("8", "Current payment due", "current_payment_due"),
    ("9", "Balance to finish, including retainage", "balance_to_finish_with_retainage"),
]


def g703(pay_app: PayAppPublic) -> Sheet:
    """One row per SOV line, columns A to I, and the grand totals."""
    rows: list[list[Value]] = [
        [
            line.code,
            line.description,
            line.scheduled_value,
            line.from_previous,
            line.this_period,
            line.materials_stored,
            line.completed_and_stored,
            line.percent_complete,
            line.balance_to_finish,
            line.retainage,
        ]
        for line in pay_app.lines
    ]
    totals = {
        name: sum((getattr(line, name) for line in pay_app.lines), Decimal("0.00"))
        for name in G703_TOTALS
    }
    scheduled, completed = totals["scheduled_value"], totals["completed_and_stored"]
    percent = (
        (completed * 100 / scheduled).quantize(Decimal("0.01")) if scheduled else Decimal("0.00")
    )
    rows.append(
        [
            "",
            "Grand totals",
            *totals.values(),
            percent,
            sum((line.balance_to_finish for line in pay_app.lines), Decimal("0.00")),
            sum((line.retainage for line in pay_app.lines), Decimal("0.00")),
        ]
    )
    return Sheet(f"G703 application {pay_app.number}", G703_COLUMNS, rows)


def g702(pay_app: PayAppPublic) -> Sheet:
    """The application's lines 1 to 9, for the workbook's second sheet."""
    summary = pay_app.summary
    rows: list[list[Value]] = [
        [number, words, getattr(summary, name)] for number, words, name in G702_LINES
    ]
    columns = [Column("Line"), Column("Description"), Column("Amount", money=True)]
    return Sheet(f"G702 application {pay_app.number}", columns, rows)


BOARD_COLUMNS = [
    Column("Commitment"),
    Column("Vendor"),
    Column("Invitation"),
    Column("Pay app"),
    Column("Overdue"),
    Column("Due date"),
    Column("Invited at"),
    Column("Answered at"),
    Column("Decline reason"),
    Column("Email failure"),
    Column("Commitment id"),
]


def board(period_board: Board) -> Sheet:
    rows: list[list[Value]] = [
        [
            row.number,
            row.vendor_name,
            row.invitation_status,
            row.pay_app_status or "",
            "yes" if row.overdue else "no",
            row.due_date,
            row.invited_at,
            row.answered_at,
            row.decline_reason,
            row.email_failure,
            row.commitment_id,
        ]
        for row in period_board.rows
    ]
    period = period_board.period
    title = f"Board {period.start_date.isoformat()} to {period.end_date.isoformat()}"
    return Sheet(title, BOARD_COLUMNS, rows)


def as_csv(sheet: Sheet) -> bytes:
    """The sheet as CSV in UTF-8 with a byte-order mark (Excel then reads the accents right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.title for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one workbook: a bold header row, money as numbers with two decimals."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        target = workbook.create_sheet(sheet.title[:31])
        target.append([column.title for column in sheet.columns])
        for cell in target[1]:
            cell.font = BOLD
        for row in sheet.rows:
            target.append([_xlsx_value(value) for value in row])
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            target.column_dimensions[letter].width = max(12, min(40, len(column.title) + 2))
            for (cell,) in target.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, Decimal | int | float) and not isinstance(
                    cell.value, bool
                ):
                    cell.number_format = "#,##0.00" if column.money else "0.00"
                elif isinstance(cell.value, str):
                    cell.data_type = TYPE_STRING  # never a formula, whatever it starts with
        target.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _xlsx_value(value: Value) -> Value:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds") + " UTC"
    return value
