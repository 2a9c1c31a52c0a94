"""`kill -9` of a real `threaddesk run` serving Discord in the middle of a burst of customer messages, more
written while it is down, then a restart: in the fake Discord, every message is there exactly once — one
ticket, one acknowledgement and one queue card per new message, one relay on its ticket's card per follow-up.

Customers write at their own pace from the fake's loop (a background thread), and the process is killed once
part of the burst is acknowledged: usually messages are on the wire, waiting in the inbox, posts half-sent.
How many is reported, not required — a desk that keeps up with the burst has none in flight, and every message
must still be answered exactly once. What is written while it is down never comes through the gateway (a new
session starts empty): the restarted desk must read it back. Follow-ups go to DMs whose ticket is open; a
first DM from someone without one is out of reach after a crash (Discord cannot list a bot's DM channels; see
README)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.adapters.slack.test_cli import _free_port
from tests.fakes.discord_api import EPHEMERAL, TOKEN, FakeDiscord
from tests.fakes.loop_thread import LoopThread, loop_in_thread
from tests.fakes.patience import HANG, wait_until
from tests.ops.test_shutdown_process import _wait_ready

T = TypeVar("T")

ACK = "we've opened ticket #"
DM_CUSTOMERS = 40  # each opens a ticket by DM before the burst, then writes follow-ups in it during the burst
FOLLOW_UPS = 2  # per DM customer
NEW_IN_INTAKE = int(os.environ.get("CRASH_MESSAGES", "200"))  # new tickets in the intake channel, one customer each
RATE = 150.0  # messages a second, all customers together: usually more than the desk answers
KILL_AFTER = NEW_IN_INTAKE // 5  # acknowledgements of the burst seen before the kill
WHILE_DOWN = 30  # messages written after the kill before the restart begins (more come during the start)


@dataclass
class Said:
    kind: str  # "opener" (a first DM), "new" (intake channel) or "follow-up" (in a DM whose ticket is open)
    user: dict[str, Any]
    channel: str
    text: str
    id: str = ""  # once written

    @property
    def acked_in(self) -> str:
        """An intake message is acknowledged in the thread started on it; a DM in the DM."""
        return self.id if self.kind == "new" else self.channel


@dataclass
class World:
    fake: FakeDiscord
    intake: str
    queue: str
    agents: str
    openers: list[Said]
    burst: list[Said]
    written: list[Said] = field(default_factory=list)


def _world(fake: FakeDiscord) -> World:
    intake, queue = fake.text_channel("support"), fake.text_channel("support-queue")
    agents = fake.role("Support")
    fake.user("Bob", agents)
    dm_people = [fake.user(f"Dee {n}") for n in range(DM_CUSTOMERS)]
    openers = [Said("opener", p, fake.dm_channel(p), f"Dee {n}: invoice {n} is wrong") for n, p in enumerate(dm_people)]
    new = [
        Said("new", fake.user(f"Ian {n}"), intake, f"Ian {n}: order {n} never arrived") for n in range(NEW_IN_INTAKE)
    ]
    follow_ups = [
        Said("follow-up", p, fake.dm_channel(p), f"Dee {n} again ({k + 1}): still wrong")
        for k in range(FOLLOW_UPS)
        for n, p in enumerate(dm_people)
    ]
    burst: list[Said] = []
    every = max(1, len(new) // len(follow_ups))
    for n, said in enumerate(new):  # the follow-ups spread through the burst
        burst.append(said)
        if n % every == every - 1 and follow_ups:
            burst.append(follow_ups.pop(0))
    return World(fake, intake, queue, agents, openers, burst + follow_ups)


async def _write(world: World, said: list[Said], rate: float) -> None:
    """Customers writing, `rate` messages a second in all (their schedule, not a wait for the bot)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, message in enumerate(said):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        message.id = world.fake.say(message.user, message.channel, message.text)
        world.written.append(message)


async def _burst(world: World, killed: asyncio.Event) -> None:
    """The burst: its first half at once; the second half not before the kill (on a machine slow enough to
    get through the first half before the kill comes), so it is written while the desk is down."""
    half = len(world.burst) // 2
    await _write(world, world.burst[:half], RATE)
    await killed.wait()
    await _write(world, world.burst[half:], RATE)


def _posted(fake: FakeDiscord) -> dict[str, list[dict[str, Any]]]:
    """What the bot posted that everyone sees, by channel, thread or DM (one pass over all messages)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for message in fake.messages.values():
        if message["author"]["id"] == fake.bot_user["id"] and not message["flags"] & EPHEMERAL:
            found.setdefault(message["channel_id"], []).append(message)
    return found


def _acked(world: World, said: list[Said]) -> int:
    """How many of these messages opened a ticket and have their acknowledgement."""
    posted = _posted(world.fake)
    opened = [s for s in said if s.id and s.kind != "follow-up"]
    return sum(1 for s in opened if any(ACK in m["content"] for m in posted.get(s.acked_in, ())))


def _seen(world: World) -> dict[str, Any]:
    """What people see, per message: acknowledgements, queue cards, follow-ups relayed on the cards."""
    posted = _posted(world.fake)
    acks = {s.id: [m["content"] for m in posted.get(s.acked_in, ()) if ACK in m["content"]] for s in world.written}
    cards = {m["embeds"][0]["title"].split(" ")[0]: m for m in posted.get(world.queue, ()) if m["embeds"]}
    relays: dict[str, list[str]] = {}
    expected: dict[str, list[str]] = {}
    for opener in world.openers:
        name = opener.user["global_name"]
        number = "#" + (acks[opener.id] or [f"{ACK}?"])[0].split(ACK, 1)[1].split()[0]
        card = cards.get(number)
        shown = posted.get(card["id"], []) if card else []
        relays[name] = [m["content"] for m in shown if m["content"].startswith(f"{name} wrote on {number}:")]
        expected[name] = [
            f"{name} wrote on {number}: {s.text}"
            for s in world.written
            if s.kind == "follow-up" and s.user is opener.user
        ]
    opened = {i: a for i, a in acks.items() if i in {s.id for s in world.written if s.kind != "follow-up"}}
    return {
        "acks per new message": Counter(len(a) for a in opened.values()),
        "not exactly one ack": {i: a for i, a in opened.items() if len(a) != 1},
        "cards per number": Counter(m["embeds"][0]["title"].split(" ")[0] for m in posted.get(world.queue, ())),
        "relays": relays,
        "follow-ups written": expected,
    }


def _start(config: Path, log: Path) -> subprocess.Popen[str]:
    """`threaddesk run`, its log in a file (a pipe nobody reads until the end would fill up and stall it)."""
    with log.open("w", encoding="utf-8") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "run", "--config", str(config), "--log-format", "json", "-v"],
            env={**os.environ, "DISCORD_TOKEN": TOKEN},
            stderr=sink,
            text=True,
        )


def _database(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as conn:
        return {
            "tickets": conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0],
            "inbox": conn.execute("SELECT COUNT(*) FROM inbox").fetchone()[0],
            "outbox": dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()),
        }


@pytest.fixture
def discord_in_thread() -> Iterator[tuple[LoopThread, FakeDiscord]]:
    """The fake Discord on its own loop in a thread (the CLI runs its own `asyncio.run`)."""
    with loop_in_thread() as thread:
        fake = thread.run(FakeDiscord().start())
        yield thread, fake
        thread.run(fake.stop(), 5)


def test_kill_9_mid_burst_then_restart_loses_and_doubles_nothing(
    tmp_path: Path, discord_in_thread: tuple[LoopThread, FakeDiscord]
) -> None:
    thread, fake = discord_in_thread
    world = thread.call(_world, fake)
    tickets = DM_CUSTOMERS + NEW_IN_INTAKE
    ops_port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
path = "desk.db"
[ops]
enabled = true
port = {ops_port}
[incidents]
enabled = false  # hundreds of look-alike complaints: this test is about crashes
[intake]
max_open_per_customer = 0

[discord]
enabled = true
api_base_url = "{fake.api_base_url}"
guild_id = "{fake.guild_id}"
intake_channels = ["{world.intake}"]
queue_channel = "{world.queue}"
agent_roles = ["{world.agents}"]
""",
        encoding="utf-8",
    )
    ops = f"http://127.0.0.1:{ops_port}"
    first = _start(config, tmp_path / "first.log")
    second: subprocess.Popen[str] | None = None
    try:
        _wait_ready(ops, first)
        thread.run(_write(world, world.openers, RATE))
        wait_until(lambda: thread.call(_acked, world, world.openers) == DM_CUSTOMERS, "the DM tickets")
        killed = thread.call(asyncio.Event)
        writing = asyncio.run_coroutine_threadsafe(_burst(world, killed), thread.loop)
        wait_until(lambda: thread.call(_acked, world, world.burst) >= KILL_AFTER, "the burst to get going")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=HANG)
        thread.call(killed.set)
        at_kill = _database(tmp_path / "desk.db")
        written = thread.call(len, world.written)
        # what was in flight at the kill (messages kept but not handled, posts not sent yet) depends on how fast
        # this machine answers against RATE: reported, not required — the checks below hold either way
        in_flight = at_kill["inbox"] + sum(n for state, n in at_kill["outbox"].items() if state != "delivered")
        print(f"in flight at the kill: {in_flight} ({at_kill})")
        wait_until(lambda: thread.call(len, world.written) >= written + WHILE_DOWN, "messages written while it is down")
        second = _start(config, tmp_path / "second.log")
        _wait_ready(ops, second)
        writing.result(HANG)

        def settled() -> bool:
            now = _database(tmp_path / "desk.db")
            return now["tickets"] == tickets and now["inbox"] == 0 and set(now["outbox"]) == {"delivered"}

        wait_until(settled, "every message taken in and every post sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=HANG) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    logs = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("first.log", "second.log")}
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
    caught_up = [
        json.loads(line)["message"] for line in logs["second.log"].splitlines() if "discord: caught up" in line
    ]
    assert caught_up and not caught_up[0].startswith("discord: caught up: 0 "), caught_up  # read back, really

    seen = thread.call(_seen, world)
    assert seen["acks per new message"] == Counter({1: tickets}), seen["not exactly one ack"]
    assert seen["cards per number"] == Counter({f"#{n}": 1 for n in range(1, tickets + 1)})
    assert seen["relays"] == seen["follow-ups written"]  # each follow-up on its ticket's card, once, in order
