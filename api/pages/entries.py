"""A pay application's amounts as the pages' forms post them, read into the API's progress entry:
the contact's page and the admin's "bill for them" page post the same fields."""

from typing import Any

WHOLE_CONTRACT = {"contract_percent": "percent", "contract_amount": "amount"}


def entry_of(form: dict[str, str]) -> dict[str, Any]:
    """The entry the page's form describes: one figure for the whole contract (a percent
    complete to date, or an amount this period), or amounts line by line."""
    mode = form.get("mode", "")
    if mode in WHOLE_CONTRACT:
        return {"mode": mode, WHOLE_CONTRACT[mode]: typed(form.get("figure", "")).rstrip("%")}
    line_ids = [key.removeprefix("work-") for key in form if key.startswith("work-")]
    return {
        "mode": "per_line_amounts",
        "lines": [
            {
                "sov_line_id": line_id,
                "work_this_period": typed(form[f"work-{line_id}"]) or "0.00",
                "materials_stored": typed(form.get(f"stored-{line_id}", "")) or None,
            }
            for line_id in line_ids
        ],
    }


def typed(amount: str) -> str:
    """An amount as people type it (``$6,000``, `` 6000 ``) as the API reads it (``6000``)."""
    return amount.strip().replace(",", "").lstrip("$")
