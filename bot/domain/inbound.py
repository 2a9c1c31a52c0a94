"""What adapters hand to the core: a chat message, or where a command was run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.domain.refs import ThreadRef, UserRef


class IncomingMessage(BaseModel):
    """A message a person wrote, already translated from the platform's payload."""

    model_config = ConfigDict(frozen=True)

    platform: str
    message_id: str  # the platform's id: re-deliveries carry the same one
    author: UserRef
    channel: str
    thread: str | None = None  # id of the thread's root message when written inside a thread
    text: str
    is_direct: bool = False  # a DM with the bot
    mentions_bot: bool = False
    files: tuple[str, ...] = ()  # links to attached files
    # a thread the platform opened for this message when the thread's id is not the message's own id
    # (Discord private threads); None = the message is the root of its ticket's thread
    started_thread: str | None = None
    # a subject the channel has (an e-mail's Subject); None = the ticket's subject comes from the text
    subject: str | None = None

    @property
    def thread_ref(self) -> ThreadRef | None:
        return ThreadRef(platform=self.platform, channel=self.channel, thread=self.thread) if self.thread else None


class Place(BaseModel):
    """Where a command was run: a channel, and the thread when inside one."""

    model_config = ConfigDict(frozen=True)

    platform: str
    channel: str
    thread: str | None = None

    @property
    def thread_ref(self) -> ThreadRef | None:
        return ThreadRef(platform=self.platform, channel=self.channel, thread=self.thread) if self.thread else None
