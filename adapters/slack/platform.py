"""The `ChatPlatform` port on Slack's Web API (slack_sdk's AsyncWebClient, `base_url` = `api_base_url`).

Slack's answers map onto what the outbox understands: 429 → `RetryLater(retry_after=Retry-After)`,
5xx / timeouts / Slack's own transient errors → `RetryLater`, everything else (channel_not_found,
not_in_channel, missing_scope, …) → `DeliveryRefused` with a hint a person can act on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.render import render
from adapters.slack.translate import PLATFORM
from bot.domain.refs import MessageRef
from bot.outbound import Message
from bot.ports import DeliveryRefused, PostLookup, RetryLater

log = logging.getLogger(__name__)

TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)
HINTS = {
    "channel_not_found": "the channel id is wrong or the bot cannot see it — check the [slack] channel ids",
    "not_in_channel": "invite the bot to the channel: /invite @ThreadDesk",
    "missing_scope": "add the missing scope in the app's OAuth & Permissions page and reinstall the app",
    "is_archived": "the channel is archived — unarchive it or configure another one",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid — copy the Bot User OAuth Token (xoxb-…) again",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "account_inactive": "the app was uninstalled or its token revoked — reinstall the app",
    "token_revoked": "the app was uninstalled or its token revoked — reinstall the app",
    "message_not_found": "the message to update is gone (deleted in Slack)",
    "cant_update_message": "only the bot's own messages can be updated",
    "msg_too_long": "the message is longer than Slack allows",
    "invalid_blocks": "Slack rejected the message layout",
}

#: why, in words any agent follows — for the line that stands in for a refused DM (`DeliveryRefused.plain`)
PLAIN = {
    "cannot_dm_bot": "they are a bot user, and Slack lets no app write to one",
    "user_disabled": "their Slack account is deactivated",
    "user_not_found": "Slack does not know them (is the user id in the config right?)",
    "user_not_visible": "Slack does not let the bot see them",
    "not_in_channel": "the bot is not in that conversation",
    "channel_not_found": "Slack cannot find the conversation",
    "missing_scope": "the Slack app lacks a permission it needs",
    "account_inactive": "the Slack app was uninstalled",
    "token_revoked": "the Slack app was uninstalled",
}

#: the message-metadata event type our posts carry (their outbox nonce), for `find_post`
POST_EVENT = "threaddesk_post"
FIND_PAGE = 200  # messages a page of `find_post`'s look (Slack advises no more than 200)
#: how far before an attempt began `find_post` looks: Slack stamps a message's ts by its own clock, not ours
SKEW = timedelta(minutes=5)


def describe(error: str, needed: str | None = None) -> str:
    hint = HINTS.get(error)
    if error == "missing_scope" and needed:
        hint = f"add the scope {needed} in OAuth & Permissions and reinstall the app"
    return f"Slack said {error}" + (f": {hint}" if hint else "")


def to_delivery_error(exc: SlackApiError) -> RetryLater | DeliveryRefused:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(response.headers)
        return RetryLater(
            f"rate limited by Slack (retry after {retry_after}s)", retry_after=retry_after, rate_limited=True
        )
    if status >= 500:  # an upstream failure may come after the post was stored: look before posting again
        return RetryLater(f"Slack is having trouble ({error})", outcome_unknown=True)
    if error in TRANSIENT:
        return RetryLater(f"Slack is having trouble ({error})")
    return DeliveryRefused(describe(error, data.get("needed")), plain=PLAIN.get(error, f"Slack refused it ({error})"))


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


async def call(request: Callable[[], Awaitable[AsyncSlackResponse]]) -> AsyncSlackResponse:
    """Run one Web API call, translating failures into the outbox's two kinds of error."""
    try:
        return await request()
    except SlackApiError as exc:
        raise to_delivery_error(exc) from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        # the request may have reached Slack before the connection failed: the post may exist
        raise RetryLater(f"could not reach Slack: {type(exc).__name__}", outcome_unknown=True) from None


def make_client(token: str, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    """A Web API client with its own pooled aiohttp session (without one, slack_sdk opens a connection per
    call). Create it inside the running event loop; close `client.session` when done."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, session=session)


class SlackPlatform:
    name = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        # one Slack call per outbox row; the worker already keeps order per thread
        self._gate = asyncio.Semaphore(32)
        self._direct: dict[str, str] = {}  # user id -> the bot's DM channel with them (D…)

    async def direct_channel(self, user_id: str) -> str:
        """The bot's DM with a person (`conversations.open`, scope im:write), opened once and remembered."""
        known = self._direct.get(user_id)
        if known is None:
            async with self._gate:
                response = await call(lambda: self.client.conversations_open(users=user_id))
            known = str((response.get("channel") or {})["id"])
            if len(self._direct) > 10_000:
                self._direct.clear()
            self._direct[user_id] = known
        return known

    async def link_to(self, ref: MessageRef) -> str | None:
        """The message's permalink (`chat.getPermalink`): opens it in Slack for whoever may see the channel.
        Slack refusing (the message is gone) leaves the link out; trouble reaching Slack retries the post."""
        try:
            async with self._gate:
                response = await call(lambda: self.client.chat_getPermalink(channel=ref.channel, message_ts=ref.id))
        except DeliveryRefused as exc:
            log.warning("Slack: no permalink for %s in %s: %s", ref.id, ref.channel, exc)
            return None
        return str(response.get("permalink") or "") or None

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        text, blocks = render(message)
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread:
            kwargs["thread_ts"] = thread
        if nonce:  # so `find_post` can tell whether a post whose answer was lost landed
            kwargs["metadata"] = {"event_type": POST_EVENT, "event_payload": {"nonce": nonce}}
        async with self._gate:
            response = await call(lambda: self.client.chat_postMessage(**kwargs))
        ref = MessageRef(platform=PLATFORM, channel=str(response.get("channel") or channel), id=str(response["ts"]))
        if message.attachment:
            await self._attach(ref, Path(message.attachment), thread or ref.id)
        return ref

    async def _attach(self, ref: MessageRef, path: Path, thread: str) -> None:
        """Upload a file (the digest's chart) into the post's thread. The post itself is already delivered,
        so a failed upload is logged, never retried: retrying would post the text twice. The text carries
        every number the chart shows."""
        try:
            async with self._gate:
                await call(
                    lambda: self.client.files_upload_v2(
                        channel=ref.channel, thread_ts=thread, file=str(path), filename=path.name, title=path.stem
                    )
                )
        except (RetryLater, DeliveryRefused, OSError) as exc:
            log.warning("Slack: could not attach %s to %s: %s", path.name, ref.id, exc)

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """Our post carrying `nonce` in its message metadata, among the thread's replies or the channel's
        top-level messages posted from `since` on (less `SKEW`: Slack's clock and ours may differ), every page
        of them: a busy channel can take hundreds of posts between an attempt and this look, so the latest N
        would miss it. Without `since`, the whole channel or thread is read."""
        since, channel = lookup.since, lookup.channel
        oldest = f"{max(0.0, (since - SKEW).timestamp()):.6f}" if since is not None else None
        cursor: str | None = None
        while True:
            response = await self._page(channel, lookup.thread, oldest, cursor)
            for found in response.get("messages") or ():
                metadata = found.get("metadata") or {}
                if (
                    metadata.get("event_type") == POST_EVENT
                    and (metadata.get("event_payload") or {}).get("nonce") == lookup.nonce
                ):
                    return MessageRef(platform=PLATFORM, channel=channel, id=str(found["ts"]))
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                return None

    async def _page(
        self, channel: str, thread: str | None, oldest: str | None, cursor: str | None
    ) -> AsyncSlackResponse:
        """One page of `conversations.replies` (in a thread) or `conversations.history`, with metadata."""
        kwargs: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": FIND_PAGE}
        if oldest is not None:
            kwargs.update(oldest=oldest, inclusive=True)
        if cursor is not None:
            kwargs["cursor"] = cursor
        client = self.client

        async def read() -> AsyncSlackResponse:
            if thread:
                return await client.conversations_replies(ts=thread, **kwargs)
            return await client.conversations_history(**kwargs)

        async with self._gate:
            return await call(read)

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        text, blocks = render(message)
        async with self._gate:
            await call(lambda: self.client.chat_update(channel=ref.channel, ts=ref.id, text=text, blocks=blocks))
