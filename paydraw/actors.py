"""Who is acting: a staff user, an invoice contact or Paydraw itself."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "contact" or "system"
    id: str
    email: str = ""

    @property
    def label(self) -> str:
        """How the actor appears in the audit trail."""
        return f"{self.kind}:{self.email or self.id}"


SYSTEM = Actor(kind="system", id="paydraw")
