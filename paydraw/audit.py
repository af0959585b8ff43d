"""The audit trail: one row for every state change and every money change."""

from typing import Any

from sqlmodel import Session, col, select

from paydraw.actors import Actor
from paydraw.db.tables import AuditEvent


def record(
    session: Session,
    actor: Actor,
    *,
    entity_type: str,
    entity_id: str,
    action: str,
    project_id: str | None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction, so it commits with the change itself."""
    event = AuditEvent(
        project_id=project_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor=actor.label,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or {},
    )
    session.add(event)
    return event


def events_for(session: Session, entity_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.entity_id == entity_id)
    return list(session.exec(query.order_by(col(AuditEvent.at), col(AuditEvent.id))))


def events_for_project(session: Session, project_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.project_id == project_id)
    return list(session.exec(query.order_by(col(AuditEvent.at), col(AuditEvent.id))))
