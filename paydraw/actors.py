"""Who is acting: a staff user, an invoice contact or Paydraw itself.

An actor travels in the billing workflows' messages as this model; messages recorded before it
carried the audit label (``"kind:identity"``), which still reads as an actor.
"""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ActorKind(StrEnum):
    USER = "user"
    CONTACT = "contact"
    SYSTEM = "system"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ActorKind
    id: str
    email: str = ""

    @model_validator(mode="before")
    @classmethod
    def from_label(cls, value: Any) -> Any:
        """An earlier message's label: the kind, and the email (or the id) after the colon."""
        if isinstance(value, str):
            kind, _, identity = value.partition(":")
            return {"kind": kind, "id": identity, "email": identity if "@" in identity else ""}
        return value

    @property
    def label(self) -> str:
        """How the actor appears in the audit trail."""
        return f"{self.kind}:{self.email or self.id}"


def user(user_id: str, email: str) -> Actor:
    return Actor(kind=ActorKind.USER, id=user_id, email=email)


def contact(email: str) -> Actor:
    return Actor(kind=ActorKind.CONTACT, id=email, email=email)


SYSTEM = Actor(kind=ActorKind.SYSTEM, id="paydraw")
BILLING_CYCLE = Actor(kind=ActorKind.SYSTEM, id="billing-cycle")
