"""Chaos on PostgreSQL: four `threaddesk run` processes on one database behind a round-robin load balancer,
one of them killed with SIGKILL every 3 s (the one serving longest, never the last one serving) and started
again, while 2,000 customers write in (delivered the way Slack delivers events: sent again until a 200, each
resend to the next process), agents reply with `/ticket reply`, and the scheduler posts SLA alerts (urgent
tickets breach a 5 s first-response target) and a digest every minute (the first brought forward to the start).

What people see on the fake Slack afterwards: one ticket per message; one acknowledgement in each customer's
thread and one queue card per ticket; the agents' replies in their customer's thread once each and in the
order they were sent; every SLA alert once in the card's thread and once in the leads channel; every digest
once. No process logged a traceback.

`CHAOS_EVENTS` lowers the number of customers while hunting a failure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack.test_cli import _free_port, api_in_thread
from tests.e2e.test_crash_slack import SECRET, SlackSender, _start
from tests.fakes.loop_thread import LoopThread
from tests.fakes.patience import HANG, wait_until
from tests.fakes.slack_api import FakeSlackApi, Posted
from tests.pg import fresh_database, require_server

__all__ = ["api_in_thread"]

EVENTS = int(os.environ.get("CHAOS_EVENTS", "2000"))
PROCESSES = 4
KILL_EVERY = 3.0  # the chaos schedule: a SIGKILL this often, whatever the desk is doing
SENDERS = 16  # events in flight at once
#: customers 50, 100, 150, … write "order 50 never arrived": an intake rule makes their tickets urgent, with a
#: first-response target short enough to breach during the run (nobody answers them)
URGENT = [n for n in range(50, EVENTS, 50)]
URGENT_RULE = r"order \d*[05]0 never"
#: the tickets agents answer, three replies each, one after the other as a person types them
REPLIED = [n for n in range(7, EVENTS, 40)]
REPLIES = 3
AGENT, LEAD = "UAGENT", "ULEAD"
DIGEST = "📊 Queue digest — "


def _config(url: str, api: FakeSlackApi, slack_port: int, ops_port: int, charts: Path) -> str:
    return f"""
[store]
url = "{url}"
pool_size = 4
[ops]
enabled = true
port = {ops_port}
[incidents]
enabled = false  # two thousand look-alike complaints: this test is about processes dying
[intake]
max_open_per_customer = 0
[[intake.rules]]
match = '{URGENT_RULE}'
priority = "urgent"
[roles]
agents = ["slack:{AGENT}"]
leads = ["slack:{LEAD}"]
[sla]
warn_at = 0.5
[sla.targets]
urgent = {{ first_response = "5s", resolution = "1d" }}
[digests]
timezone = "UTC"
charts_dir = "{charts}"
[[digests.schedules]]
cron = "* * * * *"
platform = "slack"

[slack]
enabled = true
mode = "http"
host = "127.0.0.1"
port = {slack_port}
api_base_url = "{api.api_url}"
queue_channel = "CQUEUE"
leads_channel = "CLEADS"
"""


class _Sessions:
    """An operator's psql sessions on the desk's database, kept open for the whole test on a loop thread of
    their own. The test watches the database many times a second from several threads (`wait_until` every
    20 ms, eight agents looking for their tickets); a connection per look made the server start a backend
    process each time, CPU the desk's own processes were short of on a 2-core machine."""

    def __init__(self, url: str) -> None:
        async def open_pool() -> asyncpg.Pool:
            return await asyncpg.create_pool(url, min_size=1, max_size=SENDERS)

        self.thread = LoopThread()
        self.pool = self.thread.run(open_pool())

    def fetch(self, statement: str, *args: Any) -> list[asyncpg.Record]:
        return list(self.thread.run(self.pool.fetch(statement, *args)))

    def close(self) -> None:
        self.thread.run(self.pool.close())
        self.thread.close()


_sessions: dict[str, _Sessions] = {}


def _sql(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    """Rows read on a session of their own, as an operator with psql would (the `database` fixture's)."""
    return _sessions[url].fetch(statement, *args)


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for the desk (the processes take a URL), dropped afterwards."""
    with asyncio.Runner() as runner:
        runner.run(require_server())
        block = fresh_database()
        url = runner.run(block.__aenter__())
        _sessions[url] = _Sessions(url)
        try:
            yield url
        finally:
            _sessions.pop(url).close()
            runner.run(block.__aexit__(None, None, None))


@dataclass
class Instance:
    """One `threaddesk run` process of the desk, started again after each kill (`generation` counts them)."""

    config: Path
    events: str
    ops: str
    process: subprocess.Popen[str] | None = None
    generation: int = 0
    started: float = 0.0
    serving: bool = False  # has said it is ready since it was started
    logs: list[Path] = field(default_factory=list)


class Fleet:
    """The desk's processes, and the chaos schedule that kills them."""

    def __init__(self, folder: Path, url: str, instances: list[Instance]) -> None:
        self.folder = folder
        self.url = url
        self.instances = instances
        self.kills = 0
        self.spared = 0  # chaos ticks with fewer than two processes serving
        self.start_ups: list[float] = []  # seconds from start to ready
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._chaos, daemon=True)

    def start(self, i: int) -> None:
        instance = self.instances[i]
        log = self.folder / f"instance-{i}-{instance.generation}.log"
        instance.logs.append(log)
        instance.process = _start(instance.config, log)
        instance.started = time.monotonic()
        instance.serving = False

    def generation(self, i: int) -> int:
        with self._lock:
            return self.instances[i].generation

    def kill(self, i: int) -> None:
        """SIGKILL, then wait until the server has dropped the dead process's sessions (from then on what it
        committed is all it will ever commit), then start it again."""
        instance = self.instances[i]
        assert instance.process is not None
        pid = instance.process.pid
        instance.process.send_signal(signal.SIGKILL)
        instance.process.communicate(timeout=HANG)
        sessions = "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1"
        wait_until(
            lambda: not _sql(self.url, sessions, f"threaddesk-%-{pid}-%"),
            f"the server to drop the sessions of killed process {pid}",
        )
        with self._lock:
            instance.generation += 1
        self.kills += 1
        self.start(i)

    def wait_ready(self, i: int) -> None:
        instance = self.instances[i]

        def ready() -> bool:
            assert instance.process is not None and instance.process.poll() is None, "threaddesk run exited"
            return self.ready(i)

        wait_until(ready, f"instance {i} to say ready")

    def ready(self, i: int) -> bool:
        """/readyz says 200 (a probe that fails or times out on a loaded machine: not ready)."""
        instance = self.instances[i]
        try:
            with urllib.request.urlopen(f"{instance.ops}/readyz", timeout=5) as response:
                ready = int(response.status) == 200
        except OSError:  # refused, reset, timed out, or an error status
            return False
        if ready and not instance.serving:
            instance.serving = True
            self.start_ups.append(time.monotonic() - instance.started)
        return ready

    def _chaos(self) -> None:
        """Every KILL_EVERY seconds the process that has served longest gets SIGKILL and is started again at
        once: the schedule is the test's own, not a wait for the bot. The last process serving is spared (a
        desk with none is down, not chaotic), so on a slow machine, where start-ups take longer than the
        ticks, some ticks find nobody to kill."""
        try:
            next_at = time.monotonic() + KILL_EVERY
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                next_at += KILL_EVERY
                serving = [i for i in range(len(self.instances)) if self.ready(i)]
                if len(serving) < 2:
                    self.spared += 1
                    continue
                self.kill(min(serving, key=lambda i: self.instances[i].started))
        except BaseException as exc:  # surfaced by `calm`
            self._failure = exc

    def unleash(self) -> None:
        self._thread.start()

    def calm(self) -> None:
        """Stop the chaos; every process is then running, and ready."""
        self._stop.set()
        self._thread.join(HANG)
        if self._failure is not None:
            raise self._failure
        for i in range(len(self.instances)):
            self.wait_ready(i)

    def stop(self) -> None:
        """SIGTERM to every process: each finishes what it has in hand and exits 0."""
        for instance in self.instances:
            assert instance.process is not None
            instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            assert instance.process is not None
            instance.process.communicate(timeout=HANG)
            assert instance.process.returncode == 0, (instance.logs[-1], instance.process.returncode)

    def kill_all(self) -> None:
        self._stop.set()
        for instance in self.instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.kill()
                instance.process.communicate()


def _command(url: str, user: str, text: str, response_url: str, trigger: str) -> int | None:
    """`/ticket …` as Slack posts a slash command. None when no process took it (refused: it is down)."""
    form = {
        "token": "legacy",
        "team_id": "T0ACME",
        "channel_id": "CQUEUE",
        "channel_name": "support-queue",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ticket",
        "text": text,
        "response_url": response_url,
        "trigger_id": trigger,
    }
    body = urlencode(form)
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
    }
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body.encode(), headers=headers), timeout=3) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (ConnectionRefusedError, urllib.error.URLError) as exc:
        if isinstance(exc, ConnectionRefusedError) or isinstance(exc.reason, ConnectionRefusedError):
            return None
        return 0  # reset or timed out: it may have been taken
    except (ConnectionError, TimeoutError, OSError):
        return 0


class Agents:
    """Agents answering customers with `/ticket reply N text`, a command at a time per ticket, each sent to the
    next process in turn. An agent whose command got no answer because the process died looks at the ticket
    (as `/ticket show` would) and types the reply again only when it is not there."""

    def __init__(self, fleet: Fleet, api: FakeSlackApi) -> None:
        self.fleet = fleet
        self.api = api
        self.sent_again = 0
        self._turn = itertools.count()
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def _next(self) -> tuple[int, int]:
        with self._lock:
            return next(self._turn) % PROCESSES, next(self._ids)

    def ticket_of(self, n: int) -> int:
        found = wait_until(
            lambda: _sql(self.fleet.url, "SELECT number FROM tickets WHERE customer_id=$1", f"U{n:04d}"),
            f"customer {n}'s ticket",
        )
        return int(found[0]["number"])

    def answer(self, n: int) -> None:
        number = self.ticket_of(n)
        for k in range(1, REPLIES + 1):
            self.reply(n, number, f"Reply {k} of {REPLIES} to customer {n}")

    def reply(self, n: int, number: int, text: str) -> None:
        deadline = time.monotonic() + HANG
        while True:
            assert time.monotonic() < deadline, f"{text!r} never got through"
            i, attempt = self._next()
            generation = self.fleet.generation(i)
            key = f"reply-{attempt}"
            trigger = f"13345224609.738474920.{attempt:031x}"
            status = _command(
                self.fleet.instances[i].events, AGENT, f"reply {number} {text}", self.api.response_url(key), trigger
            )
            if status is None or status >= 500:
                continue  # nobody took it: the next process
            assert status in (0, 200), status
            # the agent waits for the answer, or sees the process die without one
            wait_until(
                lambda: self.api.answers(key) or self.fleet.generation(i) != generation,  # noqa: B023 (called here)
                f"an answer to {text!r}",
            )
            if answers := self.api.answers(key):
                # a message a killed process kept but had not handled is handled from the inbox by another,
                # which names the customer by their Slack id (the inbox keeps the event as it came)
                assert answers in ([f"Sent to Customer {n} on #{number}."], [f"Sent to U{n:04d} on #{number}."])
                return
            if self._landed(number, text):
                return
            self.sent_again += 1

    def _landed(self, number: int, text: str) -> bool:
        rows = _sql(
            self.fleet.url,
            "SELECT count(*) AS c FROM ticket_messages WHERE ticket=$1 AND author_role='agent' AND body=$2",
            number,
            text,
        )
        return int(rows[0]["c"]) > 0


def _settled(url: str) -> tuple[int, int, int, int]:
    """Tickets, messages waiting in the inbox, posts not delivered yet, SLA breaches recorded."""
    row = _sql(
        url,
        "SELECT (SELECT count(*) FROM tickets) AS t, (SELECT count(*) FROM inbox) AS i,"
        " (SELECT count(*) FROM outbox WHERE state <> 'delivered') AS o,"
        " (SELECT count(*) FROM sla_alerts WHERE level = 'breach') AS b",
    )[0]
    return int(row["t"]), int(row["i"]), int(row["o"]), int(row["b"])


def _digests(api: FakeSlackApi) -> list[str]:
    return [p.text for p in api.top_level("CLEADS") if p.text.startswith(DIGEST)]


def _minute_marks(start: datetime, end: datetime) -> list[datetime]:
    """The whole minutes strictly after `start`, up to `end`."""
    mark = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    marks = []
    while mark <= end:
        marks.append(mark)
        mark += timedelta(minutes=1)
    return marks


def test_four_processes_one_killed_every_3s_lose_and_double_nothing(
    tmp_path: Path, api_in_thread: FakeSlackApi, database: str
) -> None:
    api = api_in_thread
    api.channels["CQUEUE"]["is_member"] = True
    api.channels["CLEADS"] = {"id": "CLEADS", "name": "support-leads", "is_member": True}
    api.users.update({f"U{n:04d}": f"Customer {n}" for n in range(EVENTS)})
    api.users.update({AGENT: "Agent", LEAD: "Lead"})
    instances = []
    for i in range(PROCESSES):
        slack_port, ops_port = _free_port(), _free_port()
        config = tmp_path / f"instance-{i}.toml"
        config.write_text(_config(database, api, slack_port, ops_port, tmp_path / "charts"), encoding="utf-8")
        instances.append(
            Instance(config, f"http://127.0.0.1:{slack_port}/slack/events", f"http://127.0.0.1:{ops_port}")
        )
    fleet = Fleet(tmp_path, database, instances)
    sender = SlackSender(*(instance.events for instance in instances))
    agents = Agents(fleet, api)
    began = time.monotonic()
    first_start = datetime.now(UTC)
    try:
        for i in range(PROCESSES):  # at once: four processes migrate and seed one empty database together
            fleet.start(i)
        for i in range(PROCESSES):
            fleet.wait_ready(i)
        fleet.unleash()
        # the first digest falls due now, among the kills, not at the next whole minute (up to 60 s after the
        # rest has settled): every process is woken to it at once, as at a minute mark
        _sql(
            database,
            "WITH due AS (UPDATE jobs SET due_at = now() WHERE kind = 'digest' RETURNING name)"
            " SELECT name, pg_notify('threaddesk:' || current_schema(), 'outbox') FROM due",
        )
        with ThreadPoolExecutor(SENDERS) as pool:
            acknowledged = list(pool.map(sender.send, range(EVENTS)))
        assert all(acknowledged), f"{acknowledged.count(False)} event(s) never acknowledged: {sender.failures}"
        intake_done = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(agents.answer, REPLIED))
        replied = time.monotonic()
        wait_until(
            lambda: _settled(database) == (EVENTS, 0, 0, len(URGENT)) and _digests(api),
            f"(tickets, inbox, outbox, breaches) to be {(EVENTS, 0, 0, len(URGENT))} and the digests posted",
        )
        settled = time.monotonic()
        fleet.calm()
        # what the last kill left, taken over
        wait_until(lambda: _settled(database)[1:3] == (0, 0), "the inbox and outbox to empty")
        fleet.stop()
        stopped = datetime.now(UTC)
    finally:
        fleet.kill_all()
    took = time.monotonic() - began
    print(
        f"chaos: {EVENTS} events in {took:.0f}s (all acknowledged at {intake_done - began:.0f}s, replies sent at"
        f" {replied - began:.0f}s, caught up at {settled - began:.0f}s), {fleet.kills} kills"
        f" ({fleet.spared} ticks spared; start-up to ready median {statistics.median(fleet.start_ups):.1f}s),"
        f" {sum(sender.attempts.values()) - EVENTS} events sent again,"
        f" {agents.sent_again} replies typed again; no 200: {dict(sender.failures)}"
    )
    for instance in instances:
        for log in instance.logs:
            assert "Traceback" not in log.read_text(encoding="utf-8"), log
    assert fleet.kills >= 2, "the run was too short for any chaos"
    if EVENTS >= 1000:  # a full run outlasts several kills while events arrive: some were really sent again
        assert max(sender.attempts.values()) > 1

    assert _settled(database) == (EVENTS, 0, 0, len(URGENT))
    customers = [r["customer_id"] for r in _sql(database, "SELECT customer_id FROM tickets")]
    assert sorted(customers) == sorted(f"U{n:04d}" for n in range(EVENTS))  # one ticket per event
    numbers = {r["customer_id"]: int(r["number"]) for r in _sql(database, "SELECT customer_id, number FROM tickets")}

    threads: dict[tuple[str, str | None], list[Posted]] = defaultdict(list)
    for post in list(api.posted):
        threads[(post.channel, post.thread_ts)].append(post)
    for n in range(EVENTS):  # what each customer sees in their thread
        texts = [p.text for p in threads[(f"D{n:04d}", f"1700000{n:03d}.000100")]]
        acks = [t for t in texts if "we've opened ticket" in t]
        assert len(acks) == 1 and f"#{numbers[f'U{n:04d}']} " in acks[0], (n, texts)
        replies = [t for t in texts if t.startswith("Agent: ")]
        expected = [f"Agent: Reply {k} of {REPLIES} to customer {n}" for k in range(1, REPLIES + 1)]
        assert replies == (expected if n in REPLIED else []), (n, texts)  # once each, in the order sent

    cards: dict[int, list[Posted]] = defaultdict(list)
    for post in threads[("CQUEUE", None)]:
        cards[int(post.text.split(" ")[0].lstrip("#"))].append(post)
    assert sorted(cards) == sorted(numbers.values()), "a ticket without a card, or a card without a ticket"
    doubled = {number: len(posts) for number, posts in cards.items() if len(posts) > 1}
    assert not doubled, doubled  # one queue card per ticket

    leads = [p.text for p in threads[("CLEADS", None)]]
    for n in URGENT:  # each SLA alert once in the card's thread and once in the leads channel
        number = numbers[f"U{n:04d}"]
        under_card = [p.text for p in threads[("CQUEUE", cards[number][0].ts)]]
        for where in (under_card, leads):
            breaches = [t for t in where if f"SLA breached: #{number} " in t]
            warnings = [t for t in where if f"SLA warning: #{number} " in t]
            assert len(breaches) == 1 and len(warnings) <= 1, (n, breaches, warnings)
        warned = _sql(database, "SELECT count(*) FROM ticket_events WHERE ticket=$1 AND kind='sla_warning'", number)
        assert len([t for t in leads if f"SLA warning: #{number} " in t]) == int(warned[0][0])
    alerted = [t for t in leads if "SLA breached: #" in t]
    assert len(alerted) == len(URGENT), "an SLA alert for a ticket that was answered in time"

    digests = _digests(api)
    heads = [d.splitlines()[0] for d in digests]
    assert heads, "no digest was posted"
    assert len(set(heads)) == len(heads), Counter(heads).most_common(2)  # every digest once
    spans = sorted(re.findall(r"— (\S+ \S+) UTC \(since (\S+ \S+) UTC\)", "\n".join(heads)))
    assert len(spans) == len(heads), heads
    first_until, first_since = (datetime.fromisoformat(f"{m}+00:00") for m in spans[0])
    assert first_until - first_since == timedelta(days=1), spans  # the first: the day before it
    for (until, _), (_, since) in itertools.pairwise(spans):
        assert since == until, spans  # each covers the time since the one before: none went missing
    # the one brought forward, then at most one per minute mark while the desk ran; a run delayed past a mark
    # (its builder killed, say) stands for the marks it missed, so there may be fewer
    assert len(digests) <= 1 + len(_minute_marks(first_start, stopped)), heads
    print(json.dumps({"digests": heads}, ensure_ascii=False))
