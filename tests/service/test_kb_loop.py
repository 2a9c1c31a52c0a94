"""The self-service loop and learning from use, through the core, asserting what people read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from bot.delivery import DeliveryWorker
from bot.domain.ticket import Status
from bot.ports import Store
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from kb.article import Article
from kb.matcher import Matcher
from tests.conftest import ALICE, BOB, CAROL, dm, open_again, shared_matcher
from tests.fakes.clock import FakeClock
from tests.fakes.patience import until
from tests.fakes.platform import RecordingPlatform


async def press(desk: Desk, who: object, platform: RecordingPlatform, channel: str, thread: str, label: str) -> str:
    """Press the button labelled `label` on the newest post in the thread that has it; returns the reply."""
    for post in reversed(platform.in_thread(channel, thread)):
        for button in post.current.buttons:
            if button.label.startswith(label):
                reply = await desk.run(who, button.command)  # type: ignore[arg-type]
                return reply.text
    raise AssertionError(f"no button {label!r} in {channel}/{thread}")


async def stats_of(db: Store, article: str) -> tuple[int, int, int, int]:
    async with db.reading() as uow:
        [row] = [r for r in await uow.articles.stats() if r.article == article]
    return row.suggested, row.accepted, row.rejected, row.helped_resolve


async def test_accepting_a_suggestion_resolves_as_self_served_and_teaches_the_article(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    wording = "the password reset email never shows up in my inbox"
    await desk.receive(dm(ALICE, wording, message_id="a1"))
    await worker.drain()
    [ack] = platform.in_thread("dm-alice", "a1")
    labels = [b.label for b in ack.message.buttons]
    assert labels[0] == "This solved it: Can't log in or forgot your password"
    assert labels[-1] == "Not what I need"

    query = "reset email never shows up in my inbox"
    before = next(hit for hit in desk.ctx.kb.rank(query) if hit.article.id == "reset-password")
    answer = await press(desk, ALICE, platform, "dm-alice", "a1", "This solved it: Can't log in")
    await worker.drain()
    assert answer == "#1 is resolved — thanks for letting us know!"
    assert platform.texts("dm-alice", "a1")[-1].startswith(
        "Great — glad “Can't log in or forgot your password” helped."
    )
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.status is Status.RESOLVED
    assert ticket.resolved_by_kb == "reset-password" and "self-served" in ticket.tags
    [card] = platform.in_channel("queue")
    assert "self-service" in platform.texts("queue", card.id)[-1]
    suggested, accepted, rejected, helped = await stats_of(db, "reset-password")
    assert (accepted, rejected, helped) == (1, 0, 1) and suggested >= 1

    # the wording is now a learned alias, visible to agents and used for the next similar message
    shown = (await desk.run(BOB, "/kb show reset-password")).text
    assert f"1. {wording}" in shown
    top = desk.ctx.kb.rank(query)[0]
    assert top.article.id == "reset-password" and top.matched == wording and top.score > before.score


async def test_rejecting_keeps_the_ticket_with_agents_and_is_counted(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, db: Store
) -> None:
    await desk.receive(dm(CAROL, "how do I get a refund for the annual plan", message_id="c1"))
    await worker.drain()
    assert (
        await press(desk, CAROL, platform, "dm-carol", "c1", "Not what I need") == "Noted — #1 stays with our agents."
    )
    await worker.drain()
    assert (
        platform.texts("dm-carol", "c1")[-1]
        == "Thanks for telling us. #1 stays with our agents; someone will reply here."
    )
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.status is Status.NEW
    assert (await stats_of(db, "refund-request"))[1:] == (0, 1, 0)


async def test_nothing_is_suggested_for_an_unrelated_message(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "what is the best recipe for banana bread", message_id="x1"))
    await worker.drain()
    [ack] = platform.in_thread("dm-alice", "x1")
    assert "articles may help" not in ack.text and ack.message.buttons == ()


async def test_agent_citing_an_article_teaches_it_and_counts(desk: Desk, worker: DeliveryWorker, db: Store) -> None:
    await desk.receive(dm(CAROL, "our finance team needs the company VAT id printed on the bill", message_id="c2"))
    bad = await desk.run(BOB, "/ticket resolve 1 --kb no-such-article Done")
    assert not bad.ok and "There is no article `no-such-article`" in bad.text
    assert (await desk.run(BOB, "/ticket resolve 1 --kb invoices-receipts Added the VAT id")).ok
    assert (await stats_of(db, "invoices-receipts"))[3] == 1
    top = desk.ctx.kb.rank("finance needs our VAT id printed on the bill")[0]
    assert top.article.id == "invoices-receipts"


async def test_agent_suggests_an_article_the_customer_accepts(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform
) -> None:
    await desk.receive(dm(ALICE, "hello, quick question about my plan", message_id="a2"))
    refused = await desk.run(ALICE, "/kb suggest 1 change-plan")
    assert not refused.ok and "Only agents can use `/kb suggest`" in refused.text
    assert (
        await desk.run(BOB, "/kb suggest 1 change-plan")
    ).text == "Posted “Upgrade, downgrade or change the number of seats” to Alice on #1."
    await worker.drain()
    post = platform.in_thread("dm-alice", "a2")[-1]
    assert post.text.startswith("Bob suggests this article for #1: Upgrade, downgrade or change the number of seats")
    assert (
        await press(desk, ALICE, platform, "dm-alice", "a2", "This solved it")
        == "#1 is resolved — thanks for letting us know!"
    )
    learned = (await desk.run(BOB, "/kb show change-plan")).text
    assert "hello, quick question about my plan" in learned
    assert (await desk.run(BOB, "/kb unlearn change-plan 1")).text == "Removed 1 learned wording(s) from `change-plan`."
    assert "Learned from customers" not in (await desk.run(BOB, "/kb show change-plan")).text


async def test_customers_only_accept_on_their_own_tickets(desk: Desk) -> None:
    await desk.receive(dm(ALICE, "I can't log in", message_id="a3"))
    reply = await desk.run(CAROL, "/kb accept 1 reset-password")
    assert not reply.ok and "#1" in reply.text
    ticket = await desk.ticket(1)
    assert ticket is not None and ticket.status is Status.NEW


async def test_authoring_in_chat_is_versioned_and_served_at_once(desk: Desk, db: Store) -> None:
    added = await desk.run(
        BOB, "/kb add Change your time zone | wrong time on my cards; timezone setting | Profile → Time zone."
    )
    assert added.text.startswith("Added article `change-your-time-zone`")
    assert desk.ctx.kb.suggest("the time on my cards is wrong")[0].article.id == "change-your-time-zone"
    assert (
        await desk.run(BOB, "/kb edit change-your-time-zone body Open Profile → Preferences → Time zone.")
    ).text == ("Updated the body of `change-your-time-zone` (version 2).")
    assert (
        "nothing changed"
        in (await desk.run(BOB, "/kb edit change-your-time-zone body Open Profile → Preferences → Time zone.")).text
    )
    errors = [
        ("/kb add", "Missing text. Usage: `/kb add <title> | <alias; alias …> | <body>`"),
        ("/kb edit change-your-time-zone colour red", "“colour” is not a part of an article"),
        ("/kb edit nope body x", "There is no article `nope`."),
        ("/kb unlearn change-your-time-zone 7", "No such learned wording"),
    ]
    for command, expected in errors:
        reply = await desk.run(BOB, command)
        assert not reply.ok and expected in reply.text, (command, reply.text)
    async with db.reading() as uow:
        history = await uow.articles.versions("change-your-time-zone")
    assert [(v.version, v.actor, v.change) for v in history] == [
        (1, "test:bob", "written in chat"),
        (2, "test:bob", "body edited in chat"),
    ]


async def test_save_a_resolved_ticket_as_an_article(desk: Desk) -> None:
    await desk.receive(dm(ALICE, "Exported CSV opens with garbled accents in Excel", message_id="a4"))
    early = await desk.run(BOB, "/kb save 1")
    assert not early.ok and "has no resolution yet" in early.text
    await desk.run(BOB, "/ticket resolve 1 Open the CSV via Data → From Text/CSV and pick UTF-8.")
    saved = await desk.run(BOB, "/kb save 1")
    assert saved.text.startswith("Saved #1 as article `exported-csv-opens-garbled-accents`")
    again = await desk.run(BOB, "/kb save 1")
    assert again.text.startswith("#1 is already saved as article `exported-csv-opens-garbled-accents`")
    shown = (await desk.run(BOB, "/kb show exported-csv-opens-garbled-accents")).text
    assert "Open the CSV via Data → From Text/CSV and pick UTF-8." in shown
    assert "Aliases: Exported CSV opens with garbled accents in Excel" in shown


async def test_changes_from_another_process_reach_the_running_bot(desk: Desk, db: Store) -> None:
    """`threaddesk kb import` while the bot runs: another connection bumps the revision; the bot reloads."""
    from kb.article import Article

    assert desk.ctx.kb.find("gift-cards") is None
    async with open_again(db) as other, other.transaction() as uow:
        article = Article(id="gift-cards", title="Redeem a gift card", aliases=("how do I redeem my gift card",))
        await uow.articles.save_article(article, actor="cli", at=desk.ctx.clock.now(), change="imported")
    if db.engine == "sqlite":  # no announcements between processes: the bot finds it at its next poll
        async with db.reading() as uow:
            await desk.ctx.kb.refresh(uow)  # checked at load: the next look is due `check_every` later
            assert desk.ctx.kb.find("gift-cards") is None
            desk.ctx.clock.advance(seconds=desk.ctx.kb.check_every)  # type: ignore[attr-defined]
            await desk.ctx.kb.refresh(uow)
    else:  # PostgreSQL announces the change (NOTIFY): the next refresh after it arrives reloads

        async def reloaded() -> bool:
            async with db.reading() as uow:
                await desk.ctx.kb.refresh(uow)
            return desk.ctx.kb.find("gift-cards") is not None

        await until(reloaded, "the announced article")
    assert desk.ctx.kb.suggest("redeem my gift card")[0].article.id == "gift-cards"


async def test_a_wording_learned_while_the_index_is_rebuilt_is_kept(
    knowledge: KnowledgeLibrary, db: Store, clock: FakeClock
) -> None:
    """A reload reads the articles, then builds for a while in a thread; a wording learned (and committed)
    after the read must not vanish when the rebuilt matcher takes over."""
    building, learned = threading.Event(), threading.Event()

    def slow_build(found: Sequence[Article], **options: Any) -> Matcher:
        building.set()
        assert learned.wait(timeout=60)
        return shared_matcher(found, **options)

    library = KnowledgeLibrary(clock=clock, build=slow_build)  # `knowledge` seeded the sample articles
    wording = "my refund never arrived on the card"
    async with db.transaction() as uow:
        await uow.articles.bump_revision()  # another process changed the KB: the next refresh reloads
    async with db.reading() as uow:
        reload = asyncio.create_task(library.refresh(uow, force=True))
        await asyncio.to_thread(building.wait)
    async with db.transaction() as uow:
        assert await uow.articles.learn("refund-request", wording, source="accepted", ticket=None, at=clock.now())
    library.learned("refund-request", wording)
    learned.set()
    await reload
    assert wording in library.find("refund-request").learned  # type: ignore[union-attr]


async def test_the_running_bot_refits_its_classifier_once_enough_wordings_were_learned(desk: Desk, db: Store) -> None:
    from kb.matcher import REFIT_AFTER

    library = desk.ctx.kb
    for n in range(REFIT_AFTER):
        library.learned("refund-request", f"money back for order number {n}")
    before: Matcher = library._matcher
    assert before.needs_refit
    async with db.reading() as uow:
        await library.refresh(uow)
    after: Matcher = library._matcher
    assert not after.needs_refit and after.text_classifier is not before.text_classifier
    assert after.articles == before.articles  # the learned aliases are all still there
    assert after.suggest("money back for order number 3")[0].article.id == "refund-request"


async def test_a_failed_refit_keeps_the_bot_suggesting(
    desk: Desk, db: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kb.matcher import REFIT_AFTER, Matcher

    def broken(self: Matcher) -> None:
        raise MemoryError("no room to fit")

    monkeypatch.setattr(Matcher, "refit_text_classifier", broken)
    library = desk.ctx.kb
    for n in range(REFIT_AFTER):
        library.learned("refund-request", f"money back for order number {n}")
    async with db.reading() as uow:
        await library.refresh(uow)
    assert "refitting the classifier failed" in caplog.text
    assert not library._matcher.needs_refit  # not retried on every message
    assert library.suggest("money back for order number 3")[0].article.id == "refund-request"
