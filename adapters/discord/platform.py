"""Discord as the core's `ChatPlatform`: posts and card edits over discord.py's HTTP client.

discord.py handles Discord's rate-limit buckets (it waits out a 429's `retry_after` and tries again); what
it gives up on becomes `RetryLater` for the outbox. Every post carries the outbox row's nonce with
`enforce_nonce`, so a retry soon after a crash returns the message already posted instead of posting twice.
Discord keeps a nonce for a few minutes only, and never shows it in history: a retry later than that first
reads the channel since the attempt began and recognises the post by what it shows (`find_post`).
Relayed text never pings: `allowed_mentions` is empty on every send.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import discord
from discord.http import Route

from adapters.discord.render import Part, render
from adapters.discord.translate import PLATFORM
from bot.domain.refs import MessageRef
from bot.outbound import Message
from bot.ports import Clock, DeliveryRefused, PostLookup, RetryLater, SystemClock

log = logging.getLogger(__name__)

NO_PINGS: dict[str, Any] = dict(discord.AllowedMentions.none().to_dict())  # {"parse": []}: nobody is pinged
NONCE_LIMIT = 25
THREAD_ARCHIVE_MINUTES = 10_080  # a week: a quiet ticket's thread stays in the sidebar
#: how long after an attempt began `enforce_nonce` is relied on: Discord promises "the past few minutes"
NONCE_TRUSTED = timedelta(minutes=1)
#: how far before an attempt began `find_post` reads: Discord stamps a snowflake by its own clock, not ours
SKEW = timedelta(minutes=5)
HISTORY_PAGE = 100  # the most GET /channels/{id}/messages gives at once

# Discord JSON error codes we act on
THREAD_ALREADY_CREATED = 160004
UNKNOWN_MESSAGE = 10008
UNKNOWN_CHANNEL = 10003
CANNOT_IN_DM = 50003
CANNOT_MESSAGE_USER = 50007  # the person accepts no direct messages from the server's members (or the bot)

T = TypeVar("T")
_TICKET = re.compile(r"#(\d+)")


def nonce_for(nonce: str | None, index: int) -> str | None:
    """Discord nonces are at most 25 characters; each part of a split post gets its own."""
    if nonce is None:
        return None
    value = nonce if index == 0 else f"{nonce}.{index}"
    if len(value) > NONCE_LIMIT:
        value = hashlib.sha1(value.encode()).hexdigest()[:NONCE_LIMIT]
    return value


def message_payload(part: Part, *, nonce: str | None = None, pings: Sequence[str] = ()) -> dict[str, Any]:
    """`pings`: Discord user ids the core means to notify (an SLA alert's assignee); nobody else, ever."""
    content = part.content or ""
    allowed = NO_PINGS
    if pings:
        content = " ".join(f"<@{user}>" for user in pings) + (f" {content}" if content else "")
        allowed = {"parse": [], "users": list(pings)}
    payload: dict[str, Any] = {
        "content": content,
        "embeds": [part.embed.to_dict()] if part.embed else [],
        "components": part.components(),
        "allowed_mentions": allowed,
    }
    if nonce is not None:
        payload["nonce"] = nonce
        payload["enforce_nonce"] = True
    return payload


def looks(payload: dict[str, Any]) -> tuple[Any, ...]:
    """What a message shows, as sent (`message_payload`) or as history gives it back: its text and embeds' text.
    Discord trims text and adds fields of its own to embeds (`type`, colours as numbers), so only these count."""

    def embed(data: dict[str, Any]) -> tuple[Any, ...]:
        fields = tuple((f.get("name", "").strip(), f.get("value", "").strip()) for f in data.get("fields") or ())
        footer = (data.get("footer") or {}).get("text", "").strip()
        return (data.get("title") or "").strip(), (data.get("description") or "").strip(), fields, footer

    return (payload.get("content") or "").strip(), tuple(embed(e) for e in payload.get("embeds") or ())


def thread_name(text: str, internal: bool) -> str:
    found = _TICKET.search(text)
    base = f"Ticket #{found.group(1)}" if found else "Support"
    return f"{base} · agents" if internal else base


class KnownIds:
    """The most recent ids seen, bounded: forgetting one costs a single extra request, never a wrong post."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, value: str) -> None:
        self._ids[value] = None
        self._ids.move_to_end(value)
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)

    def __contains__(self, value: object) -> bool:
        return value in self._ids


class DiscordPlatform:
    """Outbound Discord. Bound to a logged-in client by the running bot (`attach`); posts wait until then."""

    name = PLATFORM

    def __init__(
        self, queue_channel: str | None = None, guild_id: str | None = None, clock: Clock | None = None
    ) -> None:
        self.queue_channel = queue_channel
        self.guild_id = guild_id
        self.clock = clock or SystemClock()  # how old an attempt is (`find_post`)
        self._client: discord.Client | None = None
        self._attached = asyncio.Event()
        self._threads = KnownIds()  # thread ids known to exist
        self._direct = KnownIds()  # DM channel ids (they have no threads)
        self._dm_of: dict[str, str] = {}  # user id -> the bot's DM channel with them
        self._guild_of: dict[str, str] = {}  # channel id -> its guild (for links, when guild_id is unset)

    def attach(self, client: discord.Client) -> None:
        self._client = client
        self._attached.set()

    def detach(self) -> None:
        self._attached.clear()
        self._client = None

    def knows_thread(self, thread_id: str) -> None:
        self._threads.add(thread_id)

    def knows_direct(self, channel_id: str) -> None:
        self._direct.add(channel_id)

    async def _http(self) -> discord.http.HTTPClient:
        await self._attached.wait()
        assert self._client is not None
        return self._client.http

    # --- the port -------------------------------------------------------------------------------------

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """The post `message` made by an attempt that began at `since`, if Discord has it.

        Within `NONCE_TRUSTED` of `since` Discord itself refuses a second post with the same nonce
        (`enforce_nonce`), so posting again is safe and nothing is read. Later, the nonce is forgotten (and
        history never shows it): every message of the channel or thread from `since` less `SKEW` on is read,
        page after page, and our post is the bot's own message that shows what `message` renders to and is
        none of `others` (the same text posted by another row, e.g. the same reply twice in a thread). A post
        split into parts that landed only in part gets its missing parts now — in order, each with its own
        nonce — so a crash between parts neither loses the end nor repeats the start."""
        message, since = lookup.message, lookup.since
        if message is None or (since is not None and self.clock.now() - since < NONCE_TRUSTED):
            return None
        where = await self._posted_in(lookup.channel, lookup.thread)
        if where is None:
            return None
        wanted = self._looks_of(message)
        landed = await self._landed(where, wanted, since, lookup.others)
        if not landed:
            return None
        if len(landed) < len(wanted):
            log.warning("a post in %s landed in %d of %d parts; posting the rest", where, len(landed), len(wanted))
            await self._send_parts(where, message, lookup.nonce, start=len(landed))
        return MessageRef(platform=self.name, channel=where, id=landed[0])

    def _looks_of(self, message: Message) -> list[tuple[Any, ...]]:
        """What each part of `message` shows once posted (`looks`), pings included."""
        pings = self._pings(message)
        parts = render(message)
        return [looks(message_payload(part, pings=pings if index == 0 else ())) for index, part in enumerate(parts)]

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        target = await self._target(channel, thread, message)
        first = await self._send_parts(target, message, nonce)
        return MessageRef(platform=self.name, channel=target, id=first)

    def _pings(self, message: Message) -> list[str]:
        return [person.id for person in message.mentions if person.platform == self.name]

    async def _send_parts(self, target: str, message: Message, nonce: str | None, *, start: int = 0) -> str:
        """Post `message`'s parts from `start` on; the id of the first one posted. Once one part is posted, a
        failure leaves the outcome unknown: the next attempt must look before posting the start again."""
        pings = self._pings(message)
        attachment = Path(message.attachment) if message.attachment else None
        parts = render(message)
        first: str | None = None
        for index in range(start, len(parts)):
            payload = message_payload(parts[index], nonce=nonce_for(nonce, index), pings=pings if index == 0 else ())
            last = index == len(parts) - 1
            file = attachment if last and attachment is not None and attachment.is_file() else None
            try:
                data = await self._call(_send(target, payload, file), where=f"channel {target}")
            except RetryLater as exc:
                if first is None and start == 0:
                    raise
                raise RetryLater(
                    str(exc), exc.retry_after, rate_limited=exc.rate_limited, outcome_unknown=True
                ) from exc
            first = first or str(data["id"])
        assert first is not None
        return first

    # --- finding a post whose answer was lost ---------------------------------------------------------

    async def _posted_in(self, channel: str, thread: str | None) -> str | None:
        """Where `post_message` puts a post for (`channel`, `thread`) — without starting a thread: a thread that
        does not exist holds no post (None), unless `channel` is a DM, which has no threads (the DM then)."""
        if thread is None or thread == channel or channel in self._direct:
            return channel
        if thread in self._threads:
            return thread
        data = await self._call(lambda http: http.get_channel(int(channel)), where=f"channel {channel}")
        if data.get("type") == discord.ChannelType.private.value:
            self._direct.add(channel)
            return channel
        try:
            await self._call(
                lambda http: http.get_channel(int(thread)), where=f"thread {thread} in {channel}", passthrough=True
            )
        except discord.HTTPException as exc:
            if exc.code == UNKNOWN_CHANNEL:
                return None
            raise _translate(exc, f"thread {thread} in {channel}") from exc
        self._threads.add(thread)
        return thread

    async def _landed(
        self, where: str, wanted: Sequence[tuple[Any, ...]], since: datetime | None, others: Collection[str]
    ) -> list[str]:
        """The ids of the leading parts of a post that are in `where` since `since` (less `SKEW`), in order:
        the bot's own messages, not interaction answers nor `others`, showing part 0, then part 1 after it,
        and so on."""
        bot = await self._bot_id()
        found: list[str] = []
        async for page in self._history(where, since):
            for data in page:
                if _ours(data, bot) and str(data["id"]) not in others and looks(data) == wanted[len(found)]:
                    found.append(str(data["id"]))
                    if len(found) == len(wanted):
                        return found
        return found

    async def _bot_id(self) -> str:
        await self._attached.wait()
        user = self._client.user if self._client is not None else None
        if user is None:
            raise RetryLater("Discord: not logged in yet, so our own messages cannot be told apart")
        return str(user.id)

    async def _history(self, where: str, since: datetime | None) -> AsyncIterator[list[dict[str, Any]]]:
        """Every message in `where` after the snowflake of `since` less `SKEW` (all of them without `since`),
        oldest first, a page of `HISTORY_PAGE` at a time. A 429 or 5xx raises `RetryLater`: not looked."""
        after = discord.utils.time_snowflake(since - SKEW) if since is not None else 0
        while True:
            page = await self._call(_page(where, after), where=f"the history of {where}")
            page.sort(key=lambda data: int(data["id"]))
            yield page
            if len(page) < HISTORY_PAGE:
                return
            after = int(page[-1]["id"])

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        payload = message_payload(render(message)[0])
        await self._call(
            lambda http: http.request(
                Route(
                    "PATCH",
                    "/channels/{channel_id}/messages/{message_id}",
                    channel_id=ref.channel,
                    message_id=ref.id,
                ),
                json=payload,
            ),
            where=f"message {ref.id} in channel {ref.channel}",
        )

    # --- direct messages and links ---------------------------------------------------------------------

    async def direct_channel(self, user_id: str) -> str:
        """The bot's DM channel with a person (`POST /users/@me/channels`), opened once and remembered."""
        known = self._dm_of.get(user_id)
        if known is None:
            data = await self._call(
                lambda http: http.start_private_message(int(user_id)), where=f"a direct message to {user_id}"
            )
            known = str(data["id"])
            if len(self._dm_of) > 10_000:
                self._dm_of.clear()
            self._dm_of[user_id] = known
            self._direct.add(known)
        return known

    async def link_to(self, ref: MessageRef) -> str | None:
        """`https://discord.com/channels/GUILD/CHANNEL/MESSAGE`: the message, for whoever may see the channel."""
        guild = self.guild_id or self._guild_of.get(ref.channel)
        if guild is None:
            data = await self._call(lambda http: http.get_channel(int(ref.channel)), where=f"channel {ref.channel}")
            guild = str(data.get("guild_id") or "@me")
            self._guild_of[ref.channel] = guild
        return f"https://discord.com/channels/{guild}/{ref.channel}/{ref.id}"

    # --- threads --------------------------------------------------------------------------------------

    async def _target(self, channel: str, thread: str | None, message: Message) -> str:
        """The channel id to post in: the thread (started on its root message when new), or the channel."""
        if thread is None or channel in self._direct or thread == channel:
            return channel
        if thread in self._threads:
            return thread
        body = {
            "name": thread_name(message.text, internal=channel == self.queue_channel),
            "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
        }
        try:
            await self._call(
                lambda http: http.request(
                    Route(
                        "POST",
                        "/channels/{channel_id}/messages/{message_id}/threads",
                        channel_id=channel,
                        message_id=thread,
                    ),
                    json=body,
                ),
                where=f"a thread on message {thread} in channel {channel}",
                passthrough=True,
            )
        except discord.HTTPException as exc:
            if exc.code == CANNOT_IN_DM:
                self._direct.add(channel)
                return channel
            if exc.code not in (THREAD_ALREADY_CREATED, UNKNOWN_MESSAGE):
                raise _translate(exc, f"a thread on message {thread} in channel {channel}") from exc
            # already a thread (after a restart), or a private thread that has no root message
        self._threads.add(thread)
        return thread

    async def start_private_thread(self, channel: str, name: str, member: str) -> str:
        """A private thread in `channel` with `member` added (thread_mode = "private"). Returns its id."""
        return await self.start_thread(channel, name, member, private=True)

    async def start_thread(self, channel: str, name: str, member: str, *, private: bool) -> str:
        """A thread in `channel` not started on a message (a private one, or a public one beside a message
        that cannot carry a thread, e.g. one written inside another thread), with `member` added."""
        body: dict[str, Any] = {
            "name": name,
            "type": 12 if private else 11,
            "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
        }
        if private:
            body["invitable"] = False

        async def create(http: discord.http.HTTPClient) -> Any:
            data = await http.request(Route("POST", "/channels/{channel_id}/threads", channel_id=channel), json=body)
            await http.request(
                Route(
                    "PUT",
                    "/channels/{channel_id}/thread-members/{user_id}",
                    channel_id=data["id"],
                    user_id=member,
                )
            )
            return data

        kind = "private" if private else "public"
        data = await self._call(create, where=f"a {kind} thread in channel {channel}")
        self._threads.add(str(data["id"]))
        return str(data["id"])

    # --- errors ---------------------------------------------------------------------------------------

    async def _call(
        self,
        request: Callable[[discord.http.HTTPClient], Awaitable[T]],
        *,
        where: str,
        passthrough: bool = False,
    ) -> T:
        http = await self._http()
        try:
            return await request(http)
        except discord.RateLimited as exc:
            raise RetryLater(f"Discord rate limit on {where}", retry_after=exc.retry_after, rate_limited=True) from exc
        except discord.HTTPException as exc:
            if passthrough:
                raise
            raise _translate(exc, where) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # the request may have reached Discord before the connection failed: the post may exist
            raise RetryLater(f"Discord unreachable ({type(exc).__name__}) on {where}", outcome_unknown=True) from exc


def _ours(data: dict[str, Any], bot: str) -> bool:
    """A message the bot posted itself (`POST /channels/{id}/messages`), not an answer to an interaction."""
    author = data.get("author") or {}
    return str(author.get("id")) == bot and not data.get("webhook_id") and not data.get("interaction_metadata")


def _page(where: str, after: int) -> Callable[[discord.http.HTTPClient], Awaitable[list[dict[str, Any]]]]:
    """GET one page of `where`'s messages after the snowflake `after` (the oldest ones after it)."""

    async def read(http: discord.http.HTTPClient) -> list[dict[str, Any]]:
        return [dict(data) for data in await http.logs_from(where, HISTORY_PAGE, after=after)]

    return read


def _send(
    channel: str, payload: dict[str, Any], file: Path | None = None
) -> Callable[[discord.http.HTTPClient], Awaitable[Any]]:
    """POST one message; with `file` (the digest chart) as a multipart upload in the same request, so a
    retry with the same nonce can never post the text without its chart or twice."""

    async def send(http: discord.http.HTTPClient) -> Any:
        # the route is made now, once the bot is attached: a Route takes its URL from `Route.BASE` when made,
        # and a post handed over before the bot started (the outbox after a crash) predates the configured one
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel)
        if file is None:
            return await http.request(route, json=payload)
        upload = discord.File(file, filename=file.name)
        with_file = {**payload, "attachments": [{"id": 0, "filename": file.name}]}
        form: list[dict[str, Any]] = [
            {"name": "payload_json", "value": json.dumps(with_file)},
            {"name": "files[0]", "value": upload.fp, "filename": file.name, "content_type": "image/png"},
        ]
        try:
            return await http.request(route, form=form, files=[upload])
        finally:
            upload.close()

    return send


def _translate(exc: discord.HTTPException, where: str) -> Exception:
    status = exc.status
    detail = f"{status} {exc.text or exc.response.reason}".strip()
    if status == 429 or status >= 500:
        retry_after = getattr(exc, "retry_after", None)
        return RetryLater(
            f"Discord said {detail} for {where}",
            retry_after=retry_after,
            rate_limited=status == 429,
            outcome_unknown=status >= 500,  # an upstream failure may come after the post was stored
        )
    if status == 403 and exc.code == CANNOT_MESSAGE_USER:
        return DeliveryRefused(
            f"Discord refused {where} ({detail}): the person accepts no direct messages from this server's members "
            "(their Privacy Settings for the server); the card in the queue still shows them as the assignee.",
            plain="they accept no direct messages from this server's members (Discord's privacy settings)",
        )
    if status == 403:
        return DeliveryRefused(
            f"Discord refused {where} ({detail}): give the bot View Channels, Send Messages, Send Messages in "
            "Threads, Create Public/Private Threads, Embed Links and Attach Files there (the channel → Edit Channel "
            "→ Permissions); `threaddesk run` names what is missing at start.",
            plain="the bot lacks a Discord permission there",
        )
    if status == 404:
        return DeliveryRefused(
            f"Discord does not know {where} ({detail}): check the channel ids in [discord] and that the bot "
            "is in the server.",
            plain="Discord does not know the person or channel",
        )
    return DeliveryRefused(f"Discord rejected {where} ({detail}).", plain=f"Discord refused it ({status})")
