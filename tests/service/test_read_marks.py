"""Read marks for catch-up after downtime: how far each conversation was read, never moving back, and the
conversations of tickets a customer may still write in."""

from __future__ import annotations

from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, dm
from tests.fakes.clock import FakeClock


async def test_a_mark_moves_forward_only_in_the_platforms_number_order(desk: Desk, clock: FakeClock) -> None:
    assert await desk.read_marks("discord") == {}
    await desk.mark_read("discord", {"100": "999", "200": "1300000000000000000"})
    clock.advance(seconds=1)
    await desk.mark_read("discord", {"100": "1000", "200": "1299999999999999999"})  # 1000 > 999; the other is older
    await desk.mark_read("slack", {"C1": "1700000000.000200"})
    await desk.mark_read("slack", {"C1": "1700000000.000100"})
    assert await desk.read_marks("discord") == {"100": "1000", "200": "1300000000000000000"}
    assert await desk.read_marks("slack") == {"C1": "1700000000.000200"}
    await desk.mark_read("discord", {})  # nothing to write: no transaction


async def test_open_conversations_are_those_of_tickets_not_closed_on_the_platform(desk: Desk, clock: FakeClock) -> None:
    first = await desk.receive(dm(ALICE, "The export to CSV is empty"))
    clock.advance(minutes=1)
    second = await desk.receive(dm(CAROL, "Invoices page is blank"))
    clock.advance(minutes=1)
    third = await desk.receive(dm(CAROL, "Another thing: the logo is gone"))
    assert first and second and third
    reply = await desk.run(BOB, f"/ticket close {first.number}")
    assert reply.ok, reply
    found = await desk.open_conversations("test")
    assert [(c.channel, c.thread) for c in found] == [
        ("dm-carol", third.origin.thread),  # most recently active first
        ("dm-carol", second.origin.thread),
    ]
    assert found[1].opened_at == second.created_at
    assert await desk.open_conversations("discord") == []
    assert len(await desk.open_conversations("test", limit=1)) == 1
