"""`/kb stats` in chat: the numbers of `threaddesk kb stats`, for agents and leads."""

from __future__ import annotations

from bot.services.desk import Desk
from tests.conftest import ALICE, BOB, DANA, dm


async def test_kb_stats_in_chat_for_agents_and_leads(desk: Desk) -> None:
    assert (await desk.run(BOB, "/kb stats")).text.startswith("No article has been suggested yet (")
    await desk.receive(dm(ALICE, "Where is the export button? I need a CSV of my data", message_id="root"))
    assert (await desk.run(ALICE, "/kb accept 1 export-data")).ok
    text = (await desk.run(BOB, "/kb stats")).text
    assert text.startswith("Knowledge base use — ")
    line = next(line for line in text.splitlines() if "[export-data]" in line)
    assert line.endswith("accepted 1 · rejected 0 · helped resolve 1")
    assert (await desk.run(DANA, "/kb stats")).text == text
    refused = await desk.run(ALICE, "/kb stats")
    assert not refused.ok and refused.text.startswith("Only agents can use `/kb stats`.")
