"""`threaddesk run` starts Discord from the config and DISCORD_TOKEN (the composition root, not a test harness)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from adapters.cli import ADAPTERS
from adapters.cli.app import SPECS
from adapters.cli.run import _run_platforms
from adapters.discord import SPEC
from bot.config import load_settings
from tests.adapters.discord.conftest import discord_config
from tests.adapters.discord.people import find
from tests.fakes.discord_api import TOKEN, FakeDiscord, eventually


async def test_run_starts_discord_from_the_config(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SPEC in SPECS
    intake, queue = fake.text_channel("support"), fake.text_channel("queue")
    agents = fake.role("Support")
    alice, bob = fake.user("Alice"), fake.user("Bob", agents)
    raw = discord_config(fake, intake_channels=[intake], queue_channel=queue, agent_roles=[agents])
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true") for k, v in raw.items())
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "desk.db"\n\n[discord]\n{lines}\n', encoding="utf-8")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    settings = load_settings(config, ADAPTERS)
    running = asyncio.create_task(_run_platforms(settings, [SPEC]))
    try:
        await eventually(lambda: fake.identifies == 1, what="the bot started by `run`")
        asked = fake.say(alice, intake, "Sync is broken on Android")
        await eventually(lambda: find(fake, asked, "we've opened ticket #1"), what="the acknowledgement")
        card = (await eventually(lambda: fake.bot_messages_in(queue)))[0]
        claim = fake.press(bob, card["id"], "Claim")  # Bob is an agent by his guild role
        await eventually(lambda: claim.followups)
        assert claim.texts[0].startswith("You claimed #1")
        assert (tmp_path / "desk.db").exists()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
