"""The ticket's lifecycle lives in `Ticket`'s methods: no service writes the fields they own.

A service that sets `ticket.status = …` (or an assignee, a priority, tags, a resolution …) by hand skips the
transition table and the history row the method returns; it calls `claim`, `set_status`, `resolve` … and
persists their events with `TicketWork.record` instead. The rules written once in the domain stay there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot.services

SERVICES = Path(bot.services.__file__).parent

#: `Ticket` fields that its methods own (and keep consistent with the lifecycle table and the history).
OWNED = frozenset(
    {
        "status",
        "assignee",
        "priority",
        "tags",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "resolution_summary",
        "resolved_by_kb",
    }
)
#: Receivers that are not tickets but have fields of the same names (an incident has a status).
NOT_TICKETS = frozenset({"inc", "incident", "self.incident"})


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found: list[ast.expr] = []
        for target in node.targets:
            found += _flatten(target)
        return found
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return _flatten(node.target)
    return []


def _flatten(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        return [leaf for element in target.elts for leaf in _flatten(element)]
    return [target]


def direct_writes(source: str, filename: str = "<source>") -> list[str]:
    """`file:line receiver.field = …` for every write of an owned field (also `setattr(x, "status", …)`)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        for target in _targets(node):
            if isinstance(target, ast.Attribute) and target.attr in OWNED:
                receiver = ast.unparse(target.value)
                if receiver not in NOT_TICKETS:
                    found.append(f"{filename}:{node.lineno} {receiver}.{target.attr} = …")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            field = node.args[1] if len(node.args) > 1 else None
            if isinstance(field, ast.Constant) and field.value in OWNED:
                found.append(f"{filename}:{node.lineno} setattr(…, {field.value!r}, …)")
    return found


def test_no_service_writes_a_field_the_tickets_methods_own() -> None:
    files = sorted(SERVICES.glob("*.py"))
    assert len(files) > 20, "bot/services was not found where expected"
    found = [hit for path in files for hit in direct_writes(path.read_text(encoding="utf-8"), path.name)]
    assert found == [], "call the Ticket method (claim, set_status, resolve …) and `work.record` its events"


def test_customer_replied_reopens_in_the_domain_only() -> None:
    """The reopening reason is written once, in `bot.domain.ticket` (CUSTOMER_REPLIED)."""
    assert [p.name for p in SERVICES.glob("*.py") if "customer replied" in p.read_text(encoding="utf-8")] == []


def test_the_check_sees_the_shapes_a_write_takes() -> None:
    source = """
t.status = Status.OPEN
work.ticket.assignee = None
t.status, t.resolved_at = Status.RESOLVED, now
ticket.tags += ("x",)
setattr(ticket, "priority", Priority.HIGH)
inc.status = IncidentStatus.RESOLVED
t.card = None
status = t.status
"""
    assert direct_writes(source) == [
        "<source>:2 t.status = …",
        "<source>:3 work.ticket.assignee = …",
        "<source>:4 t.status = …",
        "<source>:4 t.resolved_at = …",
        "<source>:5 ticket.tags = …",
        "<source>:6 setattr(…, 'priority', …)",
    ]
