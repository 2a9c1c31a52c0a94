"""Macros: named reply templates with placeholders and optional actions. Pure: parsing, checking, filling.

A macro is checked when it is saved, never when it is used: an unknown placeholder, a bad status or an
article that does not exist is refused with the fix, so applying a macro cannot fail on its own text.

```text
/macro add refund-sent | Hi {customer.first_name}, your refund for {ticket} is on its way. | status pending; tag refund
```

Placeholders: `{customer}`, `{customer.first_name}`, `{agent}`, `{ticket}`, `{subject}`, `{kb:ARTICLE}`
(the article's title, summary and how to read it). `{{` and `}}` write literal braces.
Actions, separated by `;`: `status S`, `priority P`, `tag a b -c`, `note TEXT` (an internal note; last, as
everything after `note` is its text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.domain.errors import CommandError
from bot.domain.ticket import Priority, Status

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
PLACEHOLDERS = ("customer", "customer.first_name", "agent", "ticket", "subject")
KB_PREFIX = "kb:"
MAX_BODY_CHARS = 3_000
#: statuses a macro may set (`new` is where tickets start, never where they go back to)
MACRO_STATUSES = tuple(s for s in Status if s is not Status.NEW)
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_TAG = re.compile(r"[\w][\w.\-/]{0,39}")
E = TypeVar("E", Status, Priority)


def check_name(raw: str) -> str:
    name = raw.strip().lower()
    if not NAME.fullmatch(name):
        raise CommandError(
            f"“{raw.strip()[:40]}” is not a macro name: use lowercase letters, digits, - _ . (up to 40), "
            "e.g. `refund-sent`."
        )
    return name


def placeholders(body: str) -> list[str]:
    """Every `{…}` in `body`, in order; raises for a lone brace (write `{{` or `}}` for a literal one)."""
    found: list[str] = []
    for match in _FIELD.finditer(body):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise CommandError("A lone `{` or `}` in the text: write `{{` or `}}` for a literal brace.")
        found.append(match.group(1).strip())
    return found


def check_body(body: str, article_exists: Callable[[str], bool]) -> None:
    """Refuse unknown placeholders and articles that do not exist — at save time."""
    if not body.strip():
        raise CommandError("A macro needs reply text, e.g. `/macro add thanks | Thanks {customer.first_name}!`.")
    if len(body) > MAX_BODY_CHARS:
        raise CommandError(f"The reply text is {len(body):,} characters; keep it under {MAX_BODY_CHARS:,}.")
    for name in placeholders(body):
        if name.startswith(KB_PREFIX):
            article = name.removeprefix(KB_PREFIX).strip().lower()
            if not article or not article_exists(article):
                raise CommandError(
                    f"`{{{name}}}`: there is no article `{article[:60]}`. Find its id with `/kb search <words>`."
                )
            continue
        if name not in PLACEHOLDERS:
            allowed = ", ".join(f"{{{p}}}" for p in (*PLACEHOLDERS, "kb:ARTICLE"))
            raise CommandError(f"Unknown placeholder `{{{name[:40]}}}`. Placeholders: {allowed}.")


@dataclass(frozen=True)
class Actions:
    """What a macro does besides replying. Empty fields do nothing."""

    status: Status | None = None
    priority: Priority | None = None
    tags_add: tuple[str, ...] = ()
    tags_remove: tuple[str, ...] = ()
    note: str = ""

    def __bool__(self) -> bool:
        return bool(self.status or self.priority or self.tags_add or self.tags_remove or self.note)

    def text(self) -> str:
        """The canonical form, as stored and shown: `status pending; tag refund -new`."""
        parts: list[str] = []
        if self.status:
            parts.append(f"status {self.status.value}")
        if self.priority:
            parts.append(f"priority {self.priority.value}")
        if self.tags_add or self.tags_remove:
            parts.append("tag " + " ".join([*self.tags_add, *(f"-{t}" for t in self.tags_remove)]))
        if self.note:
            parts.append(f"note {self.note}")
        return "; ".join(parts)


def parse_actions(raw: str) -> Actions:
    """`status pending; priority high; tag refund -new; note Checked the logs` → `Actions`."""
    status: Status | None = None
    priority: Priority | None = None
    add: list[str] = []
    remove: list[str] = []
    note = ""
    rest = raw
    while rest.strip():
        part, _, rest = rest.partition(";")
        part = part.strip()
        if not part:
            continue
        verb, _, value = part.partition(" ")
        verb, value = verb.lower(), value.strip()
        if verb == "note" and rest.strip():  # a note is the last action: it may contain `;`
            value, rest = f"{value};{rest}".strip(), ""
        if verb == "status":
            status = _enum(Status, value, "status", MACRO_STATUSES)
        elif verb == "priority":
            priority = _enum(Priority, value, "priority", tuple(Priority))
        elif verb in ("tag", "tags"):
            if not value:
                raise CommandError("`tag` needs tags, e.g. `tag refund -new`.")
            for word in value.replace(",", " ").split():
                tag = word.lstrip("#").lower()
                target = remove if tag.startswith("-") else add
                tag = tag.lstrip("-+")
                if not _TAG.fullmatch(tag):
                    raise CommandError(f"“{word[:40]}” is not a tag: use letters, digits, - _ . / (up to 40).")
                target.append(tag)
        elif verb == "note":
            if not value:
                raise CommandError("`note` needs the note's text, e.g. `note Refund form sent`.")
            note = value
        else:
            raise CommandError(
                f"Unknown macro action “{verb[:30]}”. Actions (separated by ;): status S, priority P, "
                "tag a -b, note TEXT."
            )
    return Actions(status, priority, tuple(dict.fromkeys(add)), tuple(dict.fromkeys(remove)), note)


def _enum(enum: type[E], raw: str, what: str, allowed: Iterable[E]) -> E:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    choices = tuple(allowed)
    for member in choices:
        if member.value == value:
            return member
    raise CommandError(
        f"“{raw[:40]}” is not a {what} a macro can set. Use one of: {', '.join(c.value for c in choices)}."
    )


@dataclass(frozen=True)
class Macro:
    name: str
    body: str
    actions: Actions
    owner: str = ""  # "" = shared with the team; "platform:user-id" = someone's own
    version: int = 1
    updated_at: datetime | None = None
    updated_by: str = ""
    uses: int = 0

    @property
    def shared(self) -> bool:
        return not self.owner

    @property
    def scope(self) -> str:
        return "shared" if self.shared else "personal"


@dataclass(frozen=True)
class Values:
    """What the placeholders stand for when a macro is applied to a ticket."""

    customer: str
    agent: str
    ticket: str
    subject: str


def fill(body: str, values: Values, article: Callable[[str], str]) -> str:
    """The reply text with every placeholder replaced. `article(id)` renders `{kb:ID}`."""
    simple = {
        "customer": values.customer,
        "customer.first_name": (values.customer.split() or [values.customer])[0],
        "agent": values.agent,
        "ticket": values.ticket,
        "subject": values.subject,
    }

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        if name.startswith(KB_PREFIX):
            return article(name.removeprefix(KB_PREFIX).strip().lower())
        return simple.get(name, token)

    return _FIELD.sub(one, body)
