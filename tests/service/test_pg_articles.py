"""Knowledge-base rows — articles and their versions, learned wordings, feedback, the revision — behave alike
on both engines; on PostgreSQL a change also tells the other processes to reload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.domain.refs import ThreadRef, UserRef
from bot.domain.ticket import Priority
from bot.ports import Store, UnitOfWork
from bot.records import ArticleStats, Version
from kb.article import Article
from tests.contention import until_waiting

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RESET = Article(id="reset-password", title="Reset your password", aliases=("forgot password",), tags=("account",))


async def open_ticket(uow: UnitOfWork, thread: str) -> int:
    ticket = await uow.tickets.insert_ticket(
        subject="s",
        description="d",
        customer=UserRef(platform="t", id="alice", name="Alice"),
        origin=ThreadRef(platform="t", channel="support", thread=thread),
        priority=Priority.NORMAL,
        category="general",
        at=NOW,
    )
    return ticket.number


async def test_saving_versions_an_article_only_when_it_changes(db: Store) -> None:
    async with db.reading() as uow:
        start = await uow.articles.revision()
        assert await uow.articles.get_article(RESET.id) is None
    async with db.transaction() as uow:
        assert await uow.articles.save_article(RESET, actor="t:dana", at=NOW, change="written") == 1
        assert await uow.articles.save_article(RESET, actor="t:dana", at=NOW, change="again") is None
        edited = RESET.model_copy(update={"body": "Use the link.", "category": "account"})
        later = NOW + timedelta(hours=1)
        assert await uow.articles.save_article(edited, actor="t:erin", at=later, change="edited") == 2
    async with db.reading() as uow:
        assert await uow.articles.get_article(RESET.id) == edited
        assert await uow.articles.versions(RESET.id) == [
            Version(1, NOW, "t:dana", "written"),
            Version(2, later, "t:erin", "edited"),
        ]
        assert await uow.articles.versions("nope") == []
        assert await uow.articles.revision() == start + 2
        assert await uow.articles.count_articles() == 1


async def test_all_articles_come_in_id_order_with_their_learned_wordings(db: Store) -> None:
    ids = ["b1", "b-2", "a_b", "aB", "A"]
    async with db.transaction() as uow:
        for article_id in ids:
            await uow.articles.save_article(
                Article(id=article_id, title=f"Title {article_id}"), actor="t:dana", at=NOW, change="written"
            )
        assert await uow.articles.learn("b1", "how do I b one", source="accepted", ticket=None, at=NOW)
        assert await uow.articles.learn("A", "capital a please", source="cited", ticket=None, at=NOW)
        assert await uow.articles.learn("b1", "b one again", source="accepted", ticket=None, at=NOW)
    async with db.reading() as uow:
        found = await uow.articles.all_articles()
        assert [a.id for a in found] == sorted(ids)  # byte order, whatever the server's collation
        assert {a.id: a.learned for a in found if a.learned} == {
            "b1": ("how do I b one", "b one again"),
            "A": ("capital a please",),
        }
        assert await uow.articles.count_articles() == len(ids)


async def test_learning_keeps_new_wordings_up_to_the_cap(db: Store) -> None:
    async with db.transaction() as uow:
        number = await open_ticket(uow, "th")
        await uow.articles.save_article(RESET, actor="t:dana", at=NOW, change="written")
        start = await uow.articles.revision()
        assert not await uow.articles.learn(RESET.id, "  !! ", source="accepted", ticket=number, at=NOW)
        assert not await uow.articles.learn(RESET.id, "Forgot password?", source="accepted", ticket=number, at=NOW)
        assert not await uow.articles.learn(RESET.id, "reset YOUR password", source="accepted", ticket=None, at=NOW)
        assert not await uow.articles.learn("nope", "locked out", source="accepted", ticket=None, at=NOW)
        assert await uow.articles.learn(RESET.id, "Locked out", source="accepted", ticket=number, at=NOW)
        assert not await uow.articles.learn(RESET.id, "locked out!", source="cited", ticket=None, at=NOW)
        assert await uow.articles.revision() == start + 1
        for n in range(60):
            at = NOW + timedelta(minutes=n)
            assert await uow.articles.learn(RESET.id, f"wording {n}", source="cited", ticket=None, at=at)
    async with db.reading() as uow:
        learned = await uow.articles.learned(RESET.id)
        assert [entry.text for entry in learned] == [f"wording {n}" for n in range(10, 60)]
        assert (learned[0].source, learned[0].ticket, learned[0].at) == ("cited", None, NOW + timedelta(minutes=10))
        article = await uow.articles.get_article(RESET.id)
        assert article is not None and article.learned == tuple(f"wording {n}" for n in range(10, 60))
        assert article.aliases == RESET.aliases  # learned wordings live apart from the authored ones


async def test_unlearning_by_position_or_all(db: Store) -> None:
    async with db.transaction() as uow:
        number = await open_ticket(uow, "th")
        await uow.articles.save_article(RESET, actor="t:dana", at=NOW, change="written")
        for text in ("one", "two", "three", "four"):
            await uow.articles.learn(RESET.id, text, source="accepted", ticket=number, at=NOW)
        start = await uow.articles.revision()
        assert await uow.articles.unlearn(RESET.id, [2, 4, 9, 0]) == 2
        assert [e.text for e in await uow.articles.learned(RESET.id)] == ["one", "three"]
        assert [e.ticket for e in await uow.articles.learned(RESET.id)] == [number, number]
        assert await uow.articles.unlearn(RESET.id, [7]) == 0
        assert await uow.articles.revision() == start + 1
        assert await uow.articles.unlearn(RESET.id, None) == 2
        assert await uow.articles.learned(RESET.id) == []
        assert await uow.articles.unlearn(RESET.id, None) == 0


async def test_feedback_counts_and_suggestions(db: Store) -> None:
    billing = Article(id="billing", title="Billing questions")
    quiet = Article(id="quiet", title="Nobody asks")
    async with db.transaction() as uow:
        one, two, three = [await open_ticket(uow, f"th{n}") for n in range(3)]
        for article in (RESET, billing, quiet):
            await uow.articles.save_article(article, actor="t:dana", at=NOW, change="written")
        await uow.articles.record_feedback(one, ["billing", "reset-password"], "suggested", NOW)
        await uow.articles.record_feedback(one, ["reset-password", "billing"], "suggested", NOW)
        await uow.articles.record_feedback(one, [], "suggested", NOW)
        await uow.articles.record_feedback(one, ["reset-password"], "accepted", NOW)
        await uow.articles.record_feedback(two, ["reset-password"], "suggested", NOW)
        await uow.articles.record_feedback(two, ["reset-password"], "rejected", NOW)
        await uow.articles.record_feedback(three, ["billing"], "cited", NOW)
        await uow.articles.record_feedback(three, ["billing"], "cited", NOW)
        await uow.articles.record_feedback(None, ["billing"], "suggested", NOW)
    async with db.reading() as uow:
        assert await uow.articles.suggested_for(one) == ["billing", "reset-password"]
        assert await uow.articles.suggested_for(two) == ["reset-password"]
        assert await uow.articles.suggested_for(three) == []
        assert await uow.articles.stats() == [
            ArticleStats("reset-password", "Reset your password", 3, 1, 1, 1),
            ArticleStats("billing", "Billing questions", 3, 0, 0, 1),
            ArticleStats("quiet", "Nobody asks", 0, 0, 0, 0),
        ]


async def test_units_saving_one_article_at_once_take_turns(db: Store) -> None:
    first = [True]

    async def save(body: str) -> int | None:
        async with db.transaction() as uow:
            version = await uow.articles.save_article(
                RESET.model_copy(update={"body": body}), actor="t:dana", at=NOW, change=body
            )
            if first[0]:  # the first of three to save: the other two wait for it
                first[0] = False
                await until_waiting(db, 2)
            return version

    # the same new article three times at once: one inserts it, the others find nothing to change
    assert sorted(await asyncio.gather(save("a"), save("a"), save("a")), key=str) == [1, None, None]
    # three different edits at once: each follows the one before, in whatever order they took their turns
    first[0] = True
    assert sorted(await asyncio.gather(save("b"), save("c"), save("d"))) == [2, 3, 4]  # type: ignore[type-var]
    async with db.reading() as uow:
        assert [v.version for v in await uow.articles.versions(RESET.id)] == [1, 2, 3, 4]
