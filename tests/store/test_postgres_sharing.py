"""Several processes on one PostgreSQL desk (here: several stores on one schema, each with its own pool and
connections, as separate processes would have): each piece of shared work is done once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.bootstrap import build_desk, open_knowledge_base
from bot.delivery import DeliveryWorker
from bot.domain.refs import MessageRef
from bot.outbound import Destination, DestinationKind, Message
from bot.records import Job
from bot.scheduler import Scheduler, digest_job_name
from bot.store.postgres.engine import PostgresStore
from bot.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from kb.article import Article
from tests import pg
from tests.conftest import make_settings, shared_matcher
from tests.fakes.clock import FakeClock
from tests.fakes.patience import until
from tests.fakes.platform import RecordingPlatform


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """A migrated desk's schema (migrating is what `test_two_processes_starting_together_migrate_once` is about)."""
    await pg.require_server()
    async with pg.migrated_schema() as name:
        yield name


@pytest.fixture
async def new_schema() -> AsyncIterator[str]:
    await pg.require_server()
    async with pg.fresh_schema() as name:
        yield name


def _to(channel: str) -> Destination:
    return Destination(kind=DestinationKind.CHANNEL, platform="test", channel=channel)


async def test_two_processes_starting_together_migrate_once(new_schema: str) -> None:
    async with pg.open_in(new_schema) as one, pg.open_in(new_schema, migrate=False) as two:
        results = await asyncio.gather(one.migrate(), two.migrate())
        assert sorted(results, key=len) == [[], []]  # opening `one` migrated already
        assert await two.schema_version() == SCHEMA_VERSION
    async with pg.fresh_schema() as other:
        first, second = await asyncio.gather(*(_open_and_migrate(other) for _ in range(2)))
        assert sorted([first, second], key=len) == [[], sorted(MIGRATIONS)]


async def _open_and_migrate(schema: str) -> list[int]:
    async with pg.open_in(schema, migrate=False) as store:
        return await store.migrate()


class FirstPostWaits(RecordingPlatform):
    """Holds "post 0" until a post of the second round (n >= 12) is sent. The process sending post 0 claimed
    the first round and waits for all of it, so the second round can only come from another process: the
    work is shared however fast one process could have done it alone."""

    def __init__(self) -> None:
        super().__init__()
        self._second_round = asyncio.Event()

    async def post_message(
        self, channel: str, message: Message, *, thread: str | None = None, nonce: str | None = None
    ) -> MessageRef:
        if message.text == "post 0":
            await self._second_round.wait()
        elif int(message.text.removeprefix("post ")) >= 12:
            self._second_round.set()
        return await super().post_message(channel, message, thread=thread, nonce=nonce)


async def test_three_processes_deliver_every_post_once_in_order_per_channel(schema: str) -> None:
    clock = FakeClock()
    chat = FirstPostWaits()  # the one chat platform all three processes post to
    async with pg.open_in(schema) as a, pg.open_in(schema) as b, pg.open_in(schema) as c:
        stores: list[PostgresStore] = [a, b, c]
        async with a.transaction() as uow:
            for n in range(120):
                await uow.outbox.enqueue(_to(f"ch{n % 12}"), Message(text=f"post {n}"), at=clock.now())
        before = [s.commits for s in stores]
        workers = [asyncio.create_task(DeliveryWorker(s, {"test": chat}, clock).run()) for s in stores]
        await until(lambda: _nothing_pending(a), "every post delivered")
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        assert sum(1 for s, n in zip(stores, before, strict=True) if s.commits > n) >= 2  # the work was shared
    texts = [post.text for post in chat.sent]
    assert sorted(texts) == sorted(f"post {n}" for n in range(120))  # every post once, none twice
    for ch in range(12):
        # each channel's posts went out in the order they were queued, whichever process sent each
        assert chat.texts(f"ch{ch}") == [f"post {n}" for n in range(ch, 120, 12)]


async def _nothing_pending(store: PostgresStore) -> bool:
    async with store.reading() as uow:
        return await uow.outbox.pending_count() == 0


async def test_a_killed_processs_claims_return_at_once(schema: str) -> None:
    clock = FakeClock()
    async with pg.open_in(schema) as survivor:
        async with survivor.transaction() as uow:
            for n in range(5):
                await uow.outbox.enqueue(_to(f"ch{n}"), Message(text=f"post {n}"), at=clock.now())
        async with pg.open_in(schema) as doomed, doomed.reading() as uow:
            claimed = await uow.outbox.due(clock.now(), platforms=["test"])
            assert len(claimed) == 5
            async with survivor.reading() as other:
                assert await other.outbox.due(clock.now(), platforms=["test"]) == []  # claimed, claimant alive
        # `doomed` is gone (its connections closed, as a killed process's are): its claims are free
        async with survivor.reading() as uow:
            assert len(await uow.outbox.due(clock.now(), platforms=["test"])) == 5


async def test_a_digest_due_in_two_processes_runs_once(schema: str) -> None:
    clock = FakeClock()
    async with pg.open_in(schema) as a, pg.open_in(schema) as b:
        async with a.transaction() as uow:
            await uow.timers.ensure_job("digest:test:leads:0 9 * * *", "digest", {"cron": "0 9 * * *"}, clock.now())
        async with a.reading() as uow:
            (job,) = await uow.timers.due_jobs(clock.now())

        async def run(store: PostgresStore) -> bool:
            async with store.transaction() as uow:
                return await uow.timers.job_done(job, clock.now(), clock.now() + timedelta(days=1))

        assert Counter(await asyncio.gather(run(a), run(b))) == Counter({True: 1, False: 1})
        async with b.reading() as uow:
            (moved,) = await uow.timers.due_jobs(clock.now() + timedelta(days=2))
        assert moved == Job(job.name, job.kind, job.spec, clock.now() + timedelta(days=1), clock.now())


async def test_a_key_is_held_by_one_process_of_a_desk_and_let_go_when_its_block_ends_or_it_dies(
    schema: str,
) -> None:
    async with (
        pg.migrated_schema() as neighbours,
        pg.open_in(schema) as a,
        pg.open_in(schema) as b,
        pg.open_in(neighbours) as next_door,
    ):
        async with a.exclusive("digest:x") as held:
            async with b.exclusive("digest:x") as taken, b.exclusive("digest:y") as other:
                assert (held, taken, other) == (True, False, True)
            async with next_door.exclusive("digest:x") as theirs:
                assert theirs  # another desk in the same database: its own keys
        async with b.exclusive("digest:x") as held:
            assert held  # a's block ended
        async with pg.open_in(schema) as doomed:
            block = doomed.exclusive("digest:x")
            assert await block.__aenter__()
            async with b.exclusive("digest:x") as taken:
                assert not taken
            operator = await asyncpg.connect(pg.URL)  # SIGKILL: the server ends the dead process's sessions
            try:
                await operator.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    doomed.claimant,
                )
            finally:
                await operator.close()
            await until(_free(b, "digest:x"), "the dead holder's key to be free")
            with contextlib.suppress(Exception):  # its connection is gone
                await block.__aexit__(None, None, None)


def _free(store: PostgresStore, key: str) -> Callable[[], Awaitable[bool]]:
    async def free() -> bool:
        async with store.exclusive(key) as held:
            return held

    return free


async def test_a_due_digest_is_built_by_the_process_holding_it_and_posted_once(schema: str, tmp_path: Path) -> None:
    """Every process's scheduler finds the digest due at the same moment; one builds it (the chart: seconds of
    CPU), the others pass, and none builds it again once it is posted."""
    clock = FakeClock()  # Monday 09:00
    settings = make_settings(digests={"schedules": [{"cron": "0 9 * * *", "platform": "test"}]})
    charts = tmp_path / "charts"
    # the process that builds it has one pooled connection: holding the key takes none of them
    async with pg.open_in(schema) as a, PostgresStore.open(pg.URL, schema=schema, pool_size=1) as b:
        one, two = (
            Scheduler(build_desk(settings, s, clock=clock).ctx, settings.digests, charts_dir=charts) for s in (a, b)
        )
        await one.start()
        await two.start()
        clock.advance(days=1)  # Tuesday 09:00: due in both
        async with a.exclusive(digest_job_name("test", "leads", "0 9 * * *")) as held:  # one is building it
            assert held
            assert await two.tick() == []
            assert not charts.exists()  # nothing built
        assert await two.tick() == ["digest to test:leads"]
        assert await one.tick() == []
        assert len(list(charts.iterdir())) == 1
        async with a.reading() as uow:
            posts = await uow.outbox.pending_count()
        assert posts == 1


async def test_an_article_saved_by_another_process_is_suggested_at_the_next_message(schema: str) -> None:
    clock = FakeClock()  # never advanced: the poll (`check_every`) plays no part
    settings = make_settings()
    async with pg.open_in(schema) as bot, pg.open_in(schema) as cli:
        kb = await open_knowledge_base(settings, bot, clock, build=shared_matcher)
        assert kb.find("gift-cards") is None
        async with cli.transaction() as uow:  # `threaddesk kb import` in another process
            gift = Article(id="gift-cards", title="Redeem a gift card", aliases=("how do I redeem my gift card",))
            await uow.articles.save_article(gift, actor="cli", at=clock.now(), change="imported")

        async def found() -> bool:  # what each incoming message does before suggesting
            async with bot.reading() as uow:
                await kb.refresh(uow)
            return kb.find("gift-cards") is not None

        await until(found, "the other process's article")
        assert kb.suggest("redeem my gift card")[0].article.id == "gift-cards"


async def test_a_change_is_announced_to_the_desks_other_processes_only(schema: str) -> None:
    """One desk's announcements wake its other processes — not the process that made the change (it knows),
    and not a desk in another schema of the same database."""
    heard: Counter[str] = Counter()

    async def bump(store: PostgresStore) -> None:
        async with store.transaction() as uow:
            await uow.articles.bump_revision()

    async with (
        pg.migrated_schema() as neighbours,
        pg.open_in(schema) as a,
        pg.open_in(schema) as b,
        pg.open_in(neighbours) as c,
        pg.open_in(neighbours) as d,
    ):
        for name, store in (("a", a), ("b", b), ("c", c)):
            store.on_notice("kb", lambda name=name: heard.update([name]))
        await bump(a)
        await until(lambda: heard["b"] == 1, "b to hear a's change")
        await bump(d)  # committed after a's: a listener hears it after a's, had it heard a's at all
        await until(lambda: heard["c"] >= 1, "c to hear its own desk's change")
        await bump(b)
        await until(lambda: heard["a"] >= 1, "a to hear b's change")
    assert heard == Counter({"a": 1, "b": 1, "c": 1})  # nobody heard itself, the other desk, or twice
