"""A small, known history, driven through the desk with a fake clock; tests check numbers by hand.

t0 = Mon 2026-11-02 09:00 UTC
#1 Alice, normal, t0        Bob claims +30m, replies +40m (first response 40m); +2h Alice presses "This
                             solved it" on an article (resolution 120m, deflected); she closes it +2h10m
                             (closed, surveyed), rates 4
#2 Carol, urgent, t0+10m     Erin replies +20m (first response 10m), resolves +3h (resolution 170m);
                             Carol reopens +3h30m (reopened; open, assigned to Erin)
#3 Alice, normal, t0+20m     nobody answers (new, unassigned)
A scheduler tick at t0+1d fires the SLA breaches: #2 resolution, #3 first response (both late).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.inbound import Place
from bot.domain.refs import UserRef
from bot.scheduler import Scheduler
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, ERIN
from tests.fakes.clock import FakeClock

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def dm_of(user_id: str) -> Place:
    return Place(platform="test", channel=f"dm-{user_id}")


async def seed(desk: Desk, clock: FakeClock) -> None:
    async def at(minutes: int, actor: UserRef, text: str) -> None:
        clock.current = T0 + _minutes(minutes)
        reply = await desk.run(actor, text, dm_of(actor.id))
        assert reply.ok, reply.text

    await at(0, ALICE, "/ticket new I cannot find the export button")
    await at(10, CAROL, "/ticket new The whole site is down")
    await at(20, ALICE, "/ticket new Question about my last invoice")
    await at(20, ERIN, "/ticket reply 2 We are on it, failing over now.")
    await at(30, BOB, "/ticket claim 1")
    await at(40, BOB, "/ticket reply 1 It moved to Settings › Data.")
    await at(120, ALICE, "/kb accept 1 export-data")
    await at(130, ALICE, "/ticket close 1")
    await at(135, ALICE, "/ticket rate 1 4 Quick, thanks")
    await at(180, ERIN, "/ticket resolve 2 Failover done, site is back.")
    await at(210, CAROL, "/ticket reopen 2 Still slow for me")
    clock.current = T0 + _minutes(24 * 60)
    assert sorted(await Scheduler(desk.ctx).tick()) == [
        "#2 resolution breach (late)",
        "#3 first_response breach (late)",
    ]


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
