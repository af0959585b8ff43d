"""Backup documents of a pay app, as the API and the pages show them."""

from datetime import datetime

from pydantic import BaseModel


class AttachmentPublic(BaseModel):
    """A file attached to a pay app: who added it and when, and what it is."""

    id: str
    pay_app_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    added_by: str
    """The actor as the audit trail names them: ``contact:billing@acme.example``, ``user:...``."""
    added_at: datetime
    removable: bool
    """Whether the caller may remove it now (it goes once the pay app is finalized)."""


class AttachmentList(BaseModel):
    pay_app_id: str
    attachments: list[AttachmentPublic]
    total_size: int
    max_file_size: int
    max_total_size: int
    may_attach: bool
    """Whether the caller may attach a file to the pay app now."""
