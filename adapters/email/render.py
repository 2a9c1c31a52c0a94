"""A neutral message as a plain-text e-mail body: buttons become lines the customer can reply with."""

from __future__ import annotations

from bot.outbound import Button, Message

RATE = "/ticket rate"


def body(message: Message, ticket: int | None) -> str:
    parts = [message.text.strip()]
    if message.fields:
        parts.append("\n".join(f"{f.name}: {f.value}" for f in message.fields))
    buttons = list(message.buttons) + (list(message.choice.options) if message.choice else [])
    rating = [b for b in buttons if b.command.startswith(RATE)]
    actions = [b for b in buttons if not b.command.startswith(RATE)]
    if rating:
        parts.append(
            "To rate us, reply with just a number from 1 (poor) to 5 (great) — a comment after it is welcome,"
            " e.g. “5 Quick and friendly”."
        )
    if actions:
        width = max(len(_line(b)) for b in actions)
        lines = [f"  {_line(b).ljust(width)}   ({b.label})" for b in actions]
        parts.append("To choose, reply with one of these lines as the first line of your e-mail:\n" + "\n".join(lines))
    if message.footer:
        parts.append(message.footer)
    if ticket is not None:
        parts.append(f"-- \nReply to this e-mail to add to ticket #{ticket}. Please keep [#{ticket}] in the subject.")
    return "\n\n".join(p for p in parts if p) + "\n"


def _line(button: Button) -> str:
    return f"{button.command} <your text>" if button.prompt else button.command
