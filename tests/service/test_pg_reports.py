"""Reports, metrics, customer data and catch-up read the same numbers from both engines.

A small desk is written straight through the repositories (no services), with figures worked out by hand:

T0 = Mon 2026-03-02 09:00 UTC; the period is [T0, T0 + 1 day)
#1 Alice, high, t0, team billing     Dana answers +45 s (0.75 min, which SQLite's julianday makes
                                       0.74999995…, so a tenth rounds down), resolves +60m (resolution
                                       breached +51m), Alice closes it +70m and rates 4; one reply delivered
#2 Carol, normal, t0+10m, team tech  Erin answers +2m15s; Carol accepts an article the next day 00:30 UTC
                                       (self-served, deflected), rates 5
#3 Alice, urgent, t0+20m, billing    Bob's, answered +5m, a macro applied; resolution warned (at risk);
                                       a reply still pending
#4 Frank, low, t0+30m, no team       nobody answers: first response warned, then breached (due +60m)
#5 Carol, normal, t0+40m, team tech  Erin's, answered +1m, resolved +50m, reopened +55m; Alice writes in it
#6 Frank, normal, 40 days before     closed 35 days before (the retention purge's)
INC-1 created +100m (first report +80m), resolved +160m; #3 linked, #5 linked then unlinked
INC-2 created +120m (first report +121m: detected "before" reported counts as 0)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain.incident import IncidentStatus
from bot.domain.refs import ThreadRef, UserRef
from bot.domain.sla import Level, Target
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Destination, DestinationKind, Message
from bot.ports import Store, UnitOfWork
from bot.records import ERASED, AgentStats, Csat, Daily, IncidentStats, Spread, Waiting
from bot.telemetry import DeskStats
from kb.article import Article
from tests.conftest import ALICE, BOB, CAROL, DANA, ERIN

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNTIL = T0 + timedelta(days=1)
FRANK = UserRef(platform="test", id="frank", name="Frank")
SECRET = "12 Quarry Lane"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _new(uow: UnitOfWork, customer: UserRef, subject: str, priority: Priority, when: datetime) -> Ticket:
    ticket = await uow.tickets.insert_ticket(
        subject=subject,
        description=subject,
        customer=customer,
        origin=ThreadRef(platform="test", channel=f"dm-{customer.id}", thread=f"t-{subject[:12]}"),
        priority=priority,
        category="general",
        at=when,
    )
    await uow.people.remember_person(customer, when)
    await uow.history.add_event(ticket.number, when, customer, "opened", priority=priority.value)
    await uow.messages.add_message(
        ticket.number, when, customer, role="customer", visibility="public", body=subject, delivery="received"
    )
    return ticket


async def _answer(uow: UnitOfWork, ticket: Ticket, agent: UserRef, when: datetime, body: str) -> None:
    ticket.first_response_at = when
    ticket.status = Status.OPEN
    ticket.updated_at = when
    await uow.messages.add_message(
        ticket.number, when, agent, role="agent", visibility="public", body=body, delivery="queued"
    )
    await uow.tickets.save_ticket(ticket)


async def _resolve(uow: UnitOfWork, ticket: Ticket, actor: UserRef, when: datetime, kind: str) -> None:
    ticket.status = Status.RESOLVED
    ticket.resolved_at = ticket.updated_at = when
    ticket.resolution_summary = "Done"
    await uow.tickets.save_ticket(ticket)
    await uow.history.add_event(ticket.number, when, actor, kind, summary="Done")


async def _close(uow: UnitOfWork, ticket: Ticket, actor: UserRef, when: datetime, reason: str) -> None:
    ticket.status = Status.CLOSED
    ticket.closed_at = ticket.updated_at = when
    await uow.tickets.save_ticket(ticket)
    await uow.history.add_event(
        ticket.number, when, actor, "status_changed", before="resolved", after="closed", reason=reason
    )


async def _post(uow: UnitOfWork, ticket: int, text: str, when: datetime) -> int:
    return await uow.outbox.enqueue(
        Destination(kind=DestinationKind.CUSTOMER, platform="test", ticket=ticket),
        Message(text=text),
        at=when,
        ticket=ticket,
    )


async def seed(db: Store) -> None:
    async with db.transaction() as uow:
        await uow.articles.save_article(
            Article(id="export-data", title="Exporting your data", body="Settings › Data."),
            actor="kb",
            at=at(-60),
            change="add",
        )
        one = await _new(uow, ALICE, f"The export button is gone, I live at {SECRET}", Priority.HIGH, at(0))
        two = await _new(uow, CAROL, "Invoices page is blank", Priority.NORMAL, at(10))
        three = await _new(uow, ALICE, "Site is down", Priority.URGENT, at(20))
        four = await _new(uow, FRANK, "Question about my invoice", Priority.LOW, at(30))
        five = await _new(uow, CAROL, "Logo is gone", Priority.NORMAL, at(40))
        six = await _new(uow, FRANK, "An old question", Priority.NORMAL, T0 - timedelta(days=40))
        for ticket, team in ((one, "billing"), (two, "tech"), (three, "billing"), (five, "tech"), (six, "tech")):
            await uow.routing.set_team(ticket.number, team)

        # 1: Dana answers after 45 s, resolves, Alice closes and rates
        one.assignee = DANA
        await _answer(uow, one, DANA, at(0.75), "Hi Alice, it moved to Settings.")
        await uow.sla.record_alert(one.number, Target.RESOLUTION, Level.BREACH, at(50), at(51), False)
        await _resolve(uow, one, DANA, at(60), "resolved")
        await _close(uow, one, ALICE, at(70), f"thanks, {SECRET} is right")
        await uow.csat.ask(one.number, at(70))
        await uow.csat.rate(one.number, 4, f"Quick help with {SECRET}", at(75))
        await uow.articles.learn(
            "export-data", "where did the export button go", source="accepted", ticket=one.number, at=at(60)
        )
        await uow.articles.record_feedback(one.number, ["export-data"], "suggested", at(1))
        # 2: answered by Erin, self-served the next (UTC) day
        await _answer(uow, two, ERIN, at(12.25), "Looking into it.")
        two.tags = ("self-served",)
        await _resolve(uow, two, CAROL, at(930), "self_served")
        await uow.csat.ask(two.number, at(930))
        await uow.csat.rate(two.number, 5, None, at(940))
        # 3: Bob's, at risk
        three.assignee = BOB
        await _answer(uow, three, BOB, at(25), "On it.")
        await uow.history.add_event(three.number, at(26), BOB, "macro_applied", macro="refund", owner="")
        await uow.sla.record_alert(three.number, Target.RESOLUTION, Level.WARNING, at(120), at(100), False)
        # 4: nobody answers
        await uow.sla.record_alert(four.number, Target.FIRST_RESPONSE, Level.WARNING, at(60), at(45), False)
        await uow.sla.record_alert(four.number, Target.FIRST_RESPONSE, Level.BREACH, at(60), at(61), False)
        # 5: Erin's, resolved then reopened; Alice writes in it too
        five.assignee = ERIN
        await _answer(uow, five, ERIN, at(41), "Which logo?")
        await _resolve(uow, five, ERIN, at(50), "resolved")
        five.status, five.resolved_at, five.updated_at = Status.OPEN, None, at(55)
        await uow.tickets.save_ticket(five)
        await uow.history.add_event(five.number, at(55), CAROL, "reopened", reason="still gone")
        await uow.messages.add_message(
            five.number,
            at(56),
            ALICE,
            role="customer",
            visibility="public",
            body="Same here, Alice",
            delivery="received",
        )
        # 6: closed long ago
        await _answer(uow, six, BOB, T0 - timedelta(days=39), "Here is the answer, Frank.")
        await _resolve(uow, six, BOB, T0 - timedelta(days=36), "resolved")
        await _close(uow, six, FRANK, T0 - timedelta(days=35), "my old secret")
        await uow.csat.ask(six.number, T0 - timedelta(days=35))
        await uow.csat.rate(six.number, 2, "an old comment", T0 - timedelta(days=35))

        # incidents
        inc = await uow.incidents.insert_incident(
            platform="test", title="Site down", owner=BOB, source="agent", rule=None, at=at(100)
        )
        inc.first_report_at, inc.resolved_at, inc.status = at(80), at(160), IncidentStatus.RESOLVED
        await uow.incidents.save_incident(inc)
        await uow.incidents.record_report(three.number, "test", "alice", at(80), f"down at {SECRET}", None, "free")
        await uow.incidents.link(inc.id, three.number, at(100), "agent")
        await uow.incidents.link(inc.id, five.number, at(100), "agent")
        await uow.incidents.unlink(inc.id, five.number, at(101))
        await uow.incidents.add_negative(inc.id, six.number, "an old wording", at(101))
        other = await uow.incidents.insert_incident(
            platform="test", title="Slow", owner=None, source="agent", rule=None, at=at(120)
        )
        other.first_report_at = at(121)
        await uow.incidents.save_incident(other)

        # posts: #1's reply delivered, #4's failed, #3's still pending
        await _post(uow, one.number, "Hi Alice, it moved to Settings.", at(0.75))
        await _post(uow, four.number, "We got your question.", at(31))
        await _post(uow, three.number, "On it.", at(26))
    async with db.transaction() as uow:
        due = {row.ticket: row for row in await uow.outbox.due(at(300), platforms=["test"])}
        await uow.outbox.mark_delivered(due[1], at(3), "m-1")
        await uow.outbox.mark_failed(due[4], "no such channel")


async def test_the_report_of_the_desk(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        report = await uow.reports.report(T0, UNTIL)
    assert (report.created, report.resolved, report.closed, report.reopened) == (5, 3, 1, 1)
    assert report.reopen_rate == 0.333
    assert report.open_by_status == {"new": 1, "open": 2, "pending": 0, "on_hold": 0}
    assert report.open_by_priority == {"urgent": 1, "high": 0, "normal": 1, "low": 1}
    assert report.unassigned == 1
    # 0.75 (45 s), 1, 2.25 (135 s), 5 minutes
    assert report.first_response_minutes == Spread(1.6, 5.0)
    assert report.resolution_minutes == Spread(490.0, 920.0)  # 60 and 920 minutes
    assert (report.sla_breached, report.at_risk, report.breached_open) == (2, 1, 1)
    assert report.csat == Csat(4.5, 2, 2)
    assert report.deflected == 1
    assert report.resolved_by_priority == {"high": 1, "normal": 1}
    # Dana's one first response is 45 s: 0.7 as SQLite computes it, not 0.8 (round(0.75, 1))
    assert report.per_agent == {
        "Bob": AgentStats(1, 0, 5.0),
        "Dana": AgentStats(0, 1, 0.7),
        "Erin": AgentStats(1, 1, 1.0),
    }
    assert report.oldest_waiting == (Waiting(4, "Question about my invoice", "low", at(30)),)
    assert report.macros == {"refund": 1}
    assert report.incidents == IncidentStats(
        count=2, linked_tickets=1, resolved=1, time_to_detect_minutes=10.0, time_to_resolve_minutes=60.0
    )


async def test_a_teams_report_sees_its_tickets_only(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        billing = await uow.reports.report(T0, UNTIL, team="billing")
        tech = await uow.reports.report(T0, UNTIL, team="tech")
        nobody = await uow.reports.report(T0, UNTIL, team="no such team")
    assert (billing.created, billing.resolved, billing.closed, billing.reopened, billing.reopen_rate) == (
        2,
        1,
        1,
        0,
        0.0,
    )
    assert billing.open_by_status == {"new": 0, "open": 1, "pending": 0, "on_hold": 0}
    assert billing.unassigned == 0
    assert billing.first_response_minutes == Spread(2.9, 5.0)  # 0.75 (45 s) and 5 minutes
    assert (billing.sla_breached, billing.at_risk, billing.breached_open) == (1, 1, 0)
    assert billing.csat == Csat(4.0, 1, 1)
    assert billing.per_agent == {"Bob": AgentStats(1, 0, 5.0), "Dana": AgentStats(0, 1, 0.7)}
    assert billing.oldest_waiting == ()
    assert billing.macros == {"refund": 1}
    assert (tech.created, tech.resolved, tech.reopened, tech.reopen_rate, tech.deflected) == (2, 2, 1, 0.5, 1)
    assert tech.csat == Csat(5.0, 1, 1) and tech.macros == {}
    assert tech.resolution_minutes == Spread(920.0, 920.0)
    assert tech.incidents == billing.incidents and tech.incidents is not None and tech.incidents.count == 2
    assert (nobody.created, nobody.open_total, nobody.per_agent, nobody.csat) == (0, 0, {}, Csat(None, 0, 0))
    assert nobody.first_response_minutes == Spread(None, None) and nobody.reopen_rate is None


async def test_per_day_counts_utc_days(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        daily = await uow.reports.per_day(UNTIL, days=3)
        empty = await uow.reports.incidents(T0 - timedelta(days=2), T0)
    assert daily == Daily(("2026-03-01", "2026-03-02", "2026-03-03"), (0, 5, 0), (0, 2, 1))
    assert empty == IncidentStats(0, 0, 0, None, None)


async def test_metrics(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        stats = await uow.ops_stats.read_stats(at(300))
        last = await uow.ops_stats.last_event_id()
        await uow.ops_stats.count_openings(stats, 0, last)
        oldest = await uow.ops_stats.oldest_pending(("test", "slack"))
        assert await uow.ops_stats.oldest_pending(("slack",)) is None
        assert await uow.ops_stats.oldest_pending(()) is None
        assert await uow.ops_stats.pending_count() == 1
        assert await uow.ops_stats.schema_version() == await db.schema_version() > 0
    assert stats == DeskStats(
        opened={("test", "high"): 1, ("test", "normal"): 3, ("test", "urgent"): 1, ("test", "low"): 1},
        resolved={("test", "high"): 1, ("test", "normal"): 2},
        open_now={"new": 1, "open": 2},
        sla_alerts={
            ("breach", "resolution"): 1,
            ("breach", "first_response"): 1,
            ("warning", "resolution"): 1,
            ("warning", "first_response"): 1,
        },
        kb_feedback={"suggested": 1},
        outbox_depth={"test": 1},
        outbox_oldest_seconds={"test": (at(300) - at(26)).total_seconds()},
        outbox_failed={"test": 1},
    )
    assert oldest == at(26)
    async with db.reading() as uow:
        again = DeskStats()
        await uow.ops_stats.count_openings(again, last - 1, last)  # only the newest event: nothing counted
    assert again.opened == {} and again.resolved == {}


async def test_export_and_erasure_of_a_customer(db: Store) -> None:
    await seed(db)
    async with db.reading() as uow:
        data = await uow.privacy.person_data("test", "alice")
        dry = await uow.privacy.erase_person("test", "alice", apply=False)
    assert json.loads(json.dumps(data)) == data  # what `customer export` prints
    assert data["person"] == {
        "platform": "test",
        "id": "alice",
        "name": "Alice",
        "last_seen": "2026-03-02T09:20:00.000000Z",
    }
    assert [t["number"] for t in data["tickets"]] == [1, 3]
    first = data["tickets"][0]
    assert "priority_rank" not in first and first["priority"] == "high" and first["tags"] == []
    assert (first["created_at"], first["closed_at"], first["card_channel"]) == (
        "2026-03-02T09:00:00.000000Z",
        "2026-03-02T10:10:00.000000Z",
        None,
    )
    assert first["history"][-1] == {
        "at": "2026-03-02T10:10:00.000000Z",
        "actor_platform": "test",
        "actor_id": "alice",
        "actor_name": "Alice",
        "kind": "status_changed",
        "detail": {"before": "resolved", "after": "closed", "reason": f"thanks, {SECRET} is right"},
    }
    assert [m["author_role"] for m in first["messages"]] == ["customer", "agent"]
    assert first["messages"][1]["delivery"] == "queued"
    assert first["rating"] == {
        "asked_at": "2026-03-02T10:10:00.000000Z",
        "rating": 4,
        "comment": f"Quick help with {SECRET}",
        "rated_at": "2026-03-02T10:15:00.000000Z",
    }
    assert data["messages_in_other_tickets"] == [
        {
            "ticket": 5,
            "at": "2026-03-02T09:56:00.000000Z",
            "author_role": "customer",
            "visibility": "public",
            "body": "Same here, Alice",
        }
    ]
    assert data["learned_kb_wordings"] == [
        {
            "article": "export-data",
            "text": "where did the export button go",
            "ticket": 1,
            "source": "accepted",
            "at": "2026-03-02T10:00:00.000000Z",
        }
    ]
    assert dry.to_json() == {
        "tickets": [1, 3],
        "other_tickets": [5],
        "messages": 3,
        "names": 9,  # the person, 2 tickets, 3 messages, 3 events
        "history_texts": 1,
        "learned_wordings": 1,
        "rating_comments": 1,
        "posts": 1,
    }

    async with db.transaction() as uow:
        revision = await uow.articles.revision()
        done = await uow.privacy.erase_person("test", "alice", apply=True)
    assert done.to_json() == dry.to_json()
    async with db.reading() as uow:
        one = await uow.tickets.get_ticket(1)
        bodies = [m.body for m in await uow.messages.messages_for(1)]
        five = [(m.author.name, m.body) for m in await uow.messages.messages_for(5)]
        history = await uow.history.events_for(1)
        survey = await uow.csat.get(1)
        learned = await uow.articles.learned("export-data")
        assert await uow.articles.revision() == revision + 1
        reports = await uow.incidents.recent_report_texts(10)
        again = await uow.privacy.erase_person("test", "alice", apply=False)
        after = await uow.privacy.person_data("test", "alice")
    assert one is not None and (one.subject, one.description, one.customer.name) == (ERASED, ERASED, ERASED)
    assert one.closed_at == at(70) and one.priority == Priority.HIGH  # numbers, times and states stay
    assert bodies == [ERASED, f"Hi {ERASED}, it moved to Settings."]  # the agent's words stay, her name goes
    assert five == [("Carol", "Logo is gone"), ("Erin", "Which logo?"), (ERASED, ERASED)]
    assert [e.actor.name for e in history if e.actor.id == "alice"] == [ERASED, ERASED]
    assert [e.detail.get("reason") for e in history if e.kind == "status_changed"] == [ERASED]
    assert survey is not None and (survey.rating, survey.comment) == (4, ERASED)
    assert learned == [] and reports == [ERASED]  # incident detection's copy of what she reported
    assert (again.messages, again.names, again.history_texts, again.ratings_comments, again.posts) == (0, 0, 0, 0, 0)
    assert SECRET not in json.dumps(after) and "Alice" not in json.dumps(after)


async def test_retention_purges_tickets_closed_before_the_cutoff_once(db: Store) -> None:
    await seed(db)
    async with db.transaction() as uow:
        assert await uow.privacy.purge_closed(T0 - timedelta(days=36)) == []  # #6 closed 35 days ago
        purged = await uow.privacy.purge_closed(T0 - timedelta(days=30))
    assert purged == [6]
    async with db.transaction() as uow:
        assert await uow.privacy.purge_closed(UNTIL) == [1]  # #6 is not purged twice
        six = await uow.tickets.get_ticket(6)
        bodies = {m.body for m in await uow.messages.messages_for(6)}
        reasons = [e.detail.get("reason") or e.detail.get("summary") for e in await uow.history.events_for(6)]
        survey = await uow.csat.get(6)
        three = [m.body for m in await uow.messages.messages_for(3)]
        negatives = await uow.incidents.negatives_for(1)
    assert six is not None and (six.subject, six.description, six.resolution_summary) == (ERASED, ERASED, ERASED)
    assert six.customer.name == "Frank" and six.status == Status.CLOSED
    assert bodies == {ERASED}
    assert reasons == [None, ERASED, ERASED]  # opened (no text), resolved (summary), closed (reason)
    assert survey is not None and (survey.rating, survey.comment) == (2, ERASED)
    assert three == ["Site is down", "On it."]  # open: kept
    assert negatives == [ERASED]  # incident detection's copy of #6's wording


async def test_read_marks_and_open_conversations(db: Store) -> None:
    await seed(db)
    async with db.transaction() as uow:
        await uow.catch_up.advance("discord", {"100": "999", "200": "1300000000000000000"}, at(1))
        await uow.catch_up.advance("discord", {"100": "1000", "200": "1299999999999999999"}, at(2))
        await uow.catch_up.advance("slack", {"C1": "1700000000.000200", "C2": "1700000000.000100"}, at(1))
        await uow.catch_up.advance("slack", {"C1": "1700000000.000100", "C2": "1700000001.000000"}, at(2))
        await uow.catch_up.advance("slack", {}, at(3))
    async with db.reading() as uow:
        assert await uow.catch_up.read_marks("discord") == {"100": "1000", "200": "1300000000000000000"}
        assert await uow.catch_up.read_marks("slack") == {"C1": "1700000000.000200", "C2": "1700000001.000000"}
        assert await uow.catch_up.read_marks("teams") == {}
        found = await uow.catch_up.open_conversations("test", 10)
        assert len(await uow.catch_up.open_conversations("test", 2)) == 2
        assert await uow.catch_up.open_conversations("discord", 10) == []
    # not closed (#1 and #6 are), most recently updated first: #2 resolved the next day, #5, #4, #3
    assert [(c.channel, c.thread, c.opened_at) for c in found] == [
        ("dm-carol", "t-Invoices pag", at(10)),
        ("dm-carol", "t-Logo is gone", at(40)),
        ("dm-frank", "t-Question abo", at(30)),
        ("dm-alice", "t-Site is down", at(20)),
    ]
