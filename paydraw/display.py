"""Amounts as people read them, in pages and emails: ``$24,300.00``, in the project's currency.
The JSON API keeps exact decimal strings; this is for eyes only."""

from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, get_currency_symbol, list_currencies

# How amounts are written: the US English conventions of the GCs and subcontractors Paydraw is
# for (digit grouping with commas, a point before the cents), whatever the currency.
LOCALE = "en_US"
CURRENCIES = frozenset(list_currencies())


@lru_cache(maxsize=256)
def _written(currency: str) -> tuple[str, int, Decimal]:
    """The currency's symbol in US English and its number of decimals, from Babel's CLDR data
    once: a page of 300 G703 lines shows thousands of amounts, and formatting each through
    Babel's pattern engine cost more than the rest of the page."""
    digits = get_currency_precision(currency)
    return get_currency_symbol(currency, locale=LOCALE), digits, Decimal(1).scaleb(-digits)


def money(amount: Decimal, currency: str = "USD") -> str:
    """``$24,300.00``; ``-$1,250.00`` below zero; ``€1,000.00``, ``CA$1,000.00`` elsewhere,
    written as Babel's ``format_currency`` writes it for US English (``¤#,##0.00``)."""
    symbol, digits, quantum = _written(currency)
    rounded = Decimal(amount).quantize(quantum, rounding=ROUND_HALF_EVEN)
    digits_text = f"{abs(rounded):,.{digits}f}"
    return f"-{symbol}{digits_text}" if amount < 0 else f"{symbol}{digits_text}"


# What the audit trail's actions say, in plain words, by the kind of thing they happened to.
EVENT_WORDS = {
    ("commitment", "create"): "created the commitment",
    ("commitment", "replace_sov"): "replaced the draft schedule of values",
    ("commitment", "approve_sov"): "approved the schedule of values",
    ("commitment", "add_credit"): "added a credit",
    ("change_order", "create"): "added a change order",
    ("change_order", "approve"): "approved a change order",
    ("invitation", "invite"): "invited them to bill",
    ("invitation", "reinvite"): "invited them again",
    ("invitation", "accept"): "accepted the invitation",
    ("invitation", "decline"): "declined the invitation",
    ("invitation", "overdue"): "marked it overdue",
    ("invitation", "extend_due_date"): "extended the due date",
    ("pay_app", "create"): "created the pay application",
    ("pay_app", "edit_lines"): "changed the amounts",
    ("pay_app", "edit_details"): "changed the notes or terms",
    ("pay_app", "delete"): "deleted the draft",
    ("pay_app", "submit"): "submitted the pay application",
    ("pay_app", "resubmit"): "submitted it again",
    ("pay_app", "approve"): "approved it",
    ("pay_app", "approve_as_noted"): "approved it as noted",
    ("pay_app", "revise"): "sent it back for changes",
    ("pay_app", "finalize"): "finalized and certified it",
    ("pay_app", "pay_part"): "recorded a payment",
    ("pay_app", "pay_in_full"): "recorded a payment",
    ("pay_app", "void"): "voided it",
    ("pay_app", "sign_lien_waiver"): "signed a lien waiver",
    ("pay_app", "waive_lien_waiver"): "waived a required lien waiver",
}


def who_acted(actor_label: str) -> str:
    """``user:ap@gc.example`` → ``ap@gc.example``; Paydraw itself → ``Paydraw``."""
    kind, _, identity = actor_label.partition(":")
    return "Paydraw" if kind == "system" else identity or actor_label


def event_in_words(entity_type: str, action: str, actor_label: str, reason: str = "") -> str:
    """``ap@gc.example approved the schedule of values``; a reason follows after a colon."""
    words = EVENT_WORDS.get((entity_type, action), action.replace("_", " "))
    said = f"{who_acted(actor_label)} {words}"
    return f"{said}: {reason}" if reason else said
