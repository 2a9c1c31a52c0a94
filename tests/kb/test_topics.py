"""`kb.topics`: sentence vectors joined to the knowledge base's likely articles, for texts the KB recognises."""

from __future__ import annotations

import numpy as np
import pytest

from kb.article import Article
from kb.matcher import Matcher
from kb.text import normalize
from kb.topics import TOPIC_SHARE, KbTopics
from tests.kb.test_grouping_semantic import FakeEmbedder

ARTICLES = (
    Article(id="export", title="Empty export", aliases=("the csv export is empty", "my export has no rows")),
    Article(id="invite", title="Inviting a colleague", aliases=("how do i invite my team", "add a coworker")),
    Article(id="refund", title="Refunds", aliases=("how do i get a refund", "where is my refund")),
)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_two_recognised_texts_weigh_their_articles_in() -> None:
    matcher, sentences = Matcher(ARTICLES), FakeEmbedder()
    texts = ["the export came out empty", "csv has no rows"]
    assert all(matcher.suggest(text, 1) for text in texts)
    [a, b] = KbTopics(matcher, sentences).encode(texts).astype(np.float64)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-6)
    classifier = matcher.text_classifier
    assert classifier is not None
    topics = unit(np.array([classifier.probabilities(normalize(t)) for t in texts], dtype=np.float64))
    plain = unit(sentences.encode(texts).astype(np.float64))
    expected = TOPIC_SHARE * topics[0] @ topics[1] + (1 - TOPIC_SHARE) * plain[0] @ plain[1]
    assert a @ b == pytest.approx(expected, abs=1e-5)
    assert a @ b > plain[0] @ plain[1]  # both read as the export article: closer than their sentences say


def test_a_text_the_knowledge_base_does_not_recognise_is_its_sentence_alone() -> None:
    matcher, sentences = Matcher(ARTICLES), FakeEmbedder()
    texts = ["the export came out empty", "the weather in paris tomorrow"]
    assert matcher.suggest(texts[0], 1) and not matcher.suggest(texts[1], 1)
    [known, unknown] = KbTopics(matcher, sentences).encode(texts).astype(np.float64)
    plain = unit(sentences.encode(texts).astype(np.float64))
    assert unknown[: plain.shape[1]] == pytest.approx(plain[1], abs=1e-6)
    assert not unknown[plain.shape[1] :].any()
    assert known @ unknown == pytest.approx(np.sqrt(1 - TOPIC_SHARE) * plain[0] @ plain[1], abs=1e-5)


def test_without_articles_every_text_is_its_sentence_alone() -> None:
    sentences = FakeEmbedder()
    texts = ["the export came out empty", "csv has no rows"]
    found = KbTopics(Matcher(()), sentences).encode(texts).astype(np.float64)
    assert found == pytest.approx(unit(sentences.encode(texts).astype(np.float64)), abs=1e-6)


def test_a_groups_article_is_the_one_at_least_half_of_it_is_recognised_as_and_more_than_any_other() -> None:
    topics = KbTopics(Matcher(ARTICLES), FakeEmbedder())
    export, refund, unknown = "the export came out empty", "where is my refund", "the weather in paris tomorrow"
    assert (topics.article(export), topics.article(refund), topics.article(unknown)) == ("export", "refund", None)
    assert topics.common_article([export, "csv has no rows", unknown]) == "export"
    assert topics.common_article([export, unknown]) == "export"
    assert topics.common_article([export, refund]) is None  # a tie says nothing
    assert topics.common_article([export, refund, unknown]) is None  # under half
    assert topics.common_article([unknown]) is None
