"""Discord → the core's neutral terms. Pure functions of discord.py objects and raw interaction data.

Identity: users are `UserRef("discord", user id)`. A ticket thread is `(parent channel id, thread id)`:
for a public thread started on the customer's message the thread id *is* that message's id, so the core's
"thread root" and Discord's thread channel are one and the same. A DM is its own conversation
(channel = the DM channel id, no thread).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from adapters.discord.components import BUTTON_PREFIX, MODAL_PREFIX, SELECT_PREFIX
from bot.domain.commands import SPECS
from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import UserRef
from bot.domain.roles import Role

PLATFORM = "discord"

#: message types a person writes (default, reply); joins, pins, thread notices and the like are not
_PERSON_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def user_ref(user: discord.abc.User) -> UserRef:
    return UserRef(platform=PLATFORM, id=str(user.id), name=user.display_name)


def place_of(channel: Any, fallback_id: int | None = None) -> Place:
    """Where something happened. Inside a thread: the parent channel plus the thread's id."""
    if isinstance(channel, discord.Thread):
        return Place(platform=PLATFORM, channel=str(channel.parent_id), thread=str(channel.id))
    channel_id = getattr(channel, "id", None) or fallback_id
    return Place(platform=PLATFORM, channel=str(channel_id))


def incoming(message: discord.Message, *, bot_id: int | None, channel: Any = None) -> IncomingMessage | None:
    """A message a person wrote, or None for the bot's own posts, other bots, webhooks and system notices.

    `channel` overrides `message.channel` when the caller had to look the channel up (a thread not in cache).
    """
    if message.author.bot or message.webhook_id is not None or message.type not in _PERSON_MESSAGE_TYPES:
        return None
    place = place_of(channel if channel is not None else message.channel)
    return IncomingMessage(
        platform=PLATFORM,
        message_id=str(message.id),
        author=user_ref(message.author),
        channel=place.channel,
        thread=place.thread,
        text=message.content,
        is_direct=isinstance(message.channel, discord.DMChannel),
        mentions_bot=bot_id is not None and bot_id in message.raw_mentions,
        files=tuple(a.url for a in message.attachments),
    )


# --- app commands -------------------------------------------------------------------------------------

#: options that come after the ticket number, in the order the core's parser reads them
_OPTION_ORDER = (
    "handover", "until", "team", "kb", "article", "name", "part", "agent", "user", "status", "priority", "scope",
    "command", "period", "rating", "tags", "reason", "summary", "text", "value", "which",
)  # fmt: skip
#: `/incident …` options in the order the core reads them: `new <title> [#N …]`, `link <id> <#N …>`, …
_INCIDENT_ORDER = ("incident", "title", "status", "tickets", "summary", "text", "scope", "command")
#: `/kb add`'s three form fields become the core's one-line `title | aliases | body`.
_ARTICLE_FORM = ("title", "aliases", "body")
#: `/macro add` and `/macro edit`'s fields become `name | reply | actions`.
_MACRO_FORM = ("name", "reply", "actions")


def _options(data: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Follow subcommand nesting: the command path and the leaf options by name."""
    path = str(data.get("name", "")).split("-", 1)  # a staff command `/ticket-claim` is `/ticket claim`
    options: Sequence[Mapping[str, Any]] = data.get("options") or ()
    while len(options) == 1 and options[0].get("type") in (1, 2):  # SUB_COMMAND, SUB_COMMAND_GROUP
        path.append(str(options[0]["name"]))
        options = options[0].get("options") or ()
    return path, {str(o["name"]): o.get("value") for o in options}


def _value(name: str, value: Any) -> str:
    if name in ("agent", "user"):
        return f"<@{value}>"
    if name == "kb":
        return f"--kb {value}"
    if name == "handover":
        return "--handover" if value else ""
    return " ".join(str(value).split()) if name not in ("text", "summary", "reason") else str(value).strip()


def command_text(data: Mapping[str, Any]) -> str:
    """`/ticket claim ticket:12` (interaction data) → `/ticket claim 12`, the core's command language."""
    path, values = _options(data)
    words = ["/" + " ".join(path)]
    if path[0] == "incident":
        present = [n for n in _INCIDENT_ORDER if values.get(n) is not None and str(values[n]).strip()]
        return " ".join([*words, *(_value(n, values[n]) for n in present)])
    ticket = values.get("ticket")
    if ticket is not None and str(ticket).strip():
        words.append(str(ticket).strip().lstrip("#"))
    if any(name in values for name in _ARTICLE_FORM):
        words.append(" | ".join(" ".join(str(values.get(name) or "").split()) for name in _ARTICLE_FORM))
    if "reply" in values:  # `/macro add|edit`: the core's `name | reply | actions`
        form = [str(values.get(k) or "").replace("|", "/").strip() for k in _MACRO_FORM]
        words.append(" | ".join(form if form[2] else form[:2]))
        values = {k: v for k, v in values.items() if k not in _MACRO_FORM}
    for name in _OPTION_ORDER:
        value = values.get(name)
        if value is not None and str(value).strip():
            words.append(_value(name, value))
    return " ".join(words)


def modal_text(data: Mapping[str, Any]) -> str:
    """The text a person typed into a modal (every text input, joined by blank lines)."""
    texts: list[str] = []
    for row in data.get("components") or ():
        for item in row.get("components") or ():
            value = item.get("value")
            if isinstance(value, str) and value.strip():
                texts.append(value.strip())
    return "\n\n".join(texts)


def member_role_ids(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Role ids of the people in an interaction's `resolved.members` (e.g. the agent picked in `assign`)."""
    members = (data.get("resolved") or {}).get("members") or {}
    return {str(uid): tuple(str(r) for r in m.get("roles") or ()) for uid, m in members.items()}


def resolved_users(data: Mapping[str, Any]) -> list[UserRef]:
    """People picked in a user option (`assign`, `customer`), with the names Discord resolved for them."""
    resolved = data.get("resolved") or {}
    users = resolved.get("users") or {}
    members = resolved.get("members") or {}
    found = []
    for uid, user in users.items():
        nick = (members.get(uid) or {}).get("nick")
        name = nick or user.get("global_name") or user.get("username") or str(uid)
        found.append(UserRef(platform=PLATFORM, id=str(uid), name=name))
    return found


def component_command(data: Mapping[str, Any]) -> str | None:
    """The command a pressed button or picked menu option runs; None for a button that first asks for text."""
    custom_id = str(data.get("custom_id", ""))
    if custom_id.startswith(BUTTON_PREFIX):
        return custom_id.removeprefix(BUTTON_PREFIX)
    if custom_id.startswith(SELECT_PREFIX):
        values = data.get("values") or []
        return str(values[0]) if values else None
    return None


def interaction_request(interaction: discord.Interaction[Any]) -> tuple[UserRef, str, Place] | None:
    """Who ran what where: an app command, a button or menu, or a submitted modal, as the core's command text.

    None for interactions that are not commands (autocomplete, a button that opens a modal first, foreign ids).
    """
    data: Mapping[str, Any] = dict(interaction.data or {})
    kind = interaction.type
    if kind is discord.InteractionType.application_command:
        text: str | None = command_text(data)
    elif kind is discord.InteractionType.component:
        text = component_command(data)
    elif kind is discord.InteractionType.modal_submit and str(data.get("custom_id", "")).startswith(MODAL_PREFIX):
        text = f"{str(data['custom_id']).removeprefix(MODAL_PREFIX)} {modal_text(data)}".strip()
    else:
        text = None
    if text is None:
        return None
    return user_ref(interaction.user), text, place_of(interaction.channel, interaction.channel_id)


# --- the staff commands' Discord names ------------------------------------------------------------------

#: `/ticket claim` → `/ticket-claim`: what agents and leads find in Discord's picker (see `slash.staff_commands`)
_STAFF_NAMES = {
    f"/{spec.group} {spec.name}": f"/{spec.group}-{spec.name}"
    for spec in SPECS
    if spec.role is not Role.CUSTOMER and spec.group in ("ticket", "kb")
}
_STAFF_USAGE = re.compile(r"(?<![\w/-])(" + "|".join(re.escape(k) for k in _STAFF_NAMES) + r")\b")


def discord_command_names(text: str) -> str:
    """The desk's help and hints name commands as `/ticket claim`; on Discord the staff ones are
    `/ticket-claim`, so an answer names the command a person can actually find."""
    return _STAFF_USAGE.sub(lambda m: _STAFF_NAMES[m.group(1)], text)
