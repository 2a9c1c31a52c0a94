"""The ticket repositories (tickets, history, messages, people, recent tickets) read back what they wrote,
in the same order and with the same edge cases on both engines — and two units on one ticket take turns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Status, Ticket
from bot.ports import Store, UnitOfWork
from bot.records import TicketQuery
from bot.services.desk import Desk
from tests.conftest import dm
from tests.contention import until_waiting

NOW = datetime(2026, 11, 29, 9, 0, 0, 123456, tzinfo=UTC)
ALICE = UserRef(platform="t", id="alice", name="Alice")
CAROL = UserRef(platform="t", id="carol", name="Carol")
BOB = UserRef(platform="t", id="bob", name="Bob")


async def open_one(
    uow: UnitOfWork,
    customer: UserRef = ALICE,
    thread: str = "th",
    *,
    priority: Priority = Priority.NORMAL,
    at: datetime = NOW,
) -> Ticket:
    return await uow.tickets.insert_ticket(
        subject=f"about {thread}",
        description="it broke",
        customer=customer,
        origin=ThreadRef(platform=customer.platform, channel="support", thread=thread),
        priority=priority,
        category="general",
        at=at,
    )


async def test_a_saved_ticket_reads_back_field_for_field(db: Store) -> None:
    async with db.transaction() as uow:
        first = await open_one(uow, thread="")
        second = await open_one(uow, thread="th2")
    assert (first.number, second.number) == (1, 2)
    changed = first.model_copy(
        update={
            "origin": first.origin.model_copy(update={"thread": "posted"}),
            "subject": "Login fails",
            "priority": Priority.URGENT,
            "category": "account",
            "tags": ("vip", "login"),
            "status": Status.RESOLVED,
            "assignee": BOB,
            "updated_at": NOW + timedelta(hours=1),
            "first_response_at": NOW + timedelta(minutes=5),
            "resolved_at": NOW + timedelta(hours=1),
            "resolution_summary": "reset",
            "resolved_by_kb": "reset-password",
            "card": MessageRef(platform="t", channel="queue", id="card-1"),
        }
    )
    async with db.transaction() as uow:
        assert await uow.tickets.get_ticket(1) == first  # the thread of a slash-command ticket is "" until posted
        await uow.tickets.save_ticket(changed)
    async with db.reading() as uow:
        loaded = await uow.tickets.get_ticket(1)
        assert loaded == changed
        assert loaded is not None and loaded.created_at.tzinfo is not None
        assert await uow.tickets.get_ticket(2) == second
        assert await uow.tickets.get_ticket(3) is None


async def test_card_and_origin_thread_find_their_ticket(db: Store) -> None:
    async with db.transaction() as uow:
        ticket = await open_one(uow, thread="")
        await uow.tickets.set_origin_thread(ticket.number, "root")
        await uow.tickets.save_card(ticket.number, MessageRef(platform="t", channel="queue", id="card-1"))
        # an e-mail ticket whose card has the same channel and id on the agents' platform
        mail = UserRef(platform="email", id="x@example.com", name="X")
        other = await open_one(uow, mail, thread="m1")
        await uow.tickets.save_card(other.number, MessageRef(platform="t", channel="queue", id="card-2"))
    async with db.transaction() as uow:
        found = await uow.tickets.ticket_for_thread(ThreadRef(platform="t", channel="support", thread="root"))
        assert found is not None and found[0].number == ticket.number and found[1] is False
        found = await uow.tickets.ticket_for_thread(ThreadRef(platform="t", channel="queue", thread="card-1"))
        assert found is not None and found[0].number == ticket.number and found[1] is True
        found = await uow.tickets.ticket_for_thread(ThreadRef(platform="t", channel="queue", thread="card-2"))
        assert found is not None and found[0].number == other.number and found[1] is True
        assert await uow.tickets.ticket_for_thread(ThreadRef(platform="t", channel="queue", thread="nope")) is None
    async with db.reading() as uow:
        found = await uow.tickets.ticket_for_thread(ThreadRef(platform="t", channel="support", thread="root"))
        assert found is not None and found[0].card == MessageRef(platform="t", channel="queue", id="card-1")


async def test_lists_filter_and_keep_queue_order(db: Store) -> None:
    async with db.transaction() as uow:
        low = await open_one(uow, thread="a", priority=Priority.LOW)
        urgent_late = await open_one(uow, thread="b", priority=Priority.URGENT, at=NOW + timedelta(minutes=2))
        urgent = await open_one(uow, thread="c", priority=Priority.URGENT, at=NOW + timedelta(minutes=1))
        carols = await open_one(uow, CAROL, thread="d", priority=Priority.HIGH)
        done = await open_one(uow, CAROL, thread="e")
        await uow.tickets.save_ticket(done.model_copy(update={"status": Status.CLOSED}))
        await uow.tickets.save_ticket(carols.model_copy(update={"assignee": BOB, "status": Status.OPEN}))

    async def numbers(**query: object) -> list[int]:
        async with db.reading() as uow:
            return [t.number for t in await uow.tickets.list_tickets(TicketQuery(**query))]  # type: ignore[arg-type]

    active = [s for s in Status if s.is_active]
    queue = [urgent.number, urgent_late.number, carols.number, low.number]
    assert await numbers(statuses=active) == queue
    assert await numbers() == [urgent.number, urgent_late.number, carols.number, done.number, low.number]
    assert await numbers(statuses=active, limit=2) == queue[:2]
    assert await numbers(statuses=[Status.NEW]) == [urgent.number, urgent_late.number, low.number]
    assert await numbers(statuses=active, priorities=[Priority.URGENT, Priority.LOW]) == [
        urgent.number,
        urgent_late.number,
        low.number,
    ]
    assert await numbers(statuses=[Status.OPEN, Status.CLOSED], priorities=[Priority.HIGH]) == [carols.number]
    assert await numbers(priorities=[Priority.NORMAL]) == [done.number]
    assert await numbers(customer=CAROL) == [carols.number, done.number]
    assert await numbers(customer=CAROL, statuses=active) == [carols.number]
    assert await numbers(assignee=BOB, statuses=active) == [carols.number]
    assert await numbers(unassigned=True, statuses=active) == [urgent.number, urgent_late.number, low.number]
    async with db.reading() as uow:
        assert await uow.tickets.count_active_for_customer(ALICE) == 3
        assert await uow.tickets.count_active_for_customer(CAROL) == 1
        assert await uow.tickets.count_active_for_customer(BOB) == 0


async def test_history_and_message_log_keep_their_order(db: Store) -> None:
    async with db.transaction() as uow:
        ticket = await open_one(uow)
        await uow.history.add_event(ticket.number, NOW, ALICE, "opened", suggested=["a", "b"], late=False)
        await uow.history.add_event(ticket.number, NOW + timedelta(seconds=1), BOB, "status", before="new", n=2)
        one = await uow.messages.add_message(
            ticket.number, NOW, ALICE, role="customer", visibility="public", body="hi", delivery="received"
        )
        two = await uow.messages.add_message(
            ticket.number, NOW, BOB, role="agent", visibility="internal", body="note", delivery="queued"
        )
        three = await uow.messages.add_message(
            ticket.number,
            NOW,
            UserRef(platform="t", id="bot"),
            role="bot",
            visibility="public",
            body="hello",
            delivery="delivered",
            platform_message_id="p-1",
        )
    assert one < two < three
    async with db.reading() as uow:
        events = await uow.history.events_for(ticket.number)
        assert [(e.kind, e.actor, e.at, e.detail) for e in events] == [
            ("opened", ALICE, NOW, {"suggested": ["a", "b"], "late": False}),
            ("status", BOB, NOW + timedelta(seconds=1), {"before": "new", "n": 2}),
        ]
        logged = await uow.messages.messages_for(ticket.number)
        assert [(m.id, m.body, m.author_role, m.visibility, m.delivery) for m in logged] == [
            (one, "hi", "customer", "public", "received"),
            (two, "note", "agent", "internal", "queued"),
            (three, "hello", "bot", "public", "delivered"),
        ]
        assert logged[2].author == UserRef(platform="t", id="bot", name="bot")  # the display name is stored
        assert [m.id for m in await uow.messages.messages_for(ticket.number, public_only=True)] == [one, three]
        assert await uow.history.events_for(99) == []


async def test_people_are_found_by_id_or_name(db: Store) -> None:
    async with db.transaction() as uow:
        await uow.people.remember_person(UserRef(platform="t", id="u2", name="Sam"), NOW)
        await uow.people.remember_person(UserRef(platform="t", id="u1", name="sam"), NOW)
        await uow.people.remember_person(UserRef(platform="t", id="sam", name="Someone"), NOW)
        await uow.people.remember_person(UserRef(platform="t", id="nameless"), NOW)  # not kept
        await uow.people.remember_person(UserRef(platform="t", id="u3", name="Old"), NOW)
        await uow.people.remember_person(UserRef(platform="t", id="u3", name="New"), NOW + timedelta(days=1))
    async with db.reading() as uow:
        assert await uow.people.find_person("t", "sam") == UserRef(platform="t", id="sam", name="Someone")
        assert await uow.people.find_person("t", "SAM") == UserRef(platform="t", id="u1", name="sam")
        assert await uow.people.find_person("t", "nameless") is None
        assert await uow.people.find_person("t", "old") is None
        assert await uow.people.find_person("t", "new") == UserRef(platform="t", id="u3", name="New")
        assert await uow.people.find_person("other", "u3") is None


async def test_recent_tickets_are_the_latest_active_or_recently_resolved(db: Store) -> None:
    async with db.transaction() as uow:
        older = await open_one(uow, thread="a")
        newer = await open_one(uow, thread="b")
        await uow.tickets.save_ticket(older.model_copy(update={"updated_at": NOW + timedelta(hours=1)}))
    async with db.transaction() as uow:
        latest = await uow.recent_tickets.latest_active(ALICE)
        assert latest is not None and latest.number == older.number
        assert await uow.recent_tickets.latest_active(CAROL) is None
        assert await uow.recent_tickets.latest_resolved_since(ALICE, NOW) is None
        for ticket, resolved in ((older, NOW + timedelta(hours=2)), (newer, NOW + timedelta(hours=3))):
            await uow.tickets.save_ticket(
                ticket.model_copy(update={"status": Status.RESOLVED, "resolved_at": resolved})
            )
        assert await uow.recent_tickets.latest_active(ALICE) is None
        found = await uow.recent_tickets.latest_resolved_since(ALICE, NOW + timedelta(hours=2))
        assert found is not None and found.number == newer.number
        assert await uow.recent_tickets.latest_resolved_since(ALICE, NOW + timedelta(hours=4)) is None
        # reopened: no longer resolved, so not "recently resolved" whatever its resolved_at says
        await uow.tickets.save_ticket(
            newer.model_copy(update={"status": Status.OPEN, "resolved_at": NOW + timedelta(hours=3)})
        )
        found = await uow.recent_tickets.latest_resolved_since(ALICE, NOW)
        assert found is not None and found.number == older.number


async def test_two_units_changing_one_ticket_take_turns(db: Store) -> None:
    """Each unit reads the ticket, waits a little, and writes it back with one more tag: no tag is lost."""
    async with db.transaction() as uow:
        ticket = await open_one(uow)

    racing = [4]

    async def held_up_behind() -> None:
        """The first unit to have read the ticket holds it until the other three wait for it."""
        racing[0] -= 1
        if racing[0] == 3:
            await until_waiting(db, 3)

    async def tag(name: str) -> None:
        async with db.transaction() as uow:
            current = await uow.tickets.get_ticket(ticket.number)
            assert current is not None
            await held_up_behind()
            await uow.tickets.save_ticket(current.model_copy(update={"tags": (*current.tags, name)}))

    async def tag_by_thread(name: str) -> None:
        async with db.transaction() as uow:
            found = await uow.tickets.ticket_for_thread(ticket.origin)
            assert found is not None
            await held_up_behind()
            await uow.tickets.save_ticket(found[0].model_copy(update={"tags": (*found[0].tags, name)}))

    await asyncio.gather(tag("a"), tag_by_thread("b"), tag("c"), tag_by_thread("d"))
    async with db.reading() as uow:
        final = await uow.tickets.get_ticket(ticket.number)
    assert final is not None and sorted(final.tags) == ["a", "b", "c", "d"]


async def test_a_reading_unit_does_not_wait_for_a_unit_changing_the_ticket(db: Store) -> None:
    async with db.transaction() as uow:
        ticket = await open_one(uow)
    async with db.transaction() as uow:
        held = await uow.tickets.get_ticket(ticket.number)
        assert held is not None
        await uow.tickets.save_ticket(held.model_copy(update={"subject": "changed"}))

        async def peek() -> str | None:
            async with db.reading() as reader:
                seen = await reader.tickets.get_ticket(ticket.number)
                return seen.subject if seen else None

        assert await asyncio.wait_for(peek(), timeout=5) == ticket.subject  # the committed version


async def test_intakes_for_one_customer_at_once_cannot_both_pass_the_open_ticket_limit(db: Store) -> None:
    """What intake does (count, then open): with a limit of one, two units at once open one ticket."""

    counted: list[str] = []

    async def intake(thread: str) -> Ticket | None:
        async with db.transaction() as uow:
            if await uow.tickets.count_active_for_customer(ALICE) >= 1:
                return None
            counted.append(thread)
            if len(counted) == 1:  # the first to count: the other two wait for it before they count
                await until_waiting(db, 2)
            return await open_one(uow, thread=thread)

    opened = await asyncio.gather(intake("a"), intake("b"), intake("c"))
    assert len([t for t in opened if t is not None]) == 1
    async with db.reading() as uow:
        assert await uow.tickets.count_active_for_customer(ALICE) == 1
        assert await uow.tickets.count_active_for_customer(CAROL) == 0


async def test_a_customer_whose_name_and_words_hold_nul_still_gets_a_ticket(
    desk: Desk,
) -> None:
    """Chat platforms pass NUL through; PostgreSQL text cannot hold it. The ticket opens on both engines."""
    ghost = UserRef(platform="test", id="ghost", name="Gh\x00ost")
    ticket = await desk.receive(dm(ghost, "Export\x00 is broken \\u0000 here"))
    assert ticket is not None
    shown = await desk.ticket(ticket.number)
    assert shown is not None and shown.customer.name in ("Gh\x00ost", "Ghost")
    assert shown.description.replace("\x00", "") == "Export is broken \\u0000 here"
