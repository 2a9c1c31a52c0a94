"""The command table (what people can type, and what help lists) and the handler table (what runs) name the
same commands: a command without a handler would reach a person as an internal error."""

from __future__ import annotations

from bot.domain.commands import GROUPS, SPECS, parse
from bot.services.desk import HANDLERS


def test_every_command_people_can_type_has_a_handler_and_every_handler_a_command() -> None:
    typed = {(spec.group, spec.name) for spec in SPECS}
    assert sorted(typed - HANDLERS.keys()) == [], "commands in the table with no handler"
    assert sorted(HANDLERS.keys() - typed) == [], "handlers no one can reach"


def test_every_group_has_help_and_is_parsed() -> None:
    assert sorted(GROUPS) == sorted({spec.group for spec in SPECS})
    for group in GROUPS:
        # `/dashboard` alone is the sign-in link (the command); `/dashboard help` is its help
        assert parse(f"/{group}").spec.name == ("link" if group == "dashboard" else "help")
        assert parse(f"/{group} help").spec.name == "help"
