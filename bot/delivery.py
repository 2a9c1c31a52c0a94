"""The delivery worker: sends outbox rows through the platform ports, in order per thread.

Retries honour a platform's `Retry-After`, otherwise back off exponentially; a row that keeps failing is
marked `failed` (and its message-log entry too), so a transcript shows what did not arrive. Rows of a
platform that is not running stay pending until it is. The worker resumes whatever is pending on start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot import logcontext, telemetry
from bot.acks import Acks
from bot.domain.refs import MessageRef
from bot.outbound import DestinationKind, Message
from bot.ports import ChatPlatform, Clock, DeliveryRefused, DirectMessages, PostLookup, RetryLater, Store
from bot.records import OutboxRow
from bot.waiting import until_set

log = logging.getLogger(__name__)

#: how long before an unknown attempt began the posts of other rows are named to `find_post` (as not this
#: one): longer than any platform's margin for clock skew (minutes)
OTHERS_SINCE = timedelta(hours=1)


class DeliveryWorker:
    def __init__(
        self,
        db: Store,
        platforms: Mapping[str, ChatPlatform],
        clock: Clock,
        *,
        max_attempts: int = 10,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        concurrency: int = 16,
        acks: Acks | None = None,
    ) -> None:
        self.store = db
        self.platforms = dict(platforms)
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._slots = asyncio.Semaphore(concurrency)
        self._acks = acks  # a post waits while the process acknowledges an event (`bot.acks`)
        self._wake = asyncio.Event()
        self._stop_by: float | None = None  # event-loop time by which `run` returns (see `stop`)
        db.after_commit(self._wake.set)

    def stop(self, within: float) -> None:
        """Make `run` return: after delivering what it can within `within` seconds (retries that fall due
        meanwhile included). Sends in progress are never cut off; what is left stays pending for the next start."""
        self._stop_by = asyncio.get_running_loop().time() + within
        self._wake.set()

    def _out_of_time(self) -> bool:
        return self._stop_by is not None and asyncio.get_running_loop().time() >= self._stop_by

    async def deliver_due(self) -> int:
        """One pass: send the head row of every ordering key that is due. Returns rows attempted."""
        async with self.store.reading() as uow:
            rows = await uow.outbox.due(self.clock.now(), platforms=tuple(self.platforms))
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def drain(self, max_passes: int = 1000) -> None:
        """Deliver until nothing is due right now (rows waiting for a retry later are left)."""
        for _ in range(max_passes):
            if self._out_of_time() or not await self.deliver_due():
                return

    async def run(self) -> None:
        """Forever: deliver what is due, then sleep until woken by a commit or the next retry is due."""
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("delivery pass failed; retrying shortly")
            async with self.store.reading() as uow:
                next_at = await uow.outbox.next_attempt_at(platforms=tuple(self.platforms))
            timeout = None
            if next_at is not None:
                timeout = max(0.05, (next_at - self.clock.now()).total_seconds())
            if self._stop_by is not None:
                left = self._stop_by - asyncio.get_running_loop().time()
                if left <= 0 or timeout is None or timeout > left:
                    return  # stopping, and nothing more can be sent in time
            await until_set(self._wake, timeout)

    async def deliver_one(self, row: OutboxRow) -> None:
        """One attempt at one row now, with the usual bookkeeping (`threaddesk webhooks redeliver`)."""
        await self._deliver(row)

    async def _deliver(self, row: OutboxRow) -> None:
        platform = row.destination.platform
        with logcontext.bound(platform=platform, ticket=row.ticket, request_id=f"outbox-{row.id}"):
            async with self._slots:
                if self._acks is not None:
                    await self._acks.let_through()
                try:
                    await self._send(row)
                    telemetry.delivery(platform, "ok")
                except RetryLater as exc:
                    if exc.rate_limited:
                        telemetry.rate_limited(platform)
                    await self._retry(row, str(exc), exc.retry_after, outcome_unknown=exc.outcome_unknown)
                except DeliveryRefused as exc:
                    await self._fail(row, str(exc), refused=exc)
                except Exception as exc:  # a bug or an unexpected platform answer: keep the post, try later
                    log.exception("outbox row %d: unexpected delivery error", row.id)
                    await self._retry(row, f"{type(exc).__name__}: {exc}", None, outcome_unknown=True)

    async def _send(self, row: OutboxRow) -> None:
        dest = row.destination
        platform = self.platforms[dest.platform]
        ticket = None
        if dest.ticket is not None:
            async with self.store.reading() as uow:
                ticket = await uow.tickets.get_ticket(dest.ticket)
        if dest.kind is DestinationKind.CUSTOMER:
            assert ticket is not None
            origin = ticket.origin
            ref = await self._post(row, platform, origin.channel, origin.thread or None)
            if not origin.thread:
                # a ticket opened by slash command: its first post becomes the customer thread
                async with self.store.transaction() as uow:
                    await uow.tickets.set_origin_thread(ticket.number, ref.id)
                    await uow.outbox.mark_delivered(row, self.clock.now(), ref.id)
                return
        elif dest.kind is DestinationKind.CARD:
            assert ticket is not None
            if ticket.card is None:
                ref = await self._post(row, platform, dest.channel, None)
                async with self.store.transaction() as uow:
                    await uow.tickets.save_card(ticket.number, ref)
                    await uow.outbox.mark_delivered(row, self.clock.now(), ref.id)
                return
            await platform.update_message(ticket.card, row.message)
            ref = ticket.card
        elif dest.kind is DestinationKind.INCIDENT_CARD:
            assert dest.incident is not None
            async with self.store.reading() as uow:
                incident = await uow.incidents.get_incident(dest.incident)
            assert incident is not None
            if incident.card is None:
                ref = await self._post(row, platform, dest.channel, None)
                async with self.store.transaction() as uow:
                    await uow.incidents.save_card(incident.id, ref)
                    await uow.outbox.mark_delivered(row, self.clock.now(), ref.id)
                return
            await platform.update_message(incident.card, row.message)
            ref = incident.card
        elif dest.kind is DestinationKind.DIRECT:
            if not isinstance(platform, DirectMessages):
                raise DeliveryRefused(
                    f"{dest.platform} has no direct messages", plain="the bot cannot write to one person there"
                )
            channel = await platform.direct_channel(dest.channel)
            message = await _with_card_link(row.message, platform, ticket.card if ticket else None)
            ref = await self._post(row, platform, channel, None, message)
        elif dest.kind is DestinationKind.CARD_THREAD:
            assert ticket is not None
            card: MessageRef | None = ticket.card
            thread = card.id if card else None  # no card (it failed): post at top level, lose nothing
            ref = await self._post(row, platform, card.channel if card else dest.channel, thread)
        else:
            ref = await self._post(row, platform, dest.channel, dest.thread)
        async with self.store.transaction() as uow:  # one UPDATE; its trigger updates the message log
            await uow.outbox.mark_delivered(row, self.clock.now(), ref.id)

    async def _post(
        self, row: OutboxRow, platform: ChatPlatform, channel: str, thread: str | None, message: Message | None = None
    ) -> MessageRef:
        """Post a row's message (or `message`, what it became at delivery) exactly once: an earlier attempt
        whose outcome is unknown is looked for first, and this attempt is recorded as begun before the platform
        is called."""
        nonce = _nonce(row)
        message = message or row.message
        if row.sending_since is not None:
            async with self.store.reading() as uow:  # posts that are not this one, however alike
                others = await uow.outbox.delivered_ids(platform.name, row.sending_since - OTHERS_SINCE)
            try:  # the post is looked for among everything posted since that attempt began, however much
                found = await platform.find_post(
                    PostLookup(channel, nonce, thread=thread, since=row.sending_since, message=message, others=others)
                )
            except RetryLater as exc:  # not looked for yet (rate limited, say): still unknown, look again next time
                raise RetryLater(
                    str(exc), retry_after=exc.retry_after, rate_limited=exc.rate_limited, outcome_unknown=True
                ) from None
            if found is not None:
                log.info("outbox row %d was posted before (%s); not posting it again", row.id, found.id)
                return found
        async with self.store.transaction() as uow:
            await uow.outbox.mark_sending(row, self.clock.now())
        return await platform.post_message(channel, message, thread=thread, nonce=nonce)

    async def _retry(
        self, row: OutboxRow, error: str, retry_after: float | None, *, outcome_unknown: bool = False
    ) -> None:
        if row.attempts + 1 >= self.max_attempts:
            await self._fail(row, f"gave up after {row.attempts + 1} attempts: {error}")
            return
        telemetry.delivery(row.destination.platform, "retried")
        backoff = min(self.max_backoff, self.base_backoff * 2**row.attempts)
        delay = max(backoff, retry_after or 0.0)
        log.warning("outbox row %d: %s; retrying in %.1fs", row.id, error, delay)
        async with self.store.transaction() as uow:
            await uow.outbox.mark_retry(
                row, self.clock.now() + timedelta(seconds=delay), error, outcome_unknown=outcome_unknown
            )

    async def _fail(self, row: OutboxRow, error: str, *, refused: DeliveryRefused | None = None) -> None:
        """Mark the row failed; a refused post with a `Fallback` (the assignee's note) has it queued in the same
        transaction — only by the attempt that failed the row, so once across restarts and second attempts."""
        telemetry.delivery(row.destination.platform, "failed")
        log.error("outbox row %d to %s: not delivered: %s", row.id, row.destination.ordering_key, error)
        fallback = row.message.if_refused if refused is not None else None
        async with self.store.transaction() as uow:
            failed = await uow.outbox.mark_failed(row, error)
            if failed and fallback is not None and refused is not None:
                instead = fallback.message.model_copy(update={"text": f"{fallback.message.text}: {_sentence(refused)}"})
                await uow.outbox.enqueue(fallback.destination, instead, at=self.clock.now(), ticket=row.ticket)


async def _with_card_link(message: Message, platform: DirectMessages, card: MessageRef | None) -> Message:
    """A link without an address is to the ticket's card: filled now that the card is posted (the note is
    queued behind it). No card (its post failed) or no address: the link is left out, the text stands."""
    link = message.link
    if link is None or link.url:
        return message
    url = await platform.link_to(card) if card is not None else None
    return message.model_copy(update={"link": link.model_copy(update={"url": url}) if url else None})


def _sentence(refused: DeliveryRefused) -> str:
    """The refusal in plain words, as the end of a sentence."""
    plain = refused.plain.strip()
    return plain if plain.endswith((".", "!", "?")) else plain + "."


def _nonce(row: OutboxRow) -> str:
    """The same for every attempt at one post (Discord refuses a second message with it for a few minutes;
    Slack finds it)."""
    return f"td-{row.id}-{row.version}"
