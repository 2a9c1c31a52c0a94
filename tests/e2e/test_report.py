"""`threaddesk report` over the seeded history: the JSON keys other tools read, and their values."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from bot.services.desk import Desk
from tests.e2e.test_console import threaddesk
from tests.fakes.clock import FakeClock
from tests.service.seeded import seed

UNTIL = "2026-11-03T09:00:00+00:00"


async def test_report_json_keys_and_values(desk: Desk, clock: FakeClock, db_path: Path) -> None:
    await seed(desk, clock)
    run = threaddesk("report", "--since", "7d", "--format", "json", "--until", UNTIL, "--db", str(db_path))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report == {
        "since": "2026-10-27T09:00:00+00:00",
        "until": "2026-11-03T09:00:00+00:00",
        "created": 3,
        "resolved": 2,
        "closed": 1,
        "reopened": 1,
        "open_by_status": {"new": 1, "open": 1, "pending": 0, "on_hold": 0},
        "open_by_priority": {"urgent": 1, "high": 0, "normal": 1, "low": 0},
        "unassigned": 1,
        "first_response_minutes": {"median": 25.0, "p90": 40.0},
        "resolution_minutes": {"median": 145.0, "p90": 170.0},
        "reopen_rate": 0.5,
        "sla_breached": 2,
        "csat": {"average": 4.0, "responses": 1, "requests": 1},
        "deflected": 1,
        "per_agent": {
            "Bob": {"assigned_open": 0, "resolved": 0, "first_response_minutes_median": 40.0},
            "Erin": {"assigned_open": 1, "resolved": 1, "first_response_minutes_median": 10.0},
        },
        "macros": {},
        "incidents": {
            "count": 0,
            "linked_tickets": 0,
            "median_time_to_detect_minutes": None,
            "median_time_to_resolve_minutes": None,
        },
    }


async def test_report_csv_table_and_bad_period(desk: Desk, clock: FakeClock, db_path: Path) -> None:
    await seed(desk, clock)
    run = threaddesk("report", "--since", "7d", "--format", "csv", "--until", UNTIL, "--db", str(db_path))
    rows = dict(csv.reader(io.StringIO(run.stdout)))
    assert rows["created"] == "3" and rows["csat.average"] == "4.0" and rows["per_agent.Erin.resolved"] == "1"
    table = threaddesk("report", "--since", "7d", "--until", UNTIL, "--db", str(db_path))
    assert table.returncode == 0, table.stderr
    assert "Per agent" in table.stdout and "Erin" in table.stdout and "By priority" in table.stdout
    assert "│ reopen rate " in table.stdout and " 50% │" in table.stdout  # chat's digest says 50% too
    reopened = threaddesk("tickets", "show", "2", "--db", str(db_path))
    fields = {
        k: v.strip() for k, v in (line.split(maxsplit=1) for line in reopened.stdout.splitlines()[1:12] if line.strip())
    }
    assert (fields["Status"], fields["Resolved"], fields["Resolution"]) == ("open", "—", "—")  # reopened: not resolved
    bad = threaddesk("report", "--since", "lately", "--db", str(db_path))
    assert bad.returncode == 2
    assert "--since: 'lately' is not a duration" in bad.stderr and "Traceback" not in bad.stderr
