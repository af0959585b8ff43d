"""Commitments: set-up, SOV approval, change orders and the billing summary."""

from decimal import Decimal

from sqlmodel import Session

from paydraw.access import ADMIN_ONLY, commitment_for, project_for
from paydraw.actors import Actor
from paydraw.audit import record
from paydraw.commitments import repository
from paydraw.commitments.ledger import build_ledger, load_contract
from paydraw.commitments.schemas import (
    ChangeOrderCreate,
    ChangeOrderLineIn,
    ChangeOrderLinePublic,
    ChangeOrderPublic,
    CommitmentCreate,
    CommitmentKind,
    CommitmentPublic,
    ContactPublic,
    DrawIn,
    DrawPublic,
    RetainageIn,
    RetainageStepPublic,
    SovLineIn,
    SovLinePublic,
    SovReplace,
)
from paydraw.db.tables import (
    ChangeOrder,
    ChangeOrderLine,
    Commitment,
    Contact,
    Draw,
    Project,
    SovLine,
    utcnow,
)
from paydraw.domain.errors import InvalidInput, InvalidTransition, NotFound
from paydraw.domain.money import require_within_largest
from paydraw.domain.retainage import RetainageRule, RetainageStep
from paydraw.domain.transitions import (
    ChangeOrderStatus,
    SovAction,
    SovStatus,
    transition_sov,
)
from paydraw.fields import percent_text

ZERO = Decimal("0.00")


def create_commitment(
    session: Session, actor: Actor, project_id: str, request: CommitmentCreate
) -> CommitmentPublic:
    """A subcontract or purchase order with its contacts and a draft SOV."""
    project, _ = project_for(session, actor.id, project_id, ADMIN_ONLY, "add commitments")
    if repository.by_number(session, project.id, request.number):
        raise InvalidInput("number", f"commitment {request.number} already exists on this project")
    commitment = Commitment(
        project_id=project.id,
        number=request.number,
        title=request.title,
        kind=request.kind,
        vendor_name=request.vendor_name,
        retainage_steps=retainage_steps(request.retainage, project),
        stored_materials_retainage_percent=request.stored_materials_retainage_percent,
    )
    session.add(commitment)
    session.flush()
    for contact in request.contacts:
        session.add(Contact(commitment_id=commitment.id, **contact.model_dump(mode="json")))
    add_sov(session, commitment, request.sov_lines, request.draws)
    record(
        session,
        actor,
        entity_type="commitment",
        entity_id=commitment.id,
        action="create",
        project_id=project.id,
        to_state=SovStatus.DRAFT,
        detail=request.model_dump(mode="json"),
    )
    return to_public(session, commitment)


def retainage_steps(retainage: RetainageIn | None, project: Project) -> list[dict[str, str | None]]:
    """The commitment's retainage rule as stored: the project's default rate when none is given.
    The domain core validates the steps (increasing thresholds, last step open-ended)."""
    if retainage is None or retainage.percent is not None:
        percent = project.default_retainage_percent if retainage is None else retainage.percent
        assert percent is not None
        rule = RetainageRule.flat(percent)
    else:
        assert retainage.steps is not None
        rule = RetainageRule(
            steps=tuple(
                RetainageStep(step.percent, step.until_percent_complete) for step in retainage.steps
            )
        )
    return [
        {
            "percent": percent_text(step.percent),
            "until_percent_complete": (
                None
                if step.until_percent_complete is None
                else percent_text(step.until_percent_complete)
            ),
        }
        for step in rule.steps
    ]


def add_sov(
    session: Session, commitment: Commitment, lines: list[SovLineIn], draws: list[DrawIn]
) -> None:
    total = sum((line.scheduled_value for line in lines), ZERO)
    require_within_largest(total, "sov_lines", "the contract sum")
    for position, line in enumerate(lines, start=1):
        session.add(
            SovLine(
                commitment_id=commitment.id,
                position=position,
                code=line.code,
                description=line.description,
                original_value=line.scheduled_value,
                retainage_percent=line.retainage_percent,
            )
        )
    for position, draw in enumerate(draws, start=1):
        session.add(
            Draw(commitment_id=commitment.id, position=position, name=draw.name, amount=draw.amount)
        )
    session.flush()


def get_commitment(session: Session, actor: Actor, commitment_id: str) -> CommitmentPublic:
    commitment, _, _ = commitment_for(session, actor.id, commitment_id)
    return to_public(session, commitment)


def replace_sov(
    session: Session, actor: Actor, commitment_id: str, request: SovReplace
) -> CommitmentPublic:
    """Replace the lines and draws of a draft SOV; an approved SOV changes by change order only."""
    commitment, project, _ = commitment_for(
        session, actor.id, commitment_id, ADMIN_ONLY, "edit the schedule of values"
    )
    transition_sov(SovStatus(commitment.sov_status), SovAction.REPLACE_SOV)
    repository.delete_sov(session, commitment.id)
    add_sov(session, commitment, request.sov_lines, request.draws)
    record(
        session,
        actor,
        entity_type="commitment",
        entity_id=commitment.id,
        action="replace_sov",
        project_id=project.id,
        detail=request.model_dump(mode="json"),
    )
    return to_public(session, commitment)


def approve_sov(session: Session, actor: Actor, commitment_id: str) -> CommitmentPublic:
    """Approve the SOV: from now on it changes only through change orders."""
    commitment, project, _ = commitment_for(
        session, actor.id, commitment_id, ADMIN_ONLY, "approve the schedule of values"
    )
    to_status = transition_sov(SovStatus(commitment.sov_status), SovAction.APPROVE_SOV)
    contract = load_contract(session, commitment)
    if not contract.lines:
        raise InvalidInput("sov_lines", "an SOV needs at least one line before approval")
    draws_total = sum((draw.amount for draw in repository.draws(session, commitment.id)), ZERO)
    if draws_total > contract.contract_sum_to_date:
        raise InvalidInput(
            "draws",
            f"draws total {draws_total:.2f}, more than the contract sum "
            f"{contract.contract_sum_to_date:.2f}",
        )
    commitment.sov_status = to_status
    commitment.sov_approved_at = utcnow()
    commitment.sov_approved_by = actor.id
    session.add(commitment)
    record(
        session,
        actor,
        entity_type="commitment",
        entity_id=commitment.id,
        action="approve_sov",
        project_id=project.id,
        from_state=SovStatus.DRAFT,
        to_state=to_status,
        detail={"contract_sum": f"{contract.contract_sum_to_date:.2f}"},
    )
    return to_public(session, commitment)


def add_change_order(
    session: Session, actor: Actor, commitment_id: str, request: ChangeOrderCreate
) -> ChangeOrderPublic:
    """Record a change order; an approved one changes the scheduled values at once."""
    commitment, project, _ = commitment_for(
        session, actor.id, commitment_id, ADMIN_ONLY, "add change orders"
    )
    transition_sov(SovStatus(commitment.sov_status), SovAction.CHANGE_ORDER)
    if repository.change_order(session, commitment.id, request.number):
        raise InvalidInput("number", f"change order {request.number} already exists")
    change_order = ChangeOrder(
        commitment_id=commitment.id, number=request.number, title=request.title
    )
    session.add(change_order)
    session.flush()
    lines = existing_lines_by_id(session, commitment)
    for index, line in enumerate(request.lines):
        sov_line = lines.get(line.sov_line_id or "") if line.sov_line_id else None
        if line.sov_line_id and sov_line is None:
            raise InvalidInput(f"lines[{index}].sov_line_id", "no such line on this commitment")
        if sov_line is None:
            sov_line = new_line_from_change_order(session, commitment, change_order, index, line)
        session.add(
            ChangeOrderLine(
                change_order_id=change_order.id, sov_line_id=sov_line.id, amount=line.amount
            )
        )
    session.flush()
    record(
        session,
        actor,
        entity_type="change_order",
        entity_id=change_order.id,
        action="create",
        project_id=project.id,
        to_state=ChangeOrderStatus.PENDING,
        detail=request.model_dump(mode="json"),
    )
    if request.status == ChangeOrderStatus.APPROVED:
        approve(session, actor, commitment, project, change_order)
    return change_order_public(session, commitment, change_order)


def existing_lines_by_id(session: Session, commitment: Commitment) -> dict[str, SovLine]:
    return {line.id: line for line in repository.sov_lines(session, commitment.id)}


def new_line_from_change_order(
    session: Session,
    commitment: Commitment,
    change_order: ChangeOrder,
    index: int,
    line: ChangeOrderLineIn,
) -> SovLine:
    assert line.code is not None  # the request model requires a code for a new line
    if any(existing.code == line.code for existing in repository.sov_lines(session, commitment.id)):
        raise InvalidInput(f"lines[{index}].code", f"line {line.code} already exists")
    sov_line = SovLine(
        commitment_id=commitment.id,
        position=repository.next_position(session, commitment.id),
        code=line.code,
        description=line.description,
        original_value=ZERO,
        retainage_percent=line.retainage_percent,
        added_by_change_order_id=change_order.id,
    )
    session.add(sov_line)
    session.flush()
    return sov_line


def approve_change_order(
    session: Session, actor: Actor, commitment_id: str, change_order_id: str
) -> ChangeOrderPublic:
    commitment, project, _ = commitment_for(
        session, actor.id, commitment_id, ADMIN_ONLY, "approve change orders"
    )
    change_order = session.get(ChangeOrder, change_order_id)
    if change_order is None or change_order.commitment_id != commitment.id:
        raise NotFound(f"change order {change_order_id} not found")
    if change_order.status != ChangeOrderStatus.PENDING:
        raise InvalidTransition(change_order.status, "approve", [], subject="a change order")
    approve(session, actor, commitment, project, change_order)
    return change_order_public(session, commitment, change_order)


def approve(
    session: Session,
    actor: Actor,
    commitment: Commitment,
    project: Project,
    change_order: ChangeOrder,
) -> None:
    """Approve and check that no line's scheduled value falls below what is already billed on it."""
    change_order.status = ChangeOrderStatus.APPROVED
    change_order.approved_at = utcnow()
    session.add(change_order)
    session.flush()
    ledger = build_ledger(session, commitment)
    require_within_largest(
        ledger.contract.contract_sum_to_date, "lines", "the contract sum to date"
    )
    for line in ledger.contract.lines:
        billed = ledger.history.get(line.id)
        billed_to_date = billed.work_completed + billed.materials_stored if billed else ZERO
        if line.scheduled_value < billed_to_date:
            raise InvalidInput(
                "lines",
                f"line {line.code} would be scheduled at {line.scheduled_value:.2f}, below the "
                f"{billed_to_date:.2f} already billed on it",
            )
    record(
        session,
        actor,
        entity_type="change_order",
        entity_id=change_order.id,
        action="approve",
        project_id=project.id,
        from_state=ChangeOrderStatus.PENDING,
        to_state=ChangeOrderStatus.APPROVED,
        detail={"contract_sum_to_date": f"{ledger.contract.contract_sum_to_date:.2f}"},
    )


def change_order_public(
    session: Session, commitment: Commitment, change_order: ChangeOrder
) -> ChangeOrderPublic:
    codes = {line.id: line.code for line in repository.sov_lines(session, commitment.id)}
    lines = repository.change_order_lines(session, commitment.id).get(change_order.id, [])
    return ChangeOrderPublic(
        id=change_order.id,
        number=change_order.number,
        title=change_order.title,
        status=ChangeOrderStatus(change_order.status),
        total=sum((line.amount for line in lines), ZERO),
        lines=[
            ChangeOrderLinePublic(
                sov_line_id=line.sov_line_id, code=codes[line.sov_line_id], amount=line.amount
            )
            for line in lines
        ],
        approved_at=change_order.approved_at,
    )


def to_public(session: Session, commitment: Commitment) -> CommitmentPublic:
    contract = load_contract(session, commitment)
    stored_lines = {line.id: line for line in repository.sov_lines(session, commitment.id)}
    return CommitmentPublic(
        id=commitment.id,
        project_id=commitment.project_id,
        number=commitment.number,
        title=commitment.title,
        kind=CommitmentKind(commitment.kind),
        vendor_name=commitment.vendor_name,
        contacts=[
            ContactPublic(
                id=contact.id,
                name=contact.name,
                email=contact.email,
                invoice_contact=contact.invoice_contact,
            )
            for contact in repository.contacts(session, commitment.id)
        ],
        retainage_steps=[
            RetainageStepPublic(
                percent=step.percent, until_percent_complete=step.until_percent_complete
            )
            for step in contract.retainage.steps
        ],
        stored_materials_retainage_percent=commitment.stored_materials_retainage_percent,
        sov_status=SovStatus(commitment.sov_status),
        sov_lines=[
            SovLinePublic(
                id=line.id,
                position=stored_lines[line.id].position,
                code=line.code,
                description=line.description,
                original_value=line.original_value,
                change_orders=line.change_orders,
                scheduled_value=line.scheduled_value,
                retainage_percent=line.retainage_percent,
                added_by_change_order_id=stored_lines[line.id].added_by_change_order_id,
            )
            for line in contract.lines
        ],
        draws=[
            DrawPublic(
                id=draw.id,
                position=draw.position,
                name=draw.name,
                amount=draw.amount,
                billed=draw.billed_by_pay_app_id is not None,
            )
            for draw in repository.draws(session, commitment.id)
        ],
        change_orders=[
            change_order_public(session, commitment, change_order)
            for change_order in repository.change_orders(session, commitment.id)
        ],
        original_contract_sum=contract.original_sum,
        net_change_by_change_orders=contract.change_orders_sum,
        contract_sum_to_date=contract.contract_sum_to_date,
        created_at=commitment.created_at,
    )
