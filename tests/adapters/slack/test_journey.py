"""The whole journey of a ticket on Slack: signed HTTP requests into the real bolt app, every post
asserted as the fake Web API recorded it (channel, thread_ts, the text a person reads)."""

from __future__ import annotations

from adapters.slack.translate import user
from tests.adapters.slack.harness import SlackDriver, payload

DM_TS = "1699990000.000100"


async def test_customer_dm_to_closed_ticket(driver: SlackDriver) -> None:
    api = driver.api
    # a customer DMs the bot: the ticket's customer thread is the DM message's thread
    assert await driver.event(payload("message_im")) == 200
    await driver.settle()
    [ack] = api.in_thread("DALICE", DM_TS)
    assert "Thanks, Alice — we've opened ticket #1 (priority: normal)" in ack.text
    labels = [b["text"]["text"] for b in ack.buttons()]
    assert labels[0] == "This solved it: Can't log in or forgot your password" and labels[-1] == "Not what I need"
    [card] = api.top_level("CQUEUE")
    assert card.blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "#1 · I can't log in to my account, the password reset email never arrives",
            "emoji": True,
        },
    }
    assert card.fields()["Assignee"] == "unassigned" and card.fields()["Customer"] == "Alice"
    assert [b["text"]["text"] for b in card.buttons()] == ["Claim", "Reply…", "Resolve…", "Escalate"]

    # Bob presses Claim on the card: the card is edited in place, the customer hears about it
    assert await driver.press("UBOB", card.button("Claim"), "CQUEUE", card.ts, None, key="claim") == 200
    await driver.settle()
    assert api.answers("claim") == [
        "You claimed #1: I can't log in to my account, the password reset email never arrives"
    ]
    assert api.texts("DALICE", DM_TS)[-1] == "Bob is looking at this."
    assert api.calls_to("chat.update") and card.edits >= 1
    assert (card.fields()["Assignee"], card.fields()["Status"]) == ("Bob", "open")
    assert len(api.top_level("CQUEUE")) == 1, "the card is updated, never reposted"

    # Reply… opens a modal; submitting it relays the text into the customer's thread
    assert await driver.press("UBOB", card.button("Reply"), "CQUEUE", card.ts, None) == 200
    await driver.settle()
    [opened] = api.calls_to("views.open")
    view = opened.params["view"]
    assert view["blocks"][0]["label"]["text"] == "Reply to Alice"
    status, body = await driver.submit("UBOB", view, "I've re-sent the reset email, please check spam too.")
    assert (status, body) == (200, "")
    await driver.settle()
    assert api.texts("DALICE", DM_TS)[-1] == "Bob: I've re-sent the reset email, please check spam too."
    [ephemeral] = api.calls_to("chat.postEphemeral")
    assert ephemeral.params["user"] == "UBOB" and ephemeral.params["text"] == "Sent to Alice on #1."

    # an internal note goes to the card's thread and never to the customer
    assert await driver.command("UBOB", "note 1 Mail provider bounced the first one", key="note") == 200
    await driver.settle()
    assert api.answers("note") == ["Internal note added to #1 (the customer does not see it)."]
    assert "Internal note from Bob: Mail provider bounced the first one" in api.texts("CQUEUE", card.ts)[-1]
    assert not any("bounced" in text for text in api.texts("DALICE", DM_TS))

    # the customer writes in their thread: the agents see it in the card's thread
    assert await driver.event(payload("message_thread_reply")) == 200
    await driver.settle()
    assert api.texts("CQUEUE", card.ts)[-1] == "Alice wrote on #1: Still nothing in my inbox, not even in spam"

    # Resolve… asks for the summary; the customer gets it with Yes/No buttons
    assert await driver.press("UBOB", card.button("Resolve"), "CQUEUE", card.ts, None) == 200
    await driver.settle()
    resolve_view = api.calls_to("views.open")[-1].params["view"]
    await driver.submit("UBOB", resolve_view, "Reset email re-sent; the first one had bounced.")
    await driver.settle()
    resolution = api.in_thread("DALICE", DM_TS)[-1]
    assert resolution.text.startswith("#1 is resolved by Bob: Reset email re-sent; the first one had bounced.")
    assert [b["text"]["text"] for b in resolution.buttons()] == ["Yes, solved", "No, reopen"]

    # the customer presses "Yes, solved" in the DM thread: closed
    yes = resolution.button("Yes, solved")
    assert await driver.press("UALICE", yes, "DALICE", resolution.ts, DM_TS, key="yes") == 200
    await driver.settle()
    closed, survey = api.in_thread("DALICE", DM_TS)[-2:]
    assert closed.text == "#1 is now closed. Thanks for reaching out!"
    assert survey.text.startswith("How did we do on #1? Rate us from 1 (poor) to 5 (great)")
    assert [b["text"]["text"] for b in survey.buttons()][:2] == ["Rate 1", "Rate 2"]
    assert card.fields()["Status"] == "closed"
    assert [b["text"]["text"] for b in card.buttons()] == ["Reopen", "Save as article"]


async def test_kb_suggestion_buttons_in_the_customer_thread(driver: SlackDriver) -> None:
    api = driver.api
    await driver.event(payload("message_im"))
    await driver.settle()
    [ack] = api.in_thread("DALICE", DM_TS)
    [card] = api.top_level("CQUEUE")

    # "Not what I need": the ticket stays with the agents, who are told in the card's thread
    await driver.press("UALICE", ack.button("Not what I need"), "DALICE", ack.ts, DM_TS, key="rejected")
    await driver.settle()
    assert api.answers("rejected") == ["Noted — #1 stays with our agents."]
    assert api.texts("DALICE", DM_TS)[-1] == "Thanks for telling us. #1 stays with our agents; someone will reply here."
    assert api.texts("CQUEUE", card.ts)[-1] == "#1: Alice says the suggested articles did not help."

    # "This solved it: …" resolves the ticket as self-served
    solved = ack.button("This solved it: Can't log in or forgot your password")
    await driver.press("UALICE", solved, "DALICE", ack.ts, DM_TS, key="solved")
    await driver.settle()
    assert api.answers("solved") == ["#1 is resolved — thanks for letting us know!"]
    assert api.texts("DALICE", DM_TS)[-1].startswith("Great — glad “Can't log in or forgot your password” helped.")
    assert card.fields()["Status"] == "resolved"


async def test_escalate_alerts_the_leads_and_card_thread_talk_stays_internal(driver: SlackDriver) -> None:
    api = driver.api
    await driver.event(payload("message_im"))
    await driver.settle()
    [card] = api.top_level("CQUEUE")
    # an agent chatting in the card's thread: recorded as internal, never relayed
    chat = driver.message_event(
        "UERIN", "CQUEUE", "1699990500.000001", "I think this is the SSO bug again", thread_ts=card.ts
    )
    chat["event"]["channel_type"] = "channel"
    await driver.event(chat)
    await driver.press("UBOB", card.button("Escalate"), "CQUEUE", card.ts, None, key="esc")
    await driver.settle()
    [alert] = api.top_level("CLEADS")
    assert alert.text.startswith("⚠ #1 escalated by Bob")
    assert [b["text"]["text"] for b in alert.buttons()] == ["Show"]
    assert card.fields()["Priority"] == "high" and "escalated" in card.fields()["Tags"]
    customer_sees = api.texts("DALICE", DM_TS)
    assert customer_sees[-1] == "#1 has been escalated to our senior team (priority: high)."
    assert not any("SSO bug" in text for text in customer_sees)
    history = await driver.desk.run(user("UBOB", "Bob"), "/ticket show 1")
    [line] = [x for x in history.text.splitlines() if "SSO bug" in x]
    assert "[internal]" in line and "Erin" in line


async def test_kb_add_opens_a_form_for_agents(driver: SlackDriver) -> None:
    api = driver.api
    assert await driver.command("UBOB", "add", key="kb", command="/kb") == 200
    await driver.settle()
    view = api.calls_to("views.open")[-1].params["view"]
    assert [b["label"]["text"] for b in view["blocks"]] == ["Title", "How customers ask it", "The answer"]
    values = {
        "title": {"title": {"type": "plain_text_input", "value": "Redeem a gift card"}},
        "aliases": {"aliases": {"type": "plain_text_input", "value": "redeem my gift card; gift code"}},
        "body": {"body": {"type": "plain_text_input", "value": "Billing → Redeem, then paste the code."}},
    }
    body = payload(
        "view_submission",
        user={"id": "UBOB", "username": "ubob", "name": "ubob", "team_id": "T0ACME"},
        view={**view, "id": "V0002", "state": {"values": values}},
    )
    status, _ = await driver.interaction(body)
    assert status == 200
    await driver.settle()
    told = api.calls_to("chat.postEphemeral")[-1].params
    assert told["user"] == "UBOB" and told["text"].startswith("Added article `redeem-a-gift-card`")
    assert driver.desk.ctx.kb.suggest("how do I redeem a gift code")[0].article.id == "redeem-a-gift-card"

    # a customer gets no form: the core says who may write articles
    assert await driver.command("UCAROL", "add", key="nope", command="/kb") == 200
    await driver.settle()
    assert len(api.calls_to("views.open")) == 1
    assert api.answers("nope") and "Usage: `/kb add" in api.answers("nope")[0]
