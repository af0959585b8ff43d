"""The answer each request should get, as the model predicts it (``Expect``: the status code, the
refusal's body, the audit event a change leaves), with what an accepted create, edit or review
bills; the money checks they share refuse work to date below zero and over-billing without the
override the `warn` policy accepts."""

from dataclasses import dataclass
from decimal import Decimal

from tests.workflows.stateful.bodies import Entry
from tests.workflows.stateful.model import (
    CODES,
    CONTRACT_SUM,
    SOV,
    UNFINISHED,
    ZERO,
    Bill,
    BillingModel,
    PayAppModel,
    money,
    percent_of,
    spread,
    text,
)


@dataclass
class Expect:
    """The answer a request should get; for a change, the audit event it should leave."""

    code: int
    status: str | None = None
    allowed: list[str] | None = None
    message: str = ""
    field: str | None = None
    over_billed: list[str] | None = None
    event: tuple[str, str | None, str | None] | None = None  # action, from, to


class Refused(Exception):
    def __init__(self, expect: Expect) -> None:
        super().__init__(expect)
        self.expect = expect


def wrong_state(model: BillingModel, app: PayAppModel) -> Expect:
    return Expect(409, status=app.status, allowed=model.allowed_for(app))


def predict_create(model: BillingModel, entry: Entry, override: str, contact: bool) -> Expect:
    """Sets ``model.pending`` to the pay app the create should make."""
    period_index = len(model.periods) - 1
    period = model.periods[period_index]
    if contact and not period.accepted:
        return Expect(409, status="invited", allowed=["accept"], message="accept the invite")
    live = model.live_in(period_index)
    if live is not None:
        return Expect(409, status=live.status, message="already bills this period")
    unfinished = [app for app in model.apps if app.status in UNFINISHED]
    if unfinished:
        app = unfinished[0]
        return Expect(409, status=app.status, message=f"#{app.number} is still {app.status}")
    number = max((app.number for app in model.apps), default=0) + 1
    model.pending = PayAppModel("", number, period_index, Bill({}, {}), "")
    try:
        bill = bill_for(model, entry, model.pending)
    except Refused as refused:
        return refused.expect
    model.pending.bill = bill
    expect = money_checked(model, model.pending, bill, override, "create", "draft", None)
    model.pending.override = model.new_override(model.pending, bill, override)
    return Expect(201, event=expect.event) if expect.code < 300 else expect


def predict_edit(
    model: BillingModel, app: PayAppModel, entry: Entry, override: str, contact: bool
) -> tuple[Expect, Bill]:
    """New amounts for ``app``, from the admin's or the contact's edit; and what it then bills."""
    bill = app.bill
    if app.status not in ("draft", "revise_and_resubmit"):
        expect = wrong_state(model, app)
    elif contact and model.periods[app.period].past_due:
        # The contact changes amounts only until the due date, as they submit them.
        expect = Expect(409, status="open", allowed=[])
    else:
        try:
            bill = bill_for(model, entry, app)
            expect = money_checked(model, app, bill, override, "edit_lines", app.status)
        except Refused as refused:
            expect = refused.expect
    return expect, bill


def predict_submit(model: BillingModel, app: PayAppModel, action: str, contact: bool) -> Expect:
    period = model.periods[app.period]
    if app.status != ("revise_and_resubmit" if action == "resubmit" else "draft"):
        return wrong_state(model, app)
    if contact and period.past_due:
        # The workflow refuses a late submit; a late resubmit reaches the database's rule.
        status = "past_due" if action == "submit" else "open"
        return Expect(409, status=status, allowed=[])
    return money_checked(model, app, app.bill, app.override, action, "under_review")


def predict_review(
    model: BillingModel,
    app: PayAppModel,
    decision: str,
    code: str,
    adjusted: Decimal,
    override: str,
) -> tuple[Expect, Bill, str]:
    if decision == "note_missing":
        return Expect(422, message="needs a note"), app.bill, app.override
    if app.status != "under_review":
        return wrong_state(model, app), app.bill, app.override
    action = decision if decision in ("approve", "revise") else "approve_as_noted"
    if decision == "revise":
        revise = Expect(200, event=("revise", "under_review", "revise_and_resubmit"))
        return revise, app.bill, app.override
    bill = Bill(dict(app.bill.work), dict(app.bill.stored))
    if decision == "approve_as_noted":
        bill.work[code] = money(adjusted)
    elif decision == "reject_line":
        bill.work[code] = ZERO
        bill.stored[code] = model.carried(app)[code]
    reason = app.override if decision == "approve" else override or app.override
    expect = money_checked(model, app, bill, reason, action, "approved")
    return expect, bill, model.new_override(app, bill, reason)


def predict_finalize(model: BillingModel, app: PayAppModel, by: str) -> Expect:
    if app.status != "approved":
        return wrong_state(model, app)
    if by == "reviewer":
        return Expect(403, message="a reviewer may not finalize")
    # A certificate with nothing due is settled as it is issued; below zero, what was paid
    # beyond it becomes the commitment's credit.
    due = model.figures(app).summary["current_payment_due"]
    settled = "paid" if due <= 0 else "finalized"
    return money_checked(model, app, app.bill, app.override, "finalize", settled)


def predict_payment(model: BillingModel, app: PayAppModel, amount: Decimal, method: str) -> Expect:
    remaining = app.due - app.paid
    if app.status != "finalized":
        return wrong_state(model, app)
    if amount > remaining:
        return Expect(422, field="amount", message=f"remaining due is {text(remaining)}")
    if method == "credit_balance" and amount > model.credit:
        return Expect(422, field="amount", message=f"credit balance is {text(model.credit)}")
    if app.paid + amount >= app.due:
        return Expect(200, event=("pay_in_full", "finalized", "paid"))
    return Expect(200, event=("pay_part", "finalized", "finalized"))


def predict_void(model: BillingModel, app: PayAppModel, reason: str) -> Expect:
    later = [a for a in model.apps if a.number > app.number and a.status != "void"]
    if not reason.strip():
        return Expect(422, field="reason")
    if app.status not in ("approved", "finalized"):
        return wrong_state(model, app)
    if app.paid:
        return Expect(
            409, status=app.status, allowed=model.allowed_for(app), message="cannot be voided"
        )
    if later:
        return Expect(
            409, status=app.status, allowed=model.allowed_for(app), message="was billed after it"
        )
    return Expect(200, event=("void", app.status, "void"))


def money_checked(
    model: BillingModel,
    app: PayAppModel,
    bill: Bill,
    override: str,
    action: str,
    to: str,
    start: str | None = "",
) -> Expect:
    """The change, unless it takes work to date below zero or bills a line over its scheduled
    value without the override reason the `warn` policy accepts."""
    figures = model.figures(app, bill)
    for index, code in enumerate(CODES):
        line = figures.lines[code]
        if line["from_previous"] + line["this_period"] < 0:
            return Expect(422, field=f"lines[{index}].work_this_period")
    over = model.over_billed(figures)
    if over and not (model.policy == "warn" and override.strip()):
        code = over[0]
        billed_before = figures.lines[code]["from_previous"] + model.history(app.number)[code][1]
        billable = max(ZERO, SOV[code] - billed_before)
        message = f"line {code}: billable {text(billable)}"
        return Expect(422, over_billed=over, message=message)
    return Expect(200, event=(action, app.status if start == "" else start, to))


def bill_for(model: BillingModel, entry: Entry, app: PayAppModel) -> Bill:
    """What each entry mode bills, or the refusal of a percent or amount out of range."""
    history = model.history(app.number)
    carried = model.carried(app)
    work = {code: ZERO for code in CODES}
    stored = dict(carried)
    if entry.mode == "per_line_amounts":
        for code, (typed_work, typed_stored) in entry.amounts.items():
            work[code] = money(typed_work)
            stored[code] = carried[code] if typed_stored is None else money(typed_stored)
    elif entry.mode == "per_line_percent":
        for index, code in enumerate(CODES):
            if code in entry.percents:
                to_date = percent_of(SOV[code], entry.percents[code])
                if to_date < carried[code]:
                    raise Refused(Expect(422, field=f"lines[{index}].percent_complete"))
                work[code] = to_date - history[code][0] - carried[code]
    else:
        billable = [max(ZERO, SOV[c] - history[c][0] - carried[c]) for c in CODES]
        if entry.mode == "contract_percent":
            billed = sum((history[c][0] + carried[c] for c in CODES), ZERO)
            amount, field_name = percent_of(CONTRACT_SUM, entry.whole) - billed, "percent"
        else:
            amount, field_name = money(entry.whole), "amount"
        if not ZERO <= amount <= sum(billable, ZERO):
            raise Refused(Expect(422, field=field_name))
        work = dict(zip(CODES, spread(amount, billable), strict=True))
    return Bill(work, stored)
