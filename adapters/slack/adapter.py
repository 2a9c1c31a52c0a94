"""The running Slack adapter: start-up checks, then Socket Mode or HTTP mode until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.read_marks import ReadMarks
from adapters.registry import AdapterStartupError
from adapters.slack.app import Listeners
from adapters.slack.catch_up import SlackCatchUp
from adapters.slack.config import Secrets, SlackConfig
from adapters.slack.http_guard import signed_requests_only
from adapters.slack.people import Directory, GroupRoles, team_groups
from adapters.slack.platform import SlackPlatform, describe, make_client
from adapters.slack.translate import PLATFORM, user
from bot.ports import ChatPlatform, GroupMembers, PeopleNames, RoleSource
from bot.services.desk import Desk
from bot.services.teams import TeamDirectory
from bot.teams_config import TeamConfig

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackAdapter:
    def __init__(
        self,
        config: SlackConfig,
        secrets: Secrets,
        *,
        client: AsyncWebClient | None = None,
        teams: Sequence[TeamConfig] = (),
    ) -> None:
        """Construct inside the running event loop (the Web API client pools its connections there). `teams`:
        the `[[teams]]` whose `slack:group:S…` members are loaded with the role groups."""
        self.config = config
        self.secrets = secrets
        try:
            groups = team_groups(teams)
        except ValueError as exc:
            raise AdapterStartupError(str(exc)) from None
        #: the people `[[teams]] members` name one by one (`slack:U…`), named at start like the groups' people
        self.team_people = TeamDirectory(teams).people(PLATFORM)
        self.client = client or make_client(secrets.bot_token, config.api_base_url)
        self.platform: ChatPlatform = SlackPlatform(self.client)
        self.people = Directory(self.client)
        self.groups = GroupRoles(self.client, config.agent_groups, config.lead_groups, groups)
        self.role_sources: Sequence[RoleSource] = (self.groups,)
        self.member_sources: Sequence[GroupMembers] = (self.groups,)
        self.name_sources: Sequence[PeopleNames] = (self.people,)
        self.listeners = Listeners(config, self.client, self.people)
        http = config.mode == "http"
        self.app = AsyncApp(
            name="threaddesk",  # without a name bolt takes its caller's file name from inspect.stack(): ~0.1 s
            client=self.client,
            signing_secret=secrets.signing_secret if http else "unused-in-socket-mode",
            request_verification_enabled=http,
            logger=logging.getLogger("threaddesk.slack.bolt"),
        )
        self.listeners.register(self.app)
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.catch_up: SlackCatchUp | None = None  # Socket Mode only
        self.connected = False  # for /readyz: set up, and serving HTTP or connected over Socket Mode
        self.draining = False  # shutting down: HTTP answers 503 (Slack retries the event later)

    def attach(self, desk: Desk) -> None:
        self.listeners.desk = desk

    async def close(self) -> None:
        """Stop serving HTTP and close the Web API connections."""
        await self.stop_http()
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()

    # --- start-up ---------------------------------------------------------------------------------------

    async def check_setup(self) -> None:
        """auth.test, then the configured channels: one clear line per problem instead of a failure per post."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise AdapterStartupError(f"Slack: {_explain(exc)}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AdapterStartupError(
                f"Slack: cannot reach {self.config.api_base_url} ({type(exc).__name__}) — check the network "
                "and [slack] api_base_url"
            ) from None
        self.listeners.bot_user_id = str(auth.get("user_id") or "")
        bot_name = str(auth.get("user") or "ThreadDesk")
        log.info(
            "Slack: connected to workspace %s (%s) as @%s (%s)",
            auth.get("team"),
            auth.get("team_id"),
            bot_name,
            auth.get("user_id"),
        )
        checks = [
            ("queue_channel", self.config.queue_channel, True),
            ("leads_channel", self.config.leads_channel, False),
        ]
        checks += [("intake_channels", channel, False) for channel in self.config.intake_channels]
        for key, channel, required in checks:
            if channel is None:
                continue
            problem = await self._channel_problem(channel, bot_name)
            if problem is None:
                continue
            line = f"Slack: [slack] {key} {channel}: {problem}"
            if required:
                raise AdapterStartupError(line)
            log.error(line)

    async def _channel_problem(self, channel: str, bot_name: str) -> str | None:
        try:
            info = (await self.client.conversations_info(channel=channel)).get("channel") or {}
        except SlackApiError as exc:
            return _explain(exc)
        if info.get("is_archived"):
            return "the channel is archived"
        if not info.get("is_member") and not info.get("is_im"):
            name = info.get("name") or channel
            return f"the bot is not in #{name} — invite @{bot_name} to #{name} (type /invite @{bot_name} there)"
        return None

    async def refresh_groups_forever(self) -> None:
        if not (self.groups.watched or self.team_people):
            return
        while True:
            await self.refresh_groups()
            if not self.groups.watched:
                return  # only people named one by one: named once
            await asyncio.sleep(self.config.groups_refresh_seconds)

    async def refresh_groups(self) -> None:
        """Reload the groups; the teams' people not yet named get their Slack names stored (users.info, cached),
        so the desk names them before they have written."""
        if self.groups.watched:
            await self.groups.refresh()
        desk = self.listeners.desk
        if desk is None:
            return
        members = dict.fromkeys([*self.team_people, *self.groups.team_members()])
        named = []
        for person in desk.unnamed([user(uid) for uid in members]):
            name = await self.people.name(person.id)
            if name != person.id:  # Slack told (a failed lookup shows the id: try again next time)
                named.append(user(person.id, name))
        try:
            await desk.remember_people(named)
        except Exception:  # names are a nicety: the next refresh tries again
            log.exception("Slack: could not store the names of the teams' group members")

    # --- modes ------------------------------------------------------------------------------------------

    async def start_http(self, host: str | None = None, port: int | None = None) -> int:
        """Serve bolt's aiohttp endpoint at /slack/events. Returns the port actually bound (0 picks one)."""
        server = AsyncSlackAppServer(port=self.config.port, path=EVENTS_PATH, app=self.app, host=self.config.host)
        server.web_app.middlewares.append(self._refuse_while_draining)
        server.web_app.middlewares.append(signed_requests_only(self.secrets.signing_secret))
        self._runner = web.AppRunner(server.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host or self.config.host, self.config.port if port is None else port, reuse_address=True
        )
        try:
            await site.start()
        except OSError as exc:
            await self.stop_http()
            raise AdapterStartupError(
                f"Slack: cannot listen on {self.config.host}:{self.config.port} ({exc.strerror}) — "
                "change [slack] host/port"
            ) from None
        bound = self._runner.addresses[0][1]
        log.info("Slack: HTTP mode, Request URL path %s on %s:%s", EVENTS_PATH, host or self.config.host, bound)
        return int(bound)

    @web.middleware
    async def _refuse_while_draining(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.draining:
            return web.json_response({"error": "shutting down"}, status=503, headers={"Retry-After": "5"})
        desk = self.listeners.desk
        if desk is None:
            return await handler(request)
        with desk.acks.arriving():  # every request here is answered with an acknowledgement: handling waits
            return await handler(request)

    async def stop_intake(self) -> None:
        """Shutting down: new HTTP requests get 503 (Slack retries them); Socket Mode disconnects; returns when
        the events already taken are handled. The Web API client stays open so the outbox can be flushed."""
        self.draining = True
        self.connected = False
        if self.catch_up is not None:
            self.catch_up.cancel()
        if self._socket is not None:
            handler, self._socket = self._socket, None
            await handler.close_async()  # type: ignore[no-untyped-call]
        await self.listeners.idle()

    async def stop_http(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def serve(self, desk: Desk) -> None:
        self.attach(desk)
        refresher: asyncio.Task[None] | None = None
        try:
            await self.check_setup()
            refresher = asyncio.create_task(self.refresh_groups_forever(), name="slack-groups")
            if self.config.mode == "http":
                await self.start_http()
                self.connected = True
                await asyncio.Event().wait()
            else:
                await self.serve_socket_mode()
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            self.connected = False
            await self.close()

    async def serve_socket_mode(self) -> None:
        handler = AsyncSocketModeHandler(self.app, self.secrets.app_token, web_client=self.client)
        desk = self.listeners.desk
        assert desk is not None
        self.listeners.marks = marks = ReadMarks(desk.mark_read, PLATFORM)
        self.catch_up = catch_up = SlackCatchUp(self.client, desk, self.config, marks, self.listeners.take_missed)
        handler.client.on_message_listeners.append(catch_up.on_socket_message)  # `hello` on every connection
        try:
            await handler.connect_async()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:
            raise AdapterStartupError(f"Slack Socket Mode: {_explain(exc, app_token=True)}") from None
        log.info("Slack: Socket Mode connected")
        self._socket = handler
        self.connected = True
        try:
            await asyncio.Event().wait()
        finally:
            catch_up.cancel()
            if self._socket is not None:
                self._socket = None
                await handler.close_async()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(marks.flush(), timeout=5)


def _explain(exc: SlackApiError, *, app_token: bool = False) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {exc.response.status_code}")
    if app_token and error in ("invalid_auth", "not_authed", "not_allowed_token_type"):
        return (
            f"Slack said {error}: SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write, "
            "and Socket Mode must be on in the app settings"
        )
    return describe(error, data.get("needed"))
