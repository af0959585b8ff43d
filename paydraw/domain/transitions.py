"""Who may do what, in which state: the pay app and invitation state machines as tables.

The workflow validators, the API and the UI's buttons all read these tables, so a wrong-state
action is refused the same way everywhere: 409 naming the allowed actions, or 403 for a role
that may see the pay app but not act on it.
"""

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from paydraw.domain.errors import InvalidTransition, PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    VIEWER = "viewer"
    CONTACT = "contact"


class PayAppStatus(StrEnum):
    DRAFT = "draft"
    UNDER_REVIEW = "under_review"
    REVISE_AND_RESUBMIT = "revise_and_resubmit"
    APPROVED = "approved"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"


class PayAppAction(StrEnum):
    EDIT_LINES = "edit_lines"
    EDIT_DETAILS = "edit_details"  # notes, attachments, payment options, due terms
    DELETE = "delete"
    SUBMIT = "submit"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    APPROVE_AS_NOTED = "approve_as_noted"
    REVISE = "revise"
    FINALIZE = "finalize"
    PAY_PART = "pay_part"
    PAY_IN_FULL = "pay_in_full"
    VOID = "void"


class InvitationStatus(StrEnum):
    NOT_INVITED = "not_invited"
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SovStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


class SovAction(StrEnum):
    REPLACE_SOV = "replace_sov"
    APPROVE_SOV = "approve_sov"
    CHANGE_ORDER = "change_order"


class ChangeOrderStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"


class InvitationAction(StrEnum):
    INVITE = "invite"
    ACCEPT = "accept"
    DECLINE = "decline"
    REINVITE = "reinvite"


_ADMIN = frozenset({Role.ADMIN})
_CONTACT = frozenset({Role.CONTACT})
_ADMIN_CONTACT = frozenset({Role.ADMIN, Role.CONTACT})
_ADMIN_REVIEWER = frozenset({Role.ADMIN, Role.REVIEWER})
_ADMIN_CONTACT_REVIEWER = frozenset({Role.ADMIN, Role.CONTACT, Role.REVIEWER})

_Status = PayAppStatus
_Action = PayAppAction

PAY_APP_TRANSITIONS: Mapping[
    tuple[PayAppStatus, PayAppAction], tuple[PayAppStatus | None, frozenset[Role]]
] = MappingProxyType(
    {
        # Amounts change only in draft and revise_and_resubmit, or through approve_as_noted.
        (_Status.DRAFT, _Action.EDIT_LINES): (_Status.DRAFT, _ADMIN_CONTACT),
        (_Status.DRAFT, _Action.EDIT_DETAILS): (_Status.DRAFT, _ADMIN_CONTACT),
        (_Status.DRAFT, _Action.DELETE): (None, _ADMIN_CONTACT),  # None: the draft is gone
        (_Status.DRAFT, _Action.SUBMIT): (_Status.UNDER_REVIEW, _ADMIN_CONTACT),
        (_Status.UNDER_REVIEW, _Action.APPROVE): (_Status.APPROVED, _ADMIN_REVIEWER),
        (_Status.UNDER_REVIEW, _Action.APPROVE_AS_NOTED): (_Status.APPROVED, _ADMIN_REVIEWER),
        (_Status.UNDER_REVIEW, _Action.REVISE): (_Status.REVISE_AND_RESUBMIT, _ADMIN_REVIEWER),
        (_Status.UNDER_REVIEW, _Action.EDIT_DETAILS): (
            _Status.UNDER_REVIEW,
            _ADMIN_CONTACT_REVIEWER,
        ),
        (_Status.REVISE_AND_RESUBMIT, _Action.EDIT_LINES): (
            _Status.REVISE_AND_RESUBMIT,
            _ADMIN_CONTACT,
        ),
        (_Status.REVISE_AND_RESUBMIT, _Action.EDIT_DETAILS): (
            _Status.REVISE_AND_RESUBMIT,
            _ADMIN_CONTACT,
        ),
        (_Status.REVISE_AND_RESUBMIT, _Action.RESUBMIT): (_Status.UNDER_REVIEW, _ADMIN_CONTACT),
        (_Status.APPROVED, _Action.FINALIZE): (_Status.FINALIZED, _ADMIN),
        (_Status.APPROVED, _Action.VOID): (_Status.VOID, _ADMIN),
        (_Status.APPROVED, _Action.EDIT_DETAILS): (_Status.APPROVED, _ADMIN),
        (_Status.FINALIZED, _Action.PAY_PART): (_Status.FINALIZED, _ADMIN),
        (_Status.FINALIZED, _Action.PAY_IN_FULL): (_Status.PAID, _ADMIN),
        (_Status.FINALIZED, _Action.VOID): (_Status.VOID, _ADMIN),
        # paid and void are terminal: nothing leaves them.
    }
)

INVITATION_TRANSITIONS: Mapping[
    tuple[InvitationStatus, InvitationAction], tuple[InvitationStatus, frozenset[Role]]
] = MappingProxyType(
    {
        (InvitationStatus.NOT_INVITED, InvitationAction.INVITE): (InvitationStatus.INVITED, _ADMIN),
        (InvitationStatus.INVITED, InvitationAction.ACCEPT): (InvitationStatus.ACCEPTED, _CONTACT),
        (InvitationStatus.INVITED, InvitationAction.DECLINE): (InvitationStatus.DECLINED, _CONTACT),
        (InvitationStatus.DECLINED, InvitationAction.REINVITE): (InvitationStatus.INVITED, _ADMIN),
    }
)


def transition(status: PayAppStatus, action: PayAppAction, role: Role) -> PayAppStatus | None:
    """The status after `role` does `action` on a pay app that is `status`; None = deleted."""
    return _transition(PAY_APP_TRANSITIONS, status, action, role, "a pay app")


def allowed_actions(status: PayAppStatus, role: Role | None) -> list[str]:
    """What `role` (or anyone, for None) may do to a pay app that is `status`, sorted: the
    buttons to show."""
    return _actions(PAY_APP_TRANSITIONS, status, role)


def pay_app_actions(
    status: PayAppStatus, role: Role | None, *, has_payments: bool, billed_after: bool
) -> list[str]:
    """What `role` (or anyone, for None) may do to a pay app now: the transition table, less a
    void once the pay app has a payment or a later pay app of its commitment was billed
    (neither can be voided)."""
    actions = allowed_actions(status, role)
    if has_payments or billed_after:
        actions = [action for action in actions if action != PayAppAction.VOID]
    return actions


def transition_invitation(
    status: InvitationStatus, action: InvitationAction, role: Role
) -> InvitationStatus:
    """The invitation's status after `role` does `action`, refused like `transition`."""
    return _transition(INVITATION_TRANSITIONS, status, action, role, "an invitation")


def allowed_invitation_actions(status: InvitationStatus, role: Role) -> list[str]:
    """What `role` may do to an invitation that is `status`, sorted."""
    return _actions(INVITATION_TRANSITIONS, status, role)


# A schedule of values is edited freely while a draft; once approved it changes only by change
# order. Only admins act on it (the services check the role before the state).
SOV_TRANSITIONS: Mapping[tuple[SovStatus, SovAction], tuple[SovStatus, frozenset[Role]]] = (
    MappingProxyType(
        {
            (SovStatus.DRAFT, SovAction.REPLACE_SOV): (SovStatus.DRAFT, _ADMIN),
            (SovStatus.DRAFT, SovAction.APPROVE_SOV): (SovStatus.APPROVED, _ADMIN),
            (SovStatus.APPROVED, SovAction.CHANGE_ORDER): (SovStatus.APPROVED, _ADMIN),
        }
    )
)

_SOV_REFUSALS = {
    (SovStatus.APPROVED, SovAction.REPLACE_SOV): (
        "the schedule of values is approved; change it with a change order"
    ),
    (SovStatus.APPROVED, SovAction.APPROVE_SOV): "the schedule of values is already approved",
    (SovStatus.DRAFT, SovAction.CHANGE_ORDER): (
        "the schedule of values is a draft: edit it, or approve it first"
    ),
}


def transition_sov(status: SovStatus, action: SovAction) -> SovStatus:
    """The SOV's status after an admin's `action`; a wrong state is a 409 that says what to do
    instead."""
    rule = SOV_TRANSITIONS.get((status, action))
    if rule is None:
        raise InvalidTransition(
            status,
            action,
            [str(act) for (state, act) in SOV_TRANSITIONS if state == status],
            subject="a schedule of values",
            message=_SOV_REFUSALS.get((status, action)),
        )
    return rule[0]


_S = TypeVar("_S", bound=StrEnum)
_A = TypeVar("_A", bound=StrEnum)
_T = TypeVar("_T")


def _transition(
    table: Mapping[tuple[_S, _A], tuple[_T, frozenset[Role]]],
    status: _S,
    action: _A,
    role: Role,
    subject: str,
) -> _T:
    """A wrong state is a 409 for everyone, checked before the role: the action could not happen
    whoever asked. A right state and a wrong role is a 403."""
    rule = table.get((status, action))
    if rule is None:
        raise InvalidTransition(status, action, _actions(table, status), subject)
    target, roles = rule
    if role not in roles:
        raise PermissionDenied(f"a {role} may not {action} {subject} that is {status}")
    return target


def _actions(
    table: Mapping[tuple[_S, _A], tuple[object, frozenset[Role]]],
    status: _S,
    role: Role | None = None,
) -> list[str]:
    """Actions from `status` for `role`, or for any role when `role` is None."""
    return sorted(
        str(action)
        for (from_status, action), (_, roles) in table.items()
        if from_status == status and (role is None or role in roles)
    )
