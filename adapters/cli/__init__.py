"""`threaddesk` — the command line and the composition root: config → store → core → adapters.

`app` (in `adapters.cli.app`) is the root of the command tree; importing each module below adds its commands to
it, in the order `threaddesk --help` and each group's help list them."""

from __future__ import annotations

import gc

# Start-up: the imports below create some 180,000 long-lived objects (classes, functions, pydantic schemas), and
# the cyclic garbage collector would walk them again and again while they load — with `run`'s own start, about a
# tenth of a start's CPU, for no garbage. It is off while they load (then as it was found), and `main` freezes
# what they made: later collections skip it.
_collecting = gc.isenabled()
gc.disable()
try:
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
finally:
    if _collecting:
        gc.enable()

__all__ = ["ADAPTERS", "app", "main"]


def main() -> None:
    gc.freeze()  # what start-up made lives as long as the process: no collection needs to look at it again
    app()
