"""Neutral messages as terminal text. Buttons get numbers you can `/press`."""

from __future__ import annotations

from collections.abc import Callable

from bot.outbound import Button, Message, all_menus

#: Gives a button its number (the session keeps the mapping).
Numbering = Callable[[Button], int]


def render(message: Message, number: Numbering) -> list[str]:
    lines: list[str] = []
    if message.title:
        lines.append(message.title)
        if message.fields:
            lines.append(" · ".join(f"{f.name}: {f.value}" for f in message.fields))
        body = message.text if not message.fields else ""
    else:
        body = message.text
    lines += body.splitlines() if body else []
    if message.link is not None and message.link.url:
        lines.append(f"🔗 {message.link.label}: {message.link.url}")
    controls = [_button(b, number) for b in message.buttons]
    for menu in all_menus(message):
        options = " ".join(f"[{number(o)}] {o.label}" for o in menu.options)
        controls.append(f"{menu.placeholder}: {options}")
    if controls:
        lines.append("   ".join(controls))
    if message.footer:
        lines.append(message.footer)
    if message.attachment:
        what = "chart saved to" if message.attachment.endswith(".png") else "file:"
        lines.append(f"📎 {what} {message.attachment}")
    return lines


def _button(button: Button, number: Numbering) -> str:
    return f"[{number(button)}] {button.label}{'…' if button.prompt else ''}"
