"""An outage on Slack through the real bolt app: three customers report, an agent opens the incident with
`/incident`, the card's Update… reaches all three DM threads once, Resolve… resolves all three."""

from __future__ import annotations

from tests.adapters.slack.harness import SlackDriver

REPORTS = {
    "UALICE": ("DALICE", "1699990000.000100", "I can't log in, the login page shows error 503"),
    "UCAROL": ("DCAROL", "1699990001.000100", "login page gives error 503, can't log in"),
    "UDAVE": ("DDAVE", "1699990002.000100", "error 503 when I try to log in"),
}


async def test_three_reports_one_incident_one_update_each_resolve_all(driver: SlackDriver) -> None:
    api = driver.api
    for user, (channel, ts, text) in REPORTS.items():
        assert await driver.event(driver.message_event(user, channel, ts, text)) == 200
    await driver.settle()

    assert await driver.command("UBOB", "new Login failures #1 #2 #3", command="/incident", key="new") == 200
    await driver.settle()
    assert api.answers("new") == [
        "Opened INC-1 · Login failures, linking #1, #2, #3. Its card is in the queue channel."
    ]
    [card] = [p for p in api.top_level("CQUEUE") if p.text.startswith("🔥 INC-1")]
    assert card.blocks[0]["text"]["text"] == "🔥 INC-1 · Login failures"
    assert card.fields()["Linked tickets"] == "3"
    assert [b["text"]["text"] for b in card.buttons()] == ["Update…", "Resolve…"]
    for channel, ts, _ in REPORTS.values():
        assert api.texts(channel, ts)[-1] == "We're aware of an ongoing issue: Login failures. We'll update you here."
    assert api.top_level("CLEADS")[-1].text.startswith("🔥 Incident INC-1 opened by Bob: Login failures")

    # Update… opens a modal; what is submitted reaches each customer's thread exactly once
    assert await driver.press("UBOB", card.button("Update"), "CQUEUE", card.ts, None) == 200
    await driver.settle()
    view = api.calls_to("views.open")[-1].params["view"]
    await driver.submit("UBOB", view, "We found the cause and are rolling back.")
    await driver.settle()
    update = "Update on Login failures (investigating): We found the cause and are rolling back."
    for channel, ts, _ in REPORTS.values():
        assert api.texts(channel, ts).count(update) == 1
    assert card.fields()["Last update"] == "We found the cause and are rolling back."

    # Resolve… resolves every linked ticket with the summary
    assert await driver.press("UBOB", card.button("Resolve"), "CQUEUE", card.ts, None) == 200
    await driver.settle()
    view = api.calls_to("views.open")[-1].params["view"]
    await driver.submit("UBOB", view, "Rolled back; logins work again.")
    await driver.settle()
    for n, (channel, ts, _) in enumerate(REPORTS.values(), start=1):
        resolution = api.in_thread(channel, ts)[-1]
        assert resolution.text.startswith(f"#{n} is resolved by Bob: Rolled back; logins work again.")
        assert [b["text"]["text"] for b in resolution.buttons()] == ["Yes, solved", "No, reopen"]
    assert card.fields()["Status"] == "resolved" and card.buttons() == []
    assert api.top_level("CLEADS")[-1].text.startswith("✅ Incident INC-1 resolved by Bob")
