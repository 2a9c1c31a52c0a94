"""An outage on Discord through the real discord.py client: three customers report, an agent opens the
incident with `/incident new`, the card's Update reaches each ticket thread once, Resolve closes all three."""

from __future__ import annotations

from typing import Any

from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import buttons, fields, find
from tests.fakes.discord_api import eventually


def _title(message: dict[str, Any]) -> str:
    return str(message["embeds"][0].get("title", "")) if message.get("embeds") else ""


UPDATE = "Update on Login failures (investigating): We found the cause and are rolling back."


async def test_three_reports_one_incident_one_update_each_resolve_all(world: World) -> None:
    fake, bob = world.fake, world.bob
    dave = fake.user("Dave")
    threads = []
    for person, text in (
        (world.alice, "I can't log in, the login page shows error 503"),
        (world.carol, "login page gives error 503, can't log in"),
        (dave, "error 503 when I try to log in"),
    ):
        asked = fake.say(person, world.intake, text)
        await eventually(lambda asked=asked: find(fake, asked, "we've opened ticket"), what="the acknowledgement")
        threads.append(asked)

    created = fake.slash(bob, world.queue, "incident", "new", title="Login failures", tickets="#1 #2 #3")
    await eventually(lambda: created.followups, what="the answer to /incident new")
    assert created.texts == ["Opened INC-1 · Login failures, linking #1, #2, #3. Its card is in the queue channel."]
    card = await eventually(
        lambda: next((m for m in fake.bot_messages_in(world.queue) if _title(m).startswith("🔥 INC-1")), None),
        what="the incident card",
    )
    assert card["embeds"][0]["title"] == "🔥 INC-1 · Login failures"
    assert fields(card)["Linked tickets"] == "3" and buttons(card) == ["Update", "Resolve"]
    for thread in threads:
        await eventually(lambda thread=thread: find(fake, thread, "We're aware of an ongoing issue: Login failures"))

    opened = fake.press(bob, card["id"], "Update")
    await eventually(lambda: opened.modal, what="the update modal")
    fake.submit_modal(bob, opened, "We found the cause and are rolling back.")
    for thread in threads:
        await eventually(lambda thread=thread: find(fake, thread, UPDATE), what="the update in each thread")
    await eventually(lambda: fields(fake.messages[card["id"]]).get("Last update") is not None, what="the card")
    assert all([m["content"] for m in fake.bot_messages_in(t)].count(UPDATE) == 1 for t in threads)

    opened = fake.press(bob, card["id"], "Resolve")
    await eventually(lambda: opened.modal, what="the resolve modal")
    fake.submit_modal(bob, opened, "Rolled back; logins work again.")
    for n, thread in enumerate(threads, start=1):
        resolution = await eventually(
            lambda thread=thread: find(fake, thread, "is resolved by Bob: Rolled back"), what="each resolution"
        )
        assert resolution["content"].startswith(f"#{n} is resolved by Bob")
        assert buttons(resolution) == ["Yes, solved", "No, reopen"]
    await eventually(lambda: fields(fake.messages[card["id"]])["Status"] == "resolved", what="the card resolved")
    assert buttons(fake.messages[card["id"]]) == []
