"""POSTs webhook deliveries from the outbox, signed the Standard Webhooks way.

It is shaped like a chat platform (`post_message`), so the one delivery worker — order per ordering key,
`Retry-After`, backoff, resume after a crash — serves webhooks too. The "channel" is the endpoint's name
and the message text is the JSON body, sent byte for byte as it was stored (so a redelivery carries the
same `webhook-id` and body).

Timeouts, connection errors, 408, 429 and 5xx are retried (429 and 503 after `Retry-After`); a delivery
still failing `give_up_after` past its event is given up and marked failed; any other answer (a 4xx) fails
it at once. Signing keys never reach a log line, an error or the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from bot.delivery import DeliveryWorker
from bot.domain.refs import MessageRef
from bot.outbound import Message
from bot.ports import Clock, DeliveryRefused, PostLookup, RetryLater, Store
from bot.webhooks.config import WebhookConfig
from bot.webhooks.payload import PLATFORM
from bot.webhooks.signing import BadSecret, headers, secret_key

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504}) | frozenset(range(505, 600))


class WebhookSetupError(Exception):
    """A `[[webhooks]]` entry cannot be used (its secret is missing or malformed): one line with the fix."""


@dataclass(frozen=True)
class Endpoint:
    config: WebhookConfig
    key: bytes

    def __repr__(self) -> str:  # never show the key, not even in a debugger or a traceback
        return f"Endpoint({self.config.label!r}, {self.config.url!r})"


@dataclass(frozen=True)
class Attempt:
    """What one POST came to, for `threaddesk webhooks test` and the delivery log."""

    ok: bool
    status: int | None
    detail: str
    retry_after: float | None = None
    seconds: float = 0.0


def load_endpoints(hooks: Sequence[WebhookConfig], env: Mapping[str, str] | None = None) -> dict[str, Endpoint]:
    """Read each endpoint's secret from its environment variable; say exactly which one is wrong."""
    env = os.environ if env is None else env
    endpoints: dict[str, Endpoint] = {}
    for hook in hooks:
        raw = env.get(hook.secret_env, "")
        if not raw:
            raise WebhookSetupError(
                f"webhook {hook.label!r}: the environment variable {hook.secret_env} is not set — "
                f"export {hook.secret_env}=whsec_… (the receiver verifies with the same secret)"
            )
        try:
            endpoints[hook.label] = Endpoint(hook, secret_key(raw))
        except BadSecret as exc:
            raise WebhookSetupError(f"webhook {hook.label!r}: {hook.secret_env} {exc}") from None
    return endpoints


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds (`120`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class WebhookSender:
    """The outbox's "webhook" platform. `clock` decides give-up; the signature carries the real time,
    since receivers check `webhook-timestamp` against their own clock (±5 minutes)."""

    name = PLATFORM

    def __init__(self, endpoints: Mapping[str, Endpoint], clock: Clock) -> None:
        self.endpoints = dict(endpoints)
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def attempt(self, endpoint: Endpoint, body: str) -> Attempt:
        """One signed POST of `body`. Never raises for a network or HTTP problem."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        msg_id = str(json.loads(body)["id"])
        signed = headers(endpoint.key, msg_id, int(time.time()), body)
        signed["user-agent"] = "ThreadDesk-Webhooks/1"
        started = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=endpoint.config.timeout)
        try:
            async with self._session.post(
                endpoint.config.url, data=body.encode(), headers=signed, timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
                retry_after = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
        except TimeoutError:
            return Attempt(False, None, f"no answer within {endpoint.config.timeout:g}s", None, endpoint.config.timeout)
        except aiohttp.ClientError as exc:
            return Attempt(False, None, f"could not connect ({type(exc).__name__})", None, 0.0)
        seconds = time.perf_counter() - started
        return Attempt(200 <= status < 300, status, f"HTTP {status}", retry_after, seconds)

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """Receivers drop a second delivery with the same `webhook-id` (Standard Webhooks)."""
        return None

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        endpoint = self.endpoints.get(channel)
        if endpoint is None:
            raise DeliveryRefused(f"webhook endpoint {channel!r} is no longer in [[webhooks]]")
        body = message.text
        result = await self.attempt(endpoint, body)
        if result.ok:
            return MessageRef(platform=PLATFORM, channel=channel, id=result.detail)
        if result.status is not None and result.status not in RETRIED_STATUSES:
            raise DeliveryRefused(f"{channel} answered {result.detail}; not retried (only timeouts, 429 and 5xx are)")
        happened = datetime.fromisoformat(str(json.loads(body)["timestamp"]).replace("Z", "+00:00"))
        give_up = endpoint.config.give_up
        if self.clock.now() - happened >= give_up:
            raise DeliveryRefused(
                f"{channel}: {result.detail}; gave up {endpoint.config.give_up_after} after the event"
            )
        raise RetryLater(f"{channel}: {result.detail}", result.retry_after)

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        raise DeliveryRefused("a webhook delivery cannot be edited; events are only ever added")


def make_worker(db: Store, sender: WebhookSender, clock: Clock) -> DeliveryWorker:
    """A delivery worker of its own for webhooks: gives up by time (in the sender), not by attempts, and
    backs off to at most 15 minutes between attempts."""
    return DeliveryWorker(db, {sender.name: sender}, clock, max_attempts=1_000_000, base_backoff=2.0, max_backoff=900.0)


async def serve(worker: DeliveryWorker, sender: WebhookSender) -> None:
    """Deliver webhooks until cancelled; the HTTP session is closed on the way out."""
    try:
        await worker.run()
    finally:
        await asyncio.shield(sender.close())
