"""The desk: the one entry point adapters call. A slash command, an app command, a button and a console
line all arrive here as text plus who and where, and leave as a `Reply` plus outbox posts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from bot import logcontext, telemetry
from bot.acks import Acks
from bot.domain import commands
from bot.domain.errors import DeskError, PermissionDenied
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import ThreadRef, UserRef
from bot.domain.roles import Role
from bot.domain.ticket import Ticket
from bot.lifecycle import WorkGate
from bot.records import Conversation, TakenIn
from bot.services import (
    actions,
    csat,
    dashboard_link,
    incidents,
    intake,
    kb_commands,
    lead_commands,
    macros,
    routing,
    ticket_views,
)
from bot.services.desk_context import DeskContext
from bot.services.replies import Reply
from bot.services.request import Request
from bot.writer_lease import first_free

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # handlings of one waiting message before it is given up (with a log line)
RETRY_EVERY_SECONDS = 30.0
MAX_CONVERSATIONS = 5000  # open tickets' conversations a catch-up reads back, most recently active first

Handler = Callable[[DeskContext, Request], Awaitable[Reply]]

HANDLERS: dict[tuple[str, str], Handler] = {
    ("ticket", "new"): intake.new,
    ("ticket", "show"): ticket_views.show,
    ("ticket", "list"): ticket_views.list_,
    ("ticket", "mine"): ticket_views.mine,
    ("ticket", "claim"): actions.claim,
    ("ticket", "unclaim"): actions.unclaim,
    ("ticket", "assign"): actions.assign,
    ("ticket", "reply"): actions.reply,
    ("ticket", "note"): actions.note,
    ("ticket", "status"): actions.set_status,
    ("ticket", "priority"): actions.set_priority,
    ("ticket", "tag"): actions.tag,
    ("ticket", "escalate"): actions.escalate,
    ("ticket", "resolve"): actions.resolve,
    ("ticket", "reopen"): actions.reopen,
    ("ticket", "close"): actions.close,
    ("ticket", "customer"): ticket_views.customer,
    ("ticket", "help"): ticket_views.help_,
    ("kb", "search"): kb_commands.search,
    ("kb", "show"): kb_commands.show,
    ("kb", "accept"): kb_commands.accept,
    ("kb", "reject"): kb_commands.reject,
    ("kb", "suggest"): kb_commands.suggest,
    ("kb", "add"): kb_commands.add,
    ("kb", "edit"): kb_commands.edit,
    ("kb", "unlearn"): kb_commands.unlearn,
    ("kb", "save"): kb_commands.save,
    ("kb", "stats"): kb_commands.stats,
    ("kb", "help"): ticket_views.help_,
    ("ticket", "stats"): lead_commands.stats,
    ("ticket", "rate"): csat.rate,
    ("digest", "now"): lead_commands.digest_now,
    ("digest", "help"): ticket_views.help_,
    ("dashboard", "link"): dashboard_link.link,
    ("dashboard", "help"): ticket_views.help_,
    ("ticket", "macro"): macros.apply,
    ("macro", "list"): macros.list_,
    ("macro", "show"): macros.show,
    ("macro", "add"): macros.add,
    ("macro", "edit"): macros.edit,
    ("macro", "delete"): macros.delete,
    ("macro", "help"): ticket_views.help_,
    ("ticket", "transfer"): routing.transfer,
    ("agent", "away"): routing.away,
    ("agent", "back"): routing.back,
    ("agent", "help"): ticket_views.help_,
    ("team", "list"): routing.team_list,
    ("team", "show"): routing.team_show,
    ("team", "help"): ticket_views.help_,
    ("incident", "new"): incidents.new,
    ("incident", "link"): incidents.link,
    ("incident", "unlink"): incidents.unlink,
    ("incident", "update"): incidents.update,
    ("incident", "status"): incidents.status,
    ("incident", "resolve"): incidents.resolve,
    ("incident", "dismiss"): incidents.dismiss,
    ("incident", "list"): incidents.list_,
    ("incident", "show"): incidents.show,
    ("incident", "help"): ticket_views.help_,
}


class Desk:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx
        self.gate = WorkGate()  # work in flight: waited for on shutdown, counted in /metrics
        self.acks = Acks()  # acknowledgements in flight: handling lets them through first

    def role_of(self, user: UserRef) -> Role:
        return self.ctx.roles.role_of(user)

    def unnamed(self, people: Sequence[UserRef]) -> list[UserRef]:
        """Of `people`, those whose display name this process has not seen yet."""
        return [p for p in people if not self.ctx.known_name(p.key)]

    def unnamed_ids(self, platform: str, user_ids: Sequence[str]) -> list[str]:
        return [uid for uid in user_ids if not self.ctx.known_name(f"{platform}:{uid}")]

    async def remember_people(self, people: Sequence[UserRef]) -> None:
        """Display names a platform told (the people of a team's user group or role), so `/team show`, the
        assignee's note and "Erin is looking at this" name them before they have written. Written when changed."""
        if people:
            async with self.ctx.store.transaction() as uow:
                for person in people:
                    await self.ctx.remember(uow, person)

    async def receive(self, msg: IncomingMessage) -> Ticket | None:
        """A chat message from anyone: opens or joins a ticket, or is ignored. Waits first while an
        acknowledgement is in flight (`bot.acks`)."""
        await self.acks.let_through()
        with logcontext.bound(platform=msg.platform, request_id=msg.message_id, command="message"):
            async with self.gate.unit():
                with telemetry.timed(telemetry.COMMAND_SECONDS, command="message"):
                    return await intake.receive(self.ctx, msg)

    async def accept(self, msg: IncomingMessage) -> bool:
        """Keep a chat message durably *before* the platform is told it arrived (Slack's acknowledgement,
        SMTP's 250): if the process dies before `receive` has handled it, the next start handles it. False
        when there is nothing to keep: not for the desk, handled already, or waiting already (a redelivery)."""
        if not intake.wanted(self.ctx, msg):
            return False
        with self.acks.arriving():  # ahead of handling, on the loop and for the database
            async with self.ctx.store.transaction(first=True) as uow:
                return await uow.inbound.accept(
                    msg.platform, msg.message_id, msg.model_dump_json(), self.ctx.clock.now()
                )

    async def handle_waiting(self, *, older_than: timedelta = timedelta(0)) -> int:
        """Handle the messages the inbox still holds — at start, those a crash left; later, any whose handling
        failed — oldest first, in arrival order. One that keeps failing is given up after `MAX_ATTEMPTS` with
        one log line; one handled meanwhile (by another process) is passed over. Returns how many were handled."""
        async with self.ctx.store.transaction() as uow:
            waiting = await uow.inbound.waiting()
        handled = 0
        for item in waiting:
            if self.gate.draining:
                break  # shutting down: the drain waits for work in flight, not for more; the next start has these
            if self.ctx.clock.now() - item.received_at < older_than:
                break  # younger ones are being handled as they arrive
            msg = IncomingMessage.model_validate_json(item.payload)
            async with self.ctx.store.reading() as uow:
                if await uow.inbound.taken_in(msg.platform, msg.message_id) is not None:
                    # handled since the list was read: on a shared (PostgreSQL) desk the process that took it in
                    # handles it meanwhile, and handling it again would only work out its ticket for nothing
                    continue
            try:
                await self.receive(await self._named(msg))
                handled += 1
            except Exception as exc:
                if item.attempts < MAX_ATTEMPTS:
                    log.warning("message %s:%s not handled yet (%s); will try again", msg.platform, msg.message_id, exc)
                    continue
                log.error(
                    "message %s:%s could not be handled after %d attempts, dropped: %s",
                    msg.platform,
                    msg.message_id,
                    item.attempts,
                    exc,
                )
                async with self.ctx.store.transaction() as uow:
                    await uow.inbound.give_up(msg.platform, msg.message_id, self.ctx.clock.now())
        return handled

    async def _named(self, msg: IncomingMessage) -> IncomingMessage:
        """A kept message with its author's name, where its platform's events carry only an id (Slack): the
        adapter would have looked it up before handling it, had the process not stopped first."""
        names = self.ctx.people_names.get(msg.platform)
        if names is None:
            return msg
        return msg.model_copy(update={"author": await names.person(msg.author.id, msg.author.name)})

    async def retry_waiting_forever(self, every: float = RETRY_EVERY_SECONDS) -> None:
        """Every `every` seconds, handle messages that have waited in the inbox longer than that (their
        first handling failed, e.g. the database was locked by another program)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.handle_waiting(older_than=timedelta(seconds=every))
            except Exception:
                log.exception("handling waiting messages failed; trying again in %.0f s", every)

    # --- catch-up after downtime: an adapter reads back what was written while it was away ----------------

    def first_free_role(self, roles: Sequence[str], ttl: timedelta) -> AbstractAsyncContextManager[str]:
        """Hold the first of `roles` (say, a Discord gateway shard) no other process holds, standing by while
        all are held; yields the one held (see `bot.writer_lease`)."""
        return first_free(self.ctx.store, self.ctx.clock, roles, ttl)

    async def read_marks(self, platform: str) -> dict[str, str]:
        """How far each conversation of `platform` has been read: every message there up to the position was
        taken in (kept in the inbox or handled). What was written after it is what a catch-up reads back."""
        async with self.ctx.store.reading() as uow:
            return await uow.catch_up.read_marks(platform)

    async def mark_read(self, platform: str, marks: Mapping[str, str]) -> None:
        """Record that conversations were read up to these positions (a mark never moves back)."""
        if marks:
            async with self.ctx.store.transaction() as uow:
                await uow.catch_up.advance(platform, dict(marks), self.ctx.clock.now())

    async def open_conversations(self, platform: str, limit: int = MAX_CONVERSATIONS) -> list[Conversation]:
        """Where customers of tickets not closed yet may write (a resolved ticket reopens on a reply), most
        recently active first."""
        async with self.ctx.store.reading() as uow:
            return await uow.catch_up.open_conversations(platform, limit)

    async def run(self, actor: UserRef, text: str, place: Place | None = None, *, once: str | None = None) -> Reply:
        """Run one command as `actor`. Never raises for anything a person typed: errors become replies.

        `once` is the platform's id of this submission (Slack's trigger_id, a modal's view id): a form
        submitted twice (Slack's client can) runs once; the second submission is told so."""
        with logcontext.bound(platform=actor.platform):
            async with self.gate.unit():
                if once is not None and not await self._first_submission(actor.platform, once):
                    return Reply.done("That was submitted twice; it was done once (see the first answer).")
                return await self._run(actor, text, place)

    async def _first_submission(self, platform: str, once: str) -> bool:
        async with self.ctx.store.transaction() as uow:
            return await uow.inbound.claim_inbound(platform, f"request:{once}", self.ctx.clock.now())

    async def _run(self, actor: UserRef, text: str, place: Place | None) -> Reply:
        try:
            command = commands.parse(text)
            role = self.role_of(actor)
            if not role.at_least(command.spec.role):
                raise PermissionDenied(
                    f"Only {command.spec.role.plural} can use `/{command.group} {command.name}`. "
                    f"You are signed in as {role.with_article}."
                )
            number = command.ticket
            if number is None and command.spec.takes_ticket and place is not None and place.thread_ref:
                number = await self._ticket_in(place)
            request = Request(actor=actor, role=role, command=command, place=place, number=number)
            name = f"{command.group} {command.name}"
            logcontext.bind(command=name, ticket=number)
            with telemetry.timed(telemetry.COMMAND_SECONDS, command=name):
                return await HANDLERS[(command.group, command.name)](self.ctx, request)
        except DeskError as exc:
            return Reply.error(exc.message)
        except Exception:
            # the text is not logged: it may be a customer's words (the command name is in the context)
            log.exception("command failed, run by %s", actor.key)
            return Reply.error("Sorry — something went wrong on our side and nothing was changed. Please try again.")

    async def _ticket_in(self, place: Place) -> int | None:
        thread = place.thread_ref
        assert thread is not None
        async with self.ctx.store.reading() as uow:
            found = await uow.tickets.ticket_for_thread(thread)
        return found[0].number if found else None

    async def ticket_at(self, thread: ThreadRef) -> Ticket | None:
        """The ticket whose customer thread this is (e-mail: the customer's address and first Message-ID)."""
        async with self.ctx.store.reading() as uow:
            found = await uow.tickets.ticket_for_thread(thread)
        return found[0] if found and not found[1] else None

    async def taken_in(self, platform: str, message_id: str) -> TakenIn | None:
        """Whether (and into which ticket) a chat message was already taken in: None when never."""
        async with self.ctx.store.reading() as uow:
            return await uow.inbound.taken_in(platform, message_id)

    async def ticket(self, number: int) -> Ticket | None:
        async with self.ctx.store.reading() as uow:
            return await uow.tickets.get_ticket(number)
