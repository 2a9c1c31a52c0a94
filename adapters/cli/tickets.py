"""`threaddesk tickets list | show`: the queue and one ticket in the terminal."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from adapters.cli.app import ConfigOpt, DbOpt, _database, _fail, _settings, out, tickets_app
from adapters.help import example
from bot.config import Settings
from bot.domain.ticket import Status, Ticket
from bot.ports import SystemClock
from bot.records import Event, LoggedMessage, TicketQuery
from bot.services.history_text import describe_event

#: `--status`: the active tickets, all of them, or one of the domain's statuses (in its order).
StatusFilter = StrEnum(  # type: ignore[misc]  # mypy reads members only from literals
    "StatusFilter", {"ACTIVE": "active", "ALL": "all", **{status.name: status.value for status in Status}}
)


def _statuses(choice: StatusFilter) -> list[Status]:
    if choice is StatusFilter["ALL"]:
        return []
    if choice is StatusFilter["ACTIVE"]:
        return [s for s in Status if s.is_active]
    return [Status(choice.value)]


async def _query(settings: Settings, query: TicketQuery) -> list[Ticket]:
    async with _database(settings) as database, database.reading() as uow:
        return await uow.tickets.list_tickets(query)


@tickets_app.command(
    "list", epilog=example("threaddesk tickets list", "threaddesk tickets list --status pending --limit 20")
)
def tickets_list(
    status: Annotated[StatusFilter, typer.Option(help="Which tickets.")] = StatusFilter["ACTIVE"],
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many.")] = 50,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The queue, most urgent and oldest first."""
    settings = _settings(config, db)
    found = asyncio.run(_query(settings, TicketQuery(statuses=_statuses(status), limit=limit)))
    now = SystemClock().now()
    table = Table(title=f"Tickets ({status.value}) — {len(found)} shown")
    for column in ("#", "Priority", "Status", "Subject", "Customer", "Assignee", "Age"):
        table.add_column(column, overflow="fold")
    for t in found:
        assignee = t.assignee.display if t.assignee else "—"
        table.add_row(
            str(t.number),
            t.priority.value,
            t.status.label,
            t.subject,
            t.customer.display,
            assignee,
            t.age(now),
        )
    out.print(table)


@tickets_app.command("show", epilog=example("threaddesk tickets show 42"))
def tickets_show(
    number: Annotated[int, typer.Argument(metavar="N", help="The ticket number.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Show one ticket with its history and every message (internal notes too)."""
    settings = _settings(config, db)

    async def load() -> tuple[Ticket | None, list[Event], list[LoggedMessage]]:
        async with _database(settings) as database, database.reading() as uow:
            ticket = await uow.tickets.get_ticket(number)
            if ticket is None:
                return None, [], []
            return ticket, await uow.history.events_for(number), await uow.messages.messages_for(number)

    ticket, events, messages = asyncio.run(load())
    if ticket is None:
        raise _fail(f"there is no ticket #{number}", code=1)
    t = ticket
    out.print(f"{t.ref} · {t.subject}", style="bold")
    summary = Table.grid(padding=(0, 2))
    for name, value in _ticket_fields(t).items():
        summary.add_row(name, value or "—")
    out.print(summary)
    history = Table(title="History")
    for column in ("When (UTC)", "Who", "What"):
        history.add_column(column, overflow="fold")
    for e in events:
        history.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor.display, describe_event(e))
    out.print(history)
    log = Table(title="Messages")
    for column in ("When (UTC)", "Who", "Visibility", "Delivery", "Text"):
        log.add_column(column, overflow="fold")
    for m in messages:
        log.add_row(f"{m.at:%Y-%m-%d %H:%M:%S}", m.author.display, m.visibility, m.delivery, m.body)
    out.print(log)


def _ticket_fields(t: Ticket) -> dict[str, str | None]:
    return {
        "Status": t.status.label,
        "Priority": t.priority.value,
        "Category": t.category,
        "Tags": ", ".join(t.tags),
        "Customer": f"{t.customer.display} ({t.customer.key})",
        "Assignee": t.assignee.display if t.assignee else None,
        "Created": f"{t.created_at:%Y-%m-%d %H:%M:%S}",
        "First response": f"{t.first_response_at:%Y-%m-%d %H:%M:%S}" if t.first_response_at else None,
        # a reopened ticket keeps its last resolution time in the data, but it is not resolved now
        "Resolved": f"{t.resolved_at:%Y-%m-%d %H:%M:%S}" if t.resolved_at and not t.status.is_active else None,
        "Closed": f"{t.closed_at:%Y-%m-%d %H:%M:%S}" if t.closed_at else None,
        "Resolution": t.resolution_summary if not t.status.is_active else None,
    }
