"""The whole journey through the real discord.py client and the local fake Discord: what people see."""

from __future__ import annotations

from adapters.discord.platform import NO_PINGS
from tests.adapters.discord.conftest import World
from tests.adapters.discord.people import buttons, contents, fields, find, menus
from tests.fakes.discord_api import EPHEMERAL, eventually


async def test_customer_to_closed_ticket(world: World) -> None:
    fake, alice, bob = world.fake, world.alice, world.bob

    # Alice writes in the intake channel: a public thread on her message, the acknowledgement inside it
    asked = fake.say(alice, world.intake, "I can't log in, the password reset email never arrives @everyone")
    thread = await eventually(lambda: fake.channels.get(asked), what="the ticket's thread")
    assert (thread["type"], thread["parent_id"], thread["name"]) == (11, world.intake, "Ticket #1")
    ack = (await eventually(lambda: fake.bot_messages_in(asked), what="the acknowledgement"))[0]
    assert "we've opened ticket #1" in ack["content"]
    assert "Can't log in or forgot your password" in ack["content"]  # the KB suggestion
    assert ack["allowed_mentions"] == NO_PINGS
    assert fake.threads_of(world.intake) == [thread]  # a thread per ticket, never a channel

    # the queue card: an embed with the ticket's fields, buttons and a priority menu
    card = (await eventually(lambda: fake.bot_messages_in(world.queue), what="the queue card"))[0]
    assert card["embeds"][0]["title"].startswith("#1 · I can't log in")
    assert fields(card)["Status"] == "new" and fields(card)["Assignee"] == "unassigned"
    assert fields(card)["Customer"] == "Alice"
    assert buttons(card) == ["Claim", "Reply", "Resolve", "Escalate"]
    assert menus(card) == ["Set priority"]

    # Bob claims from the card: deferred ephemerally, the card is edited in place, Alice is told
    claim = fake.press(bob, card["id"], "Claim")
    await eventually(lambda: claim.followups, what="the claim answer")
    assert claim.callbacks[0] == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert claim.texts == ["You claimed #1: I can't log in, the password reset email never arrives @everyone"]
    assert claim.followups[0]["flags"] & EPHEMERAL  # only Bob sees it, and it pings nobody
    assert claim.followups[0]["allowed_mentions"]["parse"] == []
    await eventually(lambda: fields(fake.messages[card["id"]])["Assignee"] == "Bob", what="the card edit")
    assert buttons(fake.messages[card["id"]]) == ["Reply", "Resolve", "Escalate"]
    assert len(fake.bot_messages_in(world.queue)) == 1  # edited, not reposted
    await eventually(lambda: "Bob is looking at this." in contents(fake, asked), what="Alice told")

    # Reply button → modal → relayed into Alice's thread, unable to ping
    opened = fake.press(bob, card["id"], "Reply")
    modal = await eventually(lambda: opened.modal, what="the reply modal")
    assert modal["title"] == "Reply"
    submitted = fake.submit_modal(bob, opened, "I've re-sent the reset email. @everyone check spam")
    relayed = await eventually(lambda: find(fake, asked, "Bob: I've re-sent"), what="the relayed reply")
    assert "@\u200beveryone" in relayed["content"] and relayed["allowed_mentions"] == NO_PINGS
    await eventually(lambda: submitted.followups, what="the reply confirmation")

    # an internal note goes to the card's thread only
    note = fake.slash(bob, world.queue, "ticket", "note", ticket=1, text="Mail provider bounced the first one")
    card_thread = card["id"]  # the thread started on the card
    await eventually(lambda: find(fake, card_thread, "Internal note from Bob"), what="the note in the card thread")
    assert fake.channels[card_thread]["parent_id"] == world.queue
    assert not find(fake, asked, "Mail provider")
    assert note.callbacks[0]["data"]["flags"] & EPHEMERAL

    # Alice adds to her thread: the agents see a copy in the card's thread
    fake.say(alice, asked, "Still nothing in my inbox")
    await eventually(lambda: find(fake, card_thread, "Alice wrote on #1: Still nothing"), what="the copy")

    # resolve with the modal: Alice gets the summary with Yes / No
    opened = fake.press(bob, card["id"], "Resolve")
    await eventually(lambda: opened.modal, what="the resolve modal")
    fake.submit_modal(bob, opened, "Reset email re-sent; the first one had bounced.")
    resolution = await eventually(lambda: find(fake, asked, "is resolved by Bob"), what="the resolution")
    assert "Reset email re-sent" in resolution["content"]
    assert buttons(resolution) == ["Yes, solved", "No, reopen"]

    # Alice presses Yes: closed, the card says so
    fake.press(alice, resolution["id"], "Yes, solved")
    await eventually(lambda: find(fake, asked, "#1 is now closed"), what="closed")
    await eventually(lambda: fields(fake.messages[card["id"]])["Status"] == "closed", what="card closed")
    assert buttons(fake.messages[card["id"]]) == ["Reopen", "Save as article"]


async def test_escalation_alerts_the_leads_and_no_reopens(world: World) -> None:
    fake, alice, bob = world.fake, world.alice, world.bob
    asked = fake.say(alice, world.intake, "Our whole team is locked out")
    card = (await eventually(lambda: fake.bot_messages_in(world.queue)))[0]
    escalate = fake.press(bob, card["id"], "Escalate")
    alert = (await eventually(lambda: fake.bot_messages_in(world.leads), what="the leads' alert"))[0]
    assert alert["content"].startswith("⚠ #1 escalated by Bob") and buttons(alert) == ["Show"]
    await eventually(lambda: find(fake, asked, "escalated to our senior team"), what="the customer told")
    await eventually(lambda: escalate.followups)
    shown = fake.press(world.dana, alert["id"], "Show")  # a lead reads the ticket from the alert
    await eventually(lambda: shown.followups, what="the ticket for Dana")
    assert shown.followups[0]["embeds"][0]["title"] == "#1 · Our whole team is locked out"
    assert shown.followups[0]["flags"] & EPHEMERAL

    fake.slash(bob, asked, "ticket", "resolve", summary="SSO certificate renewed")  # inside the thread: no number
    resolution = await eventually(lambda: find(fake, asked, "is resolved by Bob"), what="the resolution")
    fake.press(alice, resolution["id"], "No, reopen")
    await eventually(lambda: find(fake, asked, "#1 was reopened by you"), what="reopened")
    await eventually(lambda: fields(fake.messages[card["id"]])["Status"] == "open", what="the card reopened")
