"""The alias classifiers: they learn what tells articles apart, learn one more wording online, and only
small KBs train them."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from kb.article import Article
from kb.classifier import FloatArray, train, train_text
from kb.matcher import REFIT_AFTER, Matcher, Scoring
from tests.kb.test_matcher import BagOfWordsEmbedder


def _unit(rows: npt.NDArray[np.floating[Any]]) -> FloatArray:
    unit: FloatArray = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_it_separates_classes_whose_centroids_are_close() -> None:
    """Two classes share a strong common direction and differ in a faint one: the classifier keys on the
    faint one, so a point nearer the other class's centroid in cosine is still put right."""
    rng = np.random.default_rng(0)
    common = np.zeros(8, dtype=np.float32)
    common[0] = 5.0
    a = common + np.eye(8, dtype=np.float32)[1] + rng.normal(0, 0.05, (20, 8)).astype(np.float32)
    b = common + np.eye(8, dtype=np.float32)[2] + rng.normal(0, 0.05, (20, 8)).astype(np.float32)
    vectors = _unit(np.vstack([a, b]))
    labels = np.array([0] * 20 + [1] * 20)
    model = train(vectors, labels, 2, c=100.0)
    assert model is not None
    for row, label in zip(vectors, labels, strict=True):
        probs = model.probabilities(row)
        assert probs.sum() == pytest.approx(1.0, abs=1e-5)
        assert int(probs.argmax()) == label
    query = _unit((common + 0.6 * np.eye(8)[1] + 0.4 * np.eye(8)[2])[None, :].astype(np.float32))[0]
    assert model.probabilities(query)[0] > 0.5


def test_fewer_than_two_classes_train_nothing_and_a_class_without_examples_is_never_predicted() -> None:
    vectors = _unit(np.eye(3, dtype=np.float32) + 0.1)
    assert train(vectors, np.zeros(3, dtype=np.intp), 3, c=100.0) is None
    model = train(vectors, np.array([0, 2, 2]), 3, c=100.0)  # class 1 has no example
    assert model is not None
    assert model.probabilities(vectors[1])[1] < 1e-6


def test_the_text_classifier_tells_look_alike_articles_apart_and_learns_a_wording() -> None:
    texts = ["verify my identity", "how do i verify my identity", "why verify my identity", "why do you need my id"]
    model = train_text(texts, [0, 0, 1, 1], 2, analyzer=str.split, c=30.0)
    assert model is not None
    assert int(model.probabilities("why do i have to verify").argmax()) == 1
    assert int(model.probabilities("can i verify my identity").argmax()) == 0
    taught = model.learned("verify passport", 1)
    assert taught.probabilities("verify passport")[1] >= 0.5


def test_only_kbs_up_to_the_limit_train_one() -> None:
    articles = [
        Article(id="track", title="Track a package", aliases=("where is my package", "my parcel is late")),
        Article(id="refund", title="Refunds", aliases=("i want my money back", "refund my order")),
        Article(id="login", title="Log in", aliases=("i cannot log in", "password reset")),
    ]

    def scores(scoring: Scoring) -> list[float]:
        matcher = Matcher(articles, min_score=0, embedder=BagOfWordsEmbedder(), scoring=scoring)
        return [hit.score for hit in matcher.rank("where is my shipment")]

    without = scores(Scoring(embedding_classifier_weight=0.0, text_classifier_weight=0.0))
    assert scores(Scoring(classifier_up_to=2)) == without  # 3 articles > 2: no classifier
    with_classifier = scores(Scoring())
    assert with_classifier != without
    matcher = Matcher(articles, min_score=0, embedder=BagOfWordsEmbedder())
    assert matcher.rank("where is my shipment")[0].article.id == "track"


def test_learning_one_example_moves_a_copy_toward_its_class() -> None:
    vectors = _unit(np.eye(3, dtype=np.float32) + 0.1)
    model = train(vectors, np.arange(3), 3, c=100.0)
    assert model is not None
    wording = _unit(np.array([[1.0, 0.2, 0.0]], dtype=np.float32))[0]  # looks like class 0
    assert int(model.probabilities(wording).argmax()) == 0
    taught = model.learned(wording, 2)  # but a customer confirmed class 2
    assert taught.probabilities(wording)[2] >= 0.5
    assert int(model.probabilities(wording).argmax()) == 0  # the original is untouched


def test_learned_aliases_are_refitted_into_the_text_classifier_after_a_while() -> None:
    articles = [
        Article(id="track", title="Track a package", aliases=("where is my package", "my parcel is late")),
        Article(id="refund", title="Refunds", aliases=("i want my money back", "refund my order")),
    ]
    matcher = Matcher(articles, min_score=0)
    for n in range(REFIT_AFTER):
        assert not matcher.needs_refit
        matcher = matcher.learn("refund" if n % 2 else "track", f"customer wording number {n}")
    assert matcher.needs_refit
    refitted = matcher.with_text_classifier(matcher.refit_text_classifier())
    assert not refitted.needs_refit
    # the warm-started refit finds what a cold fit on the same features finds
    online, again = matcher.text_classifier, refitted.text_classifier
    assert online is not None and again is not None and again is not online
    texts = [text for index in range(len(matcher)) for text in matcher._fields(index)]
    labels = [index for index in range(len(matcher)) for _ in matcher._fields(index)]
    cold = train(online.row.matrix(texts), labels, len(matcher), c=Scoring().text_classifier_c)
    assert cold is not None
    for query in ("customer wording number 7", "where is my parcel", "money back"):
        values, columns = online.row(query)
        assert again.probabilities(query) == pytest.approx(cold.probabilities(values, columns), abs=2e-3)
