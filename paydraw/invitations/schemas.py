"""Invitation requests and responses: inviting commitments, the refusals, extending a due date."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from paydraw.fields import EnteredDate, Text


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commitment_ids: Annotated[list[str], Field(min_length=1, max_length=5000)]
    message: Text = ""


class InviteRefusal(BaseModel):
    commitment_id: str
    reason: str


class InviteResponse(BaseModel):
    invited: list[str]
    refused: list[InviteRefusal]


class ExtendDueDateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_date: EnteredDate
