"""Suggest knowledge-base articles for a customer's message.

Each article's title, alias and learned alias is scored against the message ON ITS OWN (matching one
long concatenated blob saturates and ranks by KB order), with ½ token_set_ratio + ½ token_sort_ratio:
token_set forgives extra words, token_sort punishes them, and together they rarely tie. An article's
fuzzy score is the mean of its best three field scores, so one lucky alias is not enough. A BM25 term
over the whole article's stemmed words (`kb.bm25`) adds word rarity, which the ratios ignore, a
second BM25 over the article's character n-grams matches parts of words ("topup" / "top up", typos),
and a classifier trained on every alias at once (`kb.classifier`) adds what tells look-alike articles
apart:

    lexical = 0.55 × fuzzy + 0.3 × 100 × BM25(words) + 0.15 × 100 × BM25(character n-grams)
    score   = (lexical + 0.2 × 100 × P(article | text classifier)) / 1.2                    (0..100)

Character n-grams need about ten times the postings of words, so past `Scoring.char_grams_up_to`
articles they are left out and their share goes back to the fuzzy score (0.7 × fuzzy); fitting the
classifier grows with articles², so past `Scoring.classifier_up_to` articles there is none (score =
lexical).

Scale: the BM25 scores come from an inverted index, so they are cheap for every article; only the
`Scoring.candidates` best of them are re-ranked with rapidfuzz. Below that many articles every article
is scored, so small KBs get exactly the full scan.

Learning: `Matcher.learn` returns a new matcher with one more learned alias, sharing the built index
with the old one; the changed article is kept beside the index and scored on its own, and the
classifiers take a few online steps on the new wording (`REFIT_AFTER` says when to refit).

Optional semantic boost: pass an `Embedder` (`kb.semantic`); the cosine with the article's embedding
centroid is fused with the lexical score, and on KBs of up to `Scoring.classifier_up_to` articles so is
the probability of a softmax classifier trained on the alias embeddings (`kb.classifier`):

    semantic score = (0.4 × lexical + 0.6 × 100 × cosine + 0.3 × 100 × P(article)) / 1.3

A learned alias moves the centroid and takes a few online steps of the classifier.
Every choice and its dev numbers: BENCHMARKS.md, "Knowledge base".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from kb.article import Article
from kb.bm25 import Bag, BM25Index
from kb.classifier import SoftmaxClassifier, TextClassifier, train, train_text
from kb.fit_cache import FitCache
from kb.progress import NO_PROGRESS, Progress
from kb.text import char_grams, normalize, stem, tokens

DEFAULT_MIN_SCORE: float = 40.0
"""Below this score nothing is suggested.

Chosen on CLINC150 dev (banking + credit_cards = 30 articles, title + K = 5 train aliases per intent,
seed 0; 600 in-scope `val` queries, 100 `oos_val` queries; rapidfuzz 3.14, default `Scoring`) as the
lowest whole threshold where out-of-scope abstain recall reaches 0.9:
  hit@1 0.812, hit@3 0.947, MRR@3 0.874; AUROC 0.970
  at 40: abstain precision 0.711 (oos:in-scope = 1:6; 0.94 at 1:1), abstain recall 0.91,
  false-abstain rate 0.062
The dev thresholds of the other KBs: 49 (same KB, K = 20), 46 / 56 (BANKING77, K = 5 / 20), 46 / 57
(all 150 CLINC intents, K = 5 / 20): a KB with many aliases per article can afford a higher one.
Regenerate with `python -m kb.evaluation` or `threaddesk kb eval` (BENCHMARKS.md, "Knowledge base").
"""

MAX_QUERY_CHARS = 2_000
"""Only the start of a very long message is matched: it keeps latency flat and the problem is usually
stated first."""

MAX_LEARNED = 50
"""Learned aliases kept per article; the oldest goes first, so wording drifts with the customers."""

EMBEDDING_CLASSIFIER_C = 100.0
"""Inverse regularisation strength of the embedding classifier (dev: 10 / 100 / 1000 measured)."""

REFIT_AFTER = 32
"""Learned aliases after which the text classifier should be fitted afresh (`Matcher.needs_refit`).

Each learned alias takes a few online steps of the classifier at once; those drift from what a fit on
all the aliases finds. On BANKING77 (K = 5, then every dev query learned, scored on 1,516 held-out
train utterances) online steps alone gave hit@1 0.767, a refit after learning 0.799."""

COMPACT_AFTER = 256
"""Articles changed by `learn` are scored one by one beside the index; past this many, `learn` rebuilds
the index instead, so the per-query cost of changed articles stays under about a millisecond."""

FloatArray = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length sentence vectors (one row per text); see `kb.semantic`."""

    def encode(self, texts: Sequence[str]) -> FloatArray: ...


@dataclass(frozen=True)
class Scoring:
    """How field scores become an article score; the defaults are the measured best (BENCHMARKS.md)."""

    fuzzy_top: int = 3  # mean of the best N title/alias fuzzy scores
    bm25_weight: float = 0.3  # share of the normalised article BM25 score in the lexical 0..100 score
    char_weight: float = 0.15  # share of the character n-gram BM25 score, taken from the fuzzy share
    char_grams_up_to: int = 5_000  # larger KBs leave the n-gram index out (memory: ~1,000 postings/article)
    stem: bool = True  # Snowball stems as the BM25 terms
    candidates: int = 50  # articles re-ranked with rapidfuzz; the rest are ranked out by BM25
    semantic_weight: float = 0.6  # share of the embedding similarity when an embedder is given
    text_classifier_weight: float = 0.2  # weight of the word/n-gram alias classifier (`kb.classifier`)
    text_classifier_c: float = 30.0  # its inverse regularisation strength
    embedding_classifier_weight: float = 0.3  # weight of the embedding alias classifier (semantic only)
    classifier_up_to: int = 300  # larger KBs train no classifier (fitting grows with articles²)


@dataclass(frozen=True)
class Suggestion:
    article: Article
    score: float  # 0..100, higher is better
    matched: str  # the alias or title that matched best


@dataclass(frozen=True)
class _Entry:
    """One article as the matcher sees it: its normalised fields and BM25 terms."""

    article: Article
    fields: tuple[str, ...]  # normalised, words sorted, deduplicated
    originals: tuple[str, ...]  # the same fields as written
    terms: Bag  # BM25 terms of every field
    grams: Bag  # character n-grams of every field


@dataclass(frozen=True)
class _Index:
    """What is built once and shared by every matcher derived with `learn`."""

    articles: tuple[Article, ...]
    ids: dict[str, int]
    fields: list[str]  # normalised fields (words sorted) of every article, article by article
    starts: npt.NDArray[np.int64]  # article i owns fields[starts[i]:starts[i + 1]]
    positions: npt.NDArray[np.int32]  # field -> its place in (title, *aliases, *learned)
    bm25: BM25Index
    grams: BM25Index | None  # character n-grams; None past `Scoring.char_grams_up_to` articles
    sums: FloatArray | None  # sum of each article's field embeddings (its direction is the centroid's)
    centroids: FloatArray | None  # unit article embeddings, one row per article
    text_classifier: TextClassifier | None  # trained on the normalised fields, small KBs only
    embedding_classifier: SoftmaxClassifier | None  # trained on the field embeddings, small KBs only


class _Ranked(NamedTuple):
    """A scored candidate: the first three fields are its place in the ranking (best first)."""

    negated_score: float
    negated_best_field_score: float
    article_id: str
    article: int  # the article's index
    field: int  # its best field
    score: float


def _order(row: _Ranked) -> tuple[float, float, str]:
    return row[0], row[1], row[2]


class Matcher:
    """Ranks articles for a message; abstains (returns []) when nothing scores `min_score` or more."""

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        scoring: Scoring = Scoring(),
        embedder: Embedder | None = None,
        progress: Progress = NO_PROGRESS,
        fit_cache: FitCache | None = None,
    ) -> None:
        self.min_score = min_score
        self.scoring = scoring
        self._embedder = embedder
        self._fit_cache = fit_cache
        self._changed: dict[int, _Entry] = {}
        self._semantic_changed: dict[int, FloatArray] = {}
        self._index = self._build(tuple(articles), progress)
        # `learn` derives updated copies of these
        self._text_classifier = self._index.text_classifier
        self._embedding_classifier = self._index.embedding_classifier
        self._learned_since_fit = 0

    def _build(self, articles: tuple[Article, ...], progress: Progress = NO_PROGRESS) -> _Index:
        fields: list[str] = []
        positions: list[int] = []
        starts = np.zeros(len(articles) + 1, dtype=np.int64)
        ids: dict[str, int] = {}

        progress.start("Indexing the knowledge base", len(articles))

        def documents() -> Iterator[list[str]]:
            for index, article in enumerate(articles):
                progress.advance()
                ids.setdefault(article.id, index)
                terms: list[str] = []
                for position, text in _normalised_fields(article):
                    fields.append(text)
                    positions.append(position)
                    terms += self._terms(text)
                starts[index + 1] = len(fields)
                yield terms

        bm25 = BM25Index(documents(), k1=1.2, b=0.75)
        grams = None
        if self.scoring.char_weight and len(articles) <= self.scoring.char_grams_up_to:
            grams = BM25Index(
                (_grams(text for _, text in _normalised_fields(article)) for article in articles), k1=1.2, b=0.75
            )
        small = len(articles) <= self.scoring.classifier_up_to
        labels = np.repeat(np.arange(len(articles)), np.diff(starts))
        text_classifier = self._fit_text_classifier(fields, labels, len(articles)) if small else None
        sums, centroids, embedding_classifier = None, None, None
        if self._embedder is not None:
            groups = [_originals(a) for a in articles]
            vectors, bounds = self._embed_groups(groups)
            sums = _group_sums(vectors, bounds)
            centroids = _unit_rows(sums)
            if self.scoring.embedding_classifier_weight and small:
                groups_of = np.repeat(np.arange(len(groups)), np.diff(bounds))
                embedding_classifier = train(vectors, groups_of, len(groups), c=EMBEDDING_CLASSIFIER_C)
        return _Index(
            articles=articles,
            ids=ids,
            fields=fields,
            starts=starts,
            positions=np.array(positions, dtype=np.int32),
            bm25=bm25,
            grams=grams,
            sums=sums,
            centroids=centroids,
            text_classifier=text_classifier,
            embedding_classifier=embedding_classifier,
        )

    def _embed_groups(self, groups: Sequence[Sequence[str]]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """The embeddings of every text of every group (an article's title and aliases), group by group,
        and where each group starts."""
        assert self._embedder is not None
        flat = [text for group in groups for text in group]
        vectors = self._embedder.encode(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        return vectors, np.cumsum([0, *(len(group) for group in groups)])

    def _embedding_sums(self, groups: Sequence[Sequence[str]]) -> FloatArray:
        """The sum of the embeddings of each group of texts."""
        return _group_sums(*self._embed_groups(groups))

    def __len__(self) -> int:
        return len(self._index.articles)

    @property
    def articles(self) -> tuple[Article, ...]:
        """The articles as this matcher scores them (learned aliases included)."""
        if not self._changed:
            return self._index.articles
        return tuple(self._article(i) for i in range(len(self)))

    def _article(self, index: int) -> Article:
        entry = self._changed.get(index)
        return entry.article if entry else self._index.articles[index]

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """The best `limit` articles scoring at least `min_score`, best first."""
        if limit <= 0:
            return []
        return [self._suggestion(row) for row in self._ranked(text)[:limit] if row.score >= self.min_score]

    def rank(self, text: str) -> list[Suggestion]:
        """The candidate articles that share anything with `text`, best first, ignoring `min_score`.

        Ties on the score are broken by the article's single best field score, then by id, so the
        order never depends on the order of the KB.
        """
        return [self._suggestion(row) for row in self._ranked(text)]

    def _suggestion(self, row: _Ranked) -> Suggestion:
        matched = self._original(row.article, row.field)
        return Suggestion(article=self._article(row.article), score=row.score, matched=matched)

    def _ranked(self, text: str) -> list[_Ranked]:
        """`rank` before its suggestions are built (`suggest` builds only the few it returns)."""
        query = normalize(text[:MAX_QUERY_CHARS])
        if not query or not len(self):
            return []
        s = self.scoring
        terms = self._terms(query)
        lexical = self._index.bm25.normalised_scores(terms)
        if self._changed:
            changed = self._index.bm25.score_documents(terms, [entry.terms for entry in self._changed.values()])
            lexical[list(self._changed)] = changed
        partial = self._char_scores(query)
        recognised = None if self._text_classifier is None else self._text_classifier.probabilities(query)
        semantic, classified = self._semantic(text[:MAX_QUERY_CHARS])
        candidates = self._candidates(lexical, partial, recognised, semantic)
        fuzzy_weight = 1 - s.bm25_weight - (s.char_weight if partial is not None else 0.0)

        texts: list[str]
        if len(candidates) == len(self) and not self._changed:  # every article, as built: the index's own list
            texts, bounds = self._index.fields, self._index.starts.tolist()
        else:
            texts, bounds = [], [0]
            for index in candidates:
                texts += self._fields(index)
                bounds.append(len(texts))
        fuzzy = _fuzzy(query, texts)

        # plain floats from here: numpy's per-call overhead on an article's handful of fields cost more
        # than the arithmetic (≈0.5 ms of a 0.7 ms suggestion on the 18-article sample KB); each array is
        # read for the candidates only, so a large KB does not pay for turning all of it into floats
        values: list[float] = fuzzy.tolist()
        lexical_of: list[float] = lexical[candidates].tolist()
        partial_of = _floats(partial, candidates)
        recognised_of = _floats(recognised, candidates)
        semantic_of = _floats(semantic, candidates)
        classified_of = _floats(classified, candidates)
        top_n = s.fuzzy_top
        ranked: list[_Ranked] = []
        for slot, index in enumerate(candidates):
            scores = values[bounds[slot] : bounds[slot + 1]]
            if not scores:
                continue
            best_score = max(scores)
            best = scores.index(best_score)  # the first best, like argmax
            top = sorted(scores, reverse=True)[:top_n]  # what heapq.nlargest returns, cheaper on a few fields
            fuzzy_score = sum(top) / len(top)
            score = fuzzy_weight * fuzzy_score + s.bm25_weight * 100 * lexical_of[slot]
            if partial_of is not None:
                score += s.char_weight * 100 * partial_of[slot]
            if recognised_of is not None:
                weight = s.text_classifier_weight
                score = (score + weight * 100 * recognised_of[slot]) / (1 + weight)
            if semantic_of is not None:
                score = (1 - s.semantic_weight) * score + s.semantic_weight * 100 * max(0.0, semantic_of[slot])
            if classified_of is not None:
                weight = s.embedding_classifier_weight
                score = (score + weight * 100 * classified_of[slot]) / (1 + weight)
            score = round(score, 4)
            if score <= 0:
                continue
            ranked.append(_Ranked(-score, -best_score, self._article(index).id, index, best, score))
        ranked.sort(key=_order)
        return ranked

    def learn(self, article_id: str, text: str) -> Matcher:
        """A matcher that also knows `text` as a learned alias of `article_id`.

        Cheap at any KB size: the built index is shared, only the changed article is re-derived. A
        wording the article already has (after normalisation) changes nothing and returns `self`; past
        `MAX_LEARNED` learned aliases the oldest is dropped. Raises `KeyError` for an unknown article.
        """
        index = self._index.ids.get(article_id)
        if index is None:
            raise KeyError(f"no article with id '{article_id}'")
        wording = " ".join(text[:MAX_QUERY_CHARS].split())
        normalised = _sorted_words(normalize(wording))
        article = self._article(index)
        if not normalised or normalised in self._fields(index):
            return self
        learned = (*article.learned, wording)[-MAX_LEARNED:]
        updated = article.model_copy(update={"learned": learned})
        pairs = _normalised_fields(updated)
        everything = _originals(updated)
        entry = _Entry(
            article=updated,
            fields=tuple(text for _, text in pairs),
            originals=tuple(everything[position] for position, _ in pairs),
            terms=Bag.of([term for _, text in pairs for term in self._terms(text)]),
            grams=Bag.of(_grams(text for _, text in pairs)),
        )
        derived = self._copy()
        derived._changed = {**self._changed, index: entry}
        derived._learned_since_fit += 1
        if self._text_classifier is not None:
            derived._text_classifier = self._text_classifier.learned(normalised, index)
        if len(derived._changed) > COMPACT_AFTER:
            return Matcher(
                derived.articles,
                min_score=self.min_score,
                scoring=self.scoring,
                embedder=self._embedder,
                fit_cache=self._fit_cache,
            )
        if self._embedder is not None:
            vector = self._embedder.encode([wording])[0]
            if len(learned) > len(article.learned):  # one more text: add its embedding to the sum
                derived._semantic_changed[index] = self._embedding_sum(index) + vector
            else:  # the oldest learned alias was dropped: embed the article again
                derived._semantic_changed[index] = self._embedding_sums([everything])[0]
            if self._embedding_classifier is not None:
                derived._embedding_classifier = self._embedding_classifier.learned(vector, index)
        return derived

    @property
    def text_classifier(self) -> TextClassifier | None:
        return self._text_classifier

    @property
    def needs_refit(self) -> bool:
        """True once `REFIT_AFTER` aliases were learned since the text classifier was last fitted."""
        return self._text_classifier is not None and self._learned_since_fit >= REFIT_AFTER

    def refit_text_classifier(self) -> TextClassifier | None:
        """The text classifier fitted again on every field, learned aliases included (warm-started, a
        fraction of a second on a KB of hundreds of articles; still, run it off the event loop, then
        hand it to `with_text_classifier`)."""
        if self._text_classifier is None:
            return None
        fields = [list(self._fields(index)) for index in range(len(self))]
        labels = [index for index, texts in enumerate(fields) for _ in texts]
        texts = [text for group in fields for text in group]
        return self._text_classifier.refitted(texts, labels, c=self.scoring.text_classifier_c)

    def _fit_text_classifier(
        self, fields: Sequence[str], labels: Sequence[int] | npt.NDArray[np.intp], articles: int
    ) -> TextClassifier | None:
        """A text classifier over `fields` (normalised); `labels` holds each field's article index."""
        if not self.scoring.text_classifier_weight:
            return None
        c = self.scoring.text_classifier_c
        return train_text(fields, labels, articles, analyzer=_classifier_features, c=c, cache=self._fit_cache)

    def with_text_classifier(self, classifier: TextClassifier | None) -> Matcher:
        """This matcher with `classifier` (from `refit_text_classifier`) in place of its text classifier."""
        derived = self._copy()
        derived._text_classifier = classifier
        derived._learned_since_fit = 0
        return derived

    def _copy(self) -> Matcher:
        """A shallow copy sharing the built index: the start of every derived matcher."""
        derived = object.__new__(Matcher)
        derived.__dict__.update(self.__dict__)
        derived._semantic_changed = dict(self._semantic_changed)
        return derived

    def _embedding_sum(self, index: int) -> FloatArray:
        changed = self._semantic_changed.get(index)
        if changed is not None:
            return changed
        assert self._index.sums is not None
        row: FloatArray = self._index.sums[index]
        return row

    def _fields(self, index: int) -> Sequence[str]:
        entry = self._changed.get(index)
        if entry is not None:
            return entry.fields
        starts = self._index.starts
        return self._index.fields[int(starts[index]) : int(starts[index + 1])]

    def _original(self, index: int, field: int) -> str:
        entry = self._changed.get(index)
        if entry is not None:
            return entry.originals[field]
        position = int(self._index.positions[int(self._index.starts[index]) + field])
        return _originals(self._index.articles[index])[position]

    def _char_scores(self, query: str) -> FloatArray | None:
        """Normalised character n-gram BM25 of every article, or None when the KB is too large for it."""
        index = self._index.grams
        if index is None:
            return None
        grams = char_grams(query)
        scores = index.normalised_scores(grams)
        if self._changed:
            scores[list(self._changed)] = index.score_documents(
                grams, [entry.grams for entry in self._changed.values()]
            )
        return scores

    def _semantic(self, text: str) -> tuple[FloatArray | None, FloatArray | None]:
        """The cosine of `text` with every article centroid, and the classifier's probabilities (each
        None when not available)."""
        centroids = self._index.centroids
        if self._embedder is None or centroids is None:
            return None, None
        vector = self._embedder.encode([text])[0]
        # einsum, not `@`: BLAS would start its own threads, which spin after the product and starve
        # torch's threads on a small machine (measured at 10k articles: p50 106 ms with `@`, 12 ms without)
        similarity: FloatArray = np.einsum("ij,j->i", centroids, vector)
        for index, total in self._semantic_changed.items():
            similarity[index] = float(total @ vector) / (float(np.linalg.norm(total)) or 1.0)
        classifier = self._embedding_classifier
        return similarity, None if classifier is None else classifier.probabilities(vector)

    def _candidates(self, *rankings: FloatArray | None) -> list[int]:
        """Every article on a small KB; otherwise the best `candidates` by each ranking given (word BM25,
        character n-gram BM25, classifier, embedding), so a typo or a paraphrase still reaches the fuzzy
        re-ranking."""
        n, limit = len(self), self.scoring.candidates
        if n <= limit:
            return list(range(n))
        chosen: set[int] = set()
        for scores in rankings:
            if scores is not None:
                chosen.update(_top(scores, limit).tolist())
        return sorted(chosen)

    def _terms(self, text: str) -> list[str]:
        return [stem(t) for t in tokens(text)] if self.scoring.stem else tokens(text)


def _originals(article: Article) -> tuple[str, ...]:
    return (article.title, *article.aliases, *article.learned)


def _normalised_fields(article: Article) -> list[tuple[int, str]]:
    """(position in title/aliases/learned, normalised text with sorted words) for each distinct field."""
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for position, original in enumerate(_originals(article)):
        text = _sorted_words(normalize(original))
        if text and text not in seen:
            seen.add(text)
            out.append((position, text))
    return out


def _classifier_features(text: str) -> list[str]:
    """What the text classifier sees: character 2–4-grams and stemmed words (dev-measured, BENCHMARKS.md)."""
    return char_grams(text, 2, 4) + [f"w:{stem(word)}" for word in tokens(text)]


def _floats(scores: FloatArray | None, candidates: list[int]) -> list[float] | None:
    """The candidates' scores as Python floats (the same values), or None."""
    return None if scores is None else scores[candidates].tolist()


def _grams(fields: Iterator[str]) -> list[str]:
    return [gram for text in fields for gram in char_grams(text)]


def _group_sums(vectors: FloatArray, bounds: npt.NDArray[np.int64]) -> FloatArray:
    out = np.zeros((len(bounds) - 1, vectors.shape[1]), dtype=np.float32)
    for i in range(len(out)):
        out[i] = vectors[bounds[i] : bounds[i + 1]].sum(axis=0)
    return out


def _unit_rows(matrix: FloatArray) -> FloatArray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: FloatArray = (matrix / norms).astype(np.float32)
    return result


def _top(scores: FloatArray, limit: int) -> npt.NDArray[np.intp]:
    """Indices of the `limit` highest positive scores (unordered)."""
    picked = np.argpartition(-scores, limit - 1)[:limit] if len(scores) > limit else np.arange(len(scores))
    return picked[scores[picked] > 0]


def _fuzzy(query: str, texts: Sequence[str]) -> FloatArray:
    """½ token_set_ratio + ½ token_sort_ratio of `query` against every text.

    Fields are stored with their words already sorted (`_sorted_words`), which changes neither ratio
    (both sort the words first) but makes token_sort_ratio a plain `ratio`, ten times cheaper.
    """
    if not texts:
        return np.zeros(0, dtype=np.float32)
    query = _sorted_words(query)
    both = [
        process.cdist([query], texts, scorer=scorer, processor=None, dtype=np.float32)[0]
        for scorer in (fuzz.token_set_ratio, fuzz.ratio)
    ]
    result: FloatArray = (both[0] + both[1]) / np.float32(2)
    return result


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))
