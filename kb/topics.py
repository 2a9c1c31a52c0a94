"""A report's subject in its desk's own terms: the knowledge base's articles, for incident grouping.

A desk's articles name the subjects its customers write about, and the KB's classifier (`kb.classifier`) gives
every text a probability per article. Two reports that the classifier gives the same likely articles are about
the same subject even when they share no word and their sentence vectors are apart ("the recipient can't see the
money" / "why hasn't my transfer arrived"): on a card desk, where every report is about cards and payments,
that is what tells one outage's reports from its neighbours' (BENCHMARKS.md, "Incident grouping").

`KbTopics` is an embedder (`kb.matcher.Embedder`) that joins a sentence embedder's unit vector `s` to the unit
vector of the article probabilities `t`: `[√(1 − share)·s, √share·t]`. The dot product of two such vectors is
`share` × the topics' cosine + (1 − `share`) × the sentences' cosine, so `kb.grouping` fuses it as it fuses any
embedder. Only a text the knowledge base recognises (the matcher would suggest an article for it) gets a topic:
any other is `[s, 0]`, so reports of subjects the KB does not cover — a new outage, more often than not — are
compared by their sentences alone: every text has *some* likeliest article, which says nothing about a text the KB
does not recognise. That does not make an unrelated KB harmless (it recognises some reports as the wrong
articles), so `[incidents] kb_topics` is off unless a desk's articles cover what its customers write about.

`KbTopics` also says which article a text is recognised as (`article`) and what a group of texts is about
(`common_article`): incident detection groups and joins reports by their article as well.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from kb.matcher import Embedder, FloatArray, Matcher
from kb.text import normalize

TOPIC_SHARE = 0.3
"""The topics' share of the embedding cosine between two recognised texts (fixed on the training streams)."""

ARTICLE_CACHE = 8_192
"""Texts whose recognised article is remembered, the most recently asked: a report is asked about again while it
is in the window, and the background's (`kb.grouping.BACKGROUND_SIZE`) whenever a group's subject is weighed
against its usual rate."""


def _unit(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


class KbTopics:
    """Texts as their sentence vectors joined to their likely articles in `matcher`'s knowledge base."""

    def __init__(self, matcher: Matcher, sentences: Embedder, share: float = TOPIC_SHARE) -> None:
        self._matcher = matcher
        self._sentences = sentences
        self._share = share
        self._articles: OrderedDict[str, str | None] = OrderedDict()

    def article(self, text: str) -> str | None:
        """The article the knowledge base recognises `text` as (the matcher's first suggestion), if any."""
        if text in self._articles:
            self._articles.move_to_end(text)
            return self._articles[text]
        found = self._matcher.suggest(text, 1)
        article = self._articles[text] = found[0].article.id if found else None
        if len(self._articles) > ARTICLE_CACHE:
            self._articles.popitem(last=False)
        return article

    def common_article(self, texts: Sequence[str]) -> str | None:
        """The article at least half of `texts` are recognised as, and more of them than any other: what a group
        of reports is about, in the knowledge base's terms (None when no article is)."""
        counts = Counter(self.article(text) for text in texts)
        counts.pop(None, None)
        ranked = counts.most_common(2)
        if not ranked or 2 * ranked[0][1] < len(texts) or (len(ranked) == 2 and ranked[1][1] == ranked[0][1]):
            return None
        return ranked[0][0]

    def encode(self, texts: Sequence[str]) -> FloatArray:
        sentences = _unit(np.asarray(self._sentences.encode(texts), dtype=np.float64))
        classifier = self._matcher.text_classifier
        articles = len(self._matcher)
        topics = np.zeros((len(texts), articles))
        recognised = np.zeros(len(texts), dtype=bool)
        if classifier is not None:
            for i, text in enumerate(texts):
                if self.article(text) is not None:
                    topics[i] = classifier.probabilities(normalize(text))
                    recognised[i] = True
        weight = np.where(recognised, math.sqrt(1 - self._share), 1.0)[:, None]
        joined = np.hstack([weight * sentences, math.sqrt(self._share) * _unit(topics)])
        found: FloatArray = joined.astype(np.float32)
        return found
