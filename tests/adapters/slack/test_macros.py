"""A macro on Slack: written with `/macro`, picked from the card's static select (type-ahead) through the
real bolt app, answered ephemerally, relayed into the customer's thread."""

from __future__ import annotations

from typing import Any

from tests.adapters.slack.harness import SlackDriver, payload

DM_TS = "1699990000.000100"


def _menu(blocks: list[dict[str, Any]], placeholder: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements") or ():
            if element.get("type") == "static_select" and element["placeholder"]["text"] == placeholder:
                return dict(element)
    raise AssertionError(f"no {placeholder!r} menu")


async def test_a_macro_applied_from_the_cards_select_in_two_clicks(driver: SlackDriver) -> None:
    api = driver.api
    text = "reset-link | Hi {customer.first_name}, {kb:reset-password} | status pending"
    assert await driver.command("UDANA", f"add {text}", key="add", command="/macro") == 200
    await driver.settle()
    assert api.answers("add")[0].startswith("Macro `reset-link` saved, shared with the team.")

    await driver.event(payload("message_im"))
    await driver.settle()
    [card] = api.top_level("CQUEUE")
    menu = _menu(card.blocks, "Macro…")
    assert menu["action_id"] == "td_select_1", "its own action id beside the priority menu"
    assert [o["text"]["text"] for o in menu["options"]] == ["★ reset-link (suggested)"]
    assert card.fields()["Suggested macro"] == "reset-link"

    # click 1 opens the menu (Slack's own), click 2 picks the option: one block_actions payload
    body = payload("block_actions_select", response_url=api.response_url("macro"))
    body["message"]["ts"] = card.ts
    body["actions"] = [{**menu, "block_id": "b1", "selected_option": menu["options"][0], "action_ts": "1700000061.1"}]
    assert (await driver.interaction(body))[0] == 200
    await driver.settle()
    assert api.answers("macro") == ["Sent `reset-link` to Alice on #1; status pending."]
    said = api.texts("DALICE", DM_TS)
    assert said[-2].startswith("Bob: Hi Alice, Can't log in or forgot your password: ")
    assert said[-1].startswith("#1 is now pending.")
    assert card.fields()["Status"] == "pending"


async def test_customers_do_not_get_macros_on_slack(driver: SlackDriver) -> None:
    assert await driver.command("UALICE", "list", key="list", command="/macro") == 200
    await driver.settle()
    assert driver.api.answers("list") == ["Only agents can use `/macro list`. You are signed in as a customer."]
