"""Pure rendering: neutral messages as Block Kit within Slack's limits, customer text unable to ping."""

from __future__ import annotations

import json

from adapters.slack import render
from adapters.slack.translate import Press, user
from bot.domain.inbound import Place
from bot.outbound import Button, ButtonStyle, Choice, Field, Message


def test_card_blocks() -> None:
    card = Message(
        text="#3 [high · new] Login broken — Alice · unassigned · 2m",
        title="#3 · Login broken",
        fields=(Field(name="Status", value="new"), Field(name="Customer", value="Alice")),
        buttons=(
            Button(label="Claim", command="/ticket claim 3", style=ButtonStyle.PRIMARY),
            Button(label="Reply", command="/ticket reply 3", prompt="Reply to Alice"),
        ),
        choice=Choice(placeholder="Set priority", options=(Button(label="low", command="/ticket priority 3 low"),)),
    )
    text, blocks = render.render(card)
    assert text == card.text
    assert [b["type"] for b in blocks] == ["header", "section", "actions"]
    assert blocks[1]["fields"][0] == {"type": "mrkdwn", "text": "*Status*\nnew"}
    claim, reply, menu = blocks[2]["elements"]
    assert (claim["value"], claim["style"], claim["action_id"]) == ("/ticket claim 3", "primary", "td_run_0")
    assert reply["action_id"] == "td_prompt_1" and reply["text"]["text"] == "Reply…"
    assert json.loads(reply["value"]) == {"command": "/ticket reply 3", "prompt": "Reply to Alice"}
    assert menu["options"] == [
        {"text": {"type": "plain_text", "text": "low", "emoji": True}, "value": "/ticket priority 3 low"}
    ]


def test_customer_text_is_escaped_and_cannot_ping() -> None:
    text, blocks = render.render(Message(text="Hi <!channel> & <@U123|bob> <!here> @everyone a<b"))
    assert text == "Hi @\u200bchannel &amp; @\u200bbob @\u200bhere @\u200beveryone a&lt;b"
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def test_long_text_is_split_within_the_section_limit_without_breaking_entities() -> None:
    long = ("word & " * 2000).strip()  # 14k characters, 18k once escaped
    text, blocks = render.render(Message(text=long))
    sections = [b["text"]["text"] for b in blocks]
    assert all(len(s) <= render.SECTION_CHARS for s in sections) and len(sections) >= 6
    assert "".join(s + " " for s in sections).count("&amp;") == 2000
    assert all(not s.endswith("&am") and "&amp" not in s.replace("&amp;", "") for s in sections)
    assert len(text) <= render.FALLBACK_CHARS and text.endswith(render.MORE)


def test_text_beyond_the_block_budget_is_shortened_with_a_pointer() -> None:
    huge = "x" * (render.SECTION_CHARS * 60)
    _, blocks = render.render(Message(text=huge, buttons=(Button(label="Show", command="/ticket show 1"),)))
    assert len(blocks) == render.MAX_BLOCKS
    assert blocks[-2]["text"]["text"].endswith(render.MORE) and len(blocks[-2]["text"]["text"]) <= render.SECTION_CHARS
    assert blocks[-1]["type"] == "actions"


def test_labels_and_headers_are_clipped_to_slack_limits() -> None:
    _, blocks = render.render(
        Message(text="t", title="T" * 400, buttons=(Button(label="L" * 200, command="/ticket show 1"),))
    )
    assert len(blocks[0]["text"]["text"]) == render.HEADER_CHARS
    assert len(blocks[-1]["elements"][0]["text"]["text"]) == render.BUTTON_LABEL_CHARS


def test_prompt_modal() -> None:
    press = Press(
        actor=user("UBOB"),
        command="/ticket resolve 4",
        place=Place(platform="slack", channel="CQUEUE"),
        prompt="Resolution summary (the customer sees it)",
        label="Resolve…",
    )
    view = render.prompt_modal(press)
    assert view["callback_id"] == "threaddesk_prompt" and view["title"]["text"] == "Resolve"
    assert json.loads(view["private_metadata"]) == {"command": "/ticket resolve 4", "channel": "CQUEUE", "thread": None}
    assert view["blocks"][0]["label"]["text"] == "Resolution summary (the customer sees it)"
