"""Macro text and actions, pure: what is refused at save time and what a filled reply reads like."""

from __future__ import annotations

import pytest

from bot.domain.errors import CommandError
from bot.domain.macros import Values, check_body, fill, parse_actions
from bot.domain.ticket import Priority, Status

VALUES = Values(customer="Alice Martin", agent="Bob", ticket="#7", subject="Card declined")


def test_every_placeholder_is_filled() -> None:
    body = "Hi {customer.first_name} ({customer}), {agent} on {ticket} “{subject}”: {kb:reset-password} {{x}}"
    check_body(body, lambda article: article == "reset-password")
    filled = fill(body, VALUES, lambda article: f"<{article}>")
    assert filled == "Hi Alice (Alice Martin), Bob on #7 “Card declined”: <reset-password> {x}"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Hi {Customer}", "Unknown placeholder `{Customer}`"),
        ("Hi {customer.last_name}", "Unknown placeholder `{customer.last_name}`"),
        ("See {kb:}", "there is no article ``"),
        ("See {kb:gone}", "there is no article `gone`"),
        ("a } b", "A lone `{` or `}`"),
        ("   ", "A macro needs reply text"),
        ("x" * 3001, "keep it under 3,000"),
    ],
)
def test_refused_at_save(body: str, problem: str) -> None:
    with pytest.raises(CommandError) as caught:
        check_body(body, lambda article: False)
    assert problem in caught.value.message


def test_actions_round_trip_and_a_note_may_hold_semicolons() -> None:
    actions = parse_actions("priority high; tag refund -new; status pending; note Sent the form; check Stripe")
    assert actions.status is Status.PENDING and actions.priority is Priority.HIGH
    assert (actions.tags_add, actions.tags_remove) == (("refund",), ("new",))
    assert actions.note == "Sent the form; check Stripe"
    assert actions.text() == "status pending; priority high; tag refund -new; note Sent the form; check Stripe"
    assert parse_actions(actions.text()) == actions
    assert not parse_actions("")
