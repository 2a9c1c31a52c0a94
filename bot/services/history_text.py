"""How a ticket's history reads to people: one line per event, for `/ticket show`, the dashboard, transcripts
and the CLI's export."""

from __future__ import annotations

from bot.domain.text import shorten
from bot.records import Event
from bot.services import notify

_EVENT_TEXT = {
    "opened": "opened it",
    "assigned": "assigned it to {after}",
    "unassigned": "unassigned {before}",
    "replied": "replied to the customer",
    "noted": "added an internal note",
    "customer_message": "wrote on it",
    "priority_changed": "changed priority {before} → {after}",
    "status_changed": "changed status {before} → {after}",
    "tagged": "changed tags",
    "escalated": "escalated it",
    "resolved": "resolved it",
    "reopened": "reopened it",
    "self_served": "solved it with the article {article} (self-service)",
    "kb_rejected": "said the suggested articles did not help",
    "kb_suggested": "suggested the article {article}",
    "saved_as_article": "saved it as the article {article}",
    "csat_requested": "asked the customer for a rating",
    "csat_rated": "rated it {rating}/5",
    "sla_warning": "warned that the {target} target is near{late}",
    "sla_breach": "flagged that the {target} target was missed{late}",
    "reminder_sent": "reminded the customer (reminder {attempt})",
    "pleasantry": "{said} (no reopen: it stays {status})",
    "macro_applied": "applied the macro {macro} (v{version})",
    "transferred": "moved it to team {after}",
    "unassigned_waiting": "found nobody available in team {team}: it waits unassigned",
    "incident_linked": "linked it to {incident} · {title}",
    "incident_unlinked": "unlinked it from {incident}",
    "incident_update": "sent the {incident} update",
}

# stored detail values are machine names (`first_response`, `on_hold`); history lines are read by people
_READABLE = {"target", "before", "after", "status"}


def describe_event(event: Event) -> str:
    template = _EVENT_TEXT.get(event.kind, event.kind.replace("_", " "))
    detail: dict[str, object] = {}
    for key, value in event.detail.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key in _READABLE and isinstance(value, str):
            value = value.replace("_", " ")
        detail[key] = value
    detail["late"] = " (late: ThreadDesk was not running)" if detail.get("late") is True else ""
    try:
        text = template.format(**detail)
    except (KeyError, IndexError):
        text = template
    if event.kind == "opened" and detail.get("suggested"):
        text += f" (suggested: {detail['suggested']})"
    reason = detail.get("reason") or detail.get("summary")
    return f"{text} ({shorten(notify.relay(str(reason)), 80)})" if reason else text
