"""A local Slack Web API double on 127.0.0.1: records every call and answers the way Slack does.

`ok`/`error` JSON bodies, `ts` values, `channel` ids; on demand 429 with `Retry-After`, 5xx, or an
`ok: false` error for the next calls of a method. It also serves `response_url` endpoints (`/respond/…`)
and the Socket Mode websocket (`apps.connections.open` → `/link`: `hello`, envelopes, acks by
`envelope_id`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.local_server import serve_locally
from tests.fakes.patience import HANG

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
BOT_USER = "UBOT"


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    channel: str | None = None  # only calls to this channel fail (None: any call of the method)
    stored: bool = False  # the call takes effect, then the answer fails (an upstream error after the write)


@dataclass
class Posted:
    """A message as a person would see it in Slack: the latest text and blocks after edits."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    edits: int = 0
    metadata: dict[str, Any] | None = None

    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]

    def button(self, label: str) -> dict[str, Any]:
        for element in self.buttons():
            if element["text"]["text"].rstrip("…") == label:
                return element
        raise AssertionError(f"no button {label!r} on {self.text!r}: {[b['text']['text'] for b in self.buttons()]}")

    def fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for block in self.blocks:
            for f in block.get("fields") or ():
                name, _, value = f["text"].partition("\n")
                out[name.strip("*")] = value
        return out


def _ts_key(ts: Any) -> tuple[int, int]:
    whole, _, fraction = str(ts).partition(".")
    return int(whole or 0), int(fraction.ljust(6, "0")[:6] or 0)


def _between(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages between `oldest` and `latest` (each exclusive unless `inclusive`; either may be absent)."""
    inclusive = str(params.get("inclusive")).lower() in ("true", "1")
    oldest, latest = params.get("oldest"), params.get("latest")
    if oldest:
        start = _ts_key(oldest)
        messages = [m for m in messages if _ts_key(m["ts"]) > start or (inclusive and _ts_key(m["ts"]) == start)]
    if latest:
        end = _ts_key(latest)
        messages = [m for m in messages if _ts_key(m["ts"]) < end or (inclusive and _ts_key(m["ts"]) == end)]
    return messages


@dataclass
class FakeSlackApi:
    users: dict[str, str] = field(default_factory=dict)  # id -> display name
    groups: dict[str, list[str]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> conversations.info channel
    history: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> message
    calls: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # response_url posts
    posted: list[Posted] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> name, bytes, where shared
    failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # method -> answered once the event is set
    url: str = ""
    now: Callable[[], float] = time.time  # Slack's clock: a message's ts is when Slack stored it
    _last_ts: int = 0  # microseconds: every ts is later than the one before, as in a channel
    _views: int = 0
    _runner: web.AppRunner | None = None
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ack_waiters: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0  # Socket Mode connections opened so far

    # --- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> FakeSlackApi:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/link", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner, self.url = await serve_locally(app)
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/respond/{key}"

    # --- scripting ------------------------------------------------------------------------------------

    def fail_next(self, method: str, *failures: Failure) -> None:
        self.failures[method].extend(failures)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def in_thread(self, channel: str, thread_ts: str) -> list[Posted]:
        return [p for p in self.posted if p.channel == channel and p.thread_ts == thread_ts]

    def top_level(self, channel: str) -> list[Posted]:
        return [p for p in self.posted if p.channel == channel and p.thread_ts is None]

    def texts(self, channel: str, thread_ts: str) -> list[str]:
        return [p.text for p in self.in_thread(channel, thread_ts)]

    # --- the Web API ----------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                params.update(dict(parse_qsl(body.decode())))
        for key in ("blocks", "view"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(Call(method, params))
        if method in self.held:
            await self.held[method].wait()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failure = self._take_failure(method, params)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if failure is not None and failure.stored and handler is not None:
            handler(params)
        if failure is not None:
            headers = {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else {}
            if failure.status >= 500:
                return web.Response(status=failure.status, text="upstream error", headers=headers)
            error = failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")
            return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(params))

    def _take_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        queue = self.failures[method]
        for failure in queue:
            if failure.channel is None or failure.channel == params.get("channel"):
                queue.remove(failure)
                return failure
        return None

    def _next_ts(self) -> str:
        micros = max(int(self.now() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "threaddesk",
            "team_id": "T0ACME",
            "user_id": BOT_USER,
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params["channel"])
        if channel in self.channels and not self.channels[channel].get("is_member", True):
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        thread = params.get("thread_ts")
        post = Posted(channel, ts, thread, str(params.get("text", "")), list(params.get("blocks") or []))
        metadata = params.get("metadata")
        post.metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.posted.append(post)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text"), "ts": ts}}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        for post in self.posted:
            if post.channel == params["channel"] and post.ts == params["ts"]:
                post.text, post.blocks = str(params.get("text", "")), list(params.get("blocks") or [])
                post.edits += 1
                return {"ok": True, "channel": post.channel, "ts": post.ts, "text": post.text}
        return {"ok": False, "error": "message_not_found"}

    def _chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params["channel"]), str(params["message_ts"])
        if not any(p.channel == channel and p.ts == ts for p in self.posted) and (channel, ts) not in self.history:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": self.permalink(channel, ts)}

    def permalink(self, channel: str, ts: str) -> str:
        """As Slack builds them: the workspace's address, the channel, `p` and the ts without its dot."""
        return f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """The bot's DM with one person (`users`): its id is `D` + the user id here (like `DALICE`)."""
        users = str(params.get("users") or "").split(",")
        if len(users) != 1 or users[0] not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel = "D" + users[0].removeprefix("U")
        self.channels.setdefault(channel, {"id": channel, "is_im": True, "user": users[0], "is_member": True})
        return {"ok": True, "channel": {"id": channel}}

    def dm_of(self, user: str) -> list[Posted]:
        """What the bot wrote to `user` in their DM (top level)."""
        return self.top_level("D" + user.removeprefix("U"))

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._views += 1  # like Slack: every opened modal has its own id
        return {"ok": True, "view": {**params["view"], "id": f"V{self._views:04d}"}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        uid = str(params["user"])
        if uid not in self.users:
            return {"ok": False, "error": "user_not_found"}
        name = self.users[uid]
        return {"ok": True, "user": {"id": uid, "name": name.lower(), "profile": {"display_name": name}}}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(params["usergroup"])
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.groups[group]}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(params["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": channel}

    def _as_message(self, post: Posted, params: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "message", "ts": post.ts, "text": post.text, "bot_id": "B0BOT"}
        if post.thread_ts:
            found["thread_ts"] = post.thread_ts
        if post.metadata and str(params.get("include_all_metadata")).lower() in ("true", "1"):
            found["metadata"] = post.metadata
        return found

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: a channel's history holds its top-level messages (a thread's replies are not in it),
        newest first, between `oldest` and `latest` (both exclusive unless `inclusive`), `limit` (default
        100, at most 999) to a page; `has_more` and `response_metadata.next_cursor` page on to older ones."""
        channel = str(params["channel"])
        mine = [self._as_message(p, params) for p in self.top_level(channel)]
        theirs = [m for (c, _), m in self.history.items() if c == channel and m.get("thread_ts") in (None, m["ts"])]
        found = sorted(mine + theirs, key=lambda m: _ts_key(m["ts"]), reverse=True)
        found = _between(found, params)
        start = int(str(params.get("cursor") or "0").removeprefix("next_ts:") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        page, more = found[start : start + limit], len(found) > start + limit
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": f"next_ts:{start + limit}" if more else ""},
        }

    def say(self, user: str, channel: str, text: str, ts: str) -> dict[str, Any]:
        """`user` writes `text` in `channel` at `ts`: it is in the channel's history from now on. Returns the
        `event_callback` Slack would deliver for it (the test decides whether it is delivered)."""
        message = {"type": "message", "user": user, "text": text, "ts": ts, "team": "T0ACME", "blocks": []}
        self.history[(channel, ts)] = message
        event = {**message, "channel": channel, "event_ts": ts, "channel_type": "channel"}
        return {"type": "event_callback", "team_id": "T0ACME", "event": event, "event_id": f"Ev{ts.replace('.', '')}"}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: the thread's parent first, then its replies oldest first, the replies between `oldest`
        and `latest` (exclusive unless `inclusive`), `limit` (default 100, at most 999) to a page, paging on
        with `response_metadata.next_cursor`. `ts` of a reply read from history answers that reply."""
        channel, ts = str(params["channel"]), str(params.get("ts"))
        found = self.history.get((channel, ts))
        if found is not None and found.get("thread_ts") not in (None, ts):
            return {"ok": True, "messages": [found], "has_more": False}
        parent = [found] if found is not None else []
        parent += [self._as_message(p, params) for p in self.top_level(channel) if p.ts == ts]
        mine = [self._as_message(p, params) for p in self.in_thread(channel, ts)]
        theirs = [m for (c, t), m in self.history.items() if c == channel and t != ts and m.get("thread_ts") == ts]
        replies = _between(sorted(mine + theirs, key=lambda m: _ts_key(m["ts"])), params)
        start = int(str(params.get("cursor") or "0").removeprefix("next_ts:") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        page, more = replies[start : start + limit], len(replies) > start + limit
        return {
            "ok": True,
            "messages": (parent if start == 0 else []) + page,
            "has_more": more,
            "response_metadata": {"next_cursor": f"next_ts:{start + limit}" if more else ""},
        }

    # --- file uploads: files.getUploadURLExternal, POST to the upload URL, files.completeUploadExternal --

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads[file_id] = {"filename": params["filename"], "length": int(params["length"]), "data": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id]["data"] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id]['data'])}")

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(params["files"]) if isinstance(params["files"], str) else params["files"]
        done = []
        for f in files:
            upload = self.uploads.get(f["id"])
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(channel=params.get("channel_id"), thread_ts=params.get("thread_ts"), title=f.get("title"))
            done.append({"id": f["id"], "title": f.get("title"), "name": upload["filename"]})
        return {"ok": True, "files": done}

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/link"}

    # --- response_url ---------------------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["key"], await request.json()))
        return web.Response(text="ok")

    def answers(self, key: str) -> list[str]:
        return [body.get("text", "") for k, body in self.responses if k == key]

    # --- Socket Mode ----------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        self._connected.set()
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                data = json.loads(frame.data)
                key = data.get("envelope_id")
                if key:
                    self.acks[key] = data
                    waiter = self._ack_waiters.pop(key, None)
                    if waiter and not waiter.done():
                        waiter.set_result(data)
        self.sockets.remove(ws)
        return ws

    async def drop_socket(self) -> None:
        """Close the live Socket Mode connection from Slack's side (a network drop, a server restart): the
        client opens a new one (apps.connections.open, then `hello`)."""
        self._connected.clear()
        await self.sockets[-1].close()

    def hold(self, method: str) -> asyncio.Event:
        """Calls to `method` get no answer until the returned event is set (a Slack call that hangs)."""
        return self.held.setdefault(method, asyncio.Event())

    async def connected(self) -> None:
        await asyncio.wait_for(self._connected.wait(), HANG)

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> dict[str, Any]:
        """Send one Socket Mode envelope and wait for the app's ack (Slack wants it within 3 s; how fast
        it comes is measured in bench/, not asserted here)."""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._ack_waiters[envelope_id] = waiter
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        await self.sockets[-1].send_json(envelope)
        return await asyncio.wait_for(waiter, HANG)
