"""What opens a ticket on Slack and what does not; slash commands, menus and shortcuts."""

from __future__ import annotations

from adapters.slack.translate import user
from bot.domain.refs import UserRef
from bot.records import TicketQuery
from tests.adapters.slack.harness import SlackDriver, payload
from tests.fakes.slack_api import Failure


async def _numbers(driver: SlackDriver) -> list[int]:
    async with driver.desk.ctx.store.reading() as uow:
        return sorted(t.number for t in await uow.tickets.list_tickets(TicketQuery(limit=100)))


async def test_a_mention_anywhere_opens_a_ticket_in_that_thread(driver: SlackDriver) -> None:
    await driver.event(payload("app_mention"))
    await driver.settle()
    [ack] = driver.api.in_thread("CGENERAL", "1699990200.000300")
    assert "Thanks, Carol — we've opened ticket #1" in ack.text
    [card] = driver.api.top_level("CQUEUE")
    assert card.blocks[0]["text"]["text"] == "#1 · our exports are failing with a 500 error"


async def test_intake_channel_messages_open_tickets_others_do_not(driver: SlackDriver) -> None:
    plain = {"channel_type": "channel", "client_msg_id": "x"}
    await driver.event(driver.message_event("UCAROL", "CRANDOM", "1699990300.000001", "lunch?", **plain))
    await driver.event(driver.message_event("UCAROL", "CSUPPORT", "1699990300.000002", "My invoice is wrong", **plain))
    await driver.settle()
    assert await _numbers(driver) == [1]
    assert driver.api.in_thread("CRANDOM", "1699990300.000001") == []
    assert "ticket #1" in driver.api.texts("CSUPPORT", "1699990300.000002")[0]


async def test_bot_posts_edits_and_deletes_open_nothing(driver: SlackDriver) -> None:
    await driver.event(payload("bot_message"))
    await driver.event(payload("message_changed"))
    deleted = payload("message_changed", subtype="message_deleted", deleted_ts="1699990000.000100")
    deleted["event_id"] = "Ev0DELETED"
    await driver.event(deleted)
    own = driver.message_event("UBOT", "CSUPPORT", "1699990300.000003", "our own post", bot_id="B0BOT")
    await driver.event(own)
    await driver.settle()
    assert await _numbers(driver) == []
    assert driver.api.posted == []


async def test_files_are_recorded_as_links(driver: SlackDriver) -> None:
    await driver.event(payload("file_share"))
    await driver.settle()
    shown = await driver.desk.run(driver_user("UBOB"), "/ticket show 1")
    assert "[file] https://acme.slack.com/files/UCAROL/F0SCREEN/error.png" in shown.text


async def test_the_ticket_reaction_turns_a_message_into_a_ticket_for_its_author(driver: SlackDriver) -> None:
    driver.api.history[("CGENERAL", "1699990600.000700")] = {
        "type": "message",
        "user": "UCAROL",
        "text": "The mobile app crashes when I open settings",
        "ts": "1699990600.000700",
    }
    await driver.event(payload("reaction_added", reaction="thumbsup"))
    await driver.settle()
    assert await _numbers(driver) == []
    await driver.event(payload("reaction_added"))
    await driver.settle()
    [ack] = driver.api.in_thread("CGENERAL", "1699990600.000700")
    assert "Thanks, Carol — we've opened ticket #1" in ack.text
    [told] = driver.api.calls_to("chat.postEphemeral")
    assert told.params["user"] == "UBOB" and told.params["text"] == "Opened ticket #1 for that message."


async def test_the_reaction_on_a_reply_in_a_thread_reads_it_from_the_thread(driver: SlackDriver) -> None:
    driver.api.history[("CGENERAL", "1699990600.000700")] = {
        "type": "message",
        "user": "UCAROL",
        "text": "Same problem here: billing page is blank",
        "ts": "1699990600.000700",
        "thread_ts": "1699990500.000001",
    }
    await driver.event(payload("reaction_added"))
    await driver.settle()
    assert [c.method for c in driver.api.calls if c.method.startswith("conversations.")] == [
        "conversations.history",
        "conversations.replies",
    ]
    shown = await driver.desk.run(driver_user("UBOB"), "/ticket show 1")
    assert "Same problem here: billing page is blank" in shown.text


async def test_the_create_ticket_shortcut(driver: SlackDriver) -> None:
    body = payload("shortcut_message", response_url=driver.api.response_url("shortcut"))
    status, text = await driver.interaction(body)
    assert (status, text) == (200, "")
    await driver.settle()
    assert driver.api.answers("shortcut") == ["Opened ticket #1 for that message."]
    [ack] = driver.api.in_thread("CGENERAL", "1699990700.000900")
    assert "Thanks, Carol" in ack.text
    await driver.interaction(body)  # again: the message already is a ticket
    await driver.settle()
    assert driver.api.answers("shortcut")[-1].startswith("No new ticket")


async def test_slash_command_is_acknowledged_at_once_however_slow_the_work(driver: SlackDriver) -> None:
    answer_users_info = driver.api.hold("users.info")  # the work after ack() waits on a Slack call that hangs
    assert await driver.command("UBOB", "list", key="slow") == 200  # so the 200 cannot have waited for the work
    assert driver.api.answers("slow") == []
    answer_users_info.set()
    await driver.settle()
    [answer] = driver.api.answers("slow")
    assert answer  # the answer came later, through response_url


async def test_errors_answer_only_the_person_who_typed(driver: SlackDriver) -> None:
    await driver.command("UBOB", "clam 1", key="typo")
    await driver.command("UCAROL", "claim 1", key="customer")
    await driver.settle()
    assert driver.api.answers("typo") == [
        "Unknown command `/ticket clam`. Did you mean `/ticket claim`? See `/ticket help` for the list."
    ]
    assert driver.api.answers("customer")[0].startswith("Only agents can use `/ticket claim`.")
    assert driver.api.posted == []
    for _, body in driver.api.responses:
        assert body["response_type"] == "ephemeral"


async def test_priority_menu_on_the_card(driver: SlackDriver) -> None:
    await driver.event(payload("message_im"))
    await driver.settle()
    [card] = driver.api.top_level("CQUEUE")
    body = payload("block_actions_select", response_url=driver.api.response_url("menu"))
    body["message"]["ts"] = card.ts
    await driver.interaction(body)
    await driver.settle()
    assert card.fields()["Priority"] == "urgent"
    assert driver.api.answers("menu")[0].startswith("#1 priority")


async def test_an_agent_answering_in_the_customers_thread_reaches_the_customer(driver: SlackDriver) -> None:
    plain = {"channel_type": "channel"}
    await driver.event(driver.message_event("UCAROL", "CSUPPORT", "1699990300.000010", "Export is stuck", **plain))
    await driver.event(
        driver.message_event(
            "UBOB", "CSUPPORT", "1699990300.000011", "Looking into it now", thread_ts="1699990300.000010", **plain
        )
    )
    await driver.settle()
    shown = await driver.desk.run(driver_user("UBOB"), "/ticket show 1")
    assert "Bob replied to the customer" in shown.text
    ticket = await driver.desk.ticket(1)
    assert ticket is not None and ticket.status.value == "open"


def driver_user(user_id: str) -> UserRef:
    return user(user_id, user_id.removeprefix("U").capitalize())


async def test_a_form_that_cannot_open_says_what_to_type_instead(driver: SlackDriver) -> None:
    await driver.event(payload("message_im"))
    await driver.settle()
    [card] = driver.api.top_level("CQUEUE")
    driver.api.fail_next("views.open", Failure(error="expired_trigger_id"))
    await driver.press("UBOB", card.button("Reply"), "CQUEUE", card.ts, None, key="late")
    await driver.settle()
    assert driver.api.answers("late") == [
        "Sorry, the form did not open. Type `/ticket reply 1 &lt;your text&gt;` instead."  # Slack shows <your text>
    ]


async def test_assign_by_slack_mention(driver: SlackDriver) -> None:
    await driver.event(payload("message_im"))
    await driver.settle()
    await driver.command("UBOB", "assign 1 <@UERIN|erin>", key="assign")
    await driver.settle()
    assert driver.api.answers("assign") == ["#1 is now assigned to Erin."]
    [card] = driver.api.top_level("CQUEUE")
    assert card.fields()["Assignee"] == "Erin"
