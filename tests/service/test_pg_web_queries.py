"""The dashboard's store queries (sign-in links, sessions, the filtered queue page, its menus) on both engines.

The dashboard tests (tests/web) run on SQLite only; these pin the same answers on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.refs import ThreadRef, UserRef
from bot.domain.sla import Level, Target
from bot.domain.ticket import Priority, Status
from bot.ports import Store
from bot.records import QueueFilter

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BOB = UserRef(platform="test", id="bob", name="Bob")
ERIN = UserRef(platform="test", id="erin", name="Erin")
ACTIVE = tuple(s for s in Status if s.is_active)

# number: subject, description, customer, priority, category, tags, status, assignee, minutes to last update
SEED: dict[int, tuple[str, str, str, Priority, str, tuple[str, ...], Status, UserRef | None, int]] = {
    1: ("Invoices missing", "where are my invoices", "Alice", Priority.NORMAL, "billing", ("billing", "vip"),
        Status.OPEN, BOB, 50),
    2: ("Login broken", "cannot log in", "Carol", Priority.URGENT, "account", ("Login", "a-b", "ab"),
        Status.NEW, None, 10),
    3: ("Discount 100% off?", "is 100% right", "Dave", Priority.HIGH, "billing", (),
        Status.PENDING, ERIN, 30),
    4: ("Payment failed", "card declined", "Emile", Priority.LOW, "billing", ("vip",),
        Status.RESOLVED, BOB, 40),
    5: ("snake_case question", "about names", "Fay", Priority.NORMAL, "general", ("zz",),
        Status.CLOSED, None, 20),
    6: ("Refund", "refund please", "Gus", Priority.URGENT, "billing", ("vip",),
        Status.ON_HOLD, BOB, 60),
}  # fmt: skip


async def seed(db: Store) -> None:
    async with db.transaction() as uow:
        for number, (subject, description, name, priority, category, tags, status, assignee, updated) in SEED.items():
            customer = UserRef(platform="test", id=name.lower(), name=name)
            at = T0 + timedelta(minutes=number)
            ticket = await uow.tickets.insert_ticket(
                subject=subject,
                description=description,
                customer=customer,
                origin=ThreadRef(platform="test", channel="dm", thread=f"t{number}"),
                priority=priority,
                category=category,
                at=at,
            )
            assert ticket.number == number
            changed = ticket.model_copy(
                update={
                    "tags": tags,
                    "status": status,
                    "assignee": assignee,
                    "updated_at": T0 + timedelta(minutes=updated),
                }
            )
            await uow.tickets.save_ticket(changed)
        await uow.sla.record_alert(2, Target.FIRST_RESPONSE, Level.WARNING, T0, T0, False)
        await uow.sla.record_alert(2, Target.FIRST_RESPONSE, Level.BREACH, T0, T0, False)
        await uow.sla.record_alert(6, Target.RESOLUTION, Level.WARNING, T0, T0, False)
        await uow.sla.record_alert(4, Target.RESOLUTION, Level.BREACH, T0, T0, True)  # resolved since


async def page(db: Store, **fields: Any) -> tuple[list[int], int]:
    async with db.reading() as uow:
        tickets, total = await uow.web.queue_page(QueueFilter(**fields))
    return [t.number for t in tickets], total


async def numbers(db: Store, **fields: Any) -> list[int]:
    found, total = await page(db, **fields)
    assert total == len(found)
    return found


async def test_the_queue_page_reads_a_ticket_whole(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        tickets, _ = await uow.web.queue_page(QueueFilter(category="account"))
    (ticket,) = tickets
    assert ticket.subject == "Login broken"
    assert ticket.customer == UserRef(platform="test", id="carol", name="Carol")
    assert ticket.origin == ThreadRef(platform="test", channel="dm", thread="t2")
    assert (ticket.priority, ticket.status, ticket.assignee) == (Priority.URGENT, Status.NEW, None)
    assert ticket.tags == ("Login", "a-b", "ab")
    assert ticket.created_at == T0 + timedelta(minutes=2)
    assert ticket.updated_at == T0 + timedelta(minutes=10)
    assert ticket.first_response_at is None and ticket.card is None


async def test_queue_sorts_and_pages(db: Store) -> None:
    await seed(db)
    assert await numbers(db) == [2, 6, 3, 1, 5, 4]  # most urgent first, then oldest
    assert await numbers(db, sort="oldest") == [1, 2, 3, 4, 5, 6]
    assert await numbers(db, sort="newest") == [6, 5, 4, 3, 2, 1]
    assert await numbers(db, sort="updated") == [6, 1, 4, 3, 5, 2]
    assert await numbers(db, sort="no such order") == [2, 6, 3, 1, 5, 4]
    assert await page(db, per_page=2, page=2) == ([3, 1], 6)
    assert await page(db, per_page=4, page=2) == ([5, 4], 6)
    assert await page(db, per_page=4, page=3) == ([], 6)
    assert await page(db, per_page=4, page=0) == ([2, 6, 3, 1], 6)


async def test_queue_filters_by_status_priority_category_person_and_tag(db: Store) -> None:
    await seed(db)
    assert await numbers(db, statuses=ACTIVE) == [2, 6, 3, 1]
    assert await numbers(db, statuses=(Status.RESOLVED, Status.CLOSED), sort="oldest") == [4, 5]
    assert await numbers(db, statuses=(Status.NEW,)) == [2]
    assert await numbers(db, statuses=ACTIVE, priorities=(Priority.URGENT, Priority.LOW)) == [2, 6]
    assert await numbers(db, priorities=(Priority.URGENT, Priority.LOW)) == [2, 6, 4]
    assert await numbers(db, statuses=(Status.OPEN, Status.PENDING), priorities=(Priority.HIGH,)) == [3]
    assert await numbers(db, statuses=ACTIVE, assignee="bob") == [6, 1]
    assert await numbers(db, statuses=ACTIVE, assignee="bob", priorities=(Priority.URGENT,)) == [6]
    assert await numbers(db, category="billing", sort="oldest") == [1, 3, 4, 6]
    assert await numbers(db, assignee="bob") == [6, 1, 4]
    assert await numbers(db, unassigned=True) == [2, 5]
    assert await numbers(db, statuses=ACTIVE, unassigned=True) == [2]
    assert await numbers(db, tag="vip") == [6, 1, 4]
    assert await numbers(db, tag="Login") == [2]
    assert await numbers(db, tag="login") == []  # a tag is matched exactly
    assert await numbers(db, tag="a") == []


async def test_queue_text_search(db: Store) -> None:
    await seed(db)
    assert await numbers(db, text="invoices") == [1]
    assert await numbers(db, text="  INVOICES ") == [1]  # ASCII letters in any case
    assert await numbers(db, text="carol") == [2]  # the customer's name
    assert await numbers(db, text="declined") == [4]  # the description
    assert await numbers(db, text="100%") == [3]
    assert await numbers(db, text="%") == [3]  # a % is a character, not a wildcard
    assert await numbers(db, text="_") == [5]  # so is _
    assert await numbers(db, text="refun_") == []
    assert await numbers(db, text="\\") == []
    assert await numbers(db, text="#3") == [3]  # a number names the ticket
    assert await numbers(db, text="4") == [4]
    assert await numbers(db, text="#77") == []
    assert await numbers(db, text="refund", statuses=ACTIVE) == [6]
    assert await numbers(db, text="refund", statuses=(Status.CLOSED,)) == []


async def test_queue_sla_filters_and_flags(db: Store) -> None:
    await seed(db)
    assert await numbers(db, sla="breached") == [2]  # 4 was breached too, but it is resolved
    assert await numbers(db, sla="at_risk") == [6]
    async with db.reading() as uow:
        assert await uow.web.sla_flags([1, 2, 4, 6]) == {2: "breached", 4: "breached", 6: "at_risk"}
        assert await uow.web.sla_flags([1, 3]) == {}
        assert await uow.web.sla_flags([]) == {}


async def test_queue_count_is_capped(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(db)
    for module in ("bot.store.sqlite.web", "bot.store.postgres.web"):
        monkeypatch.setattr(f"{module}.COUNT_CAP", 2)
    assert await page(db, per_page=1) == ([2], 3)  # "more than 2"
    assert await page(db, category="account") == ([2], 1)


async def test_filter_menus_list_what_open_tickets_use(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        categories, people, tags = await uow.web.choices()
    assert categories == ["account", "billing"]
    assert people == [("bob", "Bob"), ("erin", "Erin")]
    assert tags == ["Login", "a-b", "ab", "billing", "vip"]  # by code point, as SQLite sorts


async def test_the_change_stamp_moves_with_the_history(db: Store) -> None:
    await seed(db)
    stamps = []
    for _ in range(3):
        async with db.reading() as uow:
            stamps.append(await uow.web.change_stamp())
        async with db.transaction() as uow:
            await uow.history.add_event(1, T0, BOB, "noted")
    assert stamps[0] == "0-0-0"  # seeding wrote rows, no history
    assert len(set(stamps)) == 3


async def test_a_sign_in_link_is_used_once_and_expired_ones_are_dropped(db: Store) -> None:
    async with db.transaction() as uow:
        await uow.web.insert_link("L1", BOB, T0, T0 + timedelta(minutes=15))
    async with db.reading() as uow:
        link = await uow.web.get_link("L1")
        assert await uow.web.get_link("nope") is None
    assert link is not None
    assert (link.id, link.user, link.created_at, link.expires_at, link.used_at) == (
        "L1",
        BOB,
        T0,
        T0 + timedelta(minutes=15),
        None,
    )
    async with db.transaction() as uow:
        assert await uow.web.use_link("L1", T0 + timedelta(minutes=1))
        assert not await uow.web.use_link("L1", T0 + timedelta(minutes=2))
        assert not await uow.web.use_link("nope", T0)
    async with db.reading() as uow:
        used = await uow.web.get_link("L1")
    assert used is not None and used.used_at == T0 + timedelta(minutes=1)
    async with db.transaction() as uow:
        await uow.web.insert_link("L2", ERIN, T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=15))
    async with db.reading() as uow:
        assert await uow.web.get_link("L1") is None
        assert await uow.web.get_link("L2") is not None


async def test_sessions_are_listed_and_revoked(db: Store) -> None:
    day = timedelta(days=1)
    async with db.transaction() as uow:
        await uow.web.insert_session("h1", BOB, "c1", T0, T0 + 7 * day, "Firefox " + "x" * 300)
        await uow.web.insert_session("h2", BOB, "c2", T0 + timedelta(hours=1), T0 + 7 * day, "Safari")
        await uow.web.insert_session("h3", ERIN, "c3", T0 + timedelta(hours=2), T0 + 7 * day, "")
    async with db.reading() as uow:
        first = await uow.web.get_session("h1")
        assert await uow.web.get_session("nope") is None
        assert [s.token_hash for s in await uow.web.sessions()] == ["h1", "h2", "h3"]
        assert [s.token_hash for s in await uow.web.sessions(BOB)] == ["h1", "h2"]
    assert first is not None
    assert (first.user, first.csrf, first.created_at, first.expires_at, first.revoked_at) == (
        BOB,
        "c1",
        T0,
        T0 + 7 * day,
        None,
    )
    assert first.user_agent == ("Firefox " + "x" * 300)[:200]
    later = T0 + timedelta(hours=3)
    async with db.transaction() as uow:
        assert await uow.web.revoke(later, token_hash="h1") == 1
        assert await uow.web.revoke(later, token_hash="h1") == 0
        assert await uow.web.revoke(later, user=BOB) == 1
        assert await uow.web.revoke(later, token_hash="h3", user=BOB) == 0
        assert await uow.web.revoke(later) == 1
    async with db.reading() as uow:
        assert [s.revoked_at for s in await uow.web.sessions()] == [later] * 3
    async with db.transaction() as uow:  # a session that expired is removed when the next one starts
        await uow.web.insert_session("h4", ERIN, "c4", T0 + 8 * day, T0 + 9 * day, "")
    async with db.reading() as uow:
        assert [s.token_hash for s in await uow.web.sessions()] == ["h4"]
