"""What the core needs from the outside world, as protocols. Adapters and tests implement them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bot.domain.refs import MessageRef, UserRef
from bot.domain.roles import Role
from bot.outbound import Message


class DeliveryError(Exception):
    """A platform could not take a post. The outbox decides whether to try again."""


class RetryLater(DeliveryError):
    """Rate limited (429) or a temporary failure (5xx, timeout): try again, after `retry_after` if given."""

    def __init__(self, reason: str, retry_after: float | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.rate_limited = rate_limited  # an HTTP 429 (counted in /metrics)


class DeliveryRefused(DeliveryError):
    """The platform said no for good (unknown channel, missing scope): retrying will not help."""


class ChatPlatform(Protocol):
    """Outbound side of one chat platform. `name` matches `UserRef.platform` of its people."""

    name: str

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        """Post at top level, or as a reply in `thread` (the id of the thread's root message)."""
        ...

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        """Edit a message the bot posted earlier (the queue card)."""
        ...


class RoleSource(Protocol):
    """Extra role information a platform knows (Slack user groups, Discord guild roles)."""

    def role_of(self, user: UserRef) -> Role | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
