"""The money a user expects of one commitment's pay apps, computed apart from Paydraw's code: the
SOV every example bills, cents rounded half-up, DESIGN's pro-rata spread, and a model of the pay
apps and periods (``BillingModel``) with their G703 lines and G702 summary."""

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SOV = {"01": Decimal("5000.00"), "02": Decimal("60000.00"), "03": Decimal("35000.00")}
CODES = tuple(SOV)
CONTRACT_SUM = sum(SOV.values(), ZERO)

# What may be done to a pay app in each status, whoever asks (the body of a wrong-state 409).
ALLOWED = {
    "draft": ["delete", "edit_details", "edit_lines", "submit"],
    "under_review": ["approve", "approve_as_noted", "edit_details", "revise"],
    "revise_and_resubmit": ["edit_details", "edit_lines", "resubmit"],
    "approved": ["edit_details", "finalize", "void"],
    "finalized": ["pay_in_full", "pay_part", "void"],
    "paid": [],
    "void": [],
}
UNFINISHED = ("draft", "under_review", "revise_and_resubmit", "approved")
CERTIFIED = ("finalized", "paid")
# A closed period's billing goes on while one of its pay apps still has a way to go.
STILL_GOING = ("under_review", "revise_and_resubmit", "approved", "finalized")


def money(amount: Decimal) -> Decimal:
    """To the cent, half-up; zero has one spelling."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return ZERO if rounded.is_zero() else rounded


def text(amount: Decimal) -> str:
    return f"{money(amount):.2f}"


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return money(amount * percent / 100)


def spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """DESIGN's rule for a whole-contract amount: pro rata to what is billable on each line, cut
    to cents, the cents left over to the largest remainders, ties to the earlier line."""
    cents = int(total * 100)
    if cents == 0:
        return [ZERO for _ in weights]
    exact = [cents * Fraction(weight) / Fraction(sum(weights, ZERO)) for weight in weights]
    shares = [math.floor(share) for share in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: cents - sum(shares)]:
        shares[i] += 1
    return [Decimal(share).scaleb(-2) for share in shares]


@dataclass
class Bill:
    """Work this period (E) and materials presently stored (F) per line code."""

    work: dict[str, Decimal]
    stored: dict[str, Decimal]


@dataclass
class PayAppModel:
    id: str
    number: int
    period: int
    bill: Bill
    override: str
    status: str = "draft"
    paid: Decimal = ZERO
    certificate: dict[str, Decimal] | None = None

    @property
    def due(self) -> Decimal:
        """Line 8 of its certificate; nothing until it is finalized."""
        return self.certificate["current_payment_due"] if self.certificate else ZERO

    @property
    def payment_status(self) -> str:
        if self.certificate is not None and self.certificate["current_payment_due"] <= 0:
            return "paid"  # settled when it was finalized
        if self.certificate is None or self.paid == 0:
            return "unpaid"
        return "paid" if self.paid >= self.certificate["current_payment_due"] else "partially_paid"


@dataclass
class Period:
    id: str
    contact: dict[str, str]
    accepted: bool
    closed: bool = False

    @property
    def past_due(self) -> bool:
        return not self.accepted


@dataclass(frozen=True)
class Figures:
    """A pay app's G703 columns per code and its G702 summary, as the model computes them."""

    lines: dict[str, dict[str, Decimal]]
    summary: dict[str, Decimal]


@dataclass
class BillingModel:
    """One commitment's billing as a user expects it: its terms (drawn when the example opens
    the commitment), its periods and pay apps, and the credit balance."""

    policy: str = "block"
    rollover: bool = False
    rate: Decimal = ZERO
    apps: list[PayAppModel] = field(default_factory=list)
    periods: list[Period] = field(default_factory=list)
    pending: PayAppModel = field(default_factory=lambda: PayAppModel("", 0, 0, Bill({}, {}), ""))
    """The pay app a create about to be sent should make."""
    credit: Decimal = ZERO
    """The commitment's credit balance: what was paid beyond certificates settled below zero."""

    def in_period(self, index: int) -> list[PayAppModel]:
        number = index % len(self.periods)
        return [app for app in self.apps if app.period == number]

    def live_in(self, index: int) -> PayAppModel | None:
        """The period's pay app that is not void: the one the contact's link reaches."""
        live = [app for app in self.in_period(index) if app.status != "void"]
        return live[0] if live else None

    def targets(self) -> list[PayAppModel]:
        """Pay apps whose period's billing still runs: an open period, or a closed one with a pay
        app on its way to paid or void."""
        return [
            app
            for app in self.apps
            if not self.periods[app.period].closed
            or any(a.status in STILL_GOING for a in self.in_period(app.period))
        ]

    def target(self, which: int) -> PayAppModel:
        targets = self.targets()
        return targets[which % len(targets)]

    def fully_billed(self) -> bool:
        """Work billed on every pay app that is not void covers the contract: a commitment
        billed in full is not invited again (a period is opened only to invite it)."""
        work = sum((sum(a.bill.work.values(), ZERO) for a in self.apps if a.status != "void"), ZERO)
        return work >= CONTRACT_SUM

    def allowed_for(self, app: PayAppModel) -> list[str]:
        """The actions of the pay app's status, less a void once it has a payment or a later
        pay app was billed (neither can be voided)."""
        later = any(a.number > app.number and a.status != "void" for a in self.apps)
        if app.paid or later:
            return [action for action in ALLOWED[app.status] if action != "void"]
        return ALLOWED[app.status]

    def history(self, number: int) -> dict[str, tuple[Decimal, Decimal]]:
        """Per code: work completed before (D) and the material the last application stored."""
        earlier = sorted(
            (a for a in self.apps if a.number < number and a.status != "void"),
            key=lambda a: a.number,
        )
        return {
            code: (
                sum((a.bill.work[code] for a in earlier), ZERO),
                earlier[-1].bill.stored[code] if earlier else ZERO,
            )
            for code in CODES
        }

    def carried(self, app: PayAppModel) -> dict[str, Decimal]:
        """Stored material a line keeps when nobody types it: the last F, if it rolls over."""
        history = self.history(app.number)
        return {code: history[code][1] if self.rollover else ZERO for code in CODES}

    def figures(self, app: PayAppModel, bill: Bill | None = None) -> Figures:
        """G703 per line and the G702 summary, retainage rounded per line, then summed."""
        bill = bill or app.bill
        history = self.history(app.number)
        lines = {}
        for code in CODES:
            before, _ = history[code]
            now, on_site = bill.work[code], bill.stored[code]
            lines[code] = {
                "scheduled_value": SOV[code],
                "from_previous": before,
                "this_period": now,
                "materials_stored": on_site,
                "completed_and_stored": before + now + on_site,
                "retainage": percent_of(before + now, self.rate) + percent_of(on_site, self.rate),
            }
        completed = sum((line["completed_and_stored"] for line in lines.values()), ZERO)
        retainage = sum((line["retainage"] for line in lines.values()), ZERO)
        earned = completed - retainage
        certified = [
            a.certificate
            for a in sorted(self.apps, key=lambda a: a.number)
            if a.number < app.number and a.status in CERTIFIED and a.certificate is not None
        ]
        previous = certified[-1]["total_earned_less_retainage"] if certified else ZERO
        return Figures(
            lines,
            {
                "contract_sum_to_date": CONTRACT_SUM,
                "total_completed_and_stored": completed,
                "total_retainage": retainage,
                "total_earned_less_retainage": earned,
                "previous_certificates": previous,
                "current_payment_due": earned - previous,
                "balance_to_finish_with_retainage": CONTRACT_SUM - earned,
            },
        )

    def over_billed(self, figures: Figures) -> list[str]:
        return [
            code
            for code, line in figures.lines.items()
            if line["completed_and_stored"] > line["scheduled_value"]
        ]

    def new_override(self, app: PayAppModel, bill: Bill, override: str) -> str:
        return override if self.over_billed(self.figures(app, bill)) else ""
