"""`python -m adapters.cli` — the same as the `threaddesk` command."""

from adapters.cli import main

main()
