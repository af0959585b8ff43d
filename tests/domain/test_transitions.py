"""Every (status, action, role) triple, checked against the lifecycle of DESIGN.md written out
again here by hand, so a slip in the table does not test itself."""

from collections.abc import Mapping
from itertools import product

import pytest

from paydraw.domain.errors import InvalidTransition, PermissionDenied
from paydraw.domain.transitions import (
    InvitationAction,
    InvitationStatus,
    PayAppAction,
    PayAppStatus,
    Role,
    SovAction,
    SovStatus,
    allowed_actions,
    allowed_invitation_actions,
    transition,
    transition_invitation,
    transition_sov,
)

DELETED = None

# (status, action): (status after, roles that may act)
PAY_APP_LIFECYCLE: dict[tuple[str, str], tuple[str | None, set[str]]] = {
    ("draft", "edit_lines"): ("draft", {"admin", "contact"}),
    ("draft", "edit_details"): ("draft", {"admin", "contact"}),
    ("draft", "delete"): (DELETED, {"admin", "contact"}),
    ("draft", "submit"): ("under_review", {"admin", "contact"}),
    ("under_review", "approve"): ("approved", {"admin", "reviewer"}),
    ("under_review", "approve_as_noted"): ("approved", {"admin", "reviewer"}),
    ("under_review", "revise"): ("revise_and_resubmit", {"admin", "reviewer"}),
    ("under_review", "edit_details"): ("under_review", {"admin", "contact", "reviewer"}),
    ("revise_and_resubmit", "edit_lines"): ("revise_and_resubmit", {"admin", "contact"}),
    ("revise_and_resubmit", "edit_details"): ("revise_and_resubmit", {"admin", "contact"}),
    ("revise_and_resubmit", "resubmit"): ("under_review", {"admin", "contact"}),
    ("approved", "finalize"): ("finalized", {"admin"}),
    ("approved", "void"): ("void", {"admin"}),
    ("approved", "edit_details"): ("approved", {"admin"}),
    ("finalized", "pay_part"): ("finalized", {"admin"}),
    ("finalized", "pay_in_full"): ("paid", {"admin"}),
    ("finalized", "void"): ("void", {"admin"}),
}

INVITATION_LIFECYCLE: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("not_invited", "invite"): ("invited", {"admin"}),
    ("invited", "accept"): ("accepted", {"contact"}),
    ("invited", "decline"): ("declined", {"contact"}),
    ("declined", "reinvite"): ("invited", {"admin"}),
}


def actions_from(lifecycle: Mapping[tuple[str, str], object], status: str) -> list[str]:
    return sorted(action for from_status, action in lifecycle if from_status == status)


class TestPayAppTransitions:
    @pytest.mark.parametrize(
        ("status", "action", "role"),
        list(product(PayAppStatus, PayAppAction, Role)),
        ids=lambda value: str(value),
    )
    def test_every_status_action_and_role(
        self, status: PayAppStatus, action: PayAppAction, role: Role
    ) -> None:
        expected = PAY_APP_LIFECYCLE.get((status, action))
        if expected is None:
            with pytest.raises(InvalidTransition) as refused:
                transition(status, action, role)
            assert refused.value.allowed_actions == actions_from(PAY_APP_LIFECYCLE, status)
            assert (refused.value.status, refused.value.action) == (status, action)
            assert refused.value.http_status == 409
        elif role not in expected[1]:
            with pytest.raises(PermissionDenied, match=f"a {role} may not {action}"):
                transition(status, action, role)
        else:
            assert transition(status, action, role) == expected[0]

    def test_paid_and_void_are_terminal(self) -> None:
        for status in (PayAppStatus.PAID, PayAppStatus.VOID):
            assert all(allowed_actions(status, role) == [] for role in Role)

    def test_a_wrong_state_names_the_state_and_what_is_allowed(self) -> None:
        with pytest.raises(InvalidTransition) as refused:
            transition(PayAppStatus.DRAFT, PayAppAction.FINALIZE, Role.ADMIN)
        assert str(refused.value) == (
            "cannot finalize a pay app that is draft; "
            "allowed: delete, edit_details, edit_lines, submit"
        )


class TestAllowedActions:
    @pytest.mark.parametrize(
        ("status", "role"), list(product(PayAppStatus, Role)), ids=lambda value: str(value)
    )
    def test_lists_what_the_role_may_do_sorted(self, status: PayAppStatus, role: Role) -> None:
        expected = sorted(
            action
            for (from_status, action), (_, roles) in PAY_APP_LIFECYCLE.items()
            if from_status == status and role in roles
        )
        assert allowed_actions(status, role) == expected

    def test_a_viewer_never_acts(self) -> None:
        assert all(allowed_actions(status, Role.VIEWER) == [] for status in PayAppStatus)


class TestInvitationTransitions:
    @pytest.mark.parametrize(
        ("status", "action", "role"),
        list(product(InvitationStatus, InvitationAction, Role)),
        ids=lambda value: str(value),
    )
    def test_every_status_action_and_role(
        self, status: InvitationStatus, action: InvitationAction, role: Role
    ) -> None:
        expected = INVITATION_LIFECYCLE.get((status, action))
        if expected is None:
            with pytest.raises(InvalidTransition, match="an invitation") as refused:
                transition_invitation(status, action, role)
            assert refused.value.allowed_actions == actions_from(INVITATION_LIFECYCLE, status)
        elif role not in expected[1]:
            with pytest.raises(PermissionDenied):
                transition_invitation(status, action, role)
        else:
            assert transition_invitation(status, action, role) == expected[0]
            assert str(action) in allowed_invitation_actions(status, role)


# A schedule of values: edited and approved while a draft, changed by change order once approved.
SOV_LIFECYCLE = {
    ("draft", "replace_sov"): "draft",
    ("draft", "approve_sov"): "approved",
    ("approved", "change_order"): "approved",
}


class TestScheduleOfValues:
    @pytest.mark.parametrize(("status", "action"), list(product(SovStatus, SovAction)), ids=str)
    def test_every_status_and_action(self, status: SovStatus, action: SovAction) -> None:
        expected = SOV_LIFECYCLE.get((status, action))
        if expected is not None:
            assert transition_sov(status, action) == expected
            return
        with pytest.raises(InvalidTransition) as refused:
            transition_sov(status, action)
        allowed = [a for (s, a) in SOV_LIFECYCLE if s == status]
        assert refused.value.allowed_actions == allowed
        assert refused.value.http_status == 409

    def test_a_refusal_says_what_to_do_instead(self) -> None:
        with pytest.raises(InvalidTransition, match="change it with a change order"):
            transition_sov(SovStatus.APPROVED, SovAction.REPLACE_SOV)
        with pytest.raises(InvalidTransition, match="edit it, or approve it first"):
            transition_sov(SovStatus.DRAFT, SovAction.CHANGE_ORDER)
        with pytest.raises(InvalidTransition, match="already approved"):
            transition_sov(SovStatus.APPROVED, SovAction.APPROVE_SOV)
