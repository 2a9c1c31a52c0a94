"""`threaddesk incidents replay FILE --json`: the stream's shape in, the incidents' shape out; and the
configured knowledge base read with `[incidents] kb_topics`."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.incident_replay import Report, replay
from bot import bootstrap
from bot.config import settings_from_dict
from kb.writer import write_directory
from tests.e2e.test_console import threaddesk
from tests.kb.report_texts import INTENTS, report
from tests.kb.test_grouping_semantic import FakeEmbedder
from tests.service.test_incidents_semantic import DESK_KB, EMPTY_EXPORT, SIMILARITY

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


@pytest.mark.parametrize("kb_topics", [True, False])
async def test_with_kb_topics_the_replay_reads_the_configured_knowledge_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb_topics: bool
) -> None:
    """The replay of the service test's day (`test_incidents_semantic`): the configured articles are what
    groups the four empty-export reports."""
    write_directory(tmp_path / "kb", DESK_KB)
    monkeypatch.setattr(bootstrap, "_shared_embedder", FakeEmbedder)
    rng, others = random.Random(5), sorted(set(INTENTS) - {"export_empty"})
    start = datetime(2026, 11, 2, tzinfo=UTC)
    reports = [
        Report(id=f"bg{n}", at=start + timedelta(minutes=5 * n), customer=f"c{n}", text=report(rng, rng.choice(others)))
        for n in range(150)
    ]
    reports += [
        Report(id=user.id, at=start + timedelta(minutes=750 + 2 * n), customer=user.id, text=text)
        for n, (user, text) in enumerate(EMPTY_EXPORT.items())
    ]
    settings = settings_from_dict(
        {
            "kb": {"path": str(tmp_path / "kb")},
            "incidents": {"semantic": True, "kb_topics": kb_topics, "similarity": SIMILARITY},
        },
        {},
    )
    found = await replay(settings, reports)
    members = [incident["members"] for incident in found["incidents"]]
    assert members == ([[user.id for user in EMPTY_EXPORT]] if kb_topics else [])
