"""Every `threaddesk … --help` reads correctly: nothing swallowed by markup, no stray metavars, an example."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from adapters.cli import app


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if hasattr(group, "commands"):  # a group (typer bundles its own click)
        for name, command in group.commands.items():
            found += every_command(command, (*path, name))
    return found


def test_every_help_has_an_example_and_reads_as_written() -> None:
    runner = CliRunner()
    commands = every_command(typer.main.get_command(app))
    assert ("kb", "eval") in commands and ("report",) in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        text = result.output
        assert result.exit_code == 0, (path, text)
        assert "Example" in text and "  threaddesk " in text.split("Example")[-1], path
        assert "<bool>" not in text, path
        assert "\x1b[" not in text, path
        if "--db" in text:
            assert "overrides [store] path" in text, path
    eval_help = runner.invoke(app, ["kb", "eval", "--help"]).output
    assert "Fuse MiniLM embeddings (needs .[semantic])." in eval_help
