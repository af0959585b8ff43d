"""Staff exports: a pay app's G703 lines and a period's board, as CSV and as .xlsx, for whoever
may read their JSON twins (`GET /pay-apps/{id}`, `GET /billing-periods/{id}`)."""

from fastapi import APIRouter, Response

from api.deps import CurrentUser, SessionDep
from api.downloads import export_download, file_of
from paydraw.exports import service
from paydraw.exports.service import ExportFormat
from paydraw.exports.tables import CSV_TYPE, XLSX_TYPE

router = APIRouter(prefix="/api/v1", tags=["exports"])


@router.get("/pay-apps/{pay_app_id}/g703.csv", response_class=Response, responses=file_of(CSV_TYPE))
def g703_csv(pay_app_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The G703 continuation sheet as CSV: one row per SOV line, columns A to I, and totals."""
    return export_download(service.pay_app_g703(session, user, pay_app_id, ExportFormat.CSV))


@router.get(
    "/pay-apps/{pay_app_id}/g703.xlsx", response_class=Response, responses=file_of(XLSX_TYPE)
)
def g703_xlsx(pay_app_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The G703 continuation sheet and the G702 lines as an Excel workbook."""
    return export_download(service.pay_app_g703(session, user, pay_app_id, ExportFormat.XLSX))


@router.get(
    "/billing-periods/{period_id}/board.csv", response_class=Response, responses=file_of(CSV_TYPE)
)
def board_csv(period_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The period's board as CSV, one row per commitment."""
    return export_download(service.board(session, user, period_id, ExportFormat.CSV))


@router.get(
    "/billing-periods/{period_id}/board.xlsx", response_class=Response, responses=file_of(XLSX_TYPE)
)
def board_xlsx(period_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The period's board as an Excel workbook."""
    return export_download(service.board(session, user, period_id, ExportFormat.XLSX))
