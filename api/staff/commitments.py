"""Staff endpoints for commitments: set-up, SOV approval, change orders, billing summary."""

from fastapi import APIRouter, Response, status

from api.deps import CurrentUser, EngineDep, SessionDep
from api.downloads import REPORT_CSV_RESPONSES, REPORT_PDF_RESPONSES, billing_report_download
from paydraw.commitments import service, summary
from paydraw.commitments.schemas import (
    BillingSummary,
    ChangeOrderCreate,
    ChangeOrderPublic,
    CommitmentCreate,
    CommitmentPublic,
    SovReplace,
)
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import CreditBalance, CreditCreate

router = APIRouter(prefix="/api/v1", tags=["commitments"])


@router.post("/projects/{project_id}/commitments", status_code=status.HTTP_201_CREATED)
def create_commitment(
    project_id: str, body: CommitmentCreate, session: SessionDep, user: CurrentUser
) -> CommitmentPublic:
    """Add a subcontract or purchase order with contacts, retainage, SOV lines and draws."""
    return service.create_commitment(session, user, project_id, body)


@router.get("/commitments/{commitment_id}")
def get_commitment(commitment_id: str, session: SessionDep, user: CurrentUser) -> CommitmentPublic:
    """Read a commitment with its SOV, draws and change orders."""
    return service.get_commitment(session, user, commitment_id)


@router.put("/commitments/{commitment_id}/sov")
def replace_sov(
    commitment_id: str, body: SovReplace, session: SessionDep, user: CurrentUser
) -> CommitmentPublic:
    """Replace the lines and draws of a draft SOV."""
    return service.replace_sov(session, user, commitment_id, body)


@router.post("/commitments/{commitment_id}/sov/approve")
def approve_sov(commitment_id: str, session: SessionDep, user: CurrentUser) -> CommitmentPublic:
    """Approve the SOV; afterwards it changes only by change order."""
    return service.approve_sov(session, user, commitment_id)


@router.post("/commitments/{commitment_id}/change-orders", status_code=status.HTTP_201_CREATED)
def add_change_order(
    commitment_id: str, body: ChangeOrderCreate, session: SessionDep, user: CurrentUser
) -> ChangeOrderPublic:
    """Add or deduct scheduled value on existing lines, or add new lines."""
    return service.add_change_order(session, user, commitment_id, body)


@router.post("/commitments/{commitment_id}/change-orders/{change_order_id}/approve")
def approve_change_order(
    commitment_id: str, change_order_id: str, session: SessionDep, user: CurrentUser
) -> ChangeOrderPublic:
    """Approve a pending change order."""
    return service.approve_change_order(session, user, commitment_id, change_order_id)


@router.get("/commitments/{commitment_id}/billing-summary")
def billing_summary(commitment_id: str, session: SessionDep, user: CurrentUser) -> BillingSummary:
    """Contract sum to date, billed, retainage held and released, certified, paid, balance."""
    return summary.billing_summary(session, user, commitment_id)


@router.get(
    "/commitments/{commitment_id}/billing-report.pdf",
    response_class=Response,
    responses=REPORT_PDF_RESPONSES,
)
async def billing_report_pdf(commitment_id: str, engine: EngineDep, user: CurrentUser) -> Response:
    """The billing report as PDF: every pay app, certified, retainage held and released, paid,
    balance."""
    return await billing_report_download(engine, user, commitment_id, "pdf")


@router.get(
    "/commitments/{commitment_id}/billing-report.csv",
    response_class=Response,
    responses=REPORT_CSV_RESPONSES,
)
async def billing_report_csv(commitment_id: str, engine: EngineDep, user: CurrentUser) -> Response:
    """The billing report as CSV, money as plain decimals."""
    return await billing_report_download(engine, user, commitment_id, "csv")


@router.post("/commitments/{commitment_id}/credits", status_code=status.HTTP_201_CREATED)
def add_credit(
    commitment_id: str, body: CreditCreate, session: SessionDep, user: CurrentUser
) -> CreditBalance:
    """Record a deposit or advance; pay apps are paid from it with the `credit_balance` method."""
    return pay_apps.credit(session, user, commitment_id, body)
