"""Project request and response models."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from paydraw.display import CURRENCIES
from paydraw.domain.contract import OverbillingPolicy
from paydraw.domain.terminology import Terminology
from paydraw.domain.transitions import Role
from paydraw.domain.waivers import WaiverKind
from paydraw.fields import Label, Name, PercentValue

DayOfMonth = Annotated[int, Field(ge=1, le=28)]


class StaffRole(StrEnum):
    ADMIN = Role.ADMIN.value
    REVIEWER = Role.REVIEWER.value
    VIEWER = Role.VIEWER.value


RequiredLienWaivers = Annotated[
    list[WaiverKind],
    Field(
        max_length=len(WaiverKind),
        description="The lien waivers the GC requires: a conditional progress waiver with each "
        "submission, an unconditional progress waiver for the previous payment before the next "
        "one, conditional and unconditional final waivers with the retainage release.",
    ),
]


def waivers_in_order(kinds: list[WaiverKind]) -> list[WaiverKind]:
    """Each kind once, in the order the kinds are listed (a kind named twice is the same)."""
    return [kind for kind in WaiverKind if kind in kinds]


class BillingCycle(BaseModel):
    """The automatic monthly billing cycle: a period opens on start_day and is due on due_day."""

    enabled: bool = False
    start_day: DayOfMonth = 1
    due_day: DayOfMonth = 25


class ProjectBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    number: Annotated[Label, Field(max_length=50)] = ""
    general_contractor: Label = ""
    owner: Label = ""
    default_retainage_percent: PercentValue = Decimal("10")
    overbilling_policy: OverbillingPolicy = OverbillingPolicy.BLOCK
    stored_materials_rollover: bool = True
    reminder_offsets_days: Annotated[
        list[Annotated[int, Field(ge=0, le=90)]], Field(max_length=10)
    ] = [
        7,
        1,
    ]
    billing_cycle: BillingCycle = BillingCycle()
    terminology: Terminology = Terminology.GENERAL_CONTRACTOR
    currency: Annotated[
        str,
        Field(
            min_length=3,
            max_length=3,
            description="ISO 4217 code of the currency amounts are shown in, in pages and emails.",
        ),
    ] = "USD"
    required_lien_waivers: RequiredLienWaivers = []

    @field_validator("currency")
    @classmethod
    def known_currency(cls, code: str) -> str:
        return known_currency(code)

    @field_validator("required_lien_waivers")
    @classmethod
    def waivers_in_order(cls, kinds: list[WaiverKind]) -> list[WaiverKind]:
        return waivers_in_order(kinds)

    @field_validator("reminder_offsets_days")
    @classmethod
    def distinct_offsets(cls, offsets: list[int]) -> list[int]:
        return distinct_offsets(offsets)


def known_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError("not an ISO 4217 currency code, such as USD or CAD")
    return code


def distinct_offsets(offsets: list[int]) -> list[int]:
    """The offsets, latest reminder first; the same offset twice is refused."""
    if len(set(offsets)) != len(offsets):
        raise ValueError("reminder offsets must be distinct")
    return sorted(offsets, reverse=True)


ReminderOffsets = Annotated[list[Annotated[int, Field(ge=0, le=90)]], Field(max_length=10)]


class ProjectSettings(BaseModel):
    """A change to a project's settings: only the fields given change. The over-billing policy,
    terminology and currency apply at once; the retainage default to commitments added later;
    the reminder offsets to periods opened later (a running period keeps the ones it began
    with); the monthly cycle has an endpoint of its own."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    number: Annotated[Label, Field(max_length=50)] | None = None
    general_contractor: Label | None = None
    owner: Label | None = None
    default_retainage_percent: PercentValue | None = None
    overbilling_policy: OverbillingPolicy | None = None
    stored_materials_rollover: bool | None = None
    reminder_offsets_days: ReminderOffsets | None = None
    terminology: Terminology | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    required_lien_waivers: RequiredLienWaivers | None = None

    @field_validator("currency")
    @classmethod
    def known_currency(cls, code: str | None) -> str | None:
        return None if code is None else known_currency(code)

    @field_validator("required_lien_waivers")
    @classmethod
    def waivers_in_order(cls, kinds: list[WaiverKind] | None) -> list[WaiverKind] | None:
        return None if kinds is None else waivers_in_order(kinds)

    @field_validator("reminder_offsets_days")
    @classmethod
    def distinct_offsets(cls, offsets: list[int] | None) -> list[int] | None:
        return None if offsets is None else distinct_offsets(offsets)


class ProjectCreate(ProjectBase):
    pass


class ProjectPublic(ProjectBase):
    id: str
    created_at: datetime
    your_role: StaffRole


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    role: StaffRole
    name: Label = ""


class MemberPublic(BaseModel):
    user_id: str
    email: str
    name: str
    role: StaffRole


class ProjectMembers(BaseModel):
    members: list[MemberPublic]

    @model_validator(mode="after")
    def sorted_by_email(self) -> "ProjectMembers":
        self.members.sort(key=lambda member: member.email)
        return self
