"""`threaddesk incidents replay FILE --json`: the stream's shape in, the incidents' shape out."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_console import threaddesk

ROWS = [
    ("a", "2026-11-02T09:00:00Z", "alice", "I can't log in, the login page shows error 503"),
    ("b", "2026-11-02T09:01:00Z", "gus", "Where do I download my March invoice?"),
    ("c", "2026-11-02T09:02:00Z", "carol", "can't log in, the login page gives error 503"),
    ("d", "2026-11-02T09:04:00", "dave", "the login page shows error 503 and I can't log in"),  # no zone: UTC
    ("e", "2026-11-02T09:06:00Z", "fran", "error 503 on the login page, can't log in"),
]
STREAM = [{"id": i, "at": at, "customer": who, "text": text} for i, at, who, text in ROWS]


def test_replay_groups_the_outage_and_leaves_the_rest(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(json.dumps(row) for row in STREAM) + "\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text("[incidents]\nsimilarity = 10\njoin_similarity = 10\n", encoding="utf-8")
    run = threaddesk("incidents", "replay", str(stream), "--config", str(config), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "incidents": [
            {
                "id": 1,
                "title": "I can't log in, the login page shows error 503",
                "members": ["a", "c", "d", "e"],
                "detected_at": "2026-11-02T09:04:00Z",
            }
        ],
        "unlinked": ["b"],
    }


def test_a_bad_line_is_one_plain_error(tmp_path: Path) -> None:
    stream = tmp_path / "stream.jsonl"
    stream.write_text('{"id": "a", "at": "yesterday", "customer": "x", "text": "hi"}\n', encoding="utf-8")
    run = threaddesk("incidents", "replay", str(stream), "--json")
    assert run.returncode == 2
    assert "line 1: at 'yesterday' is not an ISO 8601 time" in run.stderr and "Traceback" not in run.stderr
