"""Lien waiver requests and responses: what a pay app needs, what was signed, a signature."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paydraw.domain.waivers import WaiverKind, WaiverStep
from paydraw.fields import EnteredDate, MoneyAmount, Name, Text


class WaiverState(StrEnum):
    SIGNED = "signed"
    WAIVED = "waived"
    MISSING = "missing"


class LienWaiverPublic(BaseModel):
    """A signed lien waiver: its figures, who signed it and when, and the SHA-256 of its PDF."""

    id: str
    pay_app_id: str
    kind: WaiverKind
    title: str
    amount: MoneyAmount
    through_date: date
    claimant: str
    customer: str
    job: str
    exceptions: str
    signer_name: str
    signer_title: str
    signed_on: date
    signed_at: datetime
    signed_by: str
    sha256: str


class WaiverRequirement(BaseModel):
    """One waiver the project requires of the pay app, and where it stands."""

    kind: WaiverKind
    title: str
    covers_pay_app_id: str = Field(description="The pay app whose amount the waiver covers.")
    covers_pay_app_number: int
    amount: MoneyAmount
    through_date: date
    required_before: WaiverStep = Field(description="The step of this pay app it holds back.")
    state: WaiverState
    signable: bool = Field(description="Whether the invoice contact can sign it now.")
    not_signable_because: str = ""
    signed: LienWaiverPublic | None = None
    waived_reason: str = ""
    waived_by: str = ""


class PayAppLienWaivers(BaseModel):
    """What the project requires of one pay app, what is signed, waived and missing."""

    pay_app_id: str
    pay_app_number: int
    required_kinds: list[WaiverKind] = Field(description="The project's setting.")
    requirements: list[WaiverRequirement]
    missing: list[WaiverKind]
    signed: list[LienWaiverPublic] = Field(description="Every waiver signed for this pay app.")


class WaiverSignature(BaseModel):
    """The invoice contact's electronic signature: their typed name and title, the date, and
    the amount of the waiver they reviewed (refused if the draft has changed since)."""

    model_config = ConfigDict(extra="forbid")

    signer_name: Name
    signer_title: Name
    signed_on: EnteredDate
    amount: MoneyAmount
    exceptions: Annotated[
        Text, Field(description="Disputed claims the waiver does not release.")
    ] = ""
    consent: bool = Field(
        description="The signer agrees to sign electronically: the typed name is the signature."
    )

    @field_validator("consent")
    @classmethod
    def consented(cls, consent: bool) -> bool:
        if not consent:
            raise ValueError("tick the box to agree to sign electronically")
        return consent


class WaiverExemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1)]

    @field_validator("reason")
    @classmethod
    def said(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("say why the waiver is not needed for this pay app")
        return reason
