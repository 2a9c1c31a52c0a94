"""A macro on Discord through the real discord.py client and the local fake: written with `/macro add`,
picked from the card's select menu (two clicks), and typed with `/ticket macro` and its autocomplete."""

from __future__ import annotations

from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import contents, fields, find, menus
from tests.fakes.discord_api import eventually


async def test_a_macro_applied_from_the_cards_select_menu(world: World) -> None:
    fake = world.fake
    reply = "Hi {customer.first_name}, {kb:reset-password}"
    added = fake.slash(world.dana, world.queue, "macro", "add", name="reset-link", reply=reply, actions="tag password")
    await eventually(lambda: added.followups, what="the macro saved")
    assert added.texts[0].startswith("Macro `reset-link` saved, shared with the team.")

    asked = fake.say(world.alice, world.intake, "I forgot my password and can't log in")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the card"))[0]
    await eventually(lambda: "Macro…" in menus(fake.messages[card["id"]]), what="the macro menu")
    card = fake.messages[card["id"]]
    assert menus(card) == ["Set priority", "Macro…"]
    assert fields(card)["Suggested macro"] == "reset-link"
    select = next(c for row in card["components"] for c in row["components"] if c.get("placeholder") == "Macro…")
    assert [o["label"] for o in select["options"]] == ["★ reset-link (suggested)"]

    picked = fake.press(world.bob, card["id"], "Macro…", value=select["options"][0]["value"])
    await eventually(lambda: picked.followups, what="the answer")
    assert picked.texts == ["Sent `reset-link` to Alice on #1; tags password."]
    sent = await eventually(lambda: find(fake, asked, "Bob: Hi Alice, "), what="the reply in Alice's thread")
    assert "Can't log in or forgot your password" in sent["content"]
    await eventually(lambda: fields(fake.messages[card["id"]]).get("Tags") == "password", what="the card edit")


async def test_ticket_macro_with_autocomplete_and_extra_text(world: World) -> None:
    fake = world.fake
    mine = fake.slash(world.bob, world.queue, "macro", "add", name="bob-thanks", reply="Thanks {customer}!")
    await eventually(lambda: mine.followups)
    asked = fake.say(world.alice, world.intake, "Where do I find invoices?")
    await eventually(lambda: fake.bot_messages_in(world.queue), what="the card")
    names = fake.autocomplete(world.bob, world.queue, "ticket", "macro", "bob", option_name="name")
    await eventually(lambda: names.callbacks, what="choices")
    assert [c["value"] for c in names.callbacks[0]["data"]["choices"]] == ["bob-thanks"]
    nothing = fake.autocomplete(world.alice, world.intake, "ticket", "macro", "", option_name="name")
    await eventually(lambda: nothing.callbacks)
    assert nothing.callbacks[0]["data"]["choices"] == [], "customers see no macros"

    used = fake.slash(world.bob, world.queue, "ticket", "macro", ticket=1, name="bob-thanks", text="See Billing.")
    await eventually(lambda: used.followups)
    await eventually(lambda: "Bob: Thanks Alice!\n\nSee Billing." in contents(fake, asked), what="the reply")
