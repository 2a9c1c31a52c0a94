"""The console as a chat platform: posts are printed with where they went and who wrote them."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.refs import MessageRef
from bot.outbound import Message
from bot.ports import PostLookup

PLATFORM = "console"
BOT_NAME = "ThreadDesk"


@dataclass
class Post:
    id: str
    channel: str
    thread: str | None
    author: str
    message: Message
    edited: bool = False


@dataclass
class ConsolePlatform:
    """Keeps this run's posts in memory (to read a thread back) and hands each one to `show`."""

    show: Callable[[Post], None]
    name: str = PLATFORM
    posts: dict[str, Post] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _run: str = field(default_factory=lambda: format(int(time.time() * 1000), "x"))

    def new_id(self) -> str:
        """Ids unique across runs: the database keeps them (card refs, thread roots)."""
        return f"{self._run}-{next(self._ids)}"

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        """A terminal keeps no record to look in; a line printed twice is the worst case."""
        return None

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        post = Post(id=self.new_id(), channel=channel, thread=thread, author=BOT_NAME, message=message)
        self.posts[post.id] = post
        self.show(post)
        return MessageRef(platform=self.name, channel=channel, id=post.id)

    async def direct_channel(self, user_id: str) -> str:
        """A person's DM with the bot, as the session names it (`/go dm`)."""
        return f"dm-{user_id}"

    async def link_to(self, ref: MessageRef) -> str | None:
        """A terminal has no addresses: `/go card N` finds a card."""
        return None

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        post = self.posts.get(ref.id)
        if post is None:  # posted in an earlier run: the terminal shows the new version
            post = Post(id=ref.id, channel=ref.channel, thread=None, author=BOT_NAME, message=message)
        post.message, post.edited = message, True
        self.posts[ref.id] = post
        self.show(post)

    def record(self, post: Post) -> None:
        """A message a person typed, so reading a thread back shows the whole conversation."""
        self.posts[post.id] = post

    def thread(self, channel: str, root: str) -> list[Post]:
        return [p for p in self.posts.values() if p.channel == channel and (p.id == root or p.thread == root)]

    def channel(self, channel: str) -> list[Post]:
        return [p for p in self.posts.values() if p.channel == channel and p.thread is None]
