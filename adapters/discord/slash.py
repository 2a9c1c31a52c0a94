"""`/ticket …`, `/kb …`, `/digest now`, `/dashboard link` and `/incident …` as Discord app commands.

The typed options only shape Discord's UI (choices, autocomplete, user pickers). Every callback does the
same thing: hand the interaction to the bot, which turns its data back into the core's command text
(`translate.command_text`) and runs it — so an app command and a typed `/ticket` line cannot diverge.

Customers see `/ticket` and `/kb` with the commands they may use. The agents' commands are top-level
(`/ticket-claim`, `/kb-add`, …, `/dashboard`), as are the leads' (`/ticket-stats`, `/digest`), carrying
`default_permissions` so Discord shows them only to staff (see `staff_commands`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol, cast

import discord
from discord import app_commands

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "on_hold", "resolved", "closed"]
Scope = Literal["unassigned", "all", "active"]

TICKET = "ticket number (leave out inside a ticket's thread)"
#: who sees the staff commands in Discord's picker until a server admin says otherwise (Integrations)
AGENT_DEFAULT = discord.Permissions(manage_threads=True)
LEAD_DEFAULT = discord.Permissions(manage_guild=True)


class CommandRunner(Protocol):
    async def run_app_command(self, interaction: discord.Interaction[Any]) -> None: ...

    async def open_tickets(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]: ...


def _runner(interaction: discord.Interaction[Any]) -> CommandRunner:
    client: Any = interaction.client
    return client  # type: ignore[no-any-return]


async def _run(interaction: discord.Interaction[Any]) -> None:
    await _runner(interaction).run_app_command(interaction)


async def ticket_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
    return await _runner(interaction).open_tickets(interaction, current)


ticket_option = app_commands.autocomplete(ticket=ticket_choices)


async def macro_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    client: Any = interaction.client
    return await client.macro_names(interaction, current)  # type: ignore[no-any-return]


describe_ticket = app_commands.describe(ticket=TICKET)


class TicketCommands(app_commands.Group):
    """The desk's command language; the same words as `/ticket help`."""

    def __init__(self) -> None:
        super().__init__(name="ticket", description="Support tickets")

    @app_commands.command(description="Open a ticket")
    @app_commands.describe(text="what you need help with")
    async def new(self, interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 4000]) -> None:
        await _run(interaction)

    @app_commands.command(description="A ticket with its history")
    @ticket_option
    @describe_ticket
    async def show(self, interaction: discord.Interaction[Any], ticket: int | None = None) -> None:
        await _run(interaction)

    @app_commands.command(name="list", description="The queue (customers: their own tickets)")
    async def list_(
        self,
        interaction: discord.Interaction[Any],
        status: Status | None = None,
        priority: Priority | None = None,
        scope: Scope | None = None,
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Tickets assigned to you (customers: your tickets)")
    async def mine(self, interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    @app_commands.command(description="Reply to the customer (customers: add to your ticket)")
    @ticket_option
    @describe_ticket
    async def reply(
        self, interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 4000], ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Reopen a resolved or closed ticket")
    @ticket_option
    @describe_ticket
    async def reopen(
        self, interaction: discord.Interaction[Any], reason: str | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Close a ticket (customers: confirm it is solved)")
    @ticket_option
    @describe_ticket
    async def close(
        self, interaction: discord.Interaction[Any], reason: str | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Rate how we did on your closed ticket")
    @ticket_option
    @app_commands.describe(ticket=TICKET, rating="1 (poor) to 5 (great)", text="a comment (optional)")
    async def rate(
        self,
        interaction: discord.Interaction[Any],
        rating: app_commands.Range[int, 1, 5],
        text: str | None = None,
        ticket: int | None = None,
    ) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="How to use the desk")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)


ArticlePart = Literal["title", "aliases", "tags", "category", "body"]


class KbCommands(app_commands.Group):
    """The knowledge base: search and read, the self-service answers, and authoring (agents)."""

    def __init__(self) -> None:
        super().__init__(name="kb", description="The knowledge base")

    @app_commands.command(description="Search the knowledge base")
    async def search(self, interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 500]) -> None:
        await _run(interaction)

    @app_commands.command(description="Read an article")
    @app_commands.describe(article="the article's id (see /kb search)")
    async def show(self, interaction: discord.Interaction[Any], article: str) -> None:
        await _run(interaction)

    @app_commands.command(description="This article solved my problem")
    @ticket_option
    @app_commands.describe(ticket=TICKET, article="the article's id")
    async def accept(self, interaction: discord.Interaction[Any], article: str, ticket: int | None = None) -> None:
        await _run(interaction)

    @app_commands.command(description="The suggested articles are not what I need")
    @ticket_option
    @describe_ticket
    async def reject(self, interaction: discord.Interaction[Any], ticket: int | None = None) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Knowledge base commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)


class DigestCommands(app_commands.Group):
    def __init__(self) -> None:
        super().__init__(
            name="digest",
            description="Queue digests for team leads",
            default_permissions=LEAD_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(description="Post the queue digest to the leads channel now")
    async def now(self, interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Digest commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)


class DashboardCommands(app_commands.Group):
    """The web dashboard is the agents' and leads': hidden from the others like the staff commands."""

    def __init__(self) -> None:
        super().__init__(
            name="dashboard",
            description="The web dashboard for agents and team leads",
            default_permissions=AGENT_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(description="A one-time sign-in link to the web dashboard (only you see it)")
    async def link(self, interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Dashboard commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)


Callback = Callable[..., Coroutine[Any, Any, None]]


def staff(
    name: str, *, description: str, lead: bool = False
) -> Callable[[Callback], app_commands.Command[Any, Any, None]]:
    """A top-level staff command: hidden from people without Manage Threads (Manage Server for leads)."""

    def make(callback: Callback) -> app_commands.Command[Any, Any, None]:
        command: app_commands.Command[Any, Any, None] = app_commands.command(name=name, description=description)(
            cast(Any, callback)
        )
        app_commands.default_permissions(LEAD_DEFAULT if lead else AGENT_DEFAULT)(command)
        return app_commands.guild_only(command)

    return make


def staff_commands() -> list[app_commands.Command[Any, Any, None]]:
    """The agents' and leads' commands, each a top-level `/ticket-<verb>` or `/kb-<verb>`: Discord hides a
    command from people without its `default_permissions` (Manage Threads for agents, Manage Server for
    leads) only at the top level, so these cannot be subcommands of `/ticket` next to the customers' own.
    Server admins can give them to their agent and lead roles instead (Server Settings → Integrations); the
    desk's role check stays on the server side either way. Built afresh for every bot (a restart).
    """

    @staff("ticket-claim", description="Assign a ticket to yourself")
    @ticket_option
    @describe_ticket
    async def claim(interaction: discord.Interaction[Any], ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-unclaim", description="Give a ticket back to the queue")
    @ticket_option
    @describe_ticket
    async def unclaim(interaction: discord.Interaction[Any], ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-assign", description="Assign a ticket to an agent")
    @ticket_option
    @describe_ticket
    async def assign(interaction: discord.Interaction[Any], agent: discord.Member, ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-note", description="Internal note, never shown to the customer")
    @ticket_option
    @describe_ticket
    async def note(
        interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 4000], ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @staff("ticket-status", description="Change the status")
    @ticket_option
    @describe_ticket
    async def status(interaction: discord.Interaction[Any], status: Status, ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-priority", description="Change the priority")
    @ticket_option
    @describe_ticket
    async def priority(interaction: discord.Interaction[Any], priority: Priority, ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-tag", description="Add tags (-tag removes one)")
    @ticket_option
    @describe_ticket
    async def tag(interaction: discord.Interaction[Any], tags: str, ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("ticket-macro", description="Reply with a macro: its text and actions, in one step")
    @ticket_option
    @app_commands.autocomplete(name=macro_choices)
    @app_commands.describe(ticket=TICKET, name="the macro", text="more text after the macro's (optional)")
    async def macro(
        interaction: discord.Interaction[Any], name: str, text: str | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @staff("ticket-transfer", description="Move a ticket to another team's queue")
    @ticket_option
    @app_commands.describe(ticket=TICKET, team="the team's name (see /team list)", reason="why (optional)")
    async def transfer(
        interaction: discord.Interaction[Any], team: str, reason: str | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @staff("ticket-escalate", description="Raise the priority and alert the team leads")
    @ticket_option
    @describe_ticket
    async def escalate(
        interaction: discord.Interaction[Any], reason: str | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @staff("ticket-resolve", description="Resolve with a summary the customer sees")
    @ticket_option
    @app_commands.describe(ticket=TICKET, kb="id of the knowledge-base article that solved it")
    async def resolve(
        interaction: discord.Interaction[Any],
        summary: app_commands.Range[str, 1, 4000],
        ticket: int | None = None,
        kb: str | None = None,
    ) -> None:
        await _run(interaction)

    @staff("ticket-customer", description="A customer's open and past tickets")
    @ticket_option
    @app_commands.describe(user="the customer", ticket="or one of their tickets")
    async def customer(
        interaction: discord.Interaction[Any], user: discord.User | None = None, ticket: int | None = None
    ) -> None:
        await _run(interaction)

    @staff("ticket-stats", description="Queue metrics over a period (team leads)", lead=True)
    @app_commands.describe(period="e.g. 24h, 7d, 30d (default 7d)")
    async def stats(interaction: discord.Interaction[Any], period: str | None = None) -> None:
        await _run(interaction)

    @staff("kb-suggest", description="Post an article into the customer's thread (agents)")
    @ticket_option
    @app_commands.describe(ticket=TICKET, article="the article's id")
    async def suggest(interaction: discord.Interaction[Any], article: str, ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("kb-add", description="Write a new article (agents)")
    @app_commands.describe(aliases="how customers ask it, separated by ;", body="the answer (Markdown)")
    async def add(
        interaction: discord.Interaction[Any],
        title: app_commands.Range[str, 1, 200],
        aliases: str | None = None,
        body: app_commands.Range[str, 0, 4000] | None = None,
    ) -> None:
        await _run(interaction)

    @staff("kb-edit", description="Change one part of an article (agents)")
    async def edit(interaction: discord.Interaction[Any], article: str, part: ArticlePart, value: str) -> None:
        await _run(interaction)

    @staff("kb-unlearn", description="Remove learned customer wordings (agents)")
    @app_commands.describe(which="numbers from /kb show, or all")
    async def unlearn(interaction: discord.Interaction[Any], article: str, which: str) -> None:
        await _run(interaction)

    @staff("kb-save", description="Save a resolved ticket as an article (agents)")
    @ticket_option
    @describe_ticket
    async def save(interaction: discord.Interaction[Any], ticket: int | None = None) -> None:
        await _run(interaction)

    @staff("kb-stats", description="How each article is used (agents)")
    async def kb_stats(interaction: discord.Interaction[Any]) -> None:
        await _run(interaction)

    return [
        macro,
        transfer,
        claim,
        unclaim,
        assign,
        note,
        status,
        priority,
        tag,
        escalate,
        resolve,
        customer,
        stats,
        suggest,
        add,
        edit,
        unlearn,
        save,
        kb_stats,
    ]


IncidentStatus = Literal["investigating", "identified", "monitoring"]
INCIDENT = "incident id (e.g. 3 for INC-3; see /incident list)"
TICKETS = "ticket numbers, e.g. #12 #14"


class IncidentCommands(app_commands.Group):
    """Many reports of one outage: one incident, one update for everyone, one resolve (agents)."""

    def __init__(self) -> None:
        super().__init__(
            name="incident",
            description="Incidents: group reports of one outage (agents)",
            default_permissions=AGENT_DEFAULT,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )

    @app_commands.command(description="Open an incident, linking the tickets that report it")
    @app_commands.describe(title="what is broken, as customers will read it", tickets=TICKETS)
    async def new(
        self,
        interaction: discord.Interaction[Any],
        title: app_commands.Range[str, 1, 120],
        tickets: str | None = None,
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Link tickets to an incident (each customer is told)")
    @app_commands.describe(incident=INCIDENT, tickets=TICKETS)
    async def link(self, interaction: discord.Interaction[Any], incident: int, tickets: str) -> None:
        await _run(interaction)

    @app_commands.command(description="Unlink a wrong match (its wording will not join again)")
    @app_commands.describe(incident=INCIDENT, tickets="the ticket number, e.g. #12")
    async def unlink(self, interaction: discord.Interaction[Any], incident: int, tickets: str) -> None:
        await _run(interaction)

    @app_commands.command(description="Post an update into every linked customer's thread")
    @app_commands.describe(incident=INCIDENT, text="what every affected customer reads")
    async def update(
        self, interaction: discord.Interaction[Any], incident: int, text: app_commands.Range[str, 1, 4000]
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Change the status (text, if any, goes to the customers)")
    @app_commands.describe(incident=INCIDENT, text="an update for the customers (optional)")
    async def status(
        self, interaction: discord.Interaction[Any], incident: int, status: IncidentStatus, text: str | None = None
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Resolve the incident and every linked ticket")
    @app_commands.describe(incident=INCIDENT, summary="the resolution every linked customer reads")
    async def resolve(
        self, interaction: discord.Interaction[Any], incident: int, summary: app_commands.Range[str, 1, 4000]
    ) -> None:
        await _run(interaction)

    @app_commands.command(description="Dismiss a proposed incident: the reports stay separate")
    @app_commands.describe(tickets=TICKETS)
    async def dismiss(self, interaction: discord.Interaction[Any], tickets: str) -> None:
        await _run(interaction)

    @app_commands.command(name="list", description="Open incidents (all: resolved ones too)")
    async def list_(self, interaction: discord.Interaction[Any], scope: Literal["all"] | None = None) -> None:
        await _run(interaction)

    @app_commands.command(description="An incident: linked tickets, updates and notes")
    @app_commands.describe(incident=INCIDENT)
    async def show(self, interaction: discord.Interaction[Any], incident: int) -> None:
        await _run(interaction)

    @app_commands.command(name="help", description="Incident commands")
    async def help_(self, interaction: discord.Interaction[Any], command: str | None = None) -> None:
        await _run(interaction)
