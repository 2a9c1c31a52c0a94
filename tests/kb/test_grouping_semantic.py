"""`kb.grouping` with an embedder fused in, on a tiny fake embedder (no model needed): the fused score is the
weighted mean of the lexical score and 100 × the cosine, and the bounds still put every pair on the side of
the exact fused lift."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from kb import grouping
from kb.matcher import FloatArray
from tests.kb.report_texts import traffic

DIMENSIONS = 32


class FakeEmbedder:
    """Each word's first four letters hashed to a direction, plus a little per-text noise: texts that share
    word stems point the same way, as paraphrases do for a sentence model. Counts what it encodes."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> FloatArray:
        self.encoded += len(texts)
        rows = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in text.split():
                row[zlib.crc32(word[:4].encode()) % DIMENSIONS] += 1.0
            row += np.random.default_rng(zlib.crc32(text.encode())).normal(0, 0.3, DIMENSIONS)
            norm = np.linalg.norm(row)
            if text and norm:
                row /= norm
            else:
                row[:] = 0.0
        return rows


@pytest.fixture
def small_background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grouping, "BACKGROUND_SIZE", 260)


def test_the_fused_score_weighs_the_embedding_cosine_in() -> None:
    texts = traffic(220, 3, bursts=6)
    embedder = FakeEmbedder()
    lexical = grouping.ReportSimilarity(background=texts[:150])
    fused = grouping.ReportSimilarity(background=texts[:150], embedder=embedder, semantic_weight=0.7)
    report = grouping.prepare(texts[150])
    others = [grouping.prepare(t) for t in texts[151:200]]
    vectors = embedder.encode([report.text, *(o.text for o in others)]).astype(np.float64)
    cosine = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
    expected = 0.3 * np.array(lexical.scores(report, others)) + 70.0 * cosine
    assert fused.scores(report, others) == pytest.approx(expected.tolist(), abs=1e-4)


def test_without_an_embedder_nothing_is_encoded_and_scores_are_lexical() -> None:
    texts = traffic(160, 4)
    plain = grouping.ReportSimilarity(background=texts[:120])
    weightless = grouping.ReportSimilarity(background=texts[:120], embedder=FakeEmbedder(), semantic_weight=0.0)
    report = grouping.prepare(texts[130])
    others = [grouping.prepare(t) for t in texts[131:150]]
    assert weightless.scores(report, others) == pytest.approx(plain.scores(report, others), abs=1e-9)


@pytest.mark.usefixtures("small_background")
@pytest.mark.parametrize(("seed", "background"), [(0, 0), (1, 150)])
def test_lifts_above_sides_with_the_exact_fused_lift(seed: int, background: int) -> None:
    texts = traffic(330, seed, bursts=12)
    embedder = FakeEmbedder()
    fast = grouping.ReportSimilarity(background=texts[:background], embedder=embedder)
    exact = grouping.ReportSimilarity(background=texts[:background], embedder=embedder)
    rng = random.Random(seed)
    seen: list[grouping.Prepared] = []
    decided = alike = 0
    for text in texts[background:]:
        new = grouping.prepare(text)
        if seen:
            threshold = rng.choice([5.0, 12.0, 22.0, 35.0])
            truth = exact.lifts(new, seen[-40:])
            bounded = fast.lifts_above(new, seen[-40:], threshold)
            assert [v >= threshold for v in bounded] == [v >= threshold for v in truth], text
            assert fast.any_lift_above(new, seen[-40:], threshold) == (max(truth) >= threshold)
            decided += len(truth)
            alike += sum(v >= threshold for v in truth)
        fast.observe(new)
        exact.observe(new)
        seen.append(new)
    assert alike > 20 and decided > 2_000
    assert embedder.encoded < 2 * len(set(texts))  # each text encoded about once, not once per comparison
