"""Pure rendering of the core's neutral messages as Discord content, embeds and persistent components."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from adapters.discord.components import CommandButton, CommandSelect
from adapters.discord.platform import message_payload, nonce_for, thread_name
from adapters.discord.render import render, split_text
from bot.domain.refs import ThreadRef, UserRef
from bot.domain.ticket import Priority, Status, Ticket
from bot.outbound import Button, Message
from bot.services import notify

ALICE = UserRef(platform="discord", id="1001", name="Alice")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ticket(**changes: object) -> Ticket:
    base = Ticket(
        number=12,
        subject="Export to CSV fails with @everyone",
        description="Export to CSV fails",
        customer=ALICE,
        origin=ThreadRef(platform="discord", channel="10", thread="11"),
        priority=Priority.HIGH,
        status=Status.NEW,
        category="exports",
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def components(message: Message) -> list[dict[str, object]]:
    return [c for row in render(message)[-1].components() for c in row["components"]]  # type: ignore[attr-defined]


def test_the_queue_card_is_an_embed_with_fields_and_persistent_buttons() -> None:
    parts = render(notify.card(ticket(), NOW))
    assert len(parts) == 1 and parts[0].content is None
    embed = parts[0].embed
    assert embed is not None
    assert embed.title == "#12 · Export to CSV fails with @\u200beveryone"
    assert {f.name: f.value for f in embed.fields} == {
        "Status": "new",
        "Priority": "high",
        "Customer": "Alice",
        "Assignee": "unassigned",
        "Age": "just now",
        "Category": "exports",
    }
    items = components(notify.card(ticket(), NOW))
    ids = {c.get("label") or c.get("placeholder"): c["custom_id"] for c in items}
    assert ids == {
        "Claim": "td:b:/ticket claim 12",
        "Reply": "td:m:/ticket reply 12",
        "Resolve": "td:m:/ticket resolve 12",
        "Escalate": "td:b:/ticket escalate 12",
        "Set priority": "td:s:12",
    }
    menu = next(c for c in items if c["type"] == 3)
    assert [o["value"] for o in menu["options"]] == [f"/ticket priority 12 {p.value}" for p in Priority]  # type: ignore[index]


def test_custom_ids_match_the_dynamic_item_templates_so_they_survive_restarts() -> None:
    for item in components(notify.card(ticket(), NOW)):
        custom_id = str(item["custom_id"])
        template = (
            CommandSelect.__discord_ui_compiled_template__
            if item["type"] == 3
            else CommandButton.__discord_ui_compiled_template__
        )
        assert re.fullmatch(template, custom_id), custom_id


def test_the_resolution_has_yes_and_no() -> None:
    resolved = ticket(status=Status.RESOLVED, resolution_summary="Fixed in 4.2")
    [part] = render(notify.resolution(resolved, UserRef(platform="discord", id="2", name="Bob")))
    assert part.content is not None and part.content.startswith("#12 is resolved by Bob: Fixed in 4.2")
    assert [(c["label"], c["custom_id"], c["style"]) for c in components(notify.resolution(resolved, ALICE))] == [
        ("Yes, solved", "td:b:/ticket close 12", 1),
        ("No, reopen", "td:b:/ticket reopen 12", 4),
    ]


def test_plain_text_has_no_embed_and_no_components() -> None:
    [part] = render(Message(text="Bob is looking at this."))
    assert (part.content, part.embed, part.view) == ("Bob is looking at this.", None, None)
    payload = message_payload(part, nonce="td-3-0")
    assert payload == {
        "content": "Bob is looking at this.",
        "embeds": [],
        "components": [],
        "allowed_mentions": {"parse": []},
        "nonce": "td-3-0",
        "enforce_nonce": True,
    }


def test_long_text_is_split_at_line_breaks_and_buttons_ride_on_the_last_part() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(60))  # ~6,000 characters
    parts = render(Message(text=text, buttons=(Button(label="Show", command="/ticket show 3"),)))
    assert len(parts) == 3 and all(p.content and len(p.content) <= 2000 for p in parts)
    assert "\n".join(p.content or "" for p in parts) == text
    assert [p.view is not None for p in parts] == [False, False, True]
    assert split_text("a" * 4500) == ["a" * 2000, "a" * 2000, "a" * 500]


def test_a_show_reply_keeps_its_history_text_beside_the_embed() -> None:
    message = Message(text="#1 · x\nHistory:\n  opened", title="#1 · x", fields=())
    [part] = render(message)
    assert part.embed is not None and part.content == message.text


def test_commands_too_long_for_a_custom_id_are_left_out_not_truncated() -> None:
    long = Button(label="Long", command="/ticket tag 1 " + "t" * 120)
    ok = Button(label="Ok", command="/ticket show 1")
    assert [c["label"] for c in components(Message(text="x", buttons=(long, ok)))] == ["Ok"]


def test_nonces_and_thread_names() -> None:
    assert nonce_for("td-41-2", 0) == "td-41-2" and nonce_for("td-41-2", 1) == "td-41-2.1"
    long = nonce_for("td-123456789012-123456789", 3)
    assert long is not None and len(long) == 25
    assert thread_name("Thanks, Alice — we've opened ticket #7 (priority: high).", internal=False) == "Ticket #7"
    assert thread_name("📝 Internal note on #7", internal=True) == "Ticket #7 · agents"
