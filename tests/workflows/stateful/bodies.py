"""What the steps send: the four entry modes (``Entry``) and the strategies that draw them (now
and then a correction below zero, or more than a line holds), a reviewer's decisions, and the
request bodies they make."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from tests.workflows.stateful.model import CODES, SOV, ZERO, text


@dataclass(frozen=True)
class Entry:
    """One of the entry modes, by SOV line code."""

    mode: str
    amounts: dict[str, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    percents: dict[str, Decimal] = field(default_factory=dict)
    whole: Decimal = ZERO


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-2))


percents = st.integers(0, 1_000_000).map(lambda n: Decimal(n).scaleb(-4))
tenths = st.sampled_from(range(-2, 13))
"""A share of a line's scheduled value in tenths: now and then a correction below zero, now and
then more than the line holds."""
stored = st.one_of(st.none(), cents(0, 500_000), cents(0, 500_000))


def work_on(code: str) -> st.SearchStrategy[Decimal]:
    return st.builds(lambda k, extra: SOV[code] * k / 10 + extra, tenths, cents(0, 999))


entries = st.one_of(
    st.builds(
        Entry,
        mode=st.just("per_line_amounts"),
        amounts=st.fixed_dictionaries(
            {}, optional={code: st.tuples(work_on(code), stored) for code in CODES}
        ).filter(bool),
    ),
    st.builds(
        Entry,
        mode=st.just("per_line_percent"),
        percents=st.dictionaries(st.sampled_from(CODES), percents, min_size=1),
    ),
    st.builds(Entry, mode=st.just("contract_percent"), whole=percents),
    st.builds(Entry, mode=st.just("contract_amount"), whole=cents(0, 6_000_000)),
)


def lines_body(entry: Entry, override: str, sov: dict[str, str]) -> dict[str, Any]:
    """The body of a create or an edit of lines; ``sov`` maps each line's code to its id."""
    if entry.mode == "per_line_amounts":
        lines = []
        for code, (typed_work, typed_stored) in entry.amounts.items():
            line = {"sov_line_id": sov[code], "work_this_period": text(typed_work)}
            if typed_stored is not None:
                line["materials_stored"] = text(typed_stored)
            lines.append(line)
        payload: dict[str, Any] = {"mode": entry.mode, "lines": lines}
    elif entry.mode == "per_line_percent":
        payload = {
            "mode": entry.mode,
            "lines": [
                {"sov_line_id": sov[code], "percent_complete": format(percent, "f")}
                for code, percent in entry.percents.items()
            ],
        }
    elif entry.mode == "contract_percent":
        payload = {"mode": entry.mode, "percent": format(entry.whole, "f")}
    else:
        payload = {"mode": entry.mode, "amount": text(entry.whole)}
    return {"entry": payload, "overbilling_override_reason": override}


decisions = st.sampled_from(
    [
        "approve",
        "approve_as_noted",
        "approve_as_noted",
        "reject_line",
        "revise",
        "revise",
        "note_missing",
    ]
)
"""A reviewer's decision; ``note_missing`` approves as noted without the note it needs."""


def review_body(
    decision: str, sov_line_id: str, work: Decimal, override: str, send_back: str
) -> dict[str, Any]:
    """A review of one SOV line: approved as noted to ``work`` (with its note, or without the note
    it needs), not approved (it bills nothing new), or sent back with the reason ``send_back``;
    a plain approval names no line."""
    line: dict[str, Any] = {"sov_line_id": sov_line_id}
    body: dict[str, Any] = {"decision": decision, "lines": [line]}
    if decision == "approve":
        body["lines"] = []
    elif decision in ("approve_as_noted", "note_missing"):
        body |= {"decision": "approve_as_noted", "overbilling_override_reason": override}
        line["work_this_period"] = text(work)
        line["note"] = "measured on site" if decision == "approve_as_noted" else ""
    elif decision == "reject_line":
        body |= {"decision": "approve_as_noted", "overbilling_override_reason": override}
        line |= {"approved": False, "note": "not installed yet"}
    else:
        line |= {"approved": False, "reason": send_back}
    return body
