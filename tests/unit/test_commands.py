"""The command language is a pure function: text in, `Command` or a readable error out."""

from __future__ import annotations

import pytest

from bot.domain.commands import SPECS, help_text, is_command, parse
from bot.domain.errors import CommandError
from bot.domain.roles import Role
from bot.domain.ticket import Priority, Status


@pytest.mark.parametrize(
    ("text", "name", "ticket"),
    [
        ("/ticket claim 42", "claim", 42),
        ("/ticket claim #42", "claim", 42),
        ("/TICKET Claim", "claim", None),
        ("ticket show 7", "show", 7),  # buttons and Discord options arrive without the slash
        ("/ticket resolve 3 Reset the password", "resolve", 3),
        ("/kb search refund", "search", None),
    ],
)
def test_parses_name_and_ticket(text: str, name: str, ticket: int | None) -> None:
    command = parse(text)
    assert (command.name, command.ticket) == (name, ticket)


def test_free_text_is_kept_verbatim() -> None:
    command = parse("/ticket reply 42   Hi *there*  — see   https://x.test/a?b=1 ")
    assert command.text == "Hi *there*  — see   https://x.test/a?b=1"


def test_number_may_be_omitted_inside_a_thread() -> None:
    command = parse("/ticket reply thanks, 42 is the answer")
    assert command.ticket is None and command.text == "thanks, 42 is the answer"


def test_typed_arguments() -> None:
    assert parse("/ticket status 4 on-hold").status is Status.ON_HOLD
    assert parse("/ticket status 4 On Hold").status is Status.ON_HOLD
    assert parse("/ticket priority urgent").priority is Priority.URGENT
    assert parse("/ticket assign 4 <@U123|erin>").user == "U123"
    assert parse("/ticket assign 4 @erin").user == "erin"
    tagged = parse("/ticket tag 4 vip, #billing -spam")
    assert (tagged.tags_add, tagged.tags_remove) == (("vip", "billing"), ("spam",))
    assert parse("/ticket list urgent unassigned").filters == ("urgent", "unassigned")
    assert parse("/ticket resolve 4 --kb reset-password Sent the link").options == {"kb": "reset-password"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/ticket clam 4", "Unknown command `/ticket clam`. Did you mean `/ticket claim`?"),
        ("/ticket escalte", "Did you mean `/ticket escalate`?"),
        ("/ticket frobnicate", "Unknown command `/ticket frobnicate`. See `/ticket help` for the list."),
        (
            "/ticket priority 4 hot",
            "“hot” is not a priority. Valid priority values: low, normal, high, urgent.",
        ),
        ("/ticket status 4 done", "Valid status values: new, open, pending, on_hold, resolved, closed."),
        ("/ticket status 4", "Missing status. Usage: `/ticket status [N] <status>`"),
        ("/ticket reply 4", "Missing text. Usage: `/ticket reply [N] <text>`"),
        ("/ticket resolve 4", "Missing text. Usage: `/ticket resolve [N] [--kb ARTICLE] <summary>`"),
        ("/ticket assign 4", "Missing person."),
        ("/ticket claim 4 now please", "`/ticket claim [N]` takes no extra words"),
        ("/ticket resolve 4 --when now done", "has no option `--when` (options: --kb)"),
        ("/ticket list someday", "“someday” is not a list filter."),
        ("/ticket tag 4 no!way", "“no!way” is not a tag"),
        ("/tickets claim 4", "Commands start with `/ticket`, `/kb`, `/digest`"),
        ("", "Commands start with `/ticket`, `/kb`, `/digest`"),
    ],
)
def test_errors_name_the_problem_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert message in caught.value.message


def test_bare_group_is_help() -> None:
    assert parse("/ticket").name == "help"


def test_help_comes_from_the_table() -> None:
    full = help_text("ticket")
    for spec in SPECS:
        if spec.group == "ticket":
            assert f"`{spec.usage}`" in full
    customer = help_text("ticket", role=Role.CUSTOMER)
    assert "/ticket claim" not in customer and "/ticket new" in customer
    assert help_text("ticket", "claim") == "`/ticket claim [N]` — assign a ticket to yourself. (Who: agents and above.)"


def test_is_command() -> None:
    assert is_command("/ticket list") and is_command("  /kb search x")
    assert not is_command("ticket please help") and not is_command("/as bob") and not is_command("")
