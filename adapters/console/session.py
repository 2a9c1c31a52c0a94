"""One terminal plays a small workspace: customers' DMs, the agents' queue channel, the leads' channel.

Plain text is a chat message where you are; `/ticket …` and `/kb …` are commands; a few console commands
move you around (`/as`, `/go`, `/press`, `/read`, `/who`, `/help`).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.console.config import ConsoleConfig
from adapters.console.platform import PLATFORM, ConsolePlatform, Post
from adapters.console.render import render
from bot.delivery import DeliveryWorker
from bot.domain.commands import is_command
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.text import shorten
from bot.outbound import Button, Message
from bot.services.desk import Desk
from bot.services.replies import Reply

CONSOLE_HELP = """Console commands:
  /as NAME            become someone else (roles come from [roles] in the config)
  /go dm|queue|leads|support|#42|card 42|top   move to a channel or a ticket's thread
  /press N [text]     press button [N] (or /press LABEL); buttons marked … need text: /press 4 Fixed!
  /read               read back the channel or thread you are in
  /who                who is who
  /quit               leave (Ctrl-D too)
Anything else you type is a chat message where you are. `/ticket help` lists the desk commands."""


_CARD_TITLE = re.compile(r"^#(\d+) · ")


@dataclass(frozen=True)
class Pressable:
    button: Button
    place: Place


class ConsoleSession:
    def __init__(
        self,
        desk: Desk,
        worker: DeliveryWorker,
        platform: ConsolePlatform,
        config: ConsoleConfig,
        out: Callable[[str], None],
        ask: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self.ask = ask  # set when a person is at the keyboard: buttons that need text ask for it
        self.desk = desk
        self.worker = worker
        self.platform = platform
        self.config = config
        self.out = out
        self.labels: dict[str, str] = {}
        # one delivery pass at a time: the scheduler delivers what it posts while you type
        self.drain_lock = asyncio.Lock()
        self.buttons: dict[int, Pressable] = {}
        self._numbers = itertools.count(1)
        self.user = config.start_as
        self.place = self._home(self.user)
        platform.show = self.show_post

    # --- people and places ----------------------------------------------------------------------------

    def person(self, user_id: str) -> UserRef:
        return UserRef(platform=PLATFORM, id=user_id, name=self.config.names.get(user_id, user_id.capitalize()))

    @property
    def me(self) -> UserRef:
        return self.person(self.user)

    @property
    def role(self) -> Role:
        return self.desk.role_of(self.me)

    def _home(self, user_id: str) -> Place:
        if self.desk.role_of(self.person(user_id)).at_least(Role.AGENT) and self.config.queue_channel:
            return Place(platform=PLATFORM, channel=self.config.queue_channel)
        return Place(platform=PLATFORM, channel=f"dm-{user_id}")

    def label(self, channel: str, thread: str | None) -> str:
        where = f"DM {channel.removeprefix('dm-')}" if channel.startswith("dm-") else f"#{channel}"
        if thread:
            root = self.platform.posts.get(thread)
            name = self.labels.get(thread) or (root.message.title if root and root.message.title else None)
            where += f" › {name or 'thread ' + thread}"
        return where

    @property
    def prompt(self) -> str:
        return f"{self.user} @ {self.label(self.place.channel, self.place.thread)} » "

    # --- output ---------------------------------------------------------------------------------------

    def show_post(self, post: Post) -> None:
        card = _CARD_TITLE.match(post.message.title or "")
        if card and post.channel == self.config.queue_channel:
            self.labels.setdefault(post.id, f"card #{card.group(1)}")
        edited = " (card updated)" if post.edited else ""
        self.out(f"── {self.label(post.channel, post.thread)} · {post.author}{edited}")
        for line in render(post.message, lambda b: self._number(b, post)):
            self.out(f"   {line}")

    def _number(self, button: Button, post: Post) -> int:
        number = next(self._numbers)
        self.buttons[number] = Pressable(button, Place(platform=PLATFORM, channel=post.channel, thread=post.thread))
        return number

    def show_reply(self, reply: Reply) -> None:
        mark = "" if reply.ok else "✗ "
        lines = reply.text.splitlines() or [""]
        self.out(f"   (only {self.user} sees this) {mark}{lines[0]}")
        for line in lines[1:]:
            self.out(f"   {line}")

    # --- input ----------------------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Handle one line. False means the person asked to quit."""
        line = line.strip()
        if not line:
            return True
        head, _, rest = line.partition(" ")
        head = head.lower()
        if head in ("/quit", "/exit"):
            return False
        if is_command(line):
            if line.lower().split() == ["/kb", "add"] and self.ask is not None:
                line = await self._guided_article()
            self.show_reply(await self.desk.run(self.me, line, self.place))
        elif head in _CONSOLE_COMMANDS:
            await _CONSOLE_COMMANDS[head](self, rest.strip())
        elif head.startswith("/"):
            self.out(f"   ✗ Unknown command {head}. /help lists the console commands; /ticket help the desk's.")
        else:
            await self._say(line)
        await self.deliver()
        return True

    async def _guided_article(self) -> str:
        """`/kb add` typed alone at the keyboard: ask for each part instead of one `a | b | c` line."""
        assert self.ask is not None
        title = (await self.ask("   Title: ")).strip()
        aliases = (await self.ask("   How customers ask it (phrasings separated by ;): ")).strip()
        body = (await self.ask("   The answer (one line; Markdown is fine): ")).strip()
        return f"/kb add {title} | {aliases} | {body}"

    async def deliver(self) -> None:
        async with self.drain_lock:
            await self.worker.drain()

    async def _say(self, text: str) -> None:
        post = Post(
            id=self.platform.new_id(),
            channel=self.place.channel,
            thread=self.place.thread,
            author=self.me.display,
            message=Message(text=text),
        )
        self.platform.record(post)
        msg = IncomingMessage(
            platform=PLATFORM,
            message_id=post.id,
            author=self.me,
            channel=self.place.channel,
            thread=self.place.thread,
            text=text,
            is_direct=self.place.channel == f"dm-{self.user}",
        )
        if self.place.thread is None:  # a reply under it that opens no ticket (e.g. to "thanks!")
            self.labels[post.id] = f"“{shorten(text, 30)}”"
        ticket = await self.desk.receive(msg)
        if ticket is not None and self.place.thread is None:
            self.labels[post.id] = f"ticket {ticket.ref}"
            self.place = Place(platform=PLATFORM, channel=self.place.channel, thread=post.id)
            self.out(f"   (you are now in the thread of {ticket.ref}; /go top to leave it)")

    async def cmd_as(self, name: str) -> None:
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            self.out("   ✗ Usage: /as NAME (letters and digits), e.g. /as bob")
            return
        self.user = name.lower()
        self.place = self._home(self.user)
        self.out(f"   You are now {self.me.display} ({self.role.value}) in {self.label(self.place.channel, None)}.")

    async def cmd_go(self, where: str) -> None:
        words = where.lower().split()
        target = words[0] if words else ""
        channels = {
            "dm": f"dm-{self.user}",
            "queue": self.config.queue_channel,
            "leads": self.config.leads_channel,
        }
        if target in ("top", "up"):
            self.place = Place(platform=PLATFORM, channel=self.place.channel)
        elif target in channels:
            channel = channels[target]
            if channel is None:
                self.out(f"   ✗ No {target} channel is configured ([console] {target}_channel).")
                return
            self.place = Place(platform=PLATFORM, channel=channel)
        elif target == "card" and len(words) > 1 and words[1].lstrip("#").isdigit():
            await self._go_card(int(words[1].lstrip("#")))
            return
        elif target.lstrip("#").isdigit():
            await self._go_ticket(int(target.lstrip("#")))
            return
        elif target and (target.lstrip("#") in self.config.intake_channels):
            self.place = Place(platform=PLATFORM, channel=target.lstrip("#"))
        else:
            self.out("   ✗ Go where? /go dm | queue | leads | support | #42 | card 42 | top")
            return
        self.out(f"   You are in {self.label(self.place.channel, self.place.thread)}.")

    async def _go_ticket(self, number: int) -> None:
        ticket = await self.desk.ticket(number)
        if ticket is None or (self.role is Role.CUSTOMER and not ticket.customer.same(self.me)):
            self.out(f"   ✗ There is no ticket #{number} you can see.")
            return
        if not ticket.origin.thread:
            self.out(f"   ✗ #{number}'s thread has not been posted yet.")
            return
        self.labels.setdefault(ticket.origin.thread, f"ticket {ticket.ref}")
        self.place = Place(platform=PLATFORM, channel=ticket.origin.channel, thread=ticket.origin.thread)
        self.out(f"   You are in {self.label(self.place.channel, self.place.thread)}.")

    async def _go_card(self, number: int) -> None:
        ticket = await self.desk.ticket(number)
        if not self.role.at_least(Role.AGENT) or ticket is None or ticket.card is None:
            self.out(f"   ✗ There is no queue card for #{number} you can see.")
            return
        self.labels.setdefault(ticket.card.id, f"card {ticket.ref}")
        self.place = Place(platform=PLATFORM, channel=ticket.card.channel, thread=ticket.card.id)
        self.out(f"   You are in {self.label(self.place.channel, self.place.thread)} (internal: agents only).")

    def _find_button(self, rest: str) -> tuple[str, Pressable | None, str]:
        """`/press 3 text` by number, or `/press Yes, solved` by label (the latest such button)."""
        number, _, text = rest.partition(" ")
        if number.isdigit():
            return number, self.buttons.get(int(number)), text
        wanted = rest.strip().casefold()
        for key in sorted(self.buttons, reverse=True):
            if self.buttons[key].button.label.casefold() == wanted:
                return str(key), self.buttons[key], ""
        return rest, None, ""

    async def cmd_press(self, rest: str) -> None:
        number, pressable, text = self._find_button(rest)
        if pressable is None:
            self.out("   ✗ No such button. Press one of the [numbers] in the posts above (/press 3) or its label.")
            return
        button = pressable.button
        if button.prompt and not text.strip() and self.ask is not None:
            text = await self.ask(f"   {button.prompt}: ")
        if button.prompt and not text.strip():
            self.out(f"   ✗ “{button.label}” asks: {button.prompt}. Type /press {number} <your text>")
            return
        command = f"{button.command} {text.strip()}".strip()
        self.out(f"   ({self.user} pressed “{button.label}”)")
        self.show_reply(await self.desk.run(self.me, command, pressable.place))

    async def cmd_read(self, _: str) -> None:
        posts = (
            self.platform.thread(self.place.channel, self.place.thread)
            if self.place.thread
            else self.platform.channel(self.place.channel)
        )
        self.out(f"   — {self.label(self.place.channel, self.place.thread)}: {len(posts)} message(s) this session —")
        for post in posts:
            first, *more = post.message.text.splitlines() or [""]
            self.out(f"   {post.author}: {first}")
            for line in more:
                self.out(f"     {line}")

    async def cmd_who(self, _: str) -> None:
        lines = [f"You are {self.me.display} ({self.role.value})."]
        for user_id in sorted(self.desk.ctx.roles.staff(PLATFORM)):
            lines.append(f"  {user_id}: {self.desk.role_of(self.person(user_id)).value}")
        lines.append("  anyone else: customer")
        for line in lines:
            self.out(f"   {line}")

    async def cmd_help(self, _: str) -> None:
        for line in CONSOLE_HELP.splitlines():
            self.out(f"   {line}")


_CONSOLE_COMMANDS = {
    "/as": ConsoleSession.cmd_as,
    "/go": ConsoleSession.cmd_go,
    "/press": ConsoleSession.cmd_press,
    "/read": ConsoleSession.cmd_read,
    "/who": ConsoleSession.cmd_who,
    "/help": ConsoleSession.cmd_help,
}
