"""A local stand-in for Discord: the REST API and the gateway on 127.0.0.1, enough for discord.py.

The real discord.py client logs in, syncs commands, connects to the gateway (HELLO, IDENTIFY, READY,
GUILD_CREATE, heartbeats, RESUME; zlib-stream compressed when asked) and talks REST to it. Tests act as
people (`say`, `press`, `slash`, `submit_modal`), and read what people would see (`messages_in`,
`interactions`). Every REST call is recorded in `calls`; `fail_next` injects errors such as a 429, and
`lose_answer_next` a post whose answer never comes (the process died, the connection dropped).

Nonces are as Discord keeps them: a post's `nonce` comes back in its answer and its MESSAGE_CREATE only, never
in history (Discord does not store it), and `enforce_nonce` refuses a second post with the same nonce only
within `nonce_window` of the first ("in the past few minutes") by the fake's clock, `now`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes.local_server import serve_locally
from tests.fakes.patience import HANG

TOKEN = "fake-bot-token"
DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01, the start of Discord's snowflake clock
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_GUILD_MEMBERS = 1 << 14  # the Server Members Intent, turned on in the developer portal
EPHEMERAL = 1 << 6
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13


class P:
    """Discord's permission bits (https://discord.com/developers/docs/topics/permissions)."""

    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


#: what the bot's own (managed) role holds unless a test says otherwise: everything the desk uses
BOT_PERMISSIONS = (
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS
    | P.SEND_MESSAGES_IN_THREADS
)
MISSING_ACCESS = {"message": "Missing Access", "code": 50001}
MISSING_PERMISSIONS = {"message": "Missing Permissions", "code": 50013}


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int
    at: float = field(default_factory=time.perf_counter)
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Interaction:
    """One INTERACTION_CREATE we sent, and the bot's answers to it."""

    id: str
    token: str
    payload: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.callbacks)

    @property
    def modal(self) -> dict[str, Any] | None:
        for cb in self.callbacks:
            if cb["type"] == 9:
                return dict(cb["data"])
        return None

    @property
    def texts(self) -> list[str]:
        """What the person sees in answer: callback message or follow-ups (content and embed titles)."""
        out: list[str] = []
        for m in [cb.get("data") or {} for cb in self.callbacks if cb["type"] == 4] + self.followups:
            if m.get("content"):
                out.append(m["content"])
            out += [e.get("title") or "" for e in m.get("embeds") or []]
        return out


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    #: no answer at all: the connection drops (after the request was carried out, when `taken`)
    lost: bool = False
    taken: bool = False


class FakeDiscord:
    """One guild (`guild_id`) with the bot in it, holding `bot_permissions` through its managed role.

    Permissions are enforced on the bot's REST calls as Discord computes them (the base permissions of the
    member's roles, then the channel's overwrites for @everyone, roles and the member; threads use their
    parent's): a refused call answers 403 with Discord's codes (50001 Missing Access, 50013 Missing
    Permissions). `in_guild = False` plays a bot that was never added to the server.
    """

    def __init__(
        self,
        *,
        message_content_intent: bool = True,
        members_intent: bool = False,
        heartbeat_ms: int = 41_250,
        bot_permissions: int = BOT_PERMISSIONS,
    ) -> None:
        self._ids = itertools.count()
        self._last_ms = 0
        #: Discord's clock: snowflakes, timestamps and the nonce window follow it (a test may move it on)
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.nonce_window = timedelta(minutes=3)
        self.app_flags = (GATEWAY_MESSAGE_CONTENT if message_content_intent else 0) | (
            GATEWAY_GUILD_MEMBERS if members_intent else 0
        )
        self.no_dms: set[str] = set()  # people whose privacy settings refuse DMs from the server's members
        self.heartbeat_ms = heartbeat_ms
        self.bucket_limit = 10_000
        self.bot_user = self._user("ThreadDesk", bot=True)
        self.app_id = self.bot_user["id"]
        self.guild_id = self.new_id()
        self.roles: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}  # user id -> role ids
        self.users: dict[str, dict[str, Any]] = {self.bot_user["id"]: self.bot_user}
        self.thread_members: dict[str, set[str]] = {}
        self.nonces: dict[tuple[str, str], tuple[str, datetime]] = {}  # (channel, nonce) -> (message id, when)
        self.files: dict[str, bytes] = {}  # attachment id -> the uploaded bytes
        self.interactions: dict[str, Interaction] = {}
        self.commands: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.role("@everyone", role_id=self.guild_id)
        self.bot_role = self.role("ThreadDesk", permissions=bot_permissions, managed=True)
        self.members[self.bot_user["id"]] = [self.bot_role]
        self.in_guild = True
        # gateway
        self.url = ""
        self.identifies = 0
        self.resumes = 0
        self.intents: int | None = None
        self.compression: str | None = None
        self._session: str | None = None
        self._seq = 0
        self._log: list[tuple[int, str]] = []  # (seq, encoded dispatch) of the current session
        self._ws: web.WebSocketResponse | None = None
        self._send: Callable[[str], Any] | None = None
        self._outgoing: asyncio.Queue[str] | None = None  # dispatches for the live connection, in order
        self._live = False
        self.connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.on_dispatch: Callable[[str, dict[str, Any]], None] | None = None

    # --- server ----------------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner, self.url = await serve_locally(app)
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base_url(self) -> str:
        return f"{self.url}/api/v10"

    # --- the world -------------------------------------------------------------------------------------

    def new_id(self, at: datetime | None = None) -> str:
        """A snowflake as Discord makes them: milliseconds since Discord's epoch in the top bits, so ids sort
        by time and tell when they were made (discord.py's `created_at`, `time_snowflake`). `at` makes one
        for another moment (a message written hours ago)."""
        ms = int((at or self.now()).timestamp() * 1000) - DISCORD_EPOCH_MS
        if at is None:
            ms = self._last_ms = max(ms, self._last_ms)  # never backwards, even if the clock steps back
        return str(ms << 22 | next(self._ids) % (1 << 22))

    def _user(self, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": self.new_id(),
            "username": name.lower(),
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }

    def user(self, name: str, *roles: str) -> dict[str, Any]:
        """A person in the guild, holding `roles` (role ids)."""
        user = self._user(name)
        self.users[user["id"]] = user
        self.members[user["id"]] = list(roles)
        return user

    def role(self, name: str, role_id: str | None = None, *, permissions: int = 0, managed: bool = False) -> str:
        rid = role_id or self.new_id()
        self.roles[rid] = {
            "id": rid,
            "name": name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(self.roles),
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }
        return rid

    def text_channel(self, name: str) -> str:
        cid = self.new_id()
        self.channels[cid] = {
            "id": cid,
            "type": 0,
            "guild_id": self.guild_id,
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        return cid

    def thread(self, parent: str, name: str, owner: dict[str, Any] | None = None) -> str:
        """A public thread someone started in `parent` (not on a message). Returns its id."""
        tid = self.new_id()
        self._thread(tid, parent, name, 11)
        if owner is not None:
            self.channels[tid]["owner_id"] = owner["id"]
            self.thread_members[tid].add(owner["id"])
        return tid

    def dm_channel(self, user: dict[str, Any]) -> str:
        for cid, ch in self.channels.items():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == user["id"]:
                return cid
        cid = self.new_id()
        self.channels[cid] = {"id": cid, "type": 1, "recipients": [user], "last_message_id": None, "flags": 0}
        return cid

    def _thread(self, thread_id: str, parent: str, name: str, kind: int) -> dict[str, Any]:
        thread = {
            "id": thread_id,
            "type": kind,
            "guild_id": self.guild_id,
            "parent_id": parent,
            "name": name,
            "owner_id": self.bot_user["id"],
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 10080,
                "archive_timestamp": _now(),
                "locked": False,
                "create_timestamp": _now(),
                **({"invitable": False} if kind == 12 else {}),
            },
        }
        self.channels[thread_id] = thread
        self.thread_members[thread_id] = {self.bot_user["id"]}
        self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    def _member(self, user_id: str) -> dict[str, Any]:
        return {
            "roles": self.members.get(user_id, []),
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
        }

    def overwrite(self, channel_id: str, target: str, *, allow: int = 0, deny: int = 0, member: bool = False) -> None:
        """A channel permission overwrite for a role (or, with `member`, a user), as server settings make one."""
        overwrites = self.channels[channel_id]["permission_overwrites"]
        overwrites[:] = [o for o in overwrites if o["id"] != target]
        overwrites.append({"id": target, "type": 1 if member else 0, "allow": str(allow), "deny": str(deny)})

    def permissions_in(self, channel_id: str, user_id: str | None = None) -> int:
        """What `user_id` (default: the bot) may do in a channel, computed the way Discord does."""
        user_id = user_id or self.bot_user["id"]
        channel = self.channels[channel_id]
        if channel["type"] == 1:
            return BOT_PERMISSIONS
        if channel["type"] in (11, 12):
            channel = self.channels[channel["parent_id"]]
        held = [self.guild_id, *self.members.get(user_id, [])]
        base = 0
        for rid in held:
            base |= int(self.roles[rid]["permissions"]) if rid in self.roles else 0
        if base & P.ADMINISTRATOR:
            return ~0
        overwrites = {o["id"]: o for o in channel["permission_overwrites"]}
        everyone = overwrites.get(self.guild_id)
        if everyone:
            base = (base & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for rid in held[1:]:
            if rid in overwrites and overwrites[rid]["type"] == 0:
                allow, deny = allow | int(overwrites[rid]["allow"]), deny | int(overwrites[rid]["deny"])
        base = (base & ~deny) | allow
        mine = overwrites.get(user_id)
        if mine and mine["type"] == 1:
            base = (base & ~int(mine["deny"])) | int(mine["allow"])
        return base

    def _refused(self, channel_id: str, *needed: int) -> tuple[int, Any] | None:
        """403 as Discord answers the bot lacking a permission here (None: allowed)."""
        held = self.permissions_in(channel_id)
        if not held & P.VIEW_CHANNEL:
            return 403, MISSING_ACCESS
        if any(not held & bit for bit in needed):
            return 403, MISSING_PERMISSIONS
        return None

    def _message(
        self, channel_id: str, author: dict[str, Any], body: dict[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        channel = self.channels[channel_id]
        content = body.get("content") or ""
        mentions = [self.users[i] for i in re.findall(r"<@!?(\d+)>", content) if i in self.users]
        msg: dict[str, Any] = {
            "id": self.new_id(at),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": (at or self.now()).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": [],
            "attachments": body.get("attachments") or [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0),
        }
        if channel["type"] != 1:
            msg["guild_id"] = self.guild_id
            if not author.get("bot"):
                msg["member"] = self._member(author["id"])
        self.messages[msg["id"]] = msg
        if int(msg["id"]) > int(channel["last_message_id"] or 0):
            channel["last_message_id"] = msg["id"]
        return msg

    # --- acting as people ------------------------------------------------------------------------------

    def say(self, user: dict[str, Any], channel_id: str, content: str, at: datetime | None = None) -> str:
        """`user` writes `content` in a channel, thread or DM (`at`: at another moment than now). Returns the
        message id."""
        msg = self._message(channel_id, user, {"content": content}, at)
        self.dispatch("MESSAGE_CREATE", msg)
        return str(msg["id"])

    def _interaction(
        self, user: dict[str, Any], channel_id: str, kind: int, data: dict[str, Any], **extra: Any
    ) -> Interaction:
        iid, token = self.new_id(), secrets.token_urlsafe(24)
        channel = self.channels[channel_id]
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.app_id,
            "type": kind,
            "data": data,
            "channel_id": channel_id,
            "channel": channel,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "app_permissions": "2248473465835073",
            "attachment_size_limit": 10_485_760,
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0 if channel["type"] != 1 else 1,
            **extra,
        }
        if "message" in payload:  # as Discord sends it: what was posted, not how it was sent
            payload["message"] = {k: v for k, v in payload["message"].items() if k != "allowed_mentions"}
        if channel["type"] == 1:
            payload["user"] = user
        else:
            payload["guild_id"] = self.guild_id
            payload["guild_locale"] = "en-US"
            payload["member"] = {**self._member(user["id"]), "user": user, "permissions": "2248473465835073"}
        record = Interaction(iid, token, payload)
        self.interactions[iid] = record
        self.dispatch("INTERACTION_CREATE", payload)
        return record

    def press(self, user: dict[str, Any], message_id: str, label: str, value: str | None = None) -> Interaction:
        """`user` presses the button labelled `label` (or picks `value` in the menu) on a message."""
        msg = self.messages[message_id]
        for row in msg["components"]:
            for comp in row["components"]:
                if comp["type"] == 2 and comp.get("label") == label:
                    return self._interaction(
                        user, msg["channel_id"], 3, {"custom_id": comp["custom_id"], "component_type": 2}, message=msg
                    )
                if comp["type"] == 3 and value is not None and comp.get("placeholder") == label:
                    data = {"custom_id": comp["custom_id"], "component_type": 3, "values": [value]}
                    return self._interaction(user, msg["channel_id"], 3, data, message=msg)
        raise AssertionError(f"no {label!r} on message {message_id}: {msg['components']}")

    def slash(self, user: dict[str, Any], channel_id: str, group: str, sub: str, **options: Any) -> Interaction:
        """`/group sub option:value …` as Discord sends it (ints as INTEGER, users as USER with resolved)."""
        opts: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in options.items():
            if isinstance(value, dict) and "username" in value:
                opts.append({"type": 6, "name": name, "value": value["id"]})
                resolved.setdefault("users", {})[value["id"]] = value
                resolved.setdefault("members", {})[value["id"]] = self._member(value["id"])
            elif isinstance(value, int):
                opts.append({"type": 4, "name": name, "value": value})
            else:
                opts.append({"type": 3, "name": name, "value": value})
        data: dict[str, Any] = {**self._invoked(group, sub, opts), "guild_id": self.guild_id}
        if resolved:
            data["resolved"] = resolved
        return self._interaction(user, channel_id, 2, data)

    def react(self, user: dict[str, Any], message_id: str, emoji: str = "🎫", emoji_id: str | None = None) -> None:
        """`user` adds a reaction (a Unicode emoji, or a custom one with `emoji_id`) to a message: the
        MESSAGE_REACTION_ADD dispatch, sent only to a bot that asked for the reactions intent."""
        msg = self.messages[message_id]
        channel = self.channels[msg["channel_id"]]
        data: dict[str, Any] = {
            "type": 0,
            "user_id": user["id"],
            "channel_id": msg["channel_id"],
            "message_id": message_id,
            "message_author_id": msg["author"]["id"],
            "emoji": {"id": emoji_id, "name": emoji, **({"animated": False} if emoji_id else {})},
            "burst": False,
            "burst_colors": [],
        }
        wanted = INTENT_DIRECT_MESSAGE_REACTIONS if channel["type"] == 1 else INTENT_GUILD_MESSAGE_REACTIONS
        if channel["type"] != 1:
            data["guild_id"] = self.guild_id
            data["member"] = {**self._member(user["id"]), "user": user}
        if (self.intents or 0) & wanted:
            self.dispatch("MESSAGE_REACTION_ADD", data)

    def message_command(self, user: dict[str, Any], message_id: str, name: str) -> Interaction:
        """`user` right-clicks a message → Apps → `name` (a MESSAGE context-menu command the bot synced)."""
        msg = self.messages[message_id]
        command = next(c for c in self.commands if c["name"] == name and c.get("type") == 3)
        shown = {k: v for k, v in msg.items() if k != "allowed_mentions"}
        data = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": message_id,
            "resolved": {"messages": {message_id: shown}},
            "guild_id": self.guild_id,
        }
        return self._interaction(user, msg["channel_id"], 2, data)

    def interact(self, user: dict[str, Any], channel_id: str, data: dict[str, Any]) -> Interaction:
        """An application command with hand-made `data` (e.g. as a Discord client with stale commands sends it)."""
        return self._interaction(user, channel_id, 2, data)

    def autocomplete(
        self, user: dict[str, Any], channel_id: str, group: str, sub: str, typed: str, option_name: str = "ticket"
    ) -> Interaction:
        kind = 4 if option_name == "ticket" else 3  # INTEGER ticket numbers, STRING otherwise
        option = {"type": kind, "name": option_name, "value": typed, "focused": True}
        return self._interaction(user, channel_id, 4, self._invoked(group, sub, [option]))

    def _invoked(self, group: str, sub: str, options: list[dict[str, Any]]) -> dict[str, Any]:
        """`/group sub` as the synced commands shape it: a subcommand of `group`, or the top-level command
        `group-sub` (staff commands are top-level so that they can carry default permissions)."""
        for command in self.commands:
            subs = {o["name"] for o in command.get("options") or () if o["type"] == 1}
            if command["name"] == group and command.get("type", 1) == 1 and sub in subs:
                nested = [{"type": 1, "name": sub, "options": options}]
                return {"id": command["id"], "name": group, "type": 1, "options": nested}
            if command["name"] == f"{group}-{sub}":
                return {"id": command["id"], "name": command["name"], "type": 1, "options": options}
        return {
            "id": self.new_id(),
            "name": group,
            "type": 1,
            "options": [{"type": 1, "name": sub, "options": options}],
        }

    def submit_modal(self, user: dict[str, Any], opened: Interaction, text: str) -> Interaction:
        """Type `text` into the modal the bot opened in answer to `opened`, and submit."""
        modal = opened.modal
        assert modal is not None, f"no modal was opened: {opened.callbacks}"
        rows = [
            {
                "type": 1,
                "components": [{"type": 4, "custom_id": c["custom_id"], "value": text} for c in row["components"]],
            }
            for row in modal["components"]
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        channel = opened.payload["channel_id"]
        message = opened.payload.get("message")
        return self._interaction(user, channel, 5, data, **({"message": message} if message else {}))

    # --- what people see -------------------------------------------------------------------------------

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        """What everyone in the channel sees (ephemeral interaction answers are seen only by their person)."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id and not m["flags"] & EPHEMERAL]

    def bot_messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages_in(channel_id) if m["author"]["id"] == self.bot_user["id"]]

    def threads_of(self, parent: str) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if c.get("parent_id") == parent and c["type"] in (11, 12)]

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    def fail_next(self, method: str, pattern: str, status: int, body: dict[str, Any]) -> None:
        self.failures.append(Failure(method, re.compile(pattern), status, body))

    def lose_answer_next(self, method: str, pattern: str, *, taken: bool) -> None:
        """The next matching request gets no answer: the connection drops, as when the bot's process dies or
        the network fails mid-request. `taken`: Discord carried it out first (the message is posted)."""
        self.failures.append(Failure(method, re.compile(pattern), 0, {}, lost=True, taken=taken))

    # --- gateway ---------------------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch now, or keep it for a RESUME when the bot is not connected."""
        if self._session is None:
            return
        self._seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self._seq, "d": data})
        self._log.append((self._seq, frame))
        if self.on_dispatch:
            self.on_dispatch(event, data)
        if self._live and self._outgoing is not None:
            self._outgoing.put_nowait(frame)

    async def disconnect(self, code: int = 4000) -> None:
        """Drop the connection as Discord does on trouble; the client should RESUME."""
        self._live = False
        self.connected.clear()
        if self._ws is not None:
            await self._ws.close(code=code, message=b"fake: connection dropped")

    def invalidate_session(self) -> None:
        """Op 9 Invalid Session with `d: false`, as Discord sends it when a session cannot go on: after what
        was already sent, the client must IDENTIFY anew. Nothing dispatched until then reaches it, and the new
        session does not replay it."""
        assert self._outgoing is not None and self._live, "no live session to invalidate"
        self._outgoing.put_nowait(json.dumps({"op": 9, "d": False}))
        self._session, self._live = None, False
        self.connected.clear()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        compress = request.query.get("compress")
        if request.query.get("encoding", "json") != "json" or compress not in (None, "zlib-stream", "zstd-stream"):
            await ws.close(code=4000, message=b"fake supports encoding=json with zlib-stream, zstd-stream or none")
            return ws
        self.compression = compress
        pack = _compressor(compress)
        lock = asyncio.Lock()

        async def send(frame: str) -> None:
            async with lock:
                if ws.closed:
                    return
                if pack is not None:
                    await ws.send_bytes(pack(frame.encode()))
                else:
                    await ws.send_str(frame)

        outgoing: asyncio.Queue[str] = asyncio.Queue()

        async def pump() -> None:
            while True:
                await send(await outgoing.get())

        self._ws, self._send, self._outgoing = ws, send, outgoing
        writer = asyncio.create_task(pump())
        await send(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}}))
        try:
            await self._read(ws, send)
        finally:
            writer.cancel()
        if self._ws is ws:
            self._live = False
            self.connected.clear()
        return ws

    async def _read(self, ws: web.WebSocketResponse, send: Callable[[str], Any]) -> None:
        async for raw in ws:
            if raw.type is not WSMsgType.TEXT:
                continue
            msg = json.loads(raw.data)
            op, data = msg.get("op"), msg.get("d")
            if op == 1:
                await send(json.dumps({"op": 11}))
            elif op == 2:
                await self._identify(data, send)
            elif op == 6:
                await self._resume(data, send)

    async def _identify(self, data: dict[str, Any], send: Callable[[str], Any]) -> None:
        if data.get("token") != TOKEN:
            await self._ws.close(code=4004, message=b"Authentication failed.")  # type: ignore[union-attr]
            return
        if data.get("intents", 0) & (1 << 15) and not self.app_flags:
            await self._ws.close(code=4014, message=b"Disallowed intent(s).")  # type: ignore[union-attr]
            return
        self.identifies += 1
        self.intents = data.get("intents")
        self._session, self._seq, self._log = secrets.token_hex(16), 0, []
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": self.guild_id, "unavailable": True}] if self.in_guild else [],
            "session_id": self._session,
            "resume_gateway_url": f"{self.url.replace('http', 'ws')}/gateway",
            "shard": [0, 1],
            "application": {"id": self.app_id, "flags": self.app_flags},
            "private_channels": [],
            "relationships": [],
        }
        self._live = True
        self.dispatch("READY", ready)
        if self.in_guild:
            self.dispatch("GUILD_CREATE", self._guild())
        self.connected.set()

    async def _resume(self, data: dict[str, Any], send: Callable[[str], Any]) -> None:
        if data.get("session_id") != self._session or data.get("token") != TOKEN:
            await send(json.dumps({"op": 9, "d": False}))
            return
        self.resumes += 1
        assert self._outgoing is not None
        for seq, frame in self._log:
            if seq > (data.get("seq") or 0):
                self._outgoing.put_nowait(frame)
        self._live = True
        self.dispatch("RESUMED", {})
        self.connected.set()

    def _guild(self) -> dict[str, Any]:
        guild_channels = [c for c in self.channels.values() if c.get("guild_id") and c["type"] not in (11, 12)]
        # like Discord, GUILD_CREATE lists active threads only
        threads = [c for c in self.channels.values() if c["type"] in (11, 12) and not c["thread_metadata"]["archived"]]
        return {
            "id": self.guild_id,
            "name": "Fake Studio",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": self.new_id(),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": list(self.roles.values()),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "stickers": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [{**self._member(self.bot_user["id"]), "user": self.bot_user}],
            "channels": guild_channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }

    # --- REST ------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body and request.content_type == "multipart/form-data":
            body = await self._multipart(request)
        elif request.can_read_body:
            text = await request.text()
            body = json.loads(text) if text else None
        # interaction callbacks and follow-ups are authorised by the token in their URL, not the bot token
        public = path.startswith(("/interactions/", "/webhooks/"))
        if not public and request.headers.get("Authorization") != f"Bot {TOKEN}":
            return self._answer(request, path, body, 401, {"message": "401: Unauthorized", "code": 0})
        for failure in self.failures:
            if failure.method == request.method and failure.path.fullmatch(path):
                self.failures.remove(failure)
                if failure.lost:
                    return await self._lose_answer(request, path, body, taken=failure.taken)
                headers = {"Via": "1.1 google"} if failure.status == 429 else {}
                return self._answer(request, path, body, failure.status, failure.body, headers)
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if method == request.method and match:
                status, data = handler(body, request, *match.groups())
                return self._answer(request, path, body, status, data)
        return self._answer(request, path, body, 404, {"message": "404: Not Found", "code": 0})

    async def _lose_answer(self, request: web.Request, path: str, body: Any, *, taken: bool) -> web.Response:
        """Carry the request out (when `taken`), then drop the connection without answering."""
        status = 0
        if taken:
            for method, pattern, handler in self._routes():
                match = re.fullmatch(pattern, path)
                if method == request.method and match:
                    status, _ = handler(body, request, *match.groups())
        self.calls.append(Call(request.method, path, body, status, query=dict(request.query)))
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)  # never written: the connection is gone

    async def _multipart(self, request: web.Request) -> dict[str, Any]:
        """A message with files, as Discord takes it: `payload_json` plus `files[n]` parts."""
        body: dict[str, Any] = {}
        uploads: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            assert isinstance(part, BodyPartReader)
            if part.name == "payload_json":
                body.update(json.loads(await part.text()))
            elif part.name and part.name.startswith("files["):
                uploads.append({"filename": part.filename, "data": bytes(await part.read())})
        body["_uploads"] = uploads
        return body

    def _answer(
        self, request: web.Request, path: str, body: Any, status: int, data: Any, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.calls.append(Call(request.method, path, body, status, query=dict(request.query)))
        if status == 204:
            return web.Response(status=204)
        # discord.py parses JSON only when the content type is exactly application/json, as Discord sends it.
        # Rate-limit headers as Discord sends them, with a generous bucket (a self-hosted server's): without
        # them discord.py assumes a limit of 1 and sends one request per bucket at a time.
        limits = {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": str(self.bucket_limit - 1),
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": hashlib.md5(re.sub(r"\d+", "#", f"{request.method} {path}").encode()).hexdigest(),
        }
        return web.Response(
            body=json.dumps(data).encode(),
            status=status,
            headers={"Content-Type": "application/json", **(limits if status != 429 else {}), **(headers or {})},
        )

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        return [
            ("GET", r"/users/@me", lambda b, r: (200, self.bot_user)),
            ("GET", r"/oauth2/applications/@me", lambda b, r: (200, self._application())),
            ("GET", r"/gateway/bot", lambda b, r: (200, self._gateway_info())),
            ("GET", r"/gateway", lambda b, r: (200, {"url": self._gateway_info()["url"]})),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._sync_commands),
            ("PUT", r"/applications/(\d+)/commands", self._sync_commands),
            ("GET", r"/guilds/(\d+)", self._get_guild),
            ("GET", r"/guilds/(\d+)/channels", self._get_guild_channels),
            ("GET", r"/guilds/(\d+)/roles", self._get_guild_roles),
            ("GET", r"/guilds/(\d+)/members", self._list_guild_members),
            ("GET", r"/guilds/(\d+)/members/(\d+)", self._get_guild_member),
            ("POST", r"/users/@me/channels", self._open_dm),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("GET", r"/channels/(\d+)/messages", self._get_messages),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_message),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._patch_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._thread_from_message),
            ("POST", r"/channels/(\d+)/threads", self._thread_without_message),
            ("PUT", r"/channels/(\d+)/thread-members/(\d+)", self._add_thread_member),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
        ]

    def _application(self) -> dict[str, Any]:
        return {
            "id": self.app_id,
            "name": "ThreadDesk",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self._user("Owner"),
            "team": None,
            "flags": self.app_flags,
            "bot": self.bot_user,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }

    def _gateway_info(self) -> dict[str, Any]:
        return {
            "url": f"{self.url.replace('http', 'ws')}/gateway",
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        }

    def _sync_commands(self, body: Any, request: web.Request, app: str, guild: str | None = None) -> tuple[int, Any]:
        # as Discord answers: every field filled in (a context menu's description is "")
        defaults = {"type": 1, "description": "", "default_member_permissions": None, "nsfw": False}
        self.commands = [
            {**defaults, **c, "id": self.new_id(), "application_id": app, "version": self.new_id(), "guild_id": guild}
            for c in body
        ]
        return 200, self.commands

    def _guild_refused(self, gid: str) -> tuple[int, Any] | None:
        if gid != self.guild_id:
            return 404, {"message": "Unknown Guild", "code": 10004}
        if not self.in_guild:
            return 403, MISSING_ACCESS
        return None

    def _get_guild(self, body: Any, request: web.Request, gid: str) -> tuple[int, Any]:
        refused = self._guild_refused(gid)
        if refused:
            return refused
        keep = ("members", "channels", "threads", "presences", "voice_states", "joined_at", "large", "member_count")
        guild = {k: v for k, v in self._guild().items() if k not in keep}
        return 200, {**guild, "approximate_member_count": len(self.members), "approximate_presence_count": 0}

    def _get_guild_channels(self, body: Any, request: web.Request, gid: str) -> tuple[int, Any]:
        return self._guild_refused(gid) or (200, self._guild()["channels"])

    def _get_guild_roles(self, body: Any, request: web.Request, gid: str) -> tuple[int, Any]:
        return self._guild_refused(gid) or (200, list(self.roles.values()))

    def _get_guild_member(self, body: Any, request: web.Request, gid: str, uid: str) -> tuple[int, Any]:
        refused = self._guild_refused(gid)
        if refused:
            return refused
        if uid not in self.members:
            return 404, {"message": "Unknown Member", "code": 10007}
        return 200, {**self._member(uid), "user": self.users[uid]}

    def _list_guild_members(self, body: Any, request: web.Request, gid: str) -> tuple[int, Any]:
        """Members by user id, `limit` (1-1000, default 1) after the id `after`; only for an application with
        the Server Members Intent (else 403 Missing Access, as Discord answers)."""
        refused = self._guild_refused(gid)
        if refused:
            return refused
        if not self.app_flags & GATEWAY_GUILD_MEMBERS:
            return 403, MISSING_ACCESS
        try:
            limit, after = int(request.query.get("limit", 1)), int(request.query.get("after", 0))
        except ValueError:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if not 1 <= limit <= 1000:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        ids = sorted(int(uid) for uid in self.members if int(uid) > after)[:limit]
        return 200, [{**self._member(str(uid)), "user": self.users[str(uid)]} for uid in ids]

    def _open_dm(self, body: Any, request: web.Request) -> tuple[int, Any]:
        user = self.users.get(str((body or {}).get("recipient_id")))
        if user is None:
            return 400, {"message": "Invalid Recipient(s)", "code": 50033}
        return 200, self.channels[self.dm_channel(user)]

    def _channel_refused(self, cid: str, *needed: int) -> tuple[int, Any] | None:
        channel = self.channels.get(cid)
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if channel["type"] != 1 and not self.in_guild:
            return 403, MISSING_ACCESS
        return self._refused(cid, *needed)

    def _get_channel(self, body: Any, request: web.Request, cid: str) -> tuple[int, Any]:
        return self._channel_refused(cid) or (200, self.channels[cid])

    def _get_message(self, body: Any, request: web.Request, cid: str, mid: str) -> tuple[int, Any]:
        refused = self._channel_refused(cid, P.READ_MESSAGE_HISTORY)
        if refused:
            return refused
        msg = self.messages.get(mid)
        if msg is None or msg["channel_id"] != cid:
            return 404, {"message": "Unknown Message", "code": 10008}
        return 200, {k: v for k, v in msg.items() if k != "allowed_mentions"}

    def _get_messages(self, body: Any, request: web.Request, cid: str) -> tuple[int, Any]:
        """A page of a channel's history, as Discord answers it: `limit` (1-100, default 50) messages
        before, after or around a message id (without one: the newest), always newest first. After an id
        they are the oldest ones after it (discord.py pages forward from the first of the page). Without Read
        Message History the page is empty; messages carry no `member` (only the gateway's do)."""
        refused = self._channel_refused(cid)
        if refused:
            return refused
        query = request.query
        try:
            limit = int(query.get("limit", 50))
            anchors = {k: int(query[k]) for k in ("before", "after", "around") if k in query}
        except ValueError:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if not 1 <= limit <= 100 or len(anchors) > 1:
            return 400, {"message": "Invalid Form Body", "code": 50035}
        if not self.permissions_in(cid) & P.READ_MESSAGE_HISTORY:
            return 200, []
        here = sorted(
            (m for m in self.messages.values() if m["channel_id"] == cid and not m["flags"] & EPHEMERAL),
            key=lambda m: int(m["id"]),
        )
        if "after" in anchors:
            page = [m for m in here if int(m["id"]) > anchors["after"]][:limit]
        elif "before" in anchors:
            page = [m for m in here if int(m["id"]) < anchors["before"]][-limit:]
        elif "around" in anchors:
            older = [m for m in here if int(m["id"]) < anchors["around"]][-(limit // 2) :] if limit > 1 else []
            page = older + [m for m in here if int(m["id"]) >= anchors["around"]][: limit - len(older)]
        else:
            page = here[-limit:]
        hidden = ("allowed_mentions", "member")
        return 200, [{k: v for k, v in m.items() if k not in hidden} for m in reversed(page)]

    def _post_message(self, body: Any, request: web.Request, cid: str) -> tuple[int, Any]:
        in_thread = cid in self.channels and self.channels[cid]["type"] in (11, 12)
        needed = [P.SEND_MESSAGES_IN_THREADS if in_thread else P.SEND_MESSAGES]
        if body.get("_uploads"):
            needed.append(P.ATTACH_FILES)
        refused = self._channel_refused(cid, *needed)
        if refused:
            return refused
        channel = self.channels[cid]
        if channel["type"] == 1 and channel["recipients"][0]["id"] in self.no_dms:
            return 403, {"message": "Cannot send messages to this user", "code": 50007}
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier, at = self.nonces.get((cid, str(nonce)), (None, None))
            if earlier is not None and at is not None and self.now() - at < self.nonce_window:
                return 200, {**self.messages[earlier], "nonce": nonce}
        uploads = body.pop("_uploads", [])
        msg = self._message(cid, self.bot_user, body)
        msg["attachments"] = [
            {
                "id": self.new_id(),
                "filename": u["filename"],
                "size": len(u["data"]),
                "url": f"{self.url}/files/{u['filename']}",
                "proxy_url": f"{self.url}/files/{u['filename']}",
                "content_type": "image/png",
            }
            for u in uploads
        ]
        for upload, attachment in zip(uploads, msg["attachments"], strict=True):
            self.files[attachment["id"]] = upload["data"]
        msg["allowed_mentions"] = body.get("allowed_mentions")  # kept to assert on; not in Discord's payload
        # the nonce comes back in the answer and MESSAGE_CREATE only: Discord does not keep it with the message
        sent = {**msg, **({"nonce": nonce} if nonce is not None else {})}
        if nonce is not None:
            self.nonces[(cid, str(nonce))] = (msg["id"], self.now())
        self.dispatch("MESSAGE_CREATE", {k: v for k, v in sent.items() if k != "allowed_mentions"})
        return 200, sent

    def _patch_message(self, body: Any, request: web.Request, cid: str, mid: str) -> tuple[int, Any]:
        msg = self.messages.get(mid)
        if msg is None or msg["channel_id"] != cid:
            return 404, {"message": "Unknown Message", "code": 10008}
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                msg[key] = body[key]
        msg["edited_timestamp"] = _now()
        self.dispatch("MESSAGE_UPDATE", {k: v for k, v in msg.items() if k != "allowed_mentions"})
        return 200, msg

    def _thread_from_message(self, body: Any, request: web.Request, cid: str, mid: str) -> tuple[int, Any]:
        channel = self.channels.get(cid)
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if channel["type"] == 1:
            return 400, {"message": "Cannot execute action on a DM channel", "code": 50003}
        if channel["type"] in (11, 12):
            return 400, {"message": "Cannot execute action on this channel type", "code": 50024}
        refused = self._channel_refused(cid, P.CREATE_PUBLIC_THREADS)
        if refused:
            return refused
        msg = self.messages.get(mid)
        if msg is None or msg["channel_id"] != cid:
            return 404, {"message": "Unknown Message", "code": 10008}
        if mid in self.channels:
            return 400, {"message": "A thread has already been created for this message", "code": 160004}
        thread = self._thread(mid, cid, body["name"], 11)
        msg["thread"] = thread
        return 201, thread

    def _thread_without_message(self, body: Any, request: web.Request, cid: str) -> tuple[int, Any]:
        kind = int(body.get("type", 12))
        refused = self._channel_refused(cid, P.CREATE_PRIVATE_THREADS if kind == 12 else P.CREATE_PUBLIC_THREADS)
        if refused:
            return refused
        return 201, self._thread(self.new_id(), cid, body["name"], kind)

    def _add_thread_member(self, body: Any, request: web.Request, tid: str, uid: str) -> tuple[int, Any]:
        refused = self._channel_refused(tid, P.SEND_MESSAGES_IN_THREADS)
        if refused:
            return refused
        self.thread_members.setdefault(tid, set()).add(uid)
        return 204, None

    def _callback(self, body: Any, request: web.Request, iid: str, token: str) -> tuple[int, Any]:
        record = self.interactions.get(iid)
        if record is None or record.token != token:
            return 404, {"message": "Unknown interaction", "code": 10062}
        if record.callbacks:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        record.callbacks.append(body)
        flags = (body.get("data") or {}).get("flags", 0)
        answer: dict[str, Any] = {
            "interaction": {
                "id": iid,
                "type": record.payload["type"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            }
        }
        if body["type"] in (4, 5):
            message = self._message(record.payload["channel_id"], self.bot_user, body.get("data") or {})
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": body["type"], "message": message}
        return 200, answer

    def _followup(self, body: Any, request: web.Request, app: str, token: str) -> tuple[int, Any]:
        record = next((i for i in self.interactions.values() if i.token == token), None)
        if record is None or not record.callbacks:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        record.followups.append(body)
        return 200, {**self._message(record.payload["channel_id"], self.bot_user, body), "webhook_id": app}

    def _edit_original(self, body: Any, request: web.Request, app: str, token: str) -> tuple[int, Any]:
        record = next((i for i in self.interactions.values() if i.token == token), None)
        if record is None:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        record.followups.append(body)
        return 200, {**self._message(record.payload["channel_id"], self.bot_user, body), "webhook_id": app}


def _compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """Transport compression as Discord does it: one stream per connection, flushed after every message
    (discord.py picks zstd-stream when the `zstandard` package is installed, zlib-stream otherwise)."""
    if kind == "zlib-stream":
        deflate = zlib.compressobj()
        return lambda data: deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        import zstandard  # type: ignore[import-not-found]  # only present when discord.py asked for zstd

        stream = zstandard.ZstdCompressor().compressobj()
        return lambda data: bytes(stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
    return None


async def eventually(check: Callable[[], Any], timeout: float = HANG, what: str = "") -> Any:
    """Wait until `check()` is truthy (the bot works asynchronously); fail with `what` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.005)
