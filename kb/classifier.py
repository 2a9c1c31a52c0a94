"""Softmax classifiers trained on an article's own aliases: which article does this wording belong to?

Why: the fuzzy and BM25 scores (and the embedding centroid) compare a message with each article on its
own, so two articles whose aliases look alike (BANKING77's "verify my identity" and "why verify
identity") blur into each other. A classifier trained on all the aliases at once learns what tells
them apart. Measured on the dev splits (BENCHMARKS.md, "Knowledge base"):

- `TextClassifier`, logistic regression over TF-IDF of stemmed words and character n-grams: +0.01 to
  +0.03 hit@1 on the lexical score, most on the larger K;
- `SoftmaxClassifier` over MiniLM embeddings (the semantic boost): +0.02 on CLINC150, +0.03 on
  BANKING77 at K = 20.

scikit-learn fits them (imported only when one is trained, so commands that never build a matcher do
not pay for it, nor does a start whose fit `kb.fit_cache` kept); scoring and learning one more alias are
plain numpy on the fitted weights. Fitting grows with articles × aliases × articles, which is why the
matcher trains them only for KBs up to a size.

A query's TF-IDF row is built by `TfidfRow` straight from the fitted vectorizer's vocabulary, IDF and
analyzer: `TfidfVectorizer.transform` spends most of its time validating its input (sparse matrices,
finiteness checks, signature inspection) — about a third of a suggestion's CPU on the sample KB
(`bench/kb_suggest.py`). Fitting and refitting still go through scikit-learn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from kb.fit_cache import FitCache

FloatArray = npt.NDArray[np.float32]
IndexArray = npt.NDArray[np.intp]

ONLINE_STEPS = 20
MISSING_CLASS_BIAS = -30.0  # a class without examples (an article with no usable text) is never predicted


@dataclass(frozen=True)
class SoftmaxClassifier:
    weights: FloatArray  # one row per class
    bias: FloatArray

    def probabilities(self, vector: FloatArray, columns: IndexArray | None = None) -> FloatArray:
        """P(class | vector) for one example; `columns` says which features a sparse `vector` holds."""
        weights = self.weights if columns is None else self.weights[:, columns]
        # einsum, not `@`: BLAS would start threads that keep spinning after the product and starve
        # torch's on a small machine (see `Matcher._semantic`)
        logits = np.einsum("ij,j->i", weights, vector) + self.bias
        logits -= logits.max()
        exp = np.exp(logits)
        result: FloatArray = (exp / exp.sum()).astype(np.float32)
        return result

    def learned(
        self,
        vector: FloatArray,
        label: int,
        columns: IndexArray | None = None,
        *,
        rate: float = 0.5,
        confidence: float = 0.5,
    ) -> SoftmaxClassifier:
        """A copy that has also learned one example, by online gradient steps on it alone.

        The steps stop once the example's class gets `confidence` (at most `ONLINE_STEPS`), so one
        customer's wording moves the model toward its article without refitting the whole KB.
        """
        model = SoftmaxClassifier(self.weights.copy(), self.bias.copy())
        step = np.float32(rate)
        for _ in range(ONLINE_STEPS):
            probs = model.probabilities(vector, columns)
            if probs[label] >= confidence:
                break
            probs[label] -= 1.0
            if columns is None:
                model.weights[:] -= step * np.outer(probs, vector)
            else:
                model.weights[:, columns] -= step * np.outer(probs, vector)
            model.bias[:] -= step * probs
        return model


def train(
    features: Any,
    labels: Sequence[int] | IndexArray,
    classes: int,
    *,
    c: float,
    start: SoftmaxClassifier | None = None,
) -> SoftmaxClassifier | None:
    """Fit multinomial logistic regression (scikit-learn, L2, inverse strength `c`) on `features`
    (a dense array or a SciPy sparse matrix, one row per example). None when fewer than two classes
    have examples: there is nothing to tell apart.

    `start` (a model over the same features) warm-starts the fit: after a few more examples it is
    already near the optimum, so a refit takes a fraction of a cold one (about 1 s instead of 4.7 s on
    CLINC150's 150 articles × 21 aliases)."""
    label_array = np.asarray(labels, dtype=np.intp)
    present = np.unique(label_array)
    if len(present) < 2:
        return None
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # scikit-learn's own dependency

    estimator = LogisticRegression(C=c, max_iter=1_000, warm_start=start is not None)
    if start is not None and len(present) > 2:  # (two classes keep one row: start cold, it is cheap)
        estimator.coef_ = start.weights[present].astype(np.float64)
        estimator.intercept_ = start.bias[present].astype(np.float64)
    # one BLAS thread: the solver's vector operations are too small to share out, and on a busy 2-core machine
    # a second thread waiting for its share made fitting the sample KB 0.6-1.7 s instead of 0.07-0.15 s (the fit
    # runs at every start of the bot, and again on every refit)
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = estimator.fit(features, label_array)
    coef = np.asarray(fitted.coef_, dtype=np.float32)
    intercept = np.asarray(fitted.intercept_, dtype=np.float32)
    if len(present) == 2:  # scikit-learn keeps one row for two classes: P(second) = σ(w·x + b)
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept]).astype(np.float32)
    weights = np.zeros((classes, coef.shape[1]), dtype=np.float32)
    bias = np.full(classes, MISSING_CLASS_BIAS, dtype=np.float32)
    weights[present], bias[present] = coef, intercept
    return SoftmaxClassifier(weights, bias)


@dataclass(frozen=True)
class TfidfRow:
    """The TF-IDF row of one text as a fitted `TfidfVectorizer` computes it, without scikit-learn.

    Same analyzer, vocabulary, IDF, binary / sublinear tf and l1 / l2 norm as `vectorizer.transform([text])`,
    the same float32 arithmetic in the same order (counts → log + 1 → × IDF → ÷ norm summed in double), so
    the numbers agree to float rounding (tests/kb/test_classifier.py checks it on a few thousand queries).
    Returns the row's values and their sorted column indices, like the CSR row's `data` and `indices`.
    """

    analyze: Callable[[str], Iterable[str]]
    vocabulary: Mapping[str, int]
    idf: FloatArray | None  # None when the vectorizer does not weight by IDF
    sublinear: bool
    binary: bool
    norm: str | None
    dtype: Any

    @classmethod
    def of(cls, vectorizer: Any) -> TfidfRow:
        """The row builder of a fitted sklearn `TfidfVectorizer`."""
        if vectorizer.norm not in (None, "l1", "l2"):
            raise ValueError(f"unsupported TF-IDF norm {vectorizer.norm!r}")
        return cls(
            analyze=vectorizer.build_analyzer(),
            vocabulary=vectorizer.vocabulary_,
            idf=np.asarray(vectorizer.idf_) if vectorizer.use_idf else None,
            sublinear=bool(vectorizer.sublinear_tf),
            binary=bool(vectorizer.binary),
            norm=vectorizer.norm,
            dtype=np.dtype(vectorizer.dtype),
        )

    def matrix(self, texts: Sequence[str]) -> Any:
        """The rows of `texts` as one SciPy CSR matrix, as `vectorizer.transform(texts)` returns them."""
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]  # scikit-learn's own dependency

        rows = [self(text) for text in texts]
        indptr = np.cumsum([0, *(len(columns) for _, columns in rows)])
        values = np.concatenate([values for values, _ in rows]) if rows else np.zeros(0, dtype=self.dtype)
        columns = np.concatenate([columns for _, columns in rows]) if rows else np.zeros(0, dtype=np.intp)
        return csr_matrix((values, columns, indptr), shape=(len(texts), len(self.vocabulary)), dtype=self.dtype)

    def __call__(self, text: str) -> tuple[FloatArray, IndexArray]:
        vocabulary = self.vocabulary
        counts: dict[int, int] = {}
        for feature, count in Counter(self.analyze(text)).items():  # distinct features have distinct columns
            column = vocabulary.get(feature)
            if column is not None:
                counts[column] = count
        columns = np.array(sorted(counts), dtype=np.intp)
        if self.binary:
            values = np.ones(len(columns), dtype=self.dtype)
        else:
            values = np.array([counts[column] for column in columns.tolist()], dtype=self.dtype)
        if self.sublinear:
            np.log(values, out=values)
            values += 1.0
        if self.idf is not None:
            values *= self.idf[columns]
        if self.norm is not None and len(values):
            # scikit-learn sums in double and divides in double (sparsefuncs_fast), then stores the dtype
            total = float(np.add.reduce(values * values if self.norm == "l2" else np.abs(values), dtype=np.float64))
            if total:
                divisor = np.float64(math.sqrt(total) if self.norm == "l2" else total)
                values = (values / divisor).astype(self.dtype)
        return values.astype(np.float32, copy=False), columns


@dataclass(frozen=True)
class TextClassifier:
    """TF-IDF features of a text (sublinear tf, l2-normalised) and a softmax classifier over them."""

    row: TfidfRow  # the fitted vectorizer's row, built without scikit-learn
    model: SoftmaxClassifier

    def _features(self, text: str) -> tuple[FloatArray, IndexArray]:
        return self.row(text)

    def probabilities(self, text: str) -> FloatArray:
        values, columns = self._features(text)
        return self.model.probabilities(values, columns)

    def learned(self, text: str, label: int) -> TextClassifier:
        values, columns = self._features(text)
        return TextClassifier(self.row, self.model.learned(values, label, columns))

    def refitted(self, texts: Sequence[str], labels: Sequence[int], *, c: float) -> TextClassifier:
        """Fitted again on `texts`, warm-started from this model, over the same features (words and
        n-grams the vectorizer has never seen are left out until the next full build)."""
        model = train(self.row.matrix(texts), labels, len(self.model.bias), c=c, start=self.model)
        return self if model is None else TextClassifier(self.row, model)


def train_text(
    texts: Sequence[str],
    labels: Sequence[int] | IndexArray,
    classes: int,
    *,
    analyzer: Callable[[str], list[str]],
    c: float,
    cache: FitCache | None = None,
) -> TextClassifier | None:
    """Fit a `TextClassifier` whose features are what `analyzer` returns for a text. With a `cache`, a fit
    of exactly these features, labels and settings is read back instead of fitted again (`kb.fit_cache`)."""
    if not texts:
        return None
    features = [analyzer(text) for text in texts]
    if cache is None:
        return _fit_text(features, labels, classes, analyzer=analyzer, c=c)
    key = cache.key(features, labels, classes, c=c)
    kept = cache.load(key, analyzer)
    if kept is not None:
        return kept
    with cache.fitting(key):  # another process fitting the same: wait for it, then read its fit
        kept = cache.load(key, analyzer)
        if kept is not None:
            return kept
        fitted = _fit_text(features, labels, classes, analyzer=analyzer, c=c)
        if fitted is not None:
            cache.store(key, fitted)
        return fitted


def _fit_text(
    features: list[list[str]],
    labels: Sequence[int] | IndexArray,
    classes: int,
    *,
    analyzer: Callable[[str], list[str]],
    c: float,
) -> TextClassifier | None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_analysed, sublinear_tf=True, dtype=np.float32)
    model = train(vectorizer.fit_transform(features), labels, classes, c=c)
    if model is None:
        return None
    return TextClassifier(replace(TfidfRow.of(vectorizer), analyze=analyzer), model)


def _analysed(features: list[str]) -> list[str]:
    """The vectorizer's analyzer when it is given each text's features, analysed once beforehand."""
    return features
