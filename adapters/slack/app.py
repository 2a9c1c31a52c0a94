"""The Slack app: bolt's AsyncApp listeners, thin — acknowledge, translate, call the desk, answer.

Every listener acknowledges first (bolt answers Slack's HTTP request or Socket Mode envelope as soon as
`ack()` runs; events are acknowledged by bolt before the listener runs) and does its work afterwards, so
Slack's 3-second deadline holds however slow the desk is. Customer messages are first kept in the desk's
durable inbox, by a middleware that runs before bolt's acknowledgement: Slack resends an event it got no
200 for, and an event it did get a 200 for is on disk, so a crash loses neither. Answers to the person who
acted are ephemeral (`respond` via response_url, or chat.postEphemeral after a modal); everything public goes
through the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.read_marks import ReadMarks
from adapters.slack import translate
from adapters.slack.config import SlackConfig
from adapters.slack.people import Directory
from adapters.slack.render import article_modal, prompt_modal, render
from bot.domain.commands import GROUPS
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.ticket import Ticket
from bot.outbound import Message
from bot.services.desk import Desk
from bot.services.replies import Reply

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]
SHORTCUT = "create_ticket"


class Listeners:
    """The bolt listeners. `desk` is attached when the adapter starts serving."""

    def __init__(self, config: SlackConfig, client: AsyncWebClient, people: Directory) -> None:
        self.config = config
        self.client = client
        self.people = people
        self.desk: Desk | None = None
        self.bot_user_id: str | None = None
        self.marks: ReadMarks | None = None  # Socket Mode: how far each intake channel was taken in
        self.busy = 0
        # Bolt starts every listener at once; a burst of events would otherwise be thousands of coroutines
        # (and users.info calls) fighting over the loop and the SQLite writer, slowing the acks down.
        self._slots = asyncio.Semaphore(16)
        self._idle = asyncio.Event()
        self._idle.set()

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.keep_before_ack)
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_mention)
        app.event("reaction_added")(self.on_reaction)
        app.shortcut(SHORTCUT)(self.on_shortcut)
        for group in GROUPS:  # /ticket, /kb, /digest, /incident: the core's command groups
            app.command(f"/{group}")(self.on_command)
        app.action(re.compile(r"^td_"))(self.on_action)
        app.view(translate.VIEW_CALLBACK)(self.on_view)
        app.view(translate.ARTICLE_CALLBACK)(self.on_article)

    # --- bookkeeping ------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _working(self) -> AsyncIterator[Desk]:
        """Counts work in progress (tests and the benchmark wait for `idle`); logs instead of raising."""
        self.busy += 1
        self._idle.clear()
        try:
            if self.desk is None:
                raise RuntimeError("Slack listener ran before the desk was attached")
            yield self.desk
        except Exception:
            log.exception("Slack listener failed")
        finally:
            self.busy -= 1
            if not self.busy:
                self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()

    def _bot_id(self, context: dict[str, Any]) -> str | None:
        return str(context.get("bot_user_id") or self.bot_user_id or "") or None

    async def _receive(self, desk: Desk, msg: IncomingMessage | None) -> Ticket | None:
        if msg is None:
            return None
        async with self._slots:
            # the author's name (users.info) is handling too: it waits for the acks in flight, in its turn
            await desk.acks.let_through()
            author = await self.people.person(msg.author.id)
            return await desk.receive(msg.model_copy(update={"author": author}))

    async def _learn_mentioned(self, desk: Desk, text: str) -> None:
        """`/ticket assign 4 @erin` arrives as `<@U0ERIN|erin>`: make sure the desk knows Erin's name."""
        ids = translate.mentioned_users(text)
        if not ids:
            return
        people = [await self.people.person(uid) for uid in ids]
        async with desk.ctx.store.transaction() as uow:
            for person in people:
                await desk.ctx.remember(uow, person)

    async def _run(self, desk: Desk, actor: UserRef, text: str, place: Place, once: str = "") -> Reply:
        async with self._slots:
            return await desk.run(actor, text, place, once=once or None)

    async def _answer(self, respond: Respond, reply: Reply) -> None:
        text, blocks = render(reply.message)
        try:
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        except Exception as exc:  # the response_url expired (30 min) or Slack is down: the work is done anyway
            log.warning("could not answer via response_url: %s", exc)

    async def _ephemeral(self, channel: str, user_id: str, message: Message, thread: str | None = None) -> None:
        text, blocks = render(message)
        try:
            kwargs: dict[str, Any] = {"channel": channel, "user": user_id, "text": text, "blocks": blocks}
            if thread:
                kwargs["thread_ts"] = thread
            await self.client.chat_postEphemeral(**kwargs)
        except SlackApiError as exc:
            log.warning("chat.postEphemeral to %s failed: %s", user_id, exc.response.get("error"))

    # --- events -----------------------------------------------------------------------------------------

    async def keep_before_ack(
        self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        """A customer message is stored before bolt acknowledges its event. If it cannot be (the database is
        unavailable), Slack gets a 503 and sends the event again later."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") in ("message", "app_mention") and self.desk is not None:
            msg = translate.message_event(event, self._bot_id(context), mention=event["type"] == "app_mention")
            if msg is not None:
                marks = self.marks if msg.thread is None and msg.channel in self.config.intake_channels else None
                if marks is not None:
                    marks.begin(msg.channel, msg.message_id)
                kept = False
                try:
                    kept = await self.desk.accept(msg)
                except Exception as exc:
                    log.error(
                        "Slack event %s not stored, answered 503 so Slack resends it: %s", body.get("event_id"), exc
                    )
                    return BoltResponse(status=503, body="")
                finally:
                    if marks is not None:
                        marks.finish(msg.channel, msg.message_id, write=kept)
        await next()
        return None

    async def take_missed(self, event: dict[str, Any]) -> bool:
        """A message read back from a channel's history, as its event: kept, then handled like one that just
        arrived. True when the desk took it in now."""
        msg = translate.message_event(event, self.bot_user_id)
        if msg is None or self.desk is None:
            return False
        try:
            kept = await self.desk.accept(msg)
        except Exception as exc:
            log.warning("Slack: message %s not kept in the inbox (%s); handling it now", msg.message_id, exc)
            kept = False
        async with self._working() as desk:
            ticket = await self._receive(desk, msg)
            return kept or ticket is not None
        return kept

    async def on_message(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        async with self._working() as desk:
            await self._receive(desk, translate.message_event(event, self._bot_id(context)))

    async def on_mention(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        async with self._working() as desk:
            await self._receive(desk, translate.message_event(event, self._bot_id(context), mention=True))

    async def on_reaction(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        found = translate.reaction_added(event, self.config.ticket_reaction)
        if found is None:
            return
        async with self._working() as desk:
            message = await self._fetch(found.channel, found.ts)
            if message is None:
                await self._ephemeral(
                    found.channel, found.reactor, Message(text="I couldn't read that message, so no ticket was opened.")
                )
                return
            ticket = await self._receive(
                desk, translate.message_as_ticket(message, found.channel, self._bot_id(context))
            )
            if ticket is not None:
                await self._ephemeral(
                    found.channel, found.reactor, Message(text=f"Opened ticket {ticket.ref} for that message.")
                )

    async def _fetch(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The reacted-to message: from the channel's history, or (a reply in a thread) from its thread."""
        lookups: list[tuple[Callable[..., Awaitable[Any]], dict[str, Any]]] = [
            (self.client.conversations_history, {"latest": ts, "inclusive": True, "limit": 1}),
            (self.client.conversations_replies, {"ts": ts, "inclusive": True, "limit": 1}),
        ]
        for method, kwargs in lookups:
            try:
                response = await method(channel=channel, **kwargs)
            except SlackApiError as exc:
                log.warning("reading message %s in %s failed: %s", ts, channel, exc.response.get("error"))
                continue
            for message in response.get("messages") or ():
                if message.get("ts") == ts:
                    return dict(message)
        return None

    # --- shortcut, commands, buttons, modals ------------------------------------------------------------

    async def on_shortcut(self, ack: Ack, body: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
        await ack()
        async with self._working() as desk:
            message, channel, invoker = translate.shortcut_message(body)
            ticket = await self._receive(desk, translate.message_as_ticket(message, channel, self._bot_id(context)))
            text = (
                f"Opened ticket {ticket.ref} for that message."
                if ticket
                else "No new ticket: that message already is one, or it was written by a bot."
            )
            await self._answer(respond, Reply.done(text) if ticket else Reply.error(text))
            log.info("shortcut by %s in %s: %s", invoker, channel, text)

    async def on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        async with self._working() as desk:
            call = translate.slash_command(body)
            actor = await self.people.person(call.actor.id, call.actor.name)
            if call.text.lower().split() == ["/kb", "add"] and desk.role_of(actor).at_least(Role.AGENT):
                await self._open_article_form(body, call.place.channel, respond)
                return
            await self._learn_mentioned(desk, call.text)
            await self._answer(respond, await self._run(desk, actor, call.text, call.place, call.once))

    async def on_action(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        async with self._working() as desk:
            press = translate.block_action(body)
            if press is None or not press.command:
                return
            if press.prompt:
                try:
                    await self.client.views_open(trigger_id=body["trigger_id"], view=prompt_modal(press))
                except SlackApiError as exc:  # e.g. expired_trigger_id: Slack was too slow to reach us
                    log.warning("views.open failed: %s", exc.response.get("error"))
                    hint = f"Sorry, the form did not open. Type `{press.command} <your text>` instead."
                    await self._answer(respond, Reply.error(hint))
                return
            actor = await self.people.person(press.actor.id, press.actor.name)
            await self._answer(respond, await self._run(desk, actor, press.command, press.place))

    async def _open_article_form(self, body: dict[str, Any], channel: str, respond: Respond) -> None:
        try:
            await self.client.views_open(trigger_id=body["trigger_id"], view=article_modal(channel))
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            hint = "Sorry, the form did not open. Type `/kb add Title | alias one; alias two | Body` instead."
            await self._answer(respond, Reply.error(hint))

    async def on_article(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._submitted(ack, translate.article_submission(body), ("title", "Give the article a title."))

    async def on_view(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._submitted(ack, translate.view_submission(body), ("text", "Please write something first."))

    async def _submitted(self, ack: Ack, call: translate.Invocation | None, empty: tuple[str, str]) -> None:
        """A modal was submitted: refuse it in place when its required field is empty, else run its
        command and answer only the person who submitted it."""
        if call is None:
            await ack()
            return
        if not call.typed:
            field, problem = empty
            await ack(response_action="errors", errors={field: problem})
            return
        await ack()
        async with self._working() as desk:
            actor = await self.people.person(call.actor.id, call.actor.name)
            reply = await self._run(desk, actor, call.text, call.place, call.once)
            if call.place.channel:
                await self._ephemeral(call.place.channel, actor.id, reply.message, call.place.thread)
