"""The messages that cross Temporal read in both shapes: today's typed ones, and the plain strings
of histories and activity tasks recorded before (an actor as its audit label, a pay-app step as
one model with every payload optional)."""

import pytest
from pydantic import ValidationError

from paydraw.actors import Actor, ActorKind
from paydraw.domain.transitions import PayAppAction, Role
from workflows.messages import (
    STEPS,
    CreateStep,
    InviteDelivery,
    PlainStep,
    ReviewStep,
    VoidStep,
    pay_app_step,
)

OLD_STEP = {
    "commitment_id": "cmt_1",
    "period_id": "per_1",
    "pay_app_id": "pap_1",
    "actor": "contact:billing@vendor.example",
    "role": "contact",
    "step_id": "billing:cmt_1:per_1:upd",
    "create": None,
    "lines": None,
    "details": None,
    "review": None,
    "payment": None,
    "reason": "",
}


class TestOldShapes:
    def test_a_submit_reads_as_a_plain_step_by_a_contact(self) -> None:
        step = STEPS.validate_python({**OLD_STEP, "action": "submit"})
        assert isinstance(step, PlainStep)
        assert step.action == PayAppAction.SUBMIT
        assert step.role == Role.CONTACT
        assert step.actor == Actor(
            kind=ActorKind.CONTACT, id="billing@vendor.example", email="billing@vendor.example"
        )
        assert step.actor.label == "contact:billing@vendor.example"

    def test_a_review_keeps_its_payload(self) -> None:
        old = {
            **OLD_STEP,
            "action": "revise",
            "actor": "user:pm@gc.example",
            "role": "reviewer",
            "review": {"decision": "revise", "note": "check line 2", "lines": []},
        }
        step = STEPS.validate_python(old)
        assert isinstance(step, ReviewStep)
        assert step.review.note == "check line 2"
        assert step.actor.label == "user:pm@gc.example"

    def test_a_void_keeps_its_reason(self) -> None:
        step = STEPS.validate_python({**OLD_STEP, "action": "void", "reason": "billed twice"})
        assert isinstance(step, VoidStep)
        assert step.reason == "billed twice"

    def test_an_email_delivery_of_the_system(self) -> None:
        delivery = InviteDelivery.model_validate(
            {
                "period_id": "per_1",
                "commitment_id": "cmt_1",
                "kind": "reminder",
                "due_date": "2026-12-20",
                "actor": "system:paydraw",
                "at": "2026-12-05T10:00:00Z",
            }
        )
        assert delivery.actor.kind == ActorKind.SYSTEM
        assert delivery.actor.label == "system:paydraw"


class TestTodaysShapes:
    def test_a_step_without_the_payload_its_action_needs_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="review"):
            pay_app_step(**{**OLD_STEP, "action": "approve"})

    def test_an_unknown_action_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="action"):
            pay_app_step(**{**OLD_STEP, "action": "approve_everything"})

    def test_a_create_round_trips_through_json(self) -> None:
        step = pay_app_step(
            action="create",
            commitment_id="cmt_1",
            period_id="per_1",
            actor=Actor(kind=ActorKind.USER, id="usr_1", email="ap@gc.example"),
            role=Role.ADMIN,
            create={"entry": {"mode": "contract_percent", "percent": "10"}},
        )
        assert isinstance(step, CreateStep)
        again = STEPS.validate_json(STEPS.dump_json(step))
        assert again == step
        assert again.actor.id == "usr_1"
