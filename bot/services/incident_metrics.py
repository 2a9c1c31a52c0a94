"""Incident figures for the digest and `threaddesk report` (key `incidents`).

For a period `[since, until)`: incidents opened in it, the tickets linked to those, the median time to
detect (first linked report → incident opened) over them, and the median time to resolve (incident opened
→ resolved) over incidents resolved in it. Minutes, wall clock.
"""

from __future__ import annotations

from bot.records import IncidentStats


def digest_line(now: IncidentStats) -> str:
    if not now.count and not now.resolved:
        return "Incidents: none"
    detect = "—" if now.time_to_detect_minutes is None else f"{now.time_to_detect_minutes:g}m"
    resolve = "—" if now.time_to_resolve_minutes is None else f"{now.time_to_resolve_minutes:g}m"
    return (
        f"Incidents: {now.count} opened · {now.linked_tickets} linked report(s) · {now.resolved} resolved · "
        f"time to detect {detect} · time to resolve {resolve} (medians)"
    )
