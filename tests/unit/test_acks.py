"""`bot.acks`: handling waits while an acknowledgement is in flight, and goes on in the order it came."""

from __future__ import annotations

import asyncio

from bot.acks import Acks


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_handling_waits_for_the_acks_in_flight_and_goes_on_in_order() -> None:
    acks, order = Acks(), []

    async def handle(name: str) -> None:
        await acks.let_through()
        order.append(name)

    with acks.arriving():
        first = asyncio.create_task(handle("first"))
        with acks.arriving():
            second = asyncio.create_task(handle("second"))
            await _turns()
        await _turns()
        assert order == []  # one ack is still in flight
    late = asyncio.create_task(handle("late"))  # no ack in flight, but it comes after the two waiting
    await asyncio.gather(first, second, late)
    assert order == ["first", "second", "late"]
    await acks.let_through()  # nothing in flight, nobody waiting: at once


async def test_an_ack_arriving_meanwhile_stops_the_queue_again() -> None:
    acks, order = Acks(), []

    async def handle(name: str) -> None:
        await acks.let_through()
        order.append(name)

    with acks.arriving():
        tasks = [asyncio.create_task(handle(f"h{n}")) for n in range(3)]
        await _turns()
    await asyncio.sleep(0)  # the queue is let go one piece per turn of the loop
    with acks.arriving():
        await _turns()
        held = list(order)
        assert len(held) < 3
    await asyncio.gather(*tasks)
    assert order == ["h0", "h1", "h2"]


async def test_a_cancelled_waiter_does_not_stop_the_others() -> None:
    acks = Acks()
    with acks.arriving():
        doomed = asyncio.create_task(acks.let_through())
        other = asyncio.create_task(acks.let_through())
        await _turns()
        doomed.cancel()
        await _turns()
    await asyncio.wait_for(other, 5)
    assert doomed.cancelled()
