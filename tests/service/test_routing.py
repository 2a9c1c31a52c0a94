"""Teams and automatic assignment through the core, with a fake clock: fairness, load, availability,
business hours, transfer, escalation tiers and a restart in the middle of a rotation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.bootstrap import build_desk
from bot.config import ConfigError, Settings
from bot.delivery import DeliveryWorker
from bot.domain.refs import MessageRef, UserRef
from bot.outbound import Link, Message
from bot.ports import DeliveryRefused, PostLookup, Store
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from tests.conftest import ALICE, BOB, CAROL, DANA, ERIN, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform

AGENTS = [UserRef(platform="test", id=f"a{i}", name=f"Agent{i}") for i in range(1, 6)]


def settings_with(teams: list[dict[str, Any]], **intake: Any) -> Settings:
    return make_settings(
        kb={"suggestions": 0},
        roles={"agents": ["test:bob", "test:erin", *(a.key for a in AGENTS)], "leads": ["test:dana"]},
        intake={"max_open_per_customer": 0, **intake},
        teams=teams,
    )


def desk_for(settings: Settings, db: Store, clock: FakeClock) -> Desk:
    return build_desk(settings, db, kb=KnowledgeLibrary(), clock=clock)


async def assignee(desk: Desk, number: int) -> str | None:
    ticket = await desk.ticket(number)
    assert ticket is not None
    return ticket.assignee.id if ticket.assignee else None


async def test_round_robin_is_fair_over_200_tickets_and_survives_a_restart(db: Store, clock: FakeClock) -> None:
    settings = settings_with([{"name": "support", "members": [a.key for a in AGENTS], "categories": ["general"],
                               "assignment": "round_robin"}])  # fmt: skip
    # 200 near-identical questions from 40 customers (40 rounds of the five agents, the restart mid-round):
    # incident detection (a third of the test's CPU) has nothing to do with who gets them
    settings = settings.model_copy(update={"incidents": settings.incidents.model_copy(update={"enabled": False})})
    desk = desk_for(settings, db, clock)
    customers = [UserRef(platform="test", id=f"c{i}", name=f"C{i}") for i in range(40)]
    for n in range(1, 201):
        if n == 103:  # a restart: a new desk over the same database, nothing kept in memory
            before = await assignee(desk, 102)
            desk = desk_for(settings, db, clock)
        ticket = await desk.receive(dm(customers[n % 40], f"Question number {n}"))
        assert ticket is not None
        if n == 103:
            ids = [a.id for a in AGENTS]
            assert await assignee(desk, 103) == ids[(ids.index(before or "") + 1) % 5], "the rotation continued"
    async with db.reading() as uow:
        load = await uow.routing.open_load("test", [a.id for a in AGENTS])
    assert sum(load.values()) == 200
    assert max(load.values()) - min(load.values()) <= 1, load


async def test_least_loaded_with_uneven_loads_and_a_cap_then_the_leads_are_told_once(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    settings = settings_with([{"name": "support", "members": ["test:bob", "test:erin"], "categories": ["general"],
                               "assignment": "least_loaded", "max_open_per_agent": 3}])  # fmt: skip
    desk = desk_for(settings, db, clock)
    assert (await desk.run(ERIN, "/agent away")).ok  # Erin comes in later: Bob gets the first two
    for n in (1, 2):
        await desk.receive(dm(ALICE, f"Old question {n}"))
    assert (await desk.run(ERIN, "/agent back")).ok
    async with db.reading() as uow:
        assert await uow.routing.open_load("test", ["bob", "erin"]) == {"bob": 2}
    got = []
    for n in range(3, 8):
        await desk.receive(dm(CAROL, f"New question {n}"))
        got.append(await assignee(desk, n))
    # Erin (0 open) first until she catches up with Bob (2), then turns; both stop at 3; then nobody
    assert got == ["erin", "erin", "bob", "erin", None]
    await desk.receive(dm(CAROL, "One more"))
    assert await assignee(desk, 8) is None
    await worker.drain()
    told = [p.text for p in platform.in_channel("leads") if "Nobody in team support" in p.text]
    assert told == [
        "⚠ Nobody in team support can take new tickets: everyone is away or at 3 open tickets. #7 and the next "
        "ones wait unassigned in the queue (told once until someone is available again)."
    ]
    history = (await desk.run(DANA, "/ticket show 8")).text
    assert "ThreadDesk found nobody available in team support: it waits unassigned" in history


async def test_away_back_handover_and_the_assignee_is_told(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    settings = settings_with([{"name": "support", "members": ["test:bob", "test:erin"], "categories": ["general"],
                               "assignment": "round_robin"}])  # fmt: skip
    desk = desk_for(settings, db, clock)
    await desk.receive(dm(ALICE, "My export is stuck", message_id="alice-1"))
    await worker.drain()
    assert await assignee(desk, 1) == "bob"
    assert platform.texts("dm-alice", "alice-1")[-1] == "Bob is looking at this."
    [card] = platform.in_channel("queue")
    assert {f.name: f.value for f in card.current.fields}["Assignee"] == "Bob"
    assert not [p for p in platform.in_thread("queue", card.id) if "is yours" in p.text], "no ping in the card"
    [note] = platform.in_channel("dm-bob")
    assert note.text == "#1 is yours, Bob (round-robin, team support): My export is stuck"
    assert note.message.link == Link(label="Open the card of #1", url=f"https://chat.test/queue/{card.id}")
    assert [b.command for b in note.message.buttons] == ["/ticket show 1"]

    away = await desk.run(BOB, "/agent away 2h")
    assert away.text.startswith("You're away until 2026-11-02 11:00 UTC: no new tickets come to you.")
    assert "You still have 1 open (#1)" in away.text
    [hand] = away.message.buttons
    for n in (2, 3):
        await desk.receive(dm(CAROL, f"Question {n}"))
        assert await assignee(desk, n) == "erin"
    handed = await desk.run(BOB, hand.command)
    assert handed.text == "You're away until 2026-11-02 11:00 UTC. Your tickets went back to the queue: #1 → Erin."
    await worker.drain()
    assert sorted(platform.texts("dm-erin")) == [  # each about its own ticket: no order between them
        "#1 is yours, Erin (round-robin, team support): My export is stuck",
        "#2 is yours, Erin (round-robin, team support): Question 2",
        "#3 is yours, Erin (round-robin, team support): Question 3",
    ], "each assignment told once"
    assert platform.texts("dm-bob") == ["#1 is yours, Bob (round-robin, team support): My export is stuck"]
    clock.advance(hours=2)  # away ends by itself
    await desk.receive(dm(CAROL, "Question 4"))
    assert await assignee(desk, 4) == "bob"
    assert (await desk.run(ERIN, "/agent away")).ok
    await desk.receive(dm(CAROL, "Question 5"))
    assert await assignee(desk, 5) == "bob"
    back = await desk.run(ERIN, "/agent back")
    assert back.text == "Welcome back: new tickets can come to you."
    shown = (await desk.run(DANA, "/team show support")).text
    assert "Bob: available · 2 open · got the last ticket" in shown and "Erin: available · 3 open" in shown


@dataclass
class QueueRefused(RecordingPlatform):
    """A platform whose queue channel refuses the bot (it was removed from it)."""

    async def post_message(self, channel: str, message: Message, **kwargs: Any) -> MessageRef:
        if channel == "queue":
            raise DeliveryRefused("not_in_channel")
        return await super().post_message(channel, message, **kwargs)


@dataclass
class NoDirectMessages:
    """A platform that can post but not write to one person (e-mail, say)."""

    inner: RecordingPlatform
    name: str = "test"

    async def post_message(self, channel: str, message: Message, **kwargs: Any) -> MessageRef:
        return await self.inner.post_message(channel, message, **kwargs)

    async def update_message(self, ref: MessageRef, message: Message) -> None:
        await self.inner.update_message(ref, message)

    async def find_post(self, lookup: PostLookup) -> MessageRef | None:
        return None


async def test_the_assignees_note_without_a_card_or_without_dms(
    db: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_with([{"name": "support", "members": ["test:bob"], "categories": ["general"],
                               "assignment": "round_robin"}])  # fmt: skip
    desk = desk_for(settings, db, clock)
    refused = QueueRefused()
    await desk.receive(dm(ALICE, "My export is stuck"))
    await DeliveryWorker(db, {"test": refused}, clock).drain()
    [note] = refused.in_channel("dm-bob")
    assert note.text == "#1 is yours, Bob (round-robin, team support): My export is stuck"
    assert note.message.link is None, "no card, no link: the note still goes"

    plain = RecordingPlatform()
    await desk.receive(dm(CAROL, "Another one"))
    await DeliveryWorker(db, {"test": NoDirectMessages(plain)}, clock).drain()
    assert [p.channel for p in plain.sent if "is yours" in p.text] == []
    assert "not delivered: test has no direct messages" in caplog.text
    [card] = plain.in_channel("queue")  # the card went out all the same, and its thread says who has it
    assert plain.texts("queue", card.id) == [
        "#2: assigned to Bob — I couldn't DM them: the bot cannot write to one person there."
    ]


async def test_business_hours_count_as_away_and_what_waited_is_handed_out_when_they_open(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    hours = {"timezone": "UTC", "hours": {"mon": "09:00-17:00"}}
    settings = settings_with([{"name": "support", "members": ["test:bob"], "categories": ["general"],
                               "assignment": "round_robin", "business_hours": hours}])  # fmt: skip
    desk = desk_for(settings, db, clock)
    clock.advance(hours=8, minutes=30)  # Monday 17:30: closed
    for n in (1, 2):
        await desk.receive(dm(ALICE, f"Evening question {n}"))
        assert await assignee(desk, n) is None
    await worker.drain()
    [told] = [p.text for p in platform.in_channel("leads")]
    assert "Nobody in team support can take new tickets: it is outside its business hours." in told
    assert "business hours: closed now" in (await desk.run(DANA, "/team show support")).text
    assert await Scheduler(desk.ctx).tick() == [], "still closed: nothing to hand out, nothing said twice"
    clock.advance(days=7, hours=-8)  # next Monday 09:30: the scheduler's tick hands out what waited
    done = await Scheduler(desk.ctx).tick()
    assert [line for line in done if "→" in line] == ["#1 → Bob", "#2 → Bob"]
    assert await assignee(desk, 1) == "bob"
    await worker.drain()
    assert len([p for p in platform.in_channel("leads") if "Nobody" in p.text]) == 1


async def test_transfer_moves_the_card_to_the_teams_queue_and_escalation_climbs_the_tiers(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    settings = settings_with(
        [
            {
                "name": "tier1",
                "members": ["test:bob"],
                "categories": ["general"],
                "assignment": "round_robin",
                "escalate_to": "tier2",
            },
            {"name": "tier2", "members": ["test:erin"], "queue_channel": "tier2-queue", "assignment": "round_robin"},
            {
                "name": "billing",
                "members": ["test:a1", "test:a2"],
                "queue_channel": "billing-queue",
                "assignment": "least_loaded",
            },
        ],
        rules=[{"match": "invoice", "team": "billing"}],
    )
    desk = desk_for(settings, db, clock)
    await desk.receive(dm(ALICE, "The app crashes on start", message_id="alice-1"))
    await desk.receive(dm(CAROL, "Wrong VAT on my invoice", message_id="carol-1"))
    await worker.drain()
    assert await assignee(desk, 1) == "bob" and await assignee(desk, 2) == "a1"
    assert [p.current.title for p in platform.in_channel("billing-queue")] == ["#2 · Wrong VAT on my invoice"]

    escalated = await desk.run(BOB, "/ticket escalate 1 Crash needs engineering")
    assert escalated.text == (
        "#1 escalated to the team leads, priority normal → high. Moved to team tier2, assigned to Erin."
    )
    await worker.drain()
    [old_card] = platform.in_channel("queue")[:1]
    notice = "#1: moved to team tier2 by Bob: Crash needs engineering"
    assert notice in platform.texts("queue", old_card.id), "told in the old card's thread"
    [card] = [p for p in platform.in_channel("tier2-queue") if p.current.title]
    assert {f.name: f.value for f in card.current.fields}["Assignee"] == "Erin"
    assert old_card.id != card.id
    moved = await desk.run(ERIN, "/ticket transfer 1 billing Actually a billing bug")
    assert moved.text == "#1 moved to team billing, assigned to A2."
    history = (await desk.run(DANA, "/ticket show 1")).text
    assert "Bob moved it to team tier2 (Crash needs engineering)" in history
    assert "Erin unassigned Erin (moved to team billing)" in history
    unknown = await desk.run(BOB, "/ticket transfer 1 sales")
    assert unknown.text == "There is no team “sales”. Teams: tier1, tier2, billing."


async def test_team_list_is_for_leads_and_routing_by_channel_and_customer(db: Store, clock: FakeClock) -> None:
    settings = settings_with([
        {"name": "vip", "members": ["test:erin"], "customers": ["test:carol"], "assignment": "round_robin"},
        {"name": "support", "members": ["test:bob"], "intake_channels": ["support"], "assignment": "manual"},
    ])  # fmt: skip
    desk = desk_for(settings, db, clock)
    await desk.receive(dm(CAROL, "Hello, it's Carol"))
    assert await assignee(desk, 1) == "erin"
    async with db.reading() as uow:
        assert await uow.routing.team_of(1) == "vip"
    assert not (await desk.run(BOB, "/team list")).ok
    listing = (await desk.run(DANA, "/team list")).text
    assert "• vip — round_robin, 1 member(s), 1 available · 1 open, 0 unassigned" in listing
    assert "• support — manual, 1 member(s), 1 available · 0 open, 0 unassigned" in listing


def test_team_config_problems_name_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_with([{"name": "a", "members": ["bob"], "assignment": "fastest"}])
    assert "teams.0.members: 'bob' is not 'platform:user-id'" in str(caught.value)
    assert "teams.0.assignment: Input should be 'manual', 'round_robin' or 'least_loaded'" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        settings_with(
            [{"name": "a", "escalate_to": "zzz", "assignment": "round_robin"}, {"name": "a"}],
            rules=[{"match": "x", "team": "nope"}],
        )
    assert str(caught.value).splitlines()[1:] == [
        "  teams.0.escalate_to: no team is named 'zzz'",
        "  teams.0.members: round_robin assignment needs members",
        "  teams.1.name: 'a' is used by another team too",
        "  intake.rules.0.team: no team is named 'nope' (teams: a)",
    ]


@dataclass
class PlatformGroups:
    """A `GroupMembers` source as an adapter keeps one: who is in each group, as the platform last told."""

    platform: str = "test"
    known: dict[str, list[str]] = field(default_factory=dict)

    def members_of(self, group: str) -> list[str]:
        return self.known.get(group, [])


async def test_a_platform_group_as_members_is_followed_as_people_join_and_leave(
    db: Store, clock: FakeClock, platform: RecordingPlatform, worker: DeliveryWorker
) -> None:
    groups = PlatformGroups(known={"group:billing": ["bob", "erin"]})
    settings = settings_with([{"name": "billing", "members": ["test:group:billing", "test:a1"],
                               "categories": ["general"], "assignment": "round_robin"}])  # fmt: skip
    desk = build_desk(settings, db, kb=KnowledgeLibrary(), clock=clock, member_sources=[groups])
    got = []
    for n in range(1, 4):
        await desk.receive(dm(ALICE, f"Question {n}"))
        got.append(await assignee(desk, n))
    assert got == ["bob", "erin", "a1"], "the group's people where it stands in the list, in its order"

    groups.known["group:billing"] = ["erin", "frank"]  # Bob left the group, Frank joined it
    frank = UserRef(platform="test", id="frank", name="Frank")
    assert desk.role_of(frank).value == "agent", "a team's members are agents"
    for n in range(4, 7):
        await desk.receive(dm(CAROL, f"Question {n}"))
        got.append(await assignee(desk, n))
    assert got[3:] == ["erin", "frank", "a1"]
    assert (await desk.run(frank, "/agent away")).ok
    await desk.receive(dm(CAROL, "Question 7"))
    assert await assignee(desk, 7) == "erin", "Frank is away: skipped"
    shown = (await desk.run(DANA, "/team show billing")).text.splitlines()
    assert shown[-4:] == [
        "Members:",
        "  Erin: available · 3 open · got the last ticket",
        "  Frank: away · 1 open",
        "  A1: available · 2 open",  # never seen: by id
    ]
    await worker.drain()
    assert platform.texts("dm-frank") == ["#5 is yours, Frank (round-robin, team billing): Question 5"]


def test_group_members_are_spelled_like_the_platforms_name_them() -> None:
    settings = settings_with([{"name": "a", "members": ["slack:group:S0123ABCD", "discord:role:1234", "slack:U1"]}])
    assert settings.teams[0].members == ("slack:group:S0123ABCD", "discord:role:1234", "slack:U1")
    with pytest.raises(ConfigError) as caught:
        settings_with([{"name": "a", "members": ["slack:team:S0123"]}])
    assert (
        "teams.0.members: 'slack:team:S0123' is not 'platform:user-id' (e.g. 'slack:U0123', 'discord:1234'), "
        "a Slack user group ('slack:group:S0123ABCD') or a Discord role ('discord:role:1234')" in str(caught.value)
    )


async def test_per_team_numbers_in_the_digest_and_the_report(db: Store, clock: FakeClock) -> None:
    from datetime import timedelta

    from bot.services.digest import build

    settings = settings_with(
        [
            {"name": "billing", "members": ["test:bob"], "categories": ["billing"], "assignment": "round_robin"},
            {"name": "tech", "members": ["test:erin"], "categories": ["general"]},
        ],
        rules=[{"match": "invoice", "category": "billing"}],
    )
    desk = desk_for(settings, db, clock)
    await desk.receive(dm(ALICE, "Wrong invoice total"))
    await desk.receive(dm(CAROL, "The app is slow"))
    await desk.receive(dm(CAROL, "Another slow screen"))
    clock.advance(minutes=10)
    assert (await desk.run(BOB, "/ticket reply 1 Fixed the total.")).ok
    clock.advance(minutes=1)
    since, until = clock.now() - timedelta(days=1), clock.now()
    async with db.reading() as uow:
        billing = await uow.reports.report(since, until, team="billing")
        tech = await uow.reports.report(since, until, team="tech")
        everything = await uow.reports.report(since, until)
    assert (billing.created, billing.open_total, billing.unassigned) == (1, 1, 0)
    assert billing.first_response_minutes.median == 10.0
    assert (tech.created, tech.open_total, tech.unassigned) == (2, 2, 2)
    assert everything.created == 3, "the team views are gone afterwards"
    digest = await build(desk.ctx, since, until, None)
    assert "Team billing: 1 open · created 1 · resolved 0 · first response 10m" in digest.message.text
    assert "Team tech: 2 open (2 unassigned) · created 2 · resolved 0 · first response —" in digest.message.text
