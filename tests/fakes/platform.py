"""A chat platform that records what the bot posted, shaped exactly like the `ChatPlatform` port."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.domain.refs import MessageRef
from bot.outbound import Message
from bot.ports import DeliveryError, PostLookup


@dataclass
class Sent:
    id: str
    channel: str
    thread: str | None
    message: Message
    nonce: str | None = None
    edits: list[Message] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What a person sees now (after edits)."""
        return (self.edits[-1] if self.edits else self.message).text

    @property
    def current(self) -> Message:
        return self.edits[-1] if self.edits else self.message


@dataclass
class RecordingPlatform:
    name: str = "test"
    sent: list[Sent] = field(default_factory=list)
    failures: deque[DeliveryError] = field(default_factory=deque)
    calls: int = 0

    def fail_next(self, *errors: DeliveryError) -> None:
        self.failures.extend(errors)

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.popleft()

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        self._maybe_fail()
        post = Sent(id=f"p{len(self.sent) + 1}", channel=channel, thread=thread, message=message, nonce=nonce)
        self.sent.append(post)
        return MessageRef(platform=self.name, channel=channel, id=post.id)

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        for post in self.sent:
            if post.nonce == lookup.nonce and post.channel == lookup.channel:
                return MessageRef(platform=self.name, channel=lookup.channel, id=post.id)
        return None

    async def direct_channel(self, user_id: str) -> str:
        """The bot's DM with a person, named as the tests name customers' DMs."""
        self._maybe_fail()
        return f"dm-{user_id}"

    async def link_to(self, ref: MessageRef) -> str | None:
        return f"https://chat.test/{ref.channel}/{ref.id}"

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        self._maybe_fail()
        for post in self.sent:
            if post.id == ref.id:
                post.edits.append(message)
                return
        raise AssertionError(f"update of a message never posted: {ref}")

    # --- what people see ---------------------------------------------------------------------------------

    def in_thread(self, channel: str, thread: str) -> list[Sent]:
        return [p for p in self.sent if p.channel == channel and p.thread == thread]

    def in_channel(self, channel: str) -> list[Sent]:
        return [p for p in self.sent if p.channel == channel and p.thread is None]

    def texts(self, channel: str, thread: str | None = None) -> list[str]:
        posts = self.in_thread(channel, thread) if thread else self.in_channel(channel)
        return [p.text for p in posts]
