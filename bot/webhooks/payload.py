"""Version 1 of the webhook payload: `{"type", "id", "timestamp", "version", "data"}`.

`data.ticket` is the ticket after the change; `data.event` what happened and who did it; `data.message`
the message a `ticket.replied` is about. The JSON Schema is `docs/webhooks/payload-v1.schema.json`; a test
checks every payload the desk builds against it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from bot.domain.incident import Incident, IncidentUpdate
from bot.domain.refs import UserRef
from bot.domain.ticket import Ticket

VERSION = 1
PLATFORM = "webhook"  # the outbox's name for webhook deliveries


def new_id() -> str:
    return "msg_" + uuid.uuid4().hex


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def person(user: UserRef | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"platform": user.platform, "id": user.id, "name": user.display}


def ticket_data(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "subject": t.subject,
        "description": t.description,
        "status": t.status.value,
        "priority": t.priority.value,
        "category": t.category,
        "tags": list(t.tags),
        "channel": t.customer.platform,
        "customer": person(t.customer),
        "assignee": person(t.assignee),
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "first_response_at": iso(t.first_response_at),
        "resolved_at": iso(t.resolved_at),
        "closed_at": iso(t.closed_at),
        "resolution_summary": t.resolution_summary,
        "resolved_by_article": t.resolved_by_kb,
    }


def incident_data(inc: Incident, linked: list[int]) -> dict[str, Any]:
    """The incident after the change, with the tickets linked to it now."""
    return {
        "id": inc.id,
        "ref": inc.ref,
        "title": inc.title,
        "status": inc.status.value,
        "platform": inc.platform,
        "owner": person(inc.owner),
        "source": inc.source,
        "created_at": iso(inc.created_at),
        "updated_at": iso(inc.updated_at),
        "first_report_at": iso(inc.first_report_at),
        "resolved_at": iso(inc.resolved_at),
        "resolution": inc.resolution,
        "linked_tickets": sorted(linked),
    }


def incident_update_data(update: IncidentUpdate, visibility: str) -> dict[str, Any]:
    """One entry of the incident's log: a public update (what linked customers read) or an internal note."""
    return {
        "author": person(update.author),
        "status": update.status.value,
        "visibility": visibility,
        "text": update.text,
        "at": iso(update.at),
    }


def envelope(event_type: str, data: dict[str, Any], at: datetime, msg_id: str | None = None) -> str:
    """The body exactly as it is signed and sent (compact JSON, keys in a stable order)."""
    body = {"type": event_type, "id": msg_id or new_id(), "timestamp": iso(at), "version": VERSION, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
