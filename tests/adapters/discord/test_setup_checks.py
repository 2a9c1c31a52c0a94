"""Start-up checks on Discord, like Slack's: each problem one line naming the fix, never a traceback."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import discord
import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.config import DiscordConfig
from adapters.registry import AdapterStartupError
from bot.bootstrap import build_desk
from bot.config import Settings
from bot.storage import open_store
from tests.adapters.discord.conftest import World
from tests.fakes.discord_api import BOT_PERMISSIONS, TOKEN, FakeDiscord, P


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("adapters")]


async def _start_fails(world: World, tmp_path: Path, **changes: object) -> str:
    """Start a second bot on the same config (with `changes`); return the one line it stops with."""
    config = world.config.model_copy(update=changes)
    async with open_store(tmp_path / "other.db") as db:
        with pytest.raises(AdapterStartupError) as raised:
            await DiscordAdapter(config, TOKEN).serve(build_desk(Settings(), db))
    return str(raised.value)


async def test_a_sound_setup_starts_quietly_and_problems_outside_the_queue_are_one_line_each(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = world.fake
    assert _problems(caplog) == []
    # voice support is not installed and not needed: discord.py's warnings about it are not shown
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True, raising=False)
    fake.overwrite(world.leads, fake.bot_role, deny=P.ATTACH_FILES)  # the digest chart could not be posted
    fake.roles[fake.bot_role]["permissions"] = str(BOT_PERMISSIONS & ~P.READ_MESSAGE_HISTORY)
    fake.overwrite(world.intake, fake.bot_role, allow=P.READ_MESSAGE_HISTORY)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await world.restart()
    assert _problems(caplog) == [
        "Discord: the bot's role in Fake Studio lacks Read Message History (🎫 reactions and “Create ticket” "
        "work in any channel) — Server Settings → Roles → the bot's role: allow them, or re-invite it with the "
        "link `threaddesk discord invite-url` prints",
        f"Discord: [discord] leads_channel {world.leads}: the bot lacks Attach Files in #leads — #leads → Edit "
        "Channel → Permissions → the bot's role: allow Attach Files",
    ]
    assert not [r for r in caplog.records if "voice will NOT be supported" in r.getMessage()]
    assert world.adapter.bot is not None and world.adapter.bot.is_ready()  # the desk runs regardless


async def test_a_queue_channel_the_bot_cannot_use_stops_the_start(world: World, tmp_path: Path) -> None:
    fake = world.fake
    fake.overwrite(world.queue, fake.guild_id, deny=P.VIEW_CHANNEL)  # a private channel the bot was not added to
    line = await _start_fails(world, tmp_path)
    assert line == (
        f"Discord: [discord] queue_channel {world.queue}: the bot cannot see #support-queue — #support-queue → "
        "Edit Channel → Permissions → the bot's role: allow View Channels"
    )
    fake.overwrite(world.queue, fake.guild_id)
    fake.overwrite(world.queue, fake.bot_role, deny=P.CREATE_PUBLIC_THREADS | P.SEND_MESSAGES_IN_THREADS)
    assert (await _start_fails(world, tmp_path)).endswith(
        "the bot lacks Create Public Threads, Send Messages in Threads in #support-queue — #support-queue → Edit "
        "Channel → Permissions → the bot's role: allow Create Public Threads, Send Messages in Threads"
    )
    assert (await _start_fails(world, tmp_path, queue_channel="123")) == (
        "Discord: [discord] queue_channel 123: no such channel in Fake Studio — copy its id again (right-click "
        "the channel → Copy Channel ID)"
    )


async def test_a_bot_outside_the_server_or_a_wrong_server_id_is_one_line(world: World, tmp_path: Path) -> None:
    fake = world.fake
    fake.in_guild = False
    assert await _start_fails(world, tmp_path) == (
        f"Discord: the bot is not in the server {fake.guild_id} ([discord] guild_id) — add it with the link "
        "`threaddesk discord invite-url` prints"
    )
    fake.in_guild = True
    assert (await _start_fails(world, tmp_path, guild_id="42")).startswith(
        "Discord: [discord] guild_id 42: no such server — copy its id again"
    )


async def test_commands_refused_for_want_of_the_applications_commands_scope(world: World, tmp_path: Path) -> None:
    fake = world.fake
    fake.fail_next(
        "PUT",
        rf"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands",
        403,
        {"message": "Missing Access", "code": 50001},
    )
    line = await _start_fails(world, tmp_path)
    assert line.startswith("Discord refused to register the app commands (403 Missing Access)")
    assert "applications.commands" in line and "threaddesk discord invite-url" in line


async def test_an_unreachable_api_or_a_bad_token_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = DiscordConfig(enabled=True, api_base_url=f"http://127.0.0.1:{port}/api/v10")
    async with open_store(tmp_path / "d.db") as db:
        desk = build_desk(Settings(), db)
        with pytest.raises(AdapterStartupError) as raised:
            await DiscordAdapter(config, TOKEN).serve(desk)
        assert str(raised.value) == (
            f"Discord: cannot reach http://127.0.0.1:{port}/api/v10 (ClientConnectorError) — check the network and "
            "[discord] api_base_url"
        )
        fake = await FakeDiscord().start()
        try:
            wrong = DiscordConfig(enabled=True, api_base_url=fake.api_base_url)
            with pytest.raises(AdapterStartupError) as raised:
                await DiscordAdapter(wrong, "not-the-token").serve(desk)
            assert "\n" not in str(raised.value) and "Reset Token" in str(raised.value)
        finally:
            await fake.stop()
