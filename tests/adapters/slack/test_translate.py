"""Pure translation of recorded Slack payloads."""

from __future__ import annotations

from adapters.slack import translate
from bot.domain.inbound import Place
from tests.adapters.slack.harness import payload


def test_dm_message() -> None:
    msg = translate.message_event(payload("message_im")["event"], "UBOT")
    assert msg is not None
    assert (msg.platform, msg.message_id, msg.author.id, msg.channel) == (
        "slack",
        "1699990000.000100",
        "UALICE",
        "DALICE",
    )
    assert msg.is_direct and msg.thread is None and not msg.mentions_bot
    assert msg.text.startswith("I can't log in")


def test_thread_reply_carries_its_root() -> None:
    msg = translate.message_event(payload("message_thread_reply")["event"], "UBOT")
    assert msg is not None and msg.thread == "1699990000.000100" and msg.message_id == "1699990100.000200"


def test_mention_is_stripped_and_flagged() -> None:
    msg = translate.message_event(payload("app_mention")["event"], "UBOT", mention=True)
    assert msg is not None and msg.mentions_bot and not msg.is_direct
    assert msg.text == "our exports are failing with a 500 error"


def test_edits_deletes_and_bots_are_not_messages() -> None:
    assert translate.message_event(payload("message_changed")["event"], "UBOT") is None
    assert translate.message_event(payload("bot_message")["event"], "UBOT") is None
    own = payload("message_im", user="UBOT")["event"]
    assert translate.message_event(own, "UBOT") is None


def test_files_become_links() -> None:
    msg = translate.message_event(payload("file_share")["event"], "UBOT")
    assert msg is not None and msg.files == ("https://acme.slack.com/files/UCAROL/F0SCREEN/error.png",)


def test_reaction() -> None:
    event = payload("reaction_added")["event"]
    found = translate.reaction_added(event, "ticket")
    assert found == translate.Reaction(reactor="UBOB", channel="CGENERAL", ts="1699990600.000700", author="UCAROL")
    assert translate.reaction_added({**event, "reaction": "ticket::skin-tone-3"}, "ticket") is not None
    assert translate.reaction_added({**event, "reaction": "eyes"}, "ticket") is None
    assert translate.reaction_added({**event, "item": {"type": "file"}}, "ticket") is None


def test_slash_command() -> None:
    call = translate.slash_command(payload("slash_command"))
    assert call.actor.id == "UBOB" and call.text == "/ticket claim 1"
    assert call.place == Place(platform="slack", channel="CQUEUE")
    assert translate.slash_command({**payload("slash_command"), "text": ""}).text == "/ticket help"


def test_button_and_menu() -> None:
    press = translate.block_action(payload("block_actions_button"))
    assert press is not None and (press.actor.id, press.command, press.prompt) == ("UBOB", "/ticket claim 1", None)
    choice = translate.block_action(payload("block_actions_select"))
    assert choice is not None and choice.command == "/ticket priority 1 urgent"


def test_prompt_button_and_its_modal_round_trip() -> None:
    body = payload("block_actions_button")
    body["actions"][0].update(
        action_id="td_prompt_1", value=translate.encode_prompt("/ticket reply 1", "Reply to Alice")
    )
    body["message"]["thread_ts"] = "1699990000.000100"
    press = translate.block_action(body)
    assert press is not None and press.prompt == "Reply to Alice"
    submission = payload("view_submission")
    submission["view"]["private_metadata"] = translate.view_metadata(press)
    call = translate.view_submission(submission)
    assert call is not None and call.text == "/ticket reply 1 I've re-sent the reset email."
    assert call.place.thread == "1699990000.000100" and call.typed == "I've re-sent the reset email."


def test_broken_payloads_give_none() -> None:
    assert translate.block_action({"actions": []}) is None
    bad = payload("block_actions_button")
    bad["actions"][0].update(action_id="td_prompt_0", value="{not json")
    assert translate.block_action(bad) is None
    assert translate.view_submission({"view": {"private_metadata": "x"}}) is None


def test_shortcut_message_as_ticket() -> None:
    message, channel, invoker = translate.shortcut_message(payload("shortcut_message"))
    msg = translate.message_as_ticket(message, channel, "UBOT")
    assert invoker == "UBOB" and msg is not None
    assert (msg.author.id, msg.channel, msg.message_id, msg.mentions_bot) == (
        "UCAROL",
        "CGENERAL",
        "1699990700.000900",
        True,
    )
    assert msg.text == "Has anyone else been charged twice this month?"


def test_mentioned_users() -> None:
    assert translate.mentioned_users("assign 4 <@UERIN|erin> <@W0BOB> <@UERIN> <!here>") == ["UERIN", "W0BOB"]
