from dataclasses import replace
from decimal import Decimal as D

import pytest

from paydraw.domain.contract import OverbillingPolicy
from paydraw.domain.errors import InvalidInput, OverBilledLine, OverBillingError
from paydraw.domain.g702 import Application, LineEntry, LineHistory, compute_application
from paydraw.domain.money import ZERO
from paydraw.domain.overbilling import check_overbilling
from tests.domain.examples import (
    DESIGN_CONTRACT,
    FRAMING,
    HISTORY_AFTER_FIRST,
    SECOND_APPLICATION,
    WINDOWS,
)

FRAMING_OVER = OverBilledLine(
    line_id=FRAMING.id,
    code="02",
    billed_to_date=D("64000.00"),
    scheduled_value=D("60000.00"),
    billable=D("36000.00"),
)


def over_billed_framing() -> Application:
    """Application #2 of the design example asking 40,000 of framing where 36,000 is left."""
    entries = {**SECOND_APPLICATION, FRAMING.id: LineEntry(D(40000))}
    return compute_application(DESIGN_CONTRACT, HISTORY_AFTER_FIRST, entries, ZERO)


class TestWithinTheSov:
    @pytest.mark.parametrize("policy", list(OverbillingPolicy))
    def test_nothing_over_billed_is_an_empty_list(self, policy: OverbillingPolicy) -> None:
        application = compute_application(
            DESIGN_CONTRACT, HISTORY_AFTER_FIRST, SECOND_APPLICATION, ZERO
        )
        assert check_overbilling(DESIGN_CONTRACT, application, policy, None) == []

    def test_billing_a_line_exactly_to_c_is_not_over_billing(self) -> None:
        entries = {FRAMING.id: LineEntry(D(36000))}
        application = compute_application(DESIGN_CONTRACT, HISTORY_AFTER_FIRST, entries, ZERO)
        assert check_overbilling(DESIGN_CONTRACT, application, OverbillingPolicy.BLOCK, None) == []


class TestBlockPolicy:
    def test_refuses_naming_the_line_the_billable_and_the_asked_amount(self) -> None:
        with pytest.raises(OverBillingError) as raised:
            check_overbilling(
                DESIGN_CONTRACT, over_billed_framing(), OverbillingPolicy.BLOCK, "client agreed"
            )
        assert raised.value.field == "lines[1].work_this_period"
        assert raised.value.reason == "line 02: billable 36000.00, asked 40000.00"
        assert raised.value.lines == [FRAMING_OVER]
        assert raised.value.http_status == 422

    def test_lists_every_over_billed_line(self) -> None:
        entries = {FRAMING.id: LineEntry(D(40000)), WINDOWS.id: LineEntry(D(30000), D(6000))}
        application = compute_application(DESIGN_CONTRACT, HISTORY_AFTER_FIRST, entries, ZERO)
        with pytest.raises(OverBillingError) as raised:
            check_overbilling(DESIGN_CONTRACT, application, OverbillingPolicy.BLOCK, None)
        assert raised.value.reason == (
            "line 02: billable 36000.00, asked 40000.00; line 03: billable 35000.00, asked 36000.00"
        )
        assert [line.code for line in raised.value.lines] == ["02", "03"]

    def test_stored_material_already_billed_is_not_billable_again(self) -> None:
        history = {WINDOWS.id: LineHistory(work_completed=D(20000), materials_stored=D(10000))}
        entries = {WINDOWS.id: LineEntry(D(10000), D(6000))}
        application = compute_application(DESIGN_CONTRACT, history, entries, ZERO)
        with pytest.raises(OverBillingError) as raised:
            check_overbilling(DESIGN_CONTRACT, application, OverbillingPolicy.BLOCK, None)
        assert raised.value.reason == "line 03: billable 5000.00, asked 6000.00"

    def test_checks_against_the_contract_as_it_stands_now(self) -> None:
        application = compute_application(
            DESIGN_CONTRACT, HISTORY_AFTER_FIRST, SECOND_APPLICATION, ZERO
        )
        deducted = replace(FRAMING, change_orders=D(-20000))
        contract = replace(
            DESIGN_CONTRACT,
            lines=tuple(
                deducted if line.id == FRAMING.id else line for line in DESIGN_CONTRACT.lines
            ),
        )
        with pytest.raises(OverBillingError) as raised:
            check_overbilling(contract, application, OverbillingPolicy.BLOCK, None)
        assert raised.value.reason == "line 02: billable 16000.00, asked 18000.00"


class TestWarnPolicy:
    @pytest.mark.parametrize("reason", [None, "", "   "])
    def test_refuses_without_an_override_reason(self, reason: str | None) -> None:
        with pytest.raises(OverBillingError) as raised:
            check_overbilling(
                DESIGN_CONTRACT, over_billed_framing(), OverbillingPolicy.WARN, reason
            )
        assert raised.value.reason == (
            "line 02: billable 36000.00, asked 40000.00; "
            "billing over the scheduled value needs an override reason"
        )

    def test_allows_with_a_reason_and_returns_the_lines_to_audit(self) -> None:
        lines = check_overbilling(
            DESIGN_CONTRACT, over_billed_framing(), OverbillingPolicy.WARN, "CO#2 pending"
        )
        assert lines == [FRAMING_OVER]


class TestNegativeCompletion:
    @pytest.mark.parametrize("policy", list(OverbillingPolicy))
    def test_negative_g_is_always_invalid_input(self, policy: OverbillingPolicy) -> None:
        application = over_billed_framing()
        negative = replace(application.lines[2], completed_and_stored=D("-1.00"))
        lines = (*application.lines[:2], negative, *application.lines[3:])
        with pytest.raises(InvalidInput) as raised:
            check_overbilling(DESIGN_CONTRACT, replace(application, lines=lines), policy, "why")
        assert not isinstance(raised.value, OverBillingError)
        assert raised.value.field == "lines[2].work_this_period"
