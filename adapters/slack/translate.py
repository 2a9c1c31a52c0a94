"""Slack payloads → what the core understands. Pure functions of the payload dict: no I/O, no clock.

Message ids are the Slack `ts`: the core records each one once, so an event Slack re-delivers
(`X-Slack-Retry-Num`, the same `event_id`) — or the same message arriving both as `message` and as
`app_mention` — opens at most one ticket. A top-level message's ts is also the customer thread's id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.domain.inbound import IncomingMessage, Place
from bot.domain.refs import UserRef

PLATFORM = "slack"
VIEW_CALLBACK = "threaddesk_prompt"
ARTICLE_CALLBACK = "threaddesk_article"
#: `/kb add`'s form: the three parts of the core's one-line `/kb add title | aliases | body`
ARTICLE_FIELDS = ("title", "aliases", "body")
#: Message subtypes that are a person writing something new; edits, deletes, joins, bot posts are not.
_PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def user(user_id: str, name: str = "") -> UserRef:
    return UserRef(platform=PLATFORM, id=user_id, name=name)


def mentioned_users(text: str) -> list[str]:
    """User ids of `<@U…>` / `<@U…|name>` mentions (slash commands with escaping on), in order, once each."""
    return list(dict.fromkeys(re.findall(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", text)))


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    if not bot_user_id:
        return text
    return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>\s*", "", text).strip()


def _files(event: dict[str, Any]) -> tuple[str, ...]:
    links = []
    for item in event.get("files") or ():
        link = item.get("permalink") or item.get("url_private")
        if link:
            links.append(str(link))
    return tuple(links)


def message_event(event: dict[str, Any], bot_user_id: str | None, *, mention: bool = False) -> IncomingMessage | None:
    """A `message` or `app_mention` event. None when it is not a person writing something new."""
    if event.get("subtype") not in _PERSON_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return None
    author, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not author or not channel or not ts or author == bot_user_id:
        return None
    raw = str(event.get("text") or "")
    mentions = mention or bool(bot_user_id and f"<@{bot_user_id}" in raw)
    thread = event.get("thread_ts")
    return IncomingMessage(
        platform=PLATFORM,
        message_id=str(ts),
        author=user(str(author)),
        channel=str(channel),
        thread=str(thread) if thread and thread != ts else None,
        text=strip_bot_mention(raw, bot_user_id),
        is_direct=event.get("channel_type") == "im" or str(channel).startswith("D"),
        mentions_bot=mentions,
        files=_files(event),
    )


def message_as_ticket(message: dict[str, Any], channel: str, bot_user_id: str | None) -> IncomingMessage | None:
    """Someone else's message turned into a ticket for its author (the reaction or the "Create ticket"
    shortcut). It is addressed to the bot on purpose, so it counts as a mention wherever it was written."""
    author, ts = message.get("user"), message.get("ts")
    if not author or not ts or message.get("bot_id") or author == bot_user_id:
        return None
    return IncomingMessage(
        platform=PLATFORM,
        message_id=str(ts),
        author=user(str(author)),
        channel=channel,
        thread=None,
        text=strip_bot_mention(str(message.get("text") or ""), bot_user_id),
        is_direct=channel.startswith("D"),
        mentions_bot=True,
        files=_files(message),
    )


@dataclass(frozen=True)
class Reaction:
    reactor: str
    channel: str
    ts: str
    author: str | None


def reaction_added(event: dict[str, Any], wanted: str) -> Reaction | None:
    """The configured reaction on a message (skin tones ignored: `ticket::skin-tone-2` counts)."""
    item = event.get("item") or {}
    if item.get("type") != "message" or str(event.get("reaction", "")).split("::")[0] != wanted:
        return None
    return Reaction(
        reactor=str(event.get("user", "")),
        channel=str(item.get("channel", "")),
        ts=str(item.get("ts", "")),
        author=event.get("item_user"),
    )


@dataclass(frozen=True)
class Invocation:
    """A command to run: who, the command text in the core's language, and where."""

    actor: UserRef
    text: str
    place: Place
    typed: str = ""  # what the person typed into a modal
    #: Slack's id of this submission (a command's trigger_id, a modal's view id): the same on a double submit
    once: str = ""


def slash_command(body: dict[str, Any]) -> Invocation:
    """`/ticket claim 3` arrives as command="/ticket", text="claim 3"."""
    command = str(body.get("command") or "/ticket").strip()
    text = str(body.get("text") or "").strip()
    return Invocation(
        once=str(body.get("trigger_id") or ""),
        actor=user(str(body.get("user_id", "")), str(body.get("user_name") or "")),
        text=f"{command} {text}".strip() if text else f"{command} help",
        place=Place(platform=PLATFORM, channel=str(body.get("channel_id", ""))),
    )


@dataclass(frozen=True)
class Press:
    """A button or menu choice. `prompt` set: ask for text first (a modal), then run `command` + text."""

    actor: UserRef
    command: str
    place: Place
    prompt: str | None = None
    label: str = ""


def encode_prompt(command: str, prompt: str) -> str:
    return json.dumps({"command": command, "prompt": prompt}, separators=(",", ":"))


def block_action(body: dict[str, Any]) -> Press | None:
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    actor = user(str((body.get("user") or {}).get("id", "")), str((body.get("user") or {}).get("name") or ""))
    channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
    message = body.get("message") or {}
    thread = message.get("thread_ts")
    place = Place(platform=PLATFORM, channel=channel, thread=str(thread) if thread else None)
    label = str(((action.get("text") or {}).get("text")) or "")
    if action.get("type") == "static_select":
        option = action.get("selected_option") or {}
        return Press(actor, str(option.get("value", "")), place, label=str((option.get("text") or {}).get("text", "")))
    value = str(action.get("value") or "")
    if str(action.get("action_id", "")).startswith("td_prompt"):
        try:
            decoded = json.loads(value)
            return Press(actor, str(decoded["command"]), place, prompt=str(decoded["prompt"]), label=label)
        except (ValueError, KeyError, TypeError):
            return None
    return Press(actor, value, place, label=label)


def view_metadata(press: Press) -> str:
    """What the modal carries to its submission: the command and where the button was pressed."""
    return json.dumps(
        {"command": press.command, "channel": press.place.channel, "thread": press.place.thread},
        separators=(",", ":"),
    )


def view_submission(body: dict[str, Any]) -> Invocation | None:
    view = body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "")
        values = view["state"]["values"]
        typed = values["text"]["text"]["value"]
    except (ValueError, KeyError, TypeError):
        return None
    who = body.get("user") or {}
    return Invocation(
        once=f"view:{view['id']}" if view.get("id") else "",
        actor=user(str(who.get("id", "")), str(who.get("name") or "")),
        text=f"{meta['command']} {str(typed or '').strip()}".strip(),
        place=Place(platform=PLATFORM, channel=str(meta.get("channel") or ""), thread=meta.get("thread")),
        typed=str(typed or "").strip(),
    )


def shortcut_message(body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """A message shortcut: (the message, its channel, who ran the shortcut)."""
    return (
        dict(body.get("message") or {}),
        str((body.get("channel") or {}).get("id", "")),
        str((body.get("user") or {}).get("id", "")),
    )


def article_submission(body: dict[str, Any]) -> Invocation | None:
    """The `/kb add` form, submitted: `/kb add <title> | <aliases> | <body>` (`|` inside a field would split
    it, so it becomes `/`)."""
    view = body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "")
        values = view["state"]["values"]
        raw = [str(values[name][name].get("value") or "") for name in ARTICLE_FIELDS]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    parts = [" ".join(value.replace("|", "/").split()) for value in raw]
    who = body.get("user") or {}
    return Invocation(
        once=f"view:{view['id']}" if view.get("id") else "",
        actor=user(str(who.get("id", "")), str(who.get("name") or "")),
        text="/kb add " + " | ".join(parts),
        place=Place(platform=PLATFORM, channel=str(meta.get("channel") or "")),
        typed=parts[0],
    )
