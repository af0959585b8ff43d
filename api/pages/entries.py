"""A pay application's amounts as the pages' forms post them, read into the API's progress entry:
the contact's page and the admin's "bill for them" page post the same fields.

Each way of billing is a form of its own, named by its ``mode`` field:
- per line amounts (no mode): ``work-<line id>`` and ``stored-<line id>``;
- ``per_line_percent``: ``percent-<line id>``, a line left empty is not billed by percent;
- ``contract_percent`` / ``contract_amount``: one ``figure`` for the whole contract;
- ``draws``: a ticked ``draw-<draw id>`` per draw;
- ``lines``: a ticked ``full-<line id>`` per line billed to its full balance.
"""

from typing import Any

WHOLE_CONTRACT = {"contract_percent": "percent", "contract_amount": "amount"}
PER_LINE_PERCENT = "per_line_percent"
DRAWS = "draws"
SELECTED_LINES = "lines"

FIELD_PREFIXES = ("work-", "stored-", "percent-", "draw-", "full-")
"""What a form's entry is typed in (kept as typed when the page is shown again)."""


def entry_of(form: dict[str, str]) -> dict[str, Any]:
    """The entry the page's form describes: one figure for the whole contract (a percent
    complete to date, or an amount this period), a percent per line, draws or lines ticked, or
    amounts line by line."""
    mode = form.get("mode", "")
    if mode in WHOLE_CONTRACT:
        return {"mode": mode, WHOLE_CONTRACT[mode]: typed(form.get("figure", "")).rstrip("%")}
    if mode == PER_LINE_PERCENT:
        return {
            "mode": mode,
            "lines": [
                {"sov_line_id": line_id, "percent_complete": typed(percent).rstrip("%")}
                for line_id, percent in named(form, "percent-").items()
                if percent.strip()
            ],
        }
    if mode == DRAWS:
        return {"mode": mode, "draw_ids": list(named(form, "draw-"))}
    if mode == SELECTED_LINES:
        return {"mode": mode, "sov_line_ids": list(named(form, "full-"))}
    return {
        "mode": "per_line_amounts",
        "lines": [
            {
                "sov_line_id": line_id,
                "work_this_period": typed(work) or "0.00",
                "materials_stored": typed(form.get(f"stored-{line_id}", "")) or None,
            }
            for line_id, work in named(form, "work-").items()
        ],
    }


def named(form: dict[str, str], prefix: str) -> dict[str, str]:
    """The form's fields named ``<prefix><id>``, by id, in the form's order."""
    return {
        key.removeprefix(prefix): value for key, value in form.items() if key.startswith(prefix)
    }


def typed(amount: str) -> str:
    """An amount as people type it (``$6,000``, `` 6000 ``) as the API reads it (``6000``)."""
    return amount.strip().replace(",", "").lstrip("$")
