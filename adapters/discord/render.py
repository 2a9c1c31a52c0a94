"""Neutral `bot.outbound.Message` → what Discord shows: content, an embed, persistent components.

Pure: no network, no client. Text over Discord's 2,000-character limit is split into several posts
(components ride on the last one, so buttons sit under the end of the text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.components import SELECT_PREFIX, CommandButton, CommandSelect, button_id
from adapters.discord.markdown import to_discord
from bot.outbound import Button, ButtonStyle, Message, all_menus

log = logging.getLogger(__name__)

CONTENT_LIMIT = 2_000
EMBED_TITLE_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1_024
MAX_FIELDS = 25
BUTTONS_PER_ROW = 5
MAX_SELECT_OPTIONS = 25
LABEL_LIMIT = 80

_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


@dataclass(frozen=True)
class Part:
    """One Discord message."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None

    def components(self) -> list[dict[str, Any]]:
        return self.view.to_components() if self.view else []


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Cut `text` into chunks of at most `limit` characters, at a line break or space when there is one."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def embed_of(message: Message) -> discord.Embed | None:
    if not message.title and not message.fields:
        return None
    embed = discord.Embed(title=_clip(message.title, EMBED_TITLE_LIMIT) if message.title else None)
    for field in message.fields[:MAX_FIELDS]:
        embed.add_field(
            name=_clip(field.name, FIELD_NAME_LIMIT) or "\u200b",
            value=_clip(field.value, FIELD_VALUE_LIMIT) or "—",
            inline=True,
        )
    if message.footer:
        embed.set_footer(text=_clip(message.footer, 2_048))
    return embed


def _button(button: Button) -> discord.ui.Item[Any] | None:
    custom_id = button_id(button.command, prompt=button.prompt is not None)
    if custom_id is None:
        log.warning("button %r left out: its command does not fit a custom_id", button.label)
        return None
    item: discord.ui.Button[Any] = discord.ui.Button(
        label=_clip(button.label, LABEL_LIMIT), style=_STYLES[button.style], custom_id=custom_id
    )
    return CommandButton(item, command=button.command, prompt=button.prompt is not None)


def view_of(message: Message) -> discord.ui.View | None:
    """A persistent view (no timeout). It is stopped at once: the dynamic items answer presses, so discord.py
    needs to keep no per-message state (which would grow with every post and vanish on restart)."""
    items = [item for item in map(_button, message.buttons) if item is not None]
    link = message.link
    if link is not None and link.url and link.url.startswith(("https://", "http://")) and len(link.url) <= 512:
        # a link button opens the address; Discord sends the bot nothing when it is pressed
        items.insert(0, discord.ui.Button(label=_clip(link.label, LABEL_LIMIT), url=link.url))
    menus = all_menus(message)[:2]
    if not items and not menus:
        return None
    view = discord.ui.View(timeout=None)
    # five rows: buttons take what the menus (one row each) leave
    for index, item in enumerate(items[: BUTTONS_PER_ROW * (5 - max(1, len(menus)))]):
        item.row = index // BUTTONS_PER_ROW
        view.add_item(item)
    for index, menu in enumerate(menus):
        options = [
            discord.SelectOption(label=_clip(o.label, 100), value=o.command)
            for o in menu.options[:MAX_SELECT_OPTIONS]
            if len(o.command) <= 100
        ]
        key = options[0].value.split(maxsplit=3)[2] if options and len(options[0].value.split()) > 2 else ""
        key = key if index == 0 else f"{key}:{index}"  # custom ids must differ within a message
        select: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=_clip(SELECT_PREFIX + key, 100),
            placeholder=_clip(menu.placeholder, 150),
            options=options,
            row=4 - (len(menus) - 1 - index),
        )
        view.add_item(CommandSelect(select))
    view.stop()
    return view


def render(message: Message) -> list[Part]:
    """The Discord messages that show `message`, in order (usually one)."""
    embed = embed_of(message)
    view = view_of(message)
    # beside an embed, a one-line text is the summary the embed already shows (the queue card)
    text = message.text if embed is None or "\n" in message.text.strip() else ""
    if message.markdown:
        text = to_discord(text)
    if not text.strip():
        return [Part(content=None, embed=embed, view=view)]
    chunks = split_text(text)
    parts = [Part(content=chunk) for chunk in chunks[:-1]]
    parts.append(Part(content=chunks[-1], embed=embed, view=view))
    return parts
