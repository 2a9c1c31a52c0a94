"""Pure translation of recorded Discord payloads into the core's terms."""

from __future__ import annotations

from adapters.discord import translate
from bot.domain.inbound import Place
from bot.domain.refs import UserRef
from tests.adapters.discord.recorded import bot_id, interaction, message, payload


def test_a_top_level_message_in_an_intake_channel() -> None:
    raw = payload("message_create_intake.json")
    msg = translate.incoming(message("message_create_intake.json"), bot_id=bot_id())
    assert msg is not None
    assert (msg.platform, msg.message_id, msg.channel, msg.thread) == ("discord", raw["id"], raw["channel_id"], None)
    assert (msg.author.id, msg.author.name) == (raw["author"]["id"], "Alice")
    assert msg.text == raw["content"] and msg.mentions_bot and not msg.is_direct


def test_a_message_in_a_ticket_thread_names_the_parent_channel_and_the_thread() -> None:
    raw = payload("message_create_thread.json")
    thread = payload("guild_create.json")["threads"][0]
    msg = translate.incoming(message("message_create_thread.json"), bot_id=bot_id())
    assert msg is not None
    assert (msg.channel, msg.thread) == (thread["parent_id"], raw["channel_id"])
    # a public thread started on the customer's message has that message's id
    assert msg.thread == payload("message_create_intake.json")["id"]


def test_a_dm_is_direct_and_has_no_thread() -> None:
    raw = payload("message_create_dm.json")
    msg = translate.incoming(message("message_create_dm.json"), bot_id=bot_id())
    assert msg is not None
    assert (msg.channel, msg.thread, msg.is_direct, msg.mentions_bot) == (raw["channel_id"], None, True, False)


def test_bots_and_system_notices_are_not_customer_messages() -> None:
    assert translate.incoming(message("message_create_bot.json"), bot_id=bot_id()) is None
    assert translate.incoming(message("message_create_intake.json", type=18), bot_id=bot_id()) is None  # thread made


def test_attachments_travel_as_links() -> None:
    file = {
        "id": "1",
        "filename": "screenshot.png",
        "size": 1024,
        "url": "https://cdn.discordapp.com/attachments/1/2/screenshot.png",
        "proxy_url": "https://media.discordapp.net/attachments/1/2/screenshot.png",
    }
    msg = translate.incoming(message("message_create_intake.json", attachments=[file]), bot_id=bot_id())
    assert msg is not None and msg.files == (file["url"],)


def test_app_commands_become_the_core_command_language() -> None:
    assign = interaction("interaction_assign.json")
    agent = payload("interaction_assign.json")["data"]["options"][0]["options"][1]["value"]
    assert translate.command_text(assign.data or {}) == f"/ticket assign 1 <@{agent}>"
    resolve = interaction("interaction_resolve_in_thread.json")
    assert translate.command_text(resolve.data or {}) == "/ticket resolve --kb reset-password Reset link re-sent"
    support_role = payload("guild_create.json")["roles"][1]
    assert support_role["name"] == "Support"
    assert translate.member_role_ids(dict(assign.data or {})) == {agent: (support_role["id"],)}


def test_the_place_of_an_interaction_inside_a_thread() -> None:
    raw = payload("interaction_resolve_in_thread.json")
    resolve = interaction("interaction_resolve_in_thread.json")
    assert translate.place_of(resolve.channel, resolve.channel_id) == Place(
        platform="discord", channel=raw["channel"]["parent_id"], thread=raw["channel_id"]
    )
    claim = interaction("interaction_button_claim.json")
    assert translate.place_of(claim.channel, claim.channel_id).thread is None


def test_modal_text_and_component_ids() -> None:
    submitted = interaction("interaction_modal_submit.json")
    assert translate.modal_text(submitted.data or {}) == "Try again now please"
    assert (submitted.data or {})["custom_id"] == "td:modal:/ticket reply 1"  # type: ignore[typeddict-item]
    claim = payload("interaction_button_claim.json")
    assert claim["data"]["custom_id"] == "td:b:/ticket claim 1"


def test_options_in_any_order_and_optional_ones_left_out() -> None:
    data = {
        "name": "ticket",
        "type": 1,
        "options": [
            {
                "type": 1,
                "name": "list",
                "options": [
                    {"name": "scope", "type": 3, "value": "unassigned"},
                    {"name": "status", "type": 3, "value": "open"},
                ],
            }
        ],
    }
    assert translate.command_text(data) == "/ticket list open unassigned"
    assert translate.command_text({"name": "ticket", "options": [{"type": 1, "name": "mine"}]}) == "/ticket mine"
    assert (
        translate.command_text(
            {
                "name": "kb",
                "options": [
                    {
                        "type": 1,
                        "name": "search",
                        "options": [{"name": "text", "type": 3, "value": "  reset password "}],
                    }
                ],
            }
        )
        == "/kb search reset password"
    )


def test_every_kind_of_interaction_is_who_what_where() -> None:
    claim = translate.interaction_request(interaction("interaction_button_claim.json"))
    raw = payload("interaction_button_claim.json")
    assert claim == (
        UserRef(platform="discord", id=raw["member"]["user"]["id"], name="Bob"),
        "/ticket claim 1",
        Place(platform="discord", channel=raw["channel_id"]),
    )
    reply = translate.interaction_request(interaction("interaction_modal_submit.json"))
    assert reply is not None and reply[1] == "/ticket reply 1 Try again now please"
    resolve = translate.interaction_request(interaction("interaction_resolve_in_thread.json"))
    assert resolve is not None and resolve[2].thread == payload("interaction_resolve_in_thread.json")["channel_id"]
    # a button that asks for text first is not a command yet; a menu's pick is
    assert translate.component_command({"custom_id": "td:m:/ticket reply 1"}) is None
    assert translate.component_command({"custom_id": "td:s:1", "values": ["/ticket priority 1 low"]}) == (
        "/ticket priority 1 low"
    )
