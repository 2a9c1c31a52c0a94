"""Store queries of macros, routing, incidents and webhook deliveries that the service tests reach only in
part, on both engines: the same answers, in the same order, and units that change one thing take turns."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.domain.incident import IncidentStatus
from bot.domain.macros import Macro, parse_actions
from bot.domain.refs import MessageRef, ThreadRef, UserRef
from bot.domain.ticket import Priority, Status
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import Store
from tests.contention import until_waiting

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BOB = UserRef(platform="test", id="bob", name="Bob")
ERIN = UserRef(platform="test", id="erin", name="Erin")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def tickets(db: Store, count: int, *, subject: str = "Question {n}") -> None:
    async with db.transaction() as uow:
        for n in range(1, count + 1):
            customer = UserRef(platform="test", id=f"c{n}", name=f"C{n}")
            await uow.tickets.insert_ticket(
                subject=subject.format(n=n),
                description=f"text of {n}",
                customer=customer,
                origin=ThreadRef(platform="test", channel="dm", thread=f"t{n}"),
                priority=Priority.NORMAL,
                category="general",
                at=minutes(n),
            )


async def update(db: Store, number: int, **fields: object) -> None:
    async with db.transaction() as uow:
        ticket = await uow.tickets.get_ticket(number)
        assert ticket is not None
        await uow.tickets.save_ticket(ticket.model_copy(update=fields))


# --- macros --------------------------------------------------------------------------------------------------


async def test_macro_versions_rename_and_delete(db: Store) -> None:
    macro = Macro(name="refund", body="Refunded {ticket}", actions=parse_actions("status pending"))
    async with db.transaction() as uow:
        assert await uow.macros.save(macro, actor="Dana", at=minutes(1), change="created") == 1
        assert await uow.macros.save(macro, actor="Dana", at=minutes(2), change="text") is None
        changed = Macro(name="refund", body="Refunded {ticket}.", actions=macro.actions)
        assert await uow.macros.save(changed, actor="Erin", at=minutes(3), change="text") == 2
        actions_only = Macro(name="refund", body="Refunded {ticket}.", actions=parse_actions("tag refund"))
        assert await uow.macros.save(actions_only, actor="Erin", at=minutes(4), change="actions") == 3
    async with db.reading() as uow:
        found = await uow.macros.get("refund", "")
        assert await uow.macros.get("refund", "test:bob") is None
    assert found is not None
    assert (found.body, found.actions.text(), found.version, found.updated_at, found.updated_by, found.uses) == (
        "Refunded {ticket}.",
        "tag refund",
        3,
        minutes(4),
        "Erin",
        0,
    )
    async with db.transaction() as uow:
        await uow.macros.rename(found, "refund-sent", actor="Dana", at=minutes(5))
    async with db.transaction() as uow:
        renamed = await uow.macros.get("refund-sent", "")
        assert renamed is not None and renamed.version == 4
        await uow.macros.delete(renamed, actor="Dana", at=minutes(6))
    async with db.reading() as uow:
        assert await uow.macros.get("refund-sent", "") is None
        assert await uow.macros.versions("refund", "") == [
            (1, minutes(1), "Dana", "created"),
            (2, minutes(3), "Erin", "text"),
            (3, minutes(4), "Erin", "actions"),
        ]
        assert await uow.macros.versions("refund-sent", "") == [
            (4, minutes(5), "Dana", "renamed from refund"),
            (5, minutes(6), "Dana", "deleted"),
        ]


async def test_macro_lists_uses_and_what_the_suggester_learns(db: Store) -> None:
    await tickets(db, 4, subject="Subject {n}")
    async with db.transaction() as uow:
        for name, owner in [("b-one", ""), ("a.two", ""), ("b-one", "test:bob"), ("zed", "test:erin"), ("bone", "")]:
            await uow.macros.save(
                Macro(name=name, body=f"{name} text", actions=parse_actions(""), owner=owner),
                actor="Dana",
                at=T0,
                change="created",
            )
        await uow.routing.set_team(1, "billing")
        await uow.routing.set_team(2, "support")
        applied = [(1, "a.two", ""), (2, "a.two", ""), (2, "a.two", ""), (3, "bone", ""), (4, "b-one", "test:bob")]
        for number, (ticket, name, owner) in enumerate(applied):
            await uow.history.add_event(ticket, minutes(10 + number), BOB, "macro_applied", macro=name, owner=owner)
        await uow.history.add_event(1, minutes(20), BOB, "noted")
    async with db.reading() as uow:
        visible = [(m.name, m.owner, m.uses) for m in await uow.macros.visible("test:bob")]
        shared = [(m.name, m.uses) for m in await uow.macros.shared()]
        everything = [(m.owner, m.name) for m in await uow.macros.everything()]
        assert await uow.macros.usage(T0, minutes(60)) == {"a.two": 3, "b-one": 1, "bone": 1}
        assert await uow.macros.usage(minutes(11), minutes(13)) == {"a.two": 2}
        assert await uow.macros.usage(T0, minutes(60), ["billing", "support"]) == {"a.two": 3}
        assert await uow.macros.usage(T0, minutes(60), ["billing"]) == {"a.two": 1}
        assert await uow.macros.usage(T0, minutes(60), ["nobody"]) == {}
        assert await uow.macros.used_on() == {"bone": ["Subject 3"], "a.two": ["Subject 2", "Subject 1"]}
        assert await uow.macros.used_on(limit_per_macro=1) == {"bone": ["Subject 3"], "a.two": ["Subject 2"]}
        assert await uow.macros.revision() == (3, 5)
    assert visible == [("a.two", "", 3), ("b-one", "test:bob", 1), ("bone", "", 1), ("b-one", "", 0)]
    assert shared == [("a.two", 3), ("bone", 1), ("b-one", 0)]
    assert everything == [("", "a.two"), ("", "b-one"), ("", "bone"), ("test:bob", "b-one"), ("test:erin", "zed")]


async def test_a_suggestion_is_remembered_beside_the_team(db: Store) -> None:
    await tickets(db, 2)
    async with db.transaction() as uow:
        assert await uow.macros.suggestion_for(1) is None
        await uow.routing.set_team(1, "billing")
        await uow.macros.remember_suggestion(1, "refund")
        await uow.macros.remember_suggestion(2, "hello")
        await uow.macros.remember_suggestion(2, "welcome")
    async with db.reading() as uow:
        assert await uow.macros.suggestion_for(1) == "refund"
        assert await uow.macros.suggestion_for(2) == "welcome"
        assert await uow.routing.team_of(1) == "billing"
        assert await uow.routing.team_of(2) is None


async def test_two_edits_of_one_macro_each_write_a_version(db: Store) -> None:
    async with db.transaction() as uow:
        await uow.macros.save(Macro(name="m", body="v1", actions=parse_actions("")), actor="A", at=T0, change="c")
    started = asyncio.Event()

    async def edit(body: str, wait: bool) -> int | None:
        async with db.transaction() as uow:
            version = await uow.macros.save(
                Macro(name="m", body=body, actions=parse_actions("")), actor=body, at=T0, change="text"
            )
            started.set()
            if wait:
                await until_waiting(db, 1)  # the other edit is held up behind this one
            return version

    async def second() -> int | None:
        await started.wait()
        return await edit("v3", wait=False)

    assert await asyncio.gather(edit("v2", wait=True), second()) == [2, 3]
    async with db.reading() as uow:
        assert [v[0] for v in await uow.macros.versions("m", "")] == [1, 2, 3]


# --- routing -------------------------------------------------------------------------------------------------


async def test_load_presence_and_the_team_queue(db: Store) -> None:
    await tickets(db, 6)
    async with db.transaction() as uow:
        for n in range(1, 6):
            await uow.routing.set_team(n, "support")
        await uow.routing.set_team(6, "billing")
        await uow.routing.set_team(5, None)
    await update(db, 1, assignee=BOB, status=Status.OPEN)
    await update(db, 2, assignee=BOB, status=Status.RESOLVED)
    await update(db, 3, assignee=ERIN, status=Status.PENDING)
    await update(db, 6, assignee=BOB)
    await update(db, 4, status=Status.CLOSED)
    async with db.transaction() as uow:
        await uow.routing.set_away(ERIN, None, minutes(1))
        await uow.routing.set_away(BOB, minutes(30), minutes(1))
        await uow.routing.set_away(UserRef(platform="test", id="gone", name="Gone"), minutes(5), minutes(1))
    async with db.reading() as uow:
        assert await uow.routing.open_load("test", ["bob", "erin", "dana"]) == {"bob": 2, "erin": 1}
        assert await uow.routing.open_load("other", ["bob"]) == {}
        assert await uow.routing.open_load("test", []) == {}
        assert await uow.routing.away("test", ["bob", "erin", "gone", "dana"], minutes(10)) == {
            "bob": minutes(30),
            "erin": None,
        }
        assert await uow.routing.away("test", ["bob"], minutes(30)) == {}
        assert await uow.routing.away("test", [], minutes(10)) == {}
        assert await uow.routing.open_assigned_to(BOB) == [1, 6]
        assert await uow.routing.open_assigned_to(UserRef(platform="other", id="bob", name="Bob")) == []
        assert await uow.routing.waiting("support") == []  # 4 is closed, 5 has no team now
        assert await uow.routing.team_counts("support") == (2, 0)
        assert await uow.routing.team_counts("nobody") == (0, 0)
    await update(db, 1, assignee=None)
    await update(db, 3, assignee=None)
    async with db.transaction() as uow:
        assert await uow.routing.set_back(ERIN)
        assert not await uow.routing.set_back(ERIN)
        assert await uow.routing.waiting("support") == [1, 3]
        assert await uow.routing.waiting("support", limit=1) == [1]
        assert await uow.routing.team_counts("support") == (2, 2)
        assert await uow.routing.away("test", ["erin"], minutes(10)) == {}


async def test_nobody_available_is_told_once(db: Store) -> None:
    await tickets(db, 2)
    async with db.transaction() as uow:
        assert await uow.routing.unstaffed_since("support") is None
        assert await uow.routing.mark_unstaffed("support", minutes(1), 1)
        assert not await uow.routing.mark_unstaffed("support", minutes(2), 2)
        assert await uow.routing.unstaffed_since("support") == minutes(1)
        await uow.routing.clear_unstaffed("support")
        assert await uow.routing.unstaffed_since("support") is None
        assert await uow.routing.mark_unstaffed("support", minutes(3), 2)


async def _take_turns(db: Store) -> list[str | None]:
    """Two units each read the pointer and move it on; the second starts while the first is still open."""
    seen: list[str | None] = []
    first_read = asyncio.Event()

    async def assign(member: str, *, hold: bool) -> None:
        async with db.transaction() as uow:
            seen.append(await uow.routing.pointer("support"))
            first_read.set()
            if hold:
                await until_waiting(db, 1)  # the second unit is held up behind this one
            await uow.routing.move_pointer("support", member, T0)

    async def second() -> None:
        await first_read.wait()
        await assign("a2", hold=False)

    await asyncio.gather(assign("a1", hold=True), second())
    return seen


async def test_two_units_assigning_for_one_team_take_turns(db: Store) -> None:
    assert await _take_turns(db) == [None, "a1"]  # before the team's first pointer too
    assert await _take_turns(db) == ["a2", "a1"]
    async with db.reading() as uow:
        assert await uow.routing.pointer("support") == "a2"
        assert await uow.routing.pointer("billing") is None


# --- incidents -----------------------------------------------------------------------------------------------


async def test_incident_rows_cards_and_lists(db: Store) -> None:
    async with db.transaction() as uow:
        first = await uow.incidents.insert_incident(
            platform="test", title="Login down", owner=BOB, source="agent", rule=None, at=minutes(1)
        )
        second = await uow.incidents.insert_incident(
            platform="other", title="Mail slow", owner=None, source="detected", rule="mail", at=minutes(2)
        )
        third = await uow.incidents.insert_incident(
            platform="test", title="Old", owner=None, source="auto", rule="", at=minutes(-600)
        )
    assert (first.id, first.status, first.owner, first.created_at) == (1, IncidentStatus.INVESTIGATING, BOB, minutes(1))
    async with db.transaction() as uow:
        resolved = third.model_copy(
            update={"status": IncidentStatus.RESOLVED, "resolved_at": minutes(3), "resolution": "fixed",
                    "updated_at": minutes(3), "owner": ERIN, "first_report_at": minutes(-700)}
        )  # fmt: skip
        await uow.incidents.save_incident(resolved)
        await uow.incidents.save_card(first.id, MessageRef(platform="test", channel="queue", id="m1"))
    async with db.reading() as uow:
        assert await uow.incidents.get_incident(third.id) == resolved
        assert await uow.incidents.get_incident(99) is None
        assert await uow.incidents.rule_of(second.id) == "mail"
        assert await uow.incidents.rule_of(third.id) is None
        carded = await uow.incidents.incident_for_card("test", "queue", "m1")
        assert carded is not None and carded.card == MessageRef(platform="test", channel="queue", id="m1")
        assert await uow.incidents.incident_for_card("other", "queue", "m1") is None
        assert [i.id for i in await uow.incidents.list_incidents(open_only=False)] == [3, 2, 1]
        assert [i.id for i in await uow.incidents.list_incidents(open_only=True)] == [2, 1]
        assert [i.id for i in await uow.incidents.list_incidents(open_only=False, platform="test")] == [3, 1]
        assert [i.id for i in await uow.incidents.list_incidents(open_only=True, platform="test", limit=1)] == [1]
        assert [i.id for i in await uow.incidents.incidents_between(T0, minutes(3))] == [1, 2]
        assert [i.id for i in await uow.incidents.incidents_between(T0, minutes(4))] == [1, 2, 3]
        assert [i.id for i in await uow.incidents.incidents_between(minutes(3), minutes(4))] == [3]


async def test_incident_links_updates_and_negatives(db: Store) -> None:
    await tickets(db, 3)
    async with db.transaction() as uow:
        inc = await uow.incidents.insert_incident(
            platform="test", title="Down", owner=None, source="agent", rule=None, at=minutes(10)
        )
        for n in (3, 1, 2):
            await uow.incidents.link(inc.id, n, minutes(11), "agent")
        assert await uow.incidents.unlink(inc.id, 1, minutes(12))
        assert not await uow.incidents.unlink(inc.id, 1, minutes(12))
        await uow.incidents.add_update(
            inc.id, minutes(13), BOB, IncidentStatus.IDENTIFIED, "found", visibility="public"
        )
        await uow.incidents.add_update(
            inc.id, minutes(14), ERIN, IncidentStatus.IDENTIFIED, "psst", visibility="internal"
        )
        await uow.incidents.add_negative(inc.id, 2, "not this", minutes(16))
        await uow.incidents.add_negative(inc.id, 1, "nor this", minutes(15))
        await uow.incidents.add_negative(inc.id, 2, "not this either", minutes(17))
    async with db.reading() as uow:
        assert await uow.incidents.linked_tickets(inc.id) == [2, 3]
        assert await uow.incidents.ever_linked(inc.id) == 3
        assert await uow.incidents.incident_of_ticket(1) is None
        assert await uow.incidents.incident_of_ticket(3) == inc.id
        assert await uow.incidents.member_texts(inc.id) == ["text of 2", "text of 3"]
        assert await uow.incidents.member_texts(inc.id, limit=1) == ["text of 2"]
        assert await uow.incidents.first_report_at(inc.id) == minutes(1)  # unlinked reports count here
        assert await uow.incidents.last_report_at(inc.id) == minutes(3)
        assert await uow.incidents.last_report_at(99) is None
        assert await uow.incidents.first_report_at(99) is None
        updates = await uow.incidents.updates_for(inc.id, public_only=False)
        assert [(u.update.text, u.update.author, u.update.at, u.visibility) for u in updates] == [
            ("found", BOB, minutes(13), "public"),
            ("psst", ERIN, minutes(14), "internal"),
        ]
        assert [u.update.text for u in await uow.incidents.updates_for(inc.id, public_only=True)] == ["found"]
        latest = await uow.incidents.latest_public_update(inc.id)
        assert latest is not None and latest.status is IncidentStatus.IDENTIFIED
        assert await uow.incidents.latest_public_update(99) is None
        assert await uow.incidents.negatives_for(inc.id) == ["nor this", "not this either"]
    async with db.transaction() as uow:
        await uow.incidents.link(inc.id, 1, minutes(20), "detected")  # linked again
        assert await uow.incidents.linked_tickets(inc.id) == [1, 2, 3]
        assert await uow.incidents.ever_linked(inc.id) == 3


async def test_reports_as_detection_reads_them(db: Store) -> None:
    await tickets(db, 6)
    async with db.transaction() as uow:
        for n, at in [(1, 1), (2, 5), (3, 5), (4, 7), (5, 9)]:
            await uow.incidents.record_report(
                n, "test", f"c{n}", minutes(at), f"report {n}", "rule" if n == 2 else None, "free"
            )
        await uow.incidents.record_report(6, "other", "c6", minutes(5), "report 6", None, "free")
        await uow.incidents.record_report(1, "test", "c1", minutes(1), "again", None, "proposed")  # kept as it was
    async with db.reading() as uow:
        found = await uow.incidents.free_reports("test", minutes(2), exclude=5)
        assert [(r.ticket, r.customer, r.text, r.rule) for r in found] == [
            (2, "c2", "report 2", "rule"),
            (3, "c3", "report 3", None),
            (4, "c4", "report 4", None),
        ]
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0, limit=3)] == [3, 4, 5]
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0, limit=2)] == [4, 5]
        # 2 and 3 came at the same moment: the later ticket counts as the later report
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=5, limit=2)] == [3, 4]
        assert await uow.incidents.recent_report_texts(2) == ["report 5", "report 6"]
        assert not await uow.incidents.all_proposed([1, 2])
    async with db.transaction() as uow:
        await uow.incidents.set_report_state([1, 2], "proposed")
        await uow.incidents.set_report_state([], "dismissed")
        assert await uow.incidents.all_proposed([1, 2])
        assert await uow.incidents.all_proposed([])
        assert not await uow.incidents.all_proposed([1, 2, 3])
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0, state="proposed")] == [1, 2]
        inc = await uow.incidents.insert_incident(
            platform="test", title="Down", owner=None, source="detected", rule=None, at=minutes(10)
        )
        await uow.incidents.link(inc.id, 3, minutes(10), "detected")
        await uow.incidents.link(inc.id, 4, minutes(10), "detected")
        await uow.incidents.unlink(inc.id, 4, minutes(11))
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0, state="linked")] == [3]
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0, state="dismissed")] == [4]
        assert [r.ticket for r in await uow.incidents.free_reports("test", T0, exclude=0)] == [5]


async def test_two_units_changing_one_incident_take_turns(db: Store) -> None:
    async with db.transaction() as uow:
        inc = await uow.incidents.insert_incident(
            platform="test", title="Down", owner=None, source="agent", rule=None, at=T0
        )
    first_read = asyncio.Event()

    async def retitle(suffix: str, *, hold: bool) -> None:
        async with db.transaction() as uow:
            current = await uow.incidents.get_incident(inc.id)
            assert current is not None
            first_read.set()
            if hold:
                await until_waiting(db, 1)  # the second unit is held up behind this one
            await uow.incidents.save_incident(current.model_copy(update={"title": current.title + suffix}))

    async def second() -> None:
        await first_read.wait()
        await retitle(" (2)", hold=False)

    await asyncio.gather(retitle(" (1)", hold=True), second())
    async with db.reading() as uow:
        done = await uow.incidents.get_incident(inc.id)
    assert done is not None and done.title == "Down (1) (2)"  # neither change was lost


# --- webhook deliveries --------------------------------------------------------------------------------------


def _webhook(endpoint: str, ticket: int | None) -> Destination:
    thread = f"ticket-{ticket}" if ticket is not None else None
    return Destination(kind=DestinationKind.THREAD, platform="webhook", channel=endpoint, thread=thread)


async def test_the_delivery_log_and_redelivery(db: Store) -> None:
    await tickets(db, 1)
    body = json.dumps({"type": "ticket.created", "id": "evt_1", "data": {"ticket": 1}})
    async with db.transaction() as uow:
        first = await uow.outbox.enqueue(_webhook("crm", 1), Message(text=body), at=minutes(1), ticket=1)
        second = await uow.outbox.enqueue(_webhook("ops", None), Message(text=json.dumps({})), at=minutes(2))
        chat = await uow.outbox.enqueue(
            Destination(kind=DestinationKind.CHANNEL, platform="test", channel="leads"), Message(text="hi"), at=T0
        )
    async with db.transaction() as uow:
        row = await uow.webhook_deliveries.pending_row(first)
        assert row is not None
        await uow.outbox.mark_failed(row, "HTTP 500")
    async with db.reading() as uow:
        log = await uow.webhook_deliveries.list_deliveries()
        assert [d.id for d in log] == [second, first]
        assert [d.id for d in await uow.webhook_deliveries.list_deliveries(failed_only=True)] == [first]
        assert [d.id for d in await uow.webhook_deliveries.list_deliveries(limit=1)] == [second]
        assert await uow.webhook_deliveries.get_delivery(chat) is None
        assert await uow.webhook_deliveries.get_delivery(999) is None
        assert await uow.webhook_deliveries.pending_row(first) is None
        pending = await uow.webhook_deliveries.pending_row(second)
        chat_row = await uow.webhook_deliveries.pending_row(chat)
    failed = log[1]
    assert (failed.endpoint, failed.event_type, failed.event_id, failed.ticket) == ("crm", "ticket.created", "evt_1", 1)
    assert (failed.state, failed.attempts, failed.last_error, failed.answer) == ("failed", 1, "HTTP 500", None)
    assert (failed.created_at, failed.delivered_at, failed.next_attempt_at, failed.body) == (
        minutes(1),
        None,
        minutes(1),
        body,
    )
    assert (log[0].event_type, log[0].event_id, log[0].ticket) == ("", "", None)
    assert pending is not None and pending.destination == _webhook("ops", None) and pending.ticket is None
    assert chat_row is not None and chat_row.message.text == "hi"  # any pending row, for the worker
    async with db.transaction() as uow:
        again = await uow.webhook_deliveries.requeue(first, minutes(5))
        assert await uow.webhook_deliveries.requeue(chat, minutes(5)) is None
        assert await uow.webhook_deliveries.requeue(999, minutes(5)) is None
    assert again is not None
    async with db.reading() as uow:
        new = await uow.webhook_deliveries.get_delivery(again)
        old = await uow.webhook_deliveries.get_delivery(first)
        row = await uow.webhook_deliveries.pending_row(again)
    assert new is not None and old is not None and row is not None
    assert (new.state, new.body, new.endpoint, new.ticket, new.created_at) == ("pending", body, "crm", 1, minutes(5))
    assert old.state == "failed"
    assert (row.destination, row.message, row.ticket, row.attempts) == (_webhook("crm", 1), Message(text=body), 1, 0)
