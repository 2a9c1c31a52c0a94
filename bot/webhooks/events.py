"""Which ticket history entries become which webhook events, decided from the entry alone (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hook:
    type: str
    #: the kind of message a `ticket.replied` carries: ("agent"|"customer", "public"|"internal")
    message: tuple[str, str] | None = None

    @property
    def internal(self) -> bool:
        return self.message is not None and self.message[1] == "internal"


_SIMPLE: dict[str, Hook] = {
    "opened": Hook("ticket.created"),
    "assigned": Hook("ticket.assigned"),
    "unassigned": Hook("ticket.assigned"),
    "replied": Hook("ticket.replied", ("agent", "public")),
    "customer_message": Hook("ticket.replied", ("customer", "public")),
    "noted": Hook("ticket.replied", ("agent", "internal")),
    "resolved": Hook("ticket.resolved"),
    "self_served": Hook("ticket.resolved"),
    "reopened": Hook("ticket.reopened"),
    "priority_changed": Hook("ticket.updated"),
    "tagged": Hook("ticket.updated"),
    "escalated": Hook("ticket.updated"),
    "csat_rated": Hook("csat.rated"),
    "sla_breach": Hook("sla.breached"),
}


def hook_for(kind: str, detail: dict[str, Any]) -> Hook | None:
    """The webhook event a history entry causes, or None (KB feedback, reminders, SLA warnings …)."""
    if kind == "status_changed":
        return Hook("ticket.closed") if detail.get("after") == "closed" else Hook("ticket.updated")
    return _SIMPLE.get(kind)
