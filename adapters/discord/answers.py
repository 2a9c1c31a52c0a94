"""Answering the person who acted: ephemeral replies (split like any post) and the modal that asks for text."""

from __future__ import annotations

import logging
from typing import Any

import discord

from adapters.discord.components import MODAL_PREFIX
from adapters.discord.render import render
from adapters.discord.translate import discord_command_names
from bot.services.replies import Reply

log = logging.getLogger(__name__)

SORRY = "Sorry — something went wrong on our side and nothing was changed. Please try again."
TITLE_LIMIT = 45
TEXT_INPUT_LABEL_LIMIT = 45
PROMPTS = {"reply": "Your reply to the customer", "resolve": "Resolution summary (the customer sees it)"}


async def answer(interaction: discord.Interaction[Any], reply: Reply) -> None:
    """The reply, only for the person who acted (an error is marked so it stands out)."""
    message = reply.message.model_copy(update={"text": discord_command_names(reply.message.text)})
    if not reply.ok:
        message = message.model_copy(update={"text": "✗ " + message.text})
    for part in render(message):
        kwargs: dict[str, Any] = {"ephemeral": True, "allowed_mentions": discord.AllowedMentions.none()}
        if part.embed is not None:
            kwargs["embed"] = part.embed
        if part.view is not None:
            kwargs["view"] = part.view
        if interaction.response.is_done():
            await interaction.followup.send(part.content or "", **kwargs)
        else:
            await interaction.response.send_message(part.content or "", **kwargs)


async def answer_error(interaction: discord.Interaction[Any]) -> None:
    try:
        await answer(interaction, Reply.error(SORRY))
    except discord.HTTPException:
        log.exception("could not tell %s about an error", interaction.user.id)


def text_modal(command: str, button_label: str) -> discord.ui.Modal:
    """Asks for the text a button's command needs (Reply, Resolve). The command rides in the modal's id and the
    submission is handled by `DeskBot.on_interaction`, so nothing is kept in memory: two agents replying at
    once, or a restart between opening and submitting, lose nothing."""
    verb = command.split()[1] if len(command.split()) > 1 else ""
    title = (button_label or verb.capitalize())[:TITLE_LIMIT] or "ThreadDesk"
    modal = discord.ui.Modal(title=title, custom_id=(MODAL_PREFIX + command)[:100], timeout=None)
    label = PROMPTS.get(verb, "Text")[:TEXT_INPUT_LABEL_LIMIT]
    modal.add_item(discord.ui.TextInput(label=label, style=discord.TextStyle.paragraph, max_length=4000))
    modal.stop()  # stopped before sending: discord.py does not store it
    return modal
