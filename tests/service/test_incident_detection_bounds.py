"""Detection decides pairs from bounds (`ReportSimilarity.lifts_above`) and scores exactly only the pairs they
leave open: on a day of generated support traffic with outages in it, it proposes the same groups — and,
creating incidents itself, links the same reports — as the exact computation (every lift scored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.incident_replay import Report, replay
from bot.bootstrap import build_desk
from bot.delivery import DeliveryWorker
from bot.domain.refs import UserRef
from bot.storage import open_store
from kb.grouping import Prepared, ReportSimilarity
from tests.conftest import dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.kb.report_texts import traffic

DEFAULTS: dict[str, Any] = {}
LOW: dict[str, Any] = {"similarity": 10, "join_similarity": 8, "window": "30m"}  # many groups to get right


def exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection as it was: every lift computed exactly."""

    def lifts_above(self: ReportSimilarity, report: Prepared, others: list[Prepared], threshold: float) -> list[float]:
        return self.lifts(report, others)

    def any_lift_above(self: ReportSimilarity, report: Prepared, others: list[Prepared], threshold: float) -> bool:
        return max(self.lifts(report, others)) >= threshold

    monkeypatch.setattr(ReportSimilarity, "lifts_above", lifts_above)
    monkeypatch.setattr(ReportSimilarity, "any_lift_above", any_lift_above)


def day(seed: int) -> list[tuple[int, str, str]]:
    """(second, customer, text): a report every ~40 s from 60 customers, outages of one wording each."""
    texts = traffic(200, seed, bursts=8)
    return [(40 * i, f"c{(7 * i + seed) % 60}", text) for i, text in enumerate(texts)]


async def proposals(
    tmp_path: Path, name: str, reports: list[tuple[int, str, str]], incidents: dict[str, Any]
) -> list[str]:
    clock = FakeClock()
    platform = RecordingPlatform()
    async with open_store(tmp_path / f"{name}.db") as db:
        desk = build_desk(make_settings(incidents=incidents, kb={"suggestions": 0}), db, clock=clock)
        worker = DeliveryWorker(db, {platform.name: platform}, clock)
        start = clock.now()
        for second, customer, text in reports:
            clock.current = start + timedelta(seconds=second)
            await desk.receive(dm(UserRef(platform="test", id=customer, name=customer), text))
        await worker.drain()
    return [p.text for p in platform.in_channel("queue") if p.text.startswith("🔎 Possible incident")]


@pytest.mark.parametrize(("seed", "incidents"), [(1, DEFAULTS), (2, LOW)])
async def test_the_same_proposals_as_the_exact_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, incidents: dict[str, Any]
) -> None:
    reports = day(seed)
    bounded = await proposals(tmp_path, "bounded", reports, incidents)
    with monkeypatch.context() as patch:
        exact(patch)
        plain = await proposals(tmp_path, "plain", reports, incidents)
    assert bounded == plain
    assert len(plain) >= 2  # the day has outages to propose


async def test_the_same_incidents_as_the_exact_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    reports = [
        Report(id=f"m{i}", at=start + timedelta(seconds=second), customer=customer, text=text)
        for i, (second, customer, text) in enumerate(day(3))
    ]
    settings = make_settings(incidents=LOW)
    bounded = await replay(settings, reports)
    with monkeypatch.context() as patch:
        exact(patch)
        plain = await replay(settings, reports)
    assert bounded == plain
    assert len(plain["incidents"]) >= 2
