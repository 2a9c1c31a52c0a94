"""`threaddesk` — the command line and the composition root: config → store → core → adapters.

`app` (in `adapters.cli.app`) is the root of the command tree; importing each module below adds its commands to
it, in the order `threaddesk --help` and each group's help list them."""

from __future__ import annotations

# isort: off
from adapters.cli import (  # noqa: F401 — each adds its commands to `app`, in the order the help lists them
    run,  # run, console
    db,  # db backup / restore (adapters.ops_cli), migrate, check; the customer group
    kb,
    macros,
    tickets,
    export,  # after run and console
    report,  # after export
    incidents,
    discord,
)

# isort: on
from adapters.cli.app import ADAPTERS, app

__all__ = ["ADAPTERS", "app", "main"]


def main() -> None:
    app()
