"""Every refusal a person can meet: permissions, illegal transitions, unknown tickets, bad commands."""

from __future__ import annotations

import pytest

from bot.delivery import DeliveryWorker
from bot.domain.inbound import Place
from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, CAROL, DANA, ERIN, dm
from tests.fakes.platform import RecordingPlatform
from tests.fakes.sql import sql


@pytest.fixture
async def opened(desk: Desk) -> int:
    ticket = await desk.receive(dm(ALICE, "My export to CSV is empty", message_id="m-open"))
    assert ticket is not None
    return ticket.number


async def refusal(desk: Desk, who, text: str, place: Place | None = None) -> str:  # type: ignore[no-untyped-def]
    reply = await desk.run(who, text, place)
    assert not reply.ok, f"expected a refusal for {text!r}, got {reply.text!r}"
    return reply.text


@pytest.mark.parametrize(
    "command",
    ["claim 1", "unclaim 1", "assign 1 @bob", "note 1 x", "status 1 pending", "priority 1 high", "tag 1 vip",
     "escalate 1", "resolve 1 done", "customer @carol"],
)  # fmt: skip
async def test_customers_cannot_work_the_queue(desk: Desk, opened: int, command: str) -> None:
    name = command.split()[0]
    text = await refusal(desk, ALICE, f"/ticket {command}")
    assert text == f"Only agents can use `/ticket {name}`. You are signed in as a customer."


async def test_customers_see_only_their_own_tickets(desk: Desk, opened: int) -> None:
    for command in ("show 1", "reply 1 me too", "close 1", "reopen 1"):
        assert await refusal(desk, CAROL, f"/ticket {command}") == (
            "There is no ticket #1. Try `/ticket list` to see open tickets."
        )
    assert (await desk.run(CAROL, "/ticket list")).text == "No active tickets."
    assert "#1" in (await desk.run(ALICE, "/ticket list")).text


async def test_only_the_assignee_or_a_lead_unclaims(desk: Desk, opened: int) -> None:
    assert (await desk.run(BOB, "/ticket claim 1")).ok
    assert await refusal(desk, ERIN, "/ticket unclaim 1") == "#1 is Bob's; only they or a team lead can unclaim it."
    assert await refusal(desk, ERIN, "/ticket claim 1") == (
        "#1 is assigned to Bob — use `/ticket assign 1 @you` to take it over."
    )
    assert (await desk.run(DANA, "/ticket unclaim 1")).text == "#1 is back in the queue, unassigned."


async def test_assign_only_to_agents(desk: Desk, opened: int) -> None:
    assert await refusal(desk, BOB, "/ticket assign 1 @alice") == (
        "“alice” is not an agent here. Agents are listed under `[roles] agents` in the config."
    )
    assert (await desk.run(BOB, "/ticket assign 1 @erin")).text == "#1 is now assigned to Erin."


async def test_illegal_transitions_say_what_to_do(desk: Desk, opened: int) -> None:
    assert await refusal(desk, BOB, "/ticket status 1 resolved") == (
        "#1 is new — resolving needs a summary: `/ticket resolve 1 <summary>`."
    )
    assert await refusal(desk, BOB, "/ticket reopen 1") == "#1 is new, not resolved or closed — nothing to reopen."
    assert (await desk.run(BOB, "/ticket close 1")).ok
    assert await refusal(desk, BOB, "/ticket status 1 open") == "#1 is closed — use `/ticket reopen 1` first."
    assert await refusal(desk, BOB, "/ticket claim 1") == "#1 is closed — use `/ticket reopen 1` before you claim it."
    assert await refusal(desk, BOB, "/ticket reply 1 hello?") == (
        "#1 is closed — use `/ticket reopen 1` before replying."
    )
    assert await refusal(desk, BOB, "/ticket resolve 1 fixed") == "#1 is closed — use `/ticket reopen 1` first."
    assert await refusal(desk, BOB, "/ticket close 1") == "#1 is already closed."
    assert (await desk.run(ALICE, "/ticket reopen 1 still broken")).text == "#1 is open again."


async def test_unknown_ticket(desk: Desk) -> None:
    assert (
        await refusal(desk, BOB, "/ticket show 999")
        == "There is no ticket #999. Try `/ticket list` to see open tickets."
    )
    assert (await refusal(desk, BOB, "/ticket claim #404")).startswith("There is no ticket #404.")


async def test_malformed_commands(desk: Desk, opened: int) -> None:
    assert "Did you mean `/ticket claim`?" in await refusal(desk, BOB, "/ticket clam 1")
    assert await refusal(desk, BOB, "/ticket claim") == (
        "Which ticket? Use `/ticket claim 42 …`, or run it inside the ticket's thread."
    )
    assert "Valid priority values: low, normal, high, urgent." in await refusal(desk, BOB, "/ticket priority 1 asap")
    # inside the customer's thread the number is implied
    thread = Place(platform="test", channel="dm-alice", thread="m-open")
    assert (await desk.run(BOB, "/ticket priority high", thread)).text == "#1 priority is now high."


@pytest.mark.sqlite_only  # raw SQL on the SQLite file
async def test_no_traceback_ever_reaches_chat(desk: Desk, opened: int, db) -> None:  # type: ignore[no-untyped-def]
    sql(db, "DROP TABLE ticket_events")  # simulate a broken store
    reply = await desk.run(BOB, "/ticket claim 1")
    assert not reply.ok
    assert reply.text == "Sorry — something went wrong on our side and nothing was changed. Please try again."


async def test_help_shows_what_you_may_use(desk: Desk) -> None:
    customer_help = (await desk.run(ALICE, "/ticket help")).text
    assert "/ticket new" in customer_help and "/ticket claim" not in customer_help
    assert "/ticket claim" in (await desk.run(BOB, "/ticket help")).text


async def test_limit_on_open_tickets(desk: Desk, worker: DeliveryWorker, platform: RecordingPlatform) -> None:
    for n in range(3):
        assert await desk.receive(dm(ALICE, f"problem {n}")) is not None
    assert await desk.receive(dm(ALICE, "a fourth problem", message_id="m-4")) is None
    await worker.drain()
    [refused] = platform.in_thread("dm-alice", "m-4")
    assert refused.text.startswith("You already have 3 open tickets (#1, #2, #3).")
