"""Drive the real bolt app over real HTTP with Slack-signed requests, against the fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from adapters.slack.adapter import SlackAdapter
from bot.delivery import DeliveryWorker
from bot.services.desk import Desk
from tests.fakes.patience import HANG
from tests.fakes.slack_api import FakeSlackApi

SIGNING_SECRET = "test-signing-secret"
PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str, **replace: Any) -> dict[str, Any]:
    """A recorded payload fixture; `replace` overrides top-level keys (or `event` keys for events)."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    target: dict[str, Any] = data.get("event", data)
    target.update(replace)
    return data


@dataclass
class SlackDriver:
    api: FakeSlackApi
    adapter: SlackAdapter
    desk: Desk
    worker: DeliveryWorker
    base: str
    session: aiohttp.ClientSession
    secret: str = SIGNING_SECRET
    now: Callable[[], float] = time.time
    _event_ids: int = field(default=0)

    # --- signed requests ------------------------------------------------------------------------------

    async def post(
        self, body: str, content_type: str, *, retry: int | None = None, secret: str | None = None, age: float = 0
    ) -> tuple[int, str]:
        timestamp = str(int(self.now() - age))
        signature = SignatureVerifier(secret or self.secret).generate_signature(timestamp=timestamp, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with self.session.post(f"{self.base}/slack/events", data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def event(self, envelope: dict[str, Any], **kwargs: Any) -> int:
        status, _ = await self.post(json.dumps(envelope), "application/json", **kwargs)
        return status

    async def command(
        self,
        user: str,
        text: str,
        channel: str = "CQUEUE",
        key: str = "cmd",
        command: str = "/ticket",
        trigger_id: str | None = None,
    ) -> int:
        """A slash command as Slack posts it; each submission has its own trigger_id unless one is given."""
        self._event_ids += 1
        form = {
            "token": "legacy",
            "team_id": "T0ACME",
            "channel_id": channel,
            "channel_name": "support-queue",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "response_url": self.api.response_url(key),
            "trigger_id": trigger_id or f"13345224609.738474920.{self._event_ids:031x}",
        }
        status, _ = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        return status

    async def interaction(self, body: dict[str, Any]) -> tuple[int, str]:
        return await self.post(urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded")

    async def press(
        self, user: str, button: dict[str, Any], channel: str, message_ts: str, thread_ts: str | None, key: str = "act"
    ) -> int:
        """A block_actions payload for `button` (a rendered element) on the message `message_ts`."""
        message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": "UBOT", "bot_id": "B0BOT"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        body = payload(
            "block_actions_button",
            user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0ACME"},
            channel={"id": channel, "name": "x"},
            container={"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            message=message,
            response_url=self.api.response_url(key),
            actions=[{**button, "block_id": "b1", "action_ts": "1700000099.1"}],
        )
        status, _ = await self.interaction(body)
        return status

    async def submit(self, user: str, view: dict[str, Any], text: str) -> tuple[int, str]:
        """A modal submitted; each opened modal has its own view id (a double submit repeats it)."""
        self._event_ids += 1
        body = payload(
            "view_submission",
            user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0ACME"},
            view={
                "id": f"V{self._event_ids:04d}",
                **view,
                "state": {"values": {"text": {"text": {"type": "plain_text_input", "value": text}}}},
            },
        )
        return await self.interaction(body)

    def message_event(self, user: str, channel: str, ts: str, text: str, **extra: Any) -> dict[str, Any]:
        self._event_ids += 1
        envelope = payload("message_im", user=user, channel=channel, ts=ts, event_ts=ts, text=text, **extra)
        envelope["event_id"] = f"Ev{self._event_ids:08d}"
        return envelope

    # --- waiting for the work bolt runs after the ack -------------------------------------------------

    async def settle(self) -> None:
        """Until the listeners are idle and the outbox has nothing due (a few loop turns for bolt's tasks)."""
        deadline = time.monotonic() + HANG
        while time.monotonic() < deadline:
            await asyncio.sleep(0.002)
            await self.adapter.listeners.idle()
            if not await self.worker.deliver_due() and not self.adapter.listeners.busy:
                await asyncio.sleep(0.002)
                if not self.adapter.listeners.busy and not await self.worker.deliver_due():
                    return
        raise AssertionError("the Slack app did not settle")
