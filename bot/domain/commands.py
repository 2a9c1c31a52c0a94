"""The one command language every adapter speaks: `/ticket …` and `/kb …`.

Parsing is a pure function from text to a `Command`; the help text is generated from the same table, so
the two cannot drift apart. A leading `#42` or `42` after the subcommand is always the ticket number; inside a
ticket's thread the number may be left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from enum import Enum
from typing import TypeVar

from bot.domain.errors import CommandError
from bot.domain.roles import Role
from bot.domain.ticket import Priority, Status


class Arg(Enum):
    NONE = "none"
    TEXT = "text"  # free text, required
    OPTIONAL_TEXT = "optional text"
    USER = "user"
    STATUS = "status"
    PRIORITY = "priority"
    TAGS = "tags"
    FILTERS = "filters"
    SUBCOMMAND = "subcommand"


@dataclass(frozen=True)
class Spec:
    group: str
    name: str
    args: str  # usage after the name, e.g. "[N] <summary>"
    summary: str
    role: Role
    arg: Arg = Arg.NONE
    takes_ticket: bool = False
    options: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # `--name` options that take no value

    @property
    def usage(self) -> str:
        return f"/{self.group} {self.name} {self.args}".rstrip()


def _t(name: str, args: str, summary: str, role: Role, arg: Arg = Arg.NONE, **kw: object) -> Spec:
    return Spec("ticket", name, args, summary, role, arg, **kw)  # type: ignore[arg-type]


def _k(name: str, args: str, summary: str, role: Role, arg: Arg = Arg.NONE, **kw: object) -> Spec:
    return Spec("kb", name, args, summary, role, arg, **kw)  # type: ignore[arg-type]


C, A = Role.CUSTOMER, Role.AGENT
MACRO_SPECS = (
    Spec("macro", "list", "[text]", "the macros you can use: shared ones and your own", A, Arg.OPTIONAL_TEXT),
    Spec("macro", "show", "<name>", "a macro's text, actions and versions", A, Arg.TEXT),
    Spec("macro", "add", "<name> | <text> [| actions]", "write a macro (leads: shared; agents: your own)", A, Arg.TEXT),
    Spec(
        "macro",
        "edit",
        "<name> | <text> [| actions]",
        "change a macro (or: <name> text|actions|name <value>)",
        A,
        Arg.TEXT,
    ),
    Spec("macro", "delete", "<name>", "delete a macro (its versions stay in the history)", A, Arg.TEXT),
    Spec("macro", "help", "[command]", "macro commands", A, Arg.SUBCOMMAND),
)
ROUTING_SPECS = (
    Spec(
        "agent",
        "away",
        "[until] [--handover]",
        "no new tickets for you until then; --handover gives yours back",
        A,
        Arg.OPTIONAL_TEXT,
        flags=("handover",),
    ),
    Spec("agent", "back", "", "available again for new tickets", A),
    Spec("agent", "help", "[command]", "availability commands", A, Arg.SUBCOMMAND),
    Spec("team", "list", "", "teams: members available, open and unassigned tickets", Role.LEAD),
    Spec("team", "show", "<name>", "a team's members with availability and open load", Role.LEAD, Arg.TEXT),
    Spec("team", "help", "[command]", "team commands", Role.LEAD, Arg.SUBCOMMAND),
)


def _i(name: str, args: str, summary: str, arg: Arg = Arg.TEXT) -> Spec:
    return Spec("incident", name, args, summary, Role.AGENT, arg)


#: `/incident …` (bot/services/incidents.py): the id and ticket numbers are read by the service.
INCIDENT_SPECS: tuple[Spec, ...] = (
    _i("new", "<title> [#N …]", "open an incident, linking the tickets that report it"),
    _i("link", "<ID> <#N …>", "link tickets to an incident (each customer is told)"),
    _i("unlink", "<ID> <#N>", "unlink a wrong match (its wording will not join again)"),
    _i("update", "<ID> <text>", "post an update into every linked customer's thread"),
    _i("status", "<ID> <investigating|identified|monitoring> [text]", "change the status (text goes to customers)"),
    _i("resolve", "<ID> <summary>", "resolve the incident and every linked ticket"),
    _i("dismiss", "<#N …>", "dismiss a proposed incident: the reports stay separate"),
    _i("list", "[all]", "open incidents (all: resolved ones too)", Arg.OPTIONAL_TEXT),
    _i("show", "<ID>", "an incident: linked tickets, updates and notes"),
    Spec("incident", "help", "[command]", "incident commands", A, Arg.SUBCOMMAND),
)
SPECS: tuple[Spec, ...] = (
    _t("new", "<what you need help with>", "open a ticket", C, Arg.TEXT),
    _t("show", "[N]", "a ticket with its history", C, takes_ticket=True),
    _t(
        "list",
        "[status|priority|unassigned|all …]",
        "the queue (customers: their own tickets)",
        C,
        Arg.FILTERS,
    ),
    _t("mine", "", "tickets assigned to you (customers: your tickets)", C),
    _t("claim", "[N]", "assign a ticket to yourself", A, takes_ticket=True),
    _t("unclaim", "[N]", "give a ticket back to the queue", A, takes_ticket=True),
    _t("assign", "[N] <@agent>", "assign a ticket to an agent", A, Arg.USER, takes_ticket=True),
    _t(
        "reply",
        "[N] <text>",
        "reply to the customer (customers: add to your ticket)",
        C,
        Arg.TEXT,
        takes_ticket=True,
    ),
    _t("note", "[N] <text>", "internal note, never shown to the customer", A, Arg.TEXT, takes_ticket=True),
    _t("status", "[N] <status>", "change the status", A, Arg.STATUS, takes_ticket=True),
    _t("priority", "[N] <priority>", "change the priority", A, Arg.PRIORITY, takes_ticket=True),
    _t("tag", "[N] <tag …>", "add tags (-tag removes one)", A, Arg.TAGS, takes_ticket=True),
    _t(
        "escalate",
        "[N] [reason]",
        "raise the priority and alert the team leads",
        A,
        Arg.OPTIONAL_TEXT,
        takes_ticket=True,
    ),
    _t(
        "resolve",
        "[N] [--kb ARTICLE] <summary>",
        "resolve with a summary the customer sees",
        A,
        Arg.TEXT,
        takes_ticket=True,
        options=("kb",),
    ),
    _t(
        "reopen",
        "[N] [reason]",
        "reopen a resolved or closed ticket",
        C,
        Arg.OPTIONAL_TEXT,
        takes_ticket=True,
    ),
    _t(
        "close",
        "[N] [reason]",
        "close a ticket (customers: confirm it is solved)",
        C,
        Arg.OPTIONAL_TEXT,
        takes_ticket=True,
    ),
    _t("customer", "<@user | N>", "a customer's open and past tickets", A, Arg.USER),
    _t("stats", "[7d]", "queue metrics over a period (e.g. 24h, 7d, 30d)", Role.LEAD, Arg.OPTIONAL_TEXT),
    _t("rate", "[N] <1-5> [comment]", "rate how we did on your closed ticket", C, Arg.TEXT, takes_ticket=True),
    _t(
        "macro",
        "[N] <name> [extra text]",
        "reply with a macro: its text and actions, in one step",
        A,
        Arg.TEXT,
        takes_ticket=True,
    ),
    _t("transfer", "[N] <team> [reason]", "move a ticket to another team's queue", A, Arg.TEXT, takes_ticket=True),
    _t("help", "[command]", "this help", C, Arg.SUBCOMMAND),
    _k("search", "<text>", "search the knowledge base", C, Arg.TEXT),
    _k("show", "<article>", "an article (agents also see its learned wordings and versions)", C, Arg.TEXT),
    _k(
        "accept",
        "[N] <article>",
        "“this solved it”: resolve your ticket",
        C,
        Arg.TEXT,
        takes_ticket=True,
    ),
    _k("reject", "[N]", "“not what I need”: keep your ticket with the agents", C, takes_ticket=True),
    _k("suggest", "[N] <article>", "post an article into the customer's thread", A, Arg.TEXT, takes_ticket=True),
    _k("add", "<title> | <alias; alias …> | <body>", "write a new article", A, Arg.TEXT),
    _k("edit", "<article> <title|aliases|tags|category|body> <value>", "change one part of an article", A, Arg.TEXT),
    _k("unlearn", "<article> <n …|all>", "remove learned customer wordings from an article", A, Arg.TEXT),
    _k("save", "[N]", "save a resolved ticket as a new article", A, takes_ticket=True),
    _k("stats", "", "how each article is used: suggested, accepted, rejected, tickets it helped resolve", A),
    _k("help", "[command]", "knowledge base commands", C, Arg.SUBCOMMAND),
    Spec("digest", "now", "", "post the queue digest to the leads channel now", Role.LEAD),
    *INCIDENT_SPECS,
    Spec("digest", "help", "", "digest commands", C, Arg.SUBCOMMAND),
    Spec("dashboard", "link", "", "a one-time sign-in link to the web dashboard (only you see it; 10 minutes)", A),
    Spec("dashboard", "help", "", "dashboard commands", C, Arg.SUBCOMMAND),
    *MACRO_SPECS,
    *ROUTING_SPECS,
)
_BY_KEY: dict[tuple[str, str], Spec] = {(s.group, s.name): s for s in SPECS}
GROUPS = ("ticket", "kb", "digest", "dashboard", "macro", "agent", "team", "incident")

FILTER_WORDS = ("all", "unassigned", "active")
_TICKET_NUMBER = re.compile(r"#?(\d{1,9})")
_USER_TOKEN = re.compile(r"^<?[@!]?(?:&)?([^|>\s]+)(?:\|[^>]*)?>?$")


@dataclass(frozen=True)
class Command:
    spec: Spec
    ticket: int | None = None
    text: str = ""
    status: Status | None = None
    priority: Priority | None = None
    user: str | None = None
    tags_add: tuple[str, ...] = ()
    tags_remove: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        return self.spec.group


def is_command(text: str) -> bool:
    head = text.lstrip().split(maxsplit=1)[0].lower() if text.strip() else ""
    return head.lstrip("/") in GROUPS and head.startswith("/")


def parse(text: str) -> Command:
    """Turn `/ticket claim 42` (leading slash optional) into a `Command`, or raise `CommandError`."""
    words = text.strip().split(maxsplit=2)
    if not words or words[0].lower().lstrip("/") not in GROUPS:
        starts = ", ".join(f"`/{g}`" for g in GROUPS)
        raise CommandError(f"Commands start with {starts}. Try `/ticket help`.")
    group = words[0].lower().lstrip("/")
    if group == "dashboard" and len(words) == 1:
        return Command(_BY_KEY[("dashboard", "link")])  # `/dashboard` alone is the link
    if len(words) == 1:
        return Command(_BY_KEY[(group, "help")])
    name = words[1].lower()
    spec = _BY_KEY.get((group, name))
    if spec is None:
        raise CommandError(_unknown_subcommand(group, name))
    rest = words[2] if len(words) > 2 else ""
    return _parse_args(spec, rest)


def _unknown_subcommand(group: str, name: str) -> str:
    names = [s.name for s in SPECS if s.group == group]
    close = get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" Did you mean `/{group} {close[0]}`?" if close else ""
    return f"Unknown command `/{group} {name}`.{hint} See `/{group} help` for the list."


def ticket_number(token: str) -> int | None:
    """`42` or `#42` as a ticket number; None for anything else (a ticket number has at most nine digits,
    so a 30-digit string is a name or an id, never a number the store could overflow on)."""
    match = _TICKET_NUMBER.fullmatch(token)
    return int(match.group(1)) if match else None


def _parse_args(spec: Spec, rest: str) -> Command:
    ticket: int | None = None
    if spec.takes_ticket:
        head, _, tail = rest.partition(" ")
        ticket = ticket_number(head)
        if ticket is not None:
            rest = tail.strip()
    options, rest = _take_options(spec, rest)
    rest = rest.strip()
    base = Command(spec, ticket=ticket, options=options)
    kind = spec.arg
    if kind is Arg.NONE:
        if rest:
            raise CommandError(f"`{spec.usage}` takes no extra words (got “{_clip(rest)}”).")
        return base
    if kind is Arg.OPTIONAL_TEXT:
        return _replace(base, text=rest)
    if not rest and kind in (Arg.TEXT, Arg.USER, Arg.STATUS, Arg.PRIORITY, Arg.TAGS):
        raise CommandError(f"Missing {_what(spec)}. Usage: `{spec.usage}`")
    if kind is Arg.TEXT:
        return _replace(base, text=rest)
    if kind is Arg.STATUS:
        return _replace(base, status=_choice(Status, rest, "status"))
    if kind is Arg.PRIORITY:
        return _replace(base, priority=_choice(Priority, rest, "priority"))
    if kind is Arg.USER:
        return _replace(base, user=_user(rest, spec))
    if kind is Arg.TAGS:
        return _tags(base, rest)
    if kind is Arg.FILTERS:
        return _replace(base, filters=_filters(rest))
    # Arg.SUBCOMMAND (help)
    return _replace(base, text=rest.lower().lstrip("/"))


def _replace(base: Command, **changes: object) -> Command:
    return replace(base, **changes)  # type: ignore[arg-type]


def _take_options(spec: Spec, rest: str) -> tuple[dict[str, str], str]:
    """Leading `--name value` pairs; the free text after them is left untouched."""
    options: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        key = token[2:].lower()
        if key in spec.flags:
            options[key] = ""
            rest = rest.strip()
            continue
        if key not in spec.options:
            allowed = ", ".join(f"--{o}" for o in (*spec.options, *spec.flags)) or "none"
            raise CommandError(f"`/{spec.group} {spec.name}` has no option `{token}` (options: {allowed}).")
        value, _, rest = rest.strip().partition(" ")
        if not value:
            raise CommandError(f"`{token}` needs a value. Usage: `{spec.usage}`")
        options[key] = value
        rest = rest.strip()
    return options, rest


def _what(spec: Spec) -> str:
    return {
        Arg.TEXT: "text",
        Arg.USER: "person",
        Arg.STATUS: "status",
        Arg.PRIORITY: "priority",
        Arg.TAGS: "tag",
    }.get(spec.arg, "argument")


E = TypeVar("E", Status, Priority)


def _choice(enum: type[E], raw: str, what: str) -> E:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    for member in enum:
        if member.value == value:
            return member
    valid = ", ".join(m.value for m in enum)
    raise CommandError(f"“{_clip(raw)}” is not a {what}. Valid {what} values: {valid}.")


def _user(raw: str, spec: Spec) -> str:
    token = raw.split()[0]
    match = _USER_TOKEN.match(token)
    if not match or (len(raw.split()) > 1 and spec.name == "assign"):
        raise CommandError(f"Name one person, e.g. `{spec.usage.replace('<@agent>', '@erin')}`.")
    return match.group(1).lstrip("@")


def _tags(base: Command, rest: str) -> Command:
    add: list[str] = []
    remove: list[str] = []
    for word in rest.replace(",", " ").split():
        tag = word.lstrip("#").lower()
        target = remove if tag.startswith("-") else add
        tag = tag.lstrip("-+")
        if not re.fullmatch(r"[\w][\w.\-/]{0,39}", tag):
            raise CommandError(f"“{_clip(word)}” is not a tag: use letters, digits, - _ . / (up to 40).")
        target.append(tag)
    return _replace(base, tags_add=tuple(dict.fromkeys(add)), tags_remove=tuple(dict.fromkeys(remove)))


def _filters(rest: str) -> tuple[str, ...]:
    valid = {*FILTER_WORDS, *(s.value for s in Status), *(p.value for p in Priority)}
    words = [w.lower().replace("-", "_") for w in rest.split()]
    for word in words:
        if word not in valid:
            raise CommandError(
                f"“{_clip(word)}” is not a list filter. Use statuses ({', '.join(s.value for s in Status)}), "
                f"priorities ({', '.join(p.value for p in Priority)}), unassigned or all."
            )
    return tuple(words)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def spec_for(group: str, name: str) -> Spec | None:
    return _BY_KEY.get((group, name))


def help_text(group: str = "ticket", topic: str = "", role: Role = Role.ADMIN) -> str:
    """Help from the command table; `topic` narrows it to one command, `role` hides what they can't use."""
    if topic:
        spec = _BY_KEY.get((group, topic))
        if spec is None:
            raise CommandError(_unknown_subcommand(group, topic))
        who = "everyone" if spec.role is Role.CUSTOMER else f"{spec.role.plural} and above"
        return f"`{spec.usage}` — {spec.summary}. (Who: {who}.)"
    lines = [f"`/{group}` commands:"]
    for spec in SPECS:
        if spec.group == group and role.at_least(spec.role):
            lines.append(f"• `{spec.usage}` — {spec.summary}")
    if group == "ticket":
        lines.append("Inside a ticket's thread the number N may be left out.")
    return "\n".join(lines)
