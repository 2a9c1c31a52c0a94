"""Several processes on one PostgreSQL desk (here: several stores on one schema, each with its own pool and
connections, as separate processes would have): each piece of shared work is done once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.bootstrap import open_knowledge_base
from bot.delivery import DeliveryWorker
from bot.domain.refs import MessageRef
from bot.outbound import Destination, DestinationKind, Message
from bot.records import Job
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
    await pg.require_server()
    async with pg.fresh_schema() as name:
        yield name


def _to(channel: str) -> Destination:
    return Destination(kind=DestinationKind.CHANNEL, platform="test", channel=channel)


async def test_two_processes_starting_together_migrate_once(schema: str) -> None:
    async with pg.open_in(schema) as one, pg.open_in(schema, migrate=False) as two:
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
        pg.fresh_schema() as neighbours,
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
