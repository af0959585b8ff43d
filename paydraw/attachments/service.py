"""Backup documents of a pay app: attach, list, download, remove, and the sweep of objects no
row names.

Who: whoever can see the pay app can list and download its files (a staff user with any role on
its project; the invoice contact of its commitment and period, through their signed link);
anyone else gets a 404, as if it did not exist. Admins, reviewers and the contact attach; a
viewer may not (403). A contact removes what they added, admins and reviewers anything, until
the pay app is finalized: from then on its files are part of the record (409).

How a file is kept so that a crash never leaves a row without its file: the object is written
first, whole, under a fresh key (`storage.new_key`), and only then the row, in a transaction that
locks the pay app's commitment (as finalize does) and checks again the pay app's state and total
size. If that transaction fails, the object is deleted; if the process dies between the two,
the object is an orphan no row names, which `sweep` removes once it is older than any upload
could take. A removal deletes the row first (audited) and the object after the commit, so a
failure there leaves an orphan too, never a row without its file.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import Engine
from sqlmodel import Session

from paydraw.actors import Actor
from paydraw.attachments import repository
from paydraw.attachments.content import FIELD, FileKind, allowed_kinds, checked_name, kind_of
from paydraw.attachments.schemas import AttachmentList, AttachmentPublic
from paydraw.attachments.storage import Storage, new_key
from paydraw.audit import record
from paydraw.contacts import service as contacts
from paydraw.db.engine import read_scope, session_scope
from paydraw.db.tables import Commitment, PayApp, PayAppAttachment, utcnow
from paydraw.domain.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from paydraw.domain.transitions import PayAppStatus, Role
from paydraw.invitations.tokens import ContactClaim
from paydraw.pay_apps import repository as pay_apps
from paydraw.pay_apps import service as pay_app_service
from paydraw.settings import Settings

log = logging.getLogger("paydraw.attachments")

MAY_ATTACH = frozenset({Role.ADMIN, Role.REVIEWER, Role.CONTACT})
REMOVABLE = frozenset(
    {
        PayAppStatus.DRAFT,
        PayAppStatus.UNDER_REVIEW,
        PayAppStatus.REVISE_AND_RESUBMIT,
        PayAppStatus.APPROVED,
    }
)
READ_BYTES = 256 * 1024
ORPHAN_AGE = timedelta(hours=1)
"""An object no row names, older than this, was left by an upload that never finished."""


@dataclass(frozen=True)
class Caller:
    """Who asks: a staff user, whose role is read on the pay app's project, or an invoice
    contact within their signed link's commitment and period."""

    actor: Actor
    claim: ContactClaim | None = None


@dataclass(frozen=True)
class Limits:
    max_file_size: int
    max_total_size: int
    kinds: list[FileKind]

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            settings.attachment_max_bytes,
            settings.pay_app_attachments_max_bytes,
            allowed_kinds(settings.attachment_types),
        )


@dataclass(frozen=True)
class Upload:
    name: str
    file: BinaryIO
    """Read from its start; it may be a spooled temporary file of any size."""


@dataclass(frozen=True)
class Inspected:
    name: str
    kind: FileKind
    size: int
    sha256: str


def contact_pay_app_id(session: Session, claim: ContactClaim) -> str:
    """The contact's pay app in their period: the one their files go to."""
    _, pay_app = contacts.live_pay_app(session, claim)
    if pay_app is None:
        raise NotFound("no pay app yet for this period: fill in its lines to start one")
    return pay_app.id


def listing(session: Session, caller: Caller, pay_app_id: str, limits: Limits) -> AttachmentList:
    pay_app, role = _visible(session, caller, pay_app_id)
    rows = repository.of_pay_app(session, pay_app.id)
    return AttachmentList(
        pay_app_id=pay_app.id,
        attachments=[_public(row, pay_app, role, caller) for row in rows],
        total_size=sum(row.size for row in rows),
        max_file_size=limits.max_file_size,
        max_total_size=limits.max_total_size,
        may_attach=role in MAY_ATTACH and pay_app.status != PayAppStatus.VOID,
    )


def found(
    session: Session, caller: Caller, pay_app_id: str, attachment_id: str
) -> PayAppAttachment:
    """An attachment to download: only from a pay app the caller can see (404 otherwise)."""
    pay_app, _ = _visible(session, caller, pay_app_id)
    row = session.get(PayAppAttachment, attachment_id)
    if row is None or row.pay_app_id != pay_app.id:
        raise NotFound(f"attachment {attachment_id} not found")
    return row


def attach(
    engine: Engine,
    storage: Storage,
    limits: Limits,
    caller: Caller,
    pay_app_id: str,
    upload: Upload,
) -> AttachmentPublic:
    """Keep the uploaded file with the pay app: checked (who, the pay app's state, the name,
    the kind by content, the caps), stored under a fresh key, then recorded and audited."""
    with read_scope(engine) as session:
        pay_app, role = _visible(session, caller, pay_app_id)
        _may_attach(pay_app, role)
        already = repository.total_size(session, pay_app.id)
    inspected = _inspect(upload, limits)
    _within_total(already, inspected.size, limits)
    key = new_key(pay_app.id)
    upload.file.seek(0)
    storage.put(key, upload.file, inspected.kind.content_type)
    try:
        with session_scope(engine) as session:
            return _record_attached(session, caller, pay_app.id, key, inspected, limits)
    except BaseException:
        _forget(storage, key)
        raise


def remove(
    engine: Engine, storage: Storage, caller: Caller, pay_app_id: str, attachment_id: str
) -> None:
    """Take a file off a pay app that is not finalized yet (audited), then delete its object."""
    with session_scope(engine) as session:
        pay_apps.lock_commitment_of(session, pay_app_id)
        row = found(session, caller, pay_app_id, attachment_id)
        pay_app, role = _visible(session, caller, pay_app_id)
        if role not in MAY_ATTACH:
            raise PermissionDenied(f"a {role} may not remove attachments")
        if role == Role.CONTACT and row.added_by != caller.actor.label:
            raise PermissionDenied("you may remove only the files you attached")
        if pay_app.status not in REMOVABLE:
            raise InvalidTransition(
                pay_app.status,
                "remove an attachment",
                [],
                message=(
                    f"the pay app is {pay_app.status}: its attachments are part of its record "
                    "and can no longer be removed"
                ),
            )
        key = row.storage_key
        session.delete(row)
        _audit(session, caller, pay_app, "remove_attachment", row)
    _forget(storage, key)


def sweep(engine: Engine, storage: Storage, older_than: timedelta = ORPHAN_AGE) -> list[str]:
    """Delete the objects that no attachment row names and that are older than `older_than`:
    uploads whose row was never written (a crash between the two), removals whose delete
    failed, and the files of drafts deleted since; and the parts of writes cut off mid-way.
    Returns the keys deleted."""
    cutoff = utcnow() - older_than
    old = [stored.key for stored in storage.objects() if stored.modified_at < cutoff]
    orphans: list[str] = []
    for start in range(0, len(old), 500):
        batch = old[start : start + 500]
        with read_scope(engine) as session:
            named = repository.stored_keys(session, batch)
        orphans += [key for key in batch if key not in named]
    for key in orphans:
        storage.delete(key)
    storage.discard_partial(cutoff)
    return orphans


def _visible(session: Session, caller: Caller, pay_app_id: str) -> tuple[PayApp, Role]:
    """The pay app and the caller's role on it, or NotFound for a pay app they cannot see."""
    if caller.claim is None:
        role, _ = pay_app_service.locate(session, caller.actor.id, pay_app_id)
        pay_app = session.get(PayApp, pay_app_id)
        assert pay_app is not None
        return pay_app, role
    claim = caller.claim
    contacts.scope(session, claim)
    pay_app = session.get(PayApp, pay_app_id)
    if (
        pay_app is None
        or pay_app.commitment_id != claim.commitment_id
        or pay_app.period_id != claim.period_id
    ):
        raise NotFound(f"pay app {pay_app_id} not found")
    return pay_app, Role.CONTACT


def _may_attach(pay_app: PayApp, role: Role) -> None:
    if role not in MAY_ATTACH:
        raise PermissionDenied(f"a {role} may not attach files")
    if pay_app.status == PayAppStatus.VOID:
        raise InvalidTransition(
            pay_app.status,
            "attach a file to",
            [],
            message="the pay app is void: it takes no more files",
        )


def _inspect(upload: Upload, limits: Limits) -> Inspected:
    """Read the file once: its size (refused past the cap without reading further), its
    SHA-256, and its kind from the first bytes."""
    name = checked_name(upload.name)
    digest = hashlib.sha256()
    head = b""
    size = 0
    upload.file.seek(0)
    while chunk := upload.file.read(READ_BYTES):
        size += len(chunk)
        if size > limits.max_file_size:
            raise InvalidInput(
                FIELD, f"the file is larger than {_size(limits.max_file_size)}, the cap per file"
            )
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
    if size == 0:
        raise InvalidInput(FIELD, "the file is empty")
    kind = kind_of(head, name, limits.kinds)
    return Inspected(name, kind, size, digest.hexdigest())


def _within_total(already: int, size: int, limits: Limits) -> None:
    if already + size > limits.max_total_size:
        raise InvalidInput(
            FIELD,
            f"the pay app's files would come to {_size(already + size)}, over the cap of "
            f"{_size(limits.max_total_size)} per pay app ({_size(already)} already attached)",
        )


def _record_attached(
    session: Session,
    caller: Caller,
    pay_app_id: str,
    key: str,
    inspected: Inspected,
    limits: Limits,
) -> AttachmentPublic:
    """The row, once the object is stored: with the commitment locked, the pay app's state and
    total are checked again, since a finalize or another upload may have come in meanwhile."""
    pay_apps.lock_commitment_of(session, pay_app_id)
    fresh = pay_apps.fresh(session, pay_app_id)
    if fresh is None:
        raise NotFound(f"pay app {pay_app_id} not found")
    pay_app, role = _visible(session, caller, pay_app_id)
    _may_attach(pay_app, role)
    _within_total(repository.total_size(session, pay_app.id), inspected.size, limits)
    row = PayAppAttachment(
        pay_app_id=pay_app.id,
        storage_key=key,
        name=inspected.name,
        content_type=inspected.kind.content_type,
        size=inspected.size,
        sha256=inspected.sha256,
        added_by=caller.actor.label,
    )
    session.add(row)
    _audit(session, caller, pay_app, "attach", row)
    session.flush()
    return _public(row, pay_app, role, caller)


def _audit(
    session: Session, caller: Caller, pay_app: PayApp, action: str, row: PayAppAttachment
) -> None:
    commitment = session.get(Commitment, pay_app.commitment_id)
    assert commitment is not None
    record(
        session,
        caller.actor,
        entity_type="pay_app",
        entity_id=pay_app.id,
        action=action,
        project_id=commitment.project_id,
        detail={
            "number": pay_app.number,
            "attachment_id": row.id,
            "name": row.name,
            "content_type": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
            "added_by": row.added_by,
        },
    )


def _public(row: PayAppAttachment, pay_app: PayApp, role: Role, caller: Caller) -> AttachmentPublic:
    removable = (
        role in MAY_ATTACH
        and pay_app.status in REMOVABLE
        and (role != Role.CONTACT or row.added_by == caller.actor.label)
    )
    return AttachmentPublic(
        id=row.id,
        pay_app_id=row.pay_app_id,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        added_by=row.added_by,
        added_at=row.added_at,
        removable=removable,
    )


def _forget(storage: Storage, key: str) -> None:
    """Delete an object no row names (or will): a failure only leaves it to `sweep`."""
    try:
        storage.delete(key)
    except Exception:
        log.warning("could not delete stored object %s; the sweep will", key, exc_info=True)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB".replace(".0 MiB", " MiB")
    if size >= 1024:
        return f"{size / 1024:.1f} KiB".replace(".0 KiB", " KiB")
    return f"{size} bytes"
