"""Help texts for the `threaddesk` command line: every command's `--help` ends with examples."""

from __future__ import annotations


def example(*commands: str) -> str:
    """An epilog listing `commands` one per line (click keeps a paragraph marked with \\b as written)."""
    label = "Example:" if len(commands) == 1 else "Examples:"
    return "\b\n" + label + "\n" + "\n".join(f"  {command}" for command in commands)
