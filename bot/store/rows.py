"""Rows as the domain reads them: the mappings both engines share.

The engines store the same columns and differ only in how a value comes back — SQLite gives moments as ISO
text and JSON columns as text, PostgreSQL gives `timestamptz`, `text[]` and decoded `jsonb` — so each passes
its row with those readings (`moment`, and the decoded values); nothing here knows a driver.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Destination, Message
from bot.records import Delivery


class Row(Protocol):
    """A row read by column name: `sqlite3.Row`, `asyncpg.Record`."""

    def __getitem__(self, column: str, /) -> Any: ...


def _as_is(value: Any) -> Any:
    return value


def _maybe(value: Any, moment: Callable[[Any], datetime]) -> datetime | None:
    """A nullable time column read with `moment`."""
    return moment(value) if value is not None else None


def ticket_from_row(row: Row, *, tags: Iterable[str], moment: Callable[[Any], datetime] = _as_is) -> Ticket:
    """The `Ticket` of a `tickets` row; `moment` reads a non-null time column, `tags` are the row's tags."""
    platform = row["customer_platform"]
    card = (
        MessageRef(platform=platform, channel=row["card_channel"], id=row["card_message"])
        if row["card_message"]
        else None
    )
    assignee = (  # before schema 15 (and in rows written by hand) the platform was the customer's
        UserRef(platform=row["assignee_platform"] or platform, id=row["assignee_id"], name=row["assignee_name"] or "")
        if row["assignee_id"]
        else None
    )

    return Ticket(
        number=row["number"],
        subject=row["subject"],
        description=row["description"],
        customer=UserRef(platform=platform, id=row["customer_id"], name=row["customer_name"]),
        origin=ThreadRef(platform=platform, channel=row["origin_channel"], thread=row["origin_thread"] or ""),
        priority=Priority(row["priority"]),
        category=row["category"],
        tags=tuple(tags),
        status=Status(row["status"]),
        assignee=assignee,
        created_at=moment(row["created_at"]),
        updated_at=moment(row["updated_at"]),
        first_response_at=_maybe(row["first_response_at"], moment),
        resolved_at=_maybe(row["resolved_at"], moment),
        closed_at=_maybe(row["closed_at"], moment),
        resolution_summary=row["resolution_summary"],
        card=card,
        resolved_by_kb=row["resolved_by_kb"],
    )


def delivery_from_row(
    row: Row, *, payload: Message, destination: Destination, moment: Callable[[Any], datetime] = _as_is
) -> Delivery:
    """The `Delivery` of a webhook's outbox row (`payload` and `destination` decoded by the engine): its event
    type and id read off the body it sends."""
    body = payload.text
    head = json.loads(body)
    return Delivery(
        id=row["id"],
        endpoint=destination.channel,
        event_type=str(head.get("type", "")),
        event_id=str(head.get("id", "")),
        ticket=row["ticket"],
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        answer=row["delivered_id"],
        created_at=moment(row["created_at"]),
        delivered_at=_maybe(row["delivered_at"], moment),
        next_attempt_at=moment(row["next_attempt_at"]),
        body=body,
    )
