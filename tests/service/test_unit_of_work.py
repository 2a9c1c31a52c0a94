"""`TicketWork.finish` — save, follow-ups, card, webhook events — runs exactly once per unit of work.

An agent's first reply used to finish twice (once when the first response was recorded, once at the end of
the command); it was only right because every step happened to be idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage
from bot.domain.ticket import Status
from bot.services.desk import Desk
from bot.services.ticket_work import TicketWork
from tests.conftest import ALICE, BOB, DANA, dm
from tests.fakes.platform import RecordingPlatform


@pytest.fixture
def finished(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ticket number of every `TicketWork.finish` call, in order."""
    calls: list[int] = []
    original: Callable[[TicketWork], Awaitable[None]] = TicketWork.finish

    async def counted(self: TicketWork) -> None:
        calls.append(self.ticket.number)
        await original(self)

    monkeypatch.setattr(TicketWork, "finish", counted)
    return calls


async def open_ticket(desk: Desk, worker: DeliveryWorker) -> None:
    assert await desk.receive(dm(ALICE, "I can't log in to my account", message_id="m-open")) is not None
    await worker.drain()


@pytest.mark.parametrize(
    "command",
    [
        "/ticket reply 1 Please try the reset link I just sent you.",
        "/ticket resolve 1 Password reset via the emailed link.",
        "/ticket macro 1 reset",
    ],
)
async def test_an_agents_first_response_finishes_once(
    desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform, finished: list[int], command: str
) -> None:
    assert (
        await desk.run(DANA, "/macro add reset | Hi {customer.first_name}, try the reset link. | status resolved")
    ).ok
    await open_ticket(desk, worker)
    finished.clear()

    assert (await desk.run(BOB, command)).ok
    assert finished == [1]
    await worker.drain()
    [card] = platform.in_channel("queue")
    assert {f.name: f.value for f in card.current.fields}["Status"] in ("open", "resolved")
    async with desk.ctx.store.reading() as uow:
        ticket = await uow.tickets.get_ticket(1)
    assert ticket is not None and ticket.first_response_at is not None and ticket.status is not Status.NEW


async def test_an_agent_answering_in_the_customers_thread_finishes_once(
    desk: Desk, worker: DeliveryWorker, finished: list[int]
) -> None:
    await open_ticket(desk, worker)
    finished.clear()
    answer = IncomingMessage(
        platform="test", message_id="a1", author=BOB, channel="dm-alice", thread="m-open", text="Try the reset link."
    )
    assert await desk.receive(answer) is not None
    assert finished == [1]


async def test_a_customer_reopening_by_writing_finishes_once(
    desk: Desk, worker: DeliveryWorker, finished: list[int]
) -> None:
    await open_ticket(desk, worker)
    assert (await desk.run(BOB, "/ticket status 1 pending")).ok
    finished.clear()
    await desk.receive(dm(ALICE, "It still fails with error 42", thread="m-open"))
    assert finished == [1]


async def test_finish_refuses_a_second_run(desk: Desk, worker: DeliveryWorker) -> None:
    await open_ticket(desk, worker)
    async with desk.ctx.store.transaction() as uow:
        ticket = await uow.tickets.get_ticket(1)
        assert ticket is not None
        work = TicketWork(desk.ctx, uow, ticket, BOB)
        await work.record(ticket.claim(BOB))
        await work.finish()
        with pytest.raises(RuntimeError, match="ran twice"):
            await work.finish()
