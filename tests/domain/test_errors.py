from decimal import Decimal as D

from paydraw.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OverBilledLine,
    OverBillingError,
    PermissionDenied,
)


class TestHttpStatus:
    def test_each_error_carries_the_status_the_api_answers_with(self) -> None:
        assert DomainError("x").http_status == 400
        assert NotFound("x").http_status == 404
        assert PermissionDenied("x").http_status == 403
        assert InvalidTransition("draft", "finalize", []).http_status == 409
        assert InvalidInput("amount", "x").http_status == 422
        assert OverBillingError("lines[0].work_this_period", "x", []).http_status == 422


class TestMessages:
    def test_invalid_transition_names_the_state_and_the_allowed_actions(self) -> None:
        error = InvalidTransition("paid", "void", [])
        assert str(error) == "cannot void a pay app that is paid; allowed: none"
        error = InvalidTransition("draft", "finalize", ["delete", "submit"])
        assert error.message == "cannot finalize a pay app that is draft; allowed: delete, submit"
        assert (error.status, error.action, error.allowed_actions) == (
            "draft",
            "finalize",
            ["delete", "submit"],
        )

    def test_invalid_transition_can_name_another_subject(self) -> None:
        error = InvalidTransition("accepted", "decline", [], subject="an invitation")
        assert str(error) == "cannot decline an invitation that is accepted; allowed: none"

    def test_invalid_input_reads_field_then_reason(self) -> None:
        error = InvalidInput("amount", "must be more than 0.00")
        assert str(error) == "amount: must be more than 0.00"
        assert (error.field, error.reason) == ("amount", "must be more than 0.00")

    def test_over_billing_is_invalid_input_that_lists_the_lines(self) -> None:
        line = OverBilledLine("framing", "02", D("64000.00"), D("60000.00"), D("36000.00"))
        error = OverBillingError("lines[1].work_this_period", "line 02: ...", [line])
        assert isinstance(error, InvalidInput)
        assert error.lines == [line]
        assert error.field == "lines[1].work_this_period"
