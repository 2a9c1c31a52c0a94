"""Telling the desk's other processes that something changed (PostgreSQL LISTEN/NOTIFY).

Notifications reach every listener of a *database*; a desk is a schema, so each desk has its own channel
(`threaddesk:<schema>`) and desks sharing a database never wake each other. A notification is sent when the
transaction that makes it commits — never for work that rolled back.
"""

from __future__ import annotations


def announce(topic: str) -> str:
    """An SQL expression announcing `topic` ("outbox", "kb") on this desk's channel."""
    return f"pg_notify('threaddesk:' || current_schema(), '{topic}')"


def channel(schema: str) -> str:
    """The channel of the desk in `schema`."""
    return f"threaddesk:{schema}"
