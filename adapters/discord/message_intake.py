"""A ticket for someone else's message, on request: the configured reaction (🎫 by default) or the
**Create ticket** message command (right-click → Apps). As on Slack, the ticket is the message author's,
wherever the message was written; it is addressed to the bot on purpose, so it counts as a mention.

Where the ticket's thread goes: a top-level message carries it (public mode), or a private thread with the
author is opened beside it (private mode); a message inside a thread cannot carry one, so a new thread is
opened in the parent channel. A message already taken in (an intake message, a reply in a ticket's thread, a
second 🎫) opens nothing — and no thread is made before that is known.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import discord

from adapters.discord import translate
from adapters.discord.config import DiscordConfig
from adapters.discord.platform import DiscordPlatform
from bot.domain.inbound import IncomingMessage
from bot.ports import DeliveryError
from bot.services.desk import Desk
from bot.services.replies import Reply

log = logging.getLogger(__name__)

CREATE_TICKET = "Create ticket"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
_VARIATION = "\ufe0f"


def _bare(emoji: str) -> str:
    """An emoji without variation selector or skin tone (👍🏽 counts as 👍, like Slack's `::skin-tone-n`)."""
    return "".join(
        ch for ch in unicodedata.normalize("NFC", emoji.strip()) if ch != _VARIATION and ch not in _SKIN_TONES
    )


def reaction_matches(emoji: discord.PartialEmoji, wanted: str) -> bool:
    """Is this the configured ticket reaction? A Unicode emoji (`🎫`), or a custom one written as Discord
    shows it (`<:ticket:123>`), as `name:id`, or by its name alone."""
    if emoji.id is not None:
        text = wanted.strip()
        return text in (str(emoji), f"{emoji.name}:{emoji.id}", emoji.name, f":{emoji.name}:", str(emoji.id))
    return bool(emoji.name) and _bare(emoji.name) == _bare(wanted)


def _thread_name(message: discord.Message) -> str:
    return f"{message.author.display_name}: {' '.join(message.content.split())}"[:100] or "Support"


async def open_for_message(
    desk: Desk,
    platform: DiscordPlatform,
    config: DiscordConfig,
    message: discord.Message,
    *,
    channel: Any,
    bot_id: int | None,
) -> Reply:
    """Open a ticket for `message`'s author (`channel`: where it was written, looked up when discord.py had
    only a partial one). The reply says what happened, for the person who asked."""
    msg = translate.incoming(message, bot_id=bot_id, channel=channel)
    if msg is None:
        return Reply.error("No ticket: that message was written by a bot or is a system notice.")
    if not msg.text.strip() and not msg.files:
        return Reply.error("No ticket: that message has no text or files to open one with.")
    earlier = await desk.taken_in(msg.platform, msg.message_id)
    if earlier is not None:
        where = f"#{earlier.ticket}" if earlier.ticket is not None else "a ticket"
        return Reply.error(f"No new ticket: that message is already part of {where}.")
    msg = msg.model_copy(update={"mentions_bot": True})
    try:
        msg = await _with_thread(platform, config, msg, message)
    except DeliveryError as exc:
        return Reply.error(f"No ticket: {exc}")
    ticket = await desk.receive(msg)
    if ticket is None:
        return Reply.error("No new ticket: that message already is one.")
    return Reply.done(f"Opened ticket {ticket.ref} for that message.")


async def _with_thread(
    platform: DiscordPlatform, config: DiscordConfig, msg: IncomingMessage, message: discord.Message
) -> IncomingMessage:
    private = config.thread_mode == "private"
    if msg.is_direct or (msg.thread is None and not private):
        return msg  # a DM is its own conversation; a top-level message carries its public thread
    author = str(message.author.id)
    thread = await platform.start_thread(msg.channel, _thread_name(message), author, private=private)
    return msg.model_copy(update={"thread": None, "started_thread": thread})


__all__ = ["CREATE_TICKET", "open_for_message", "reaction_matches"]
