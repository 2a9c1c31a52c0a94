"""References to things that live on a chat platform: always `(platform, opaque id)`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserRef(BaseModel):
    """A person on a platform. `name` is a display name, cached for rendering only."""

    model_config = ConfigDict(frozen=True)

    platform: str
    id: str
    name: str = ""

    @property
    def key(self) -> str:
        """The `platform:user-id` form used in config role lists."""
        return f"{self.platform}:{self.id}"

    @property
    def display(self) -> str:
        return self.name or self.id

    def same(self, other: UserRef | None) -> bool:
        """The same person, whatever display name either reference carries."""
        return other is not None and (self.platform, self.id) == (other.platform, other.id)


class ThreadRef(BaseModel):
    """A conversation thread: the channel it lives in and the id of its root message."""

    model_config = ConfigDict(frozen=True)

    platform: str
    channel: str
    thread: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.channel}:{self.thread}"


class MessageRef(BaseModel):
    """A message the bot posted, kept so it can be edited later (the queue card)."""

    model_config = ConfigDict(frozen=True)

    platform: str
    channel: str
    id: str


def bot_user(platform: str) -> UserRef:
    """ThreadDesk itself, as the author of its posts and the actor of what it does on its own."""
    return UserRef(platform=platform, id="threaddesk", name="ThreadDesk")
