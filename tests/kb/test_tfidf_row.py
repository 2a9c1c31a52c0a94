"""The text classifier's TF-IDF row, built without scikit-learn's `transform`, gives scikit-learn's numbers.

Queries: the sample KB's titles and aliases, CLINC150 `val` / `oos_val` utterances when the shared data
folder is there (`../shared/data` beside the checkout, or beside the folder holding a worktree), and
generated text either way (KB words, corpus words, typos, other scripts, punctuation, nothing at all).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kb.classifier import TextClassifier, TfidfRow, train_text
from kb.datasets import DatasetError, load_clinc
from kb.loader import load_directory
from kb.matcher import MAX_QUERY_CHARS, Matcher, _classifier_features
from kb.text import normalize
from tests.conftest import shared_matcher

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KB = ROOT / "kb" / "sample"
CLINC_DIRS = [ROOT.parent / "shared" / "data" / "clinc150", ROOT.parent.parent / "shared" / "data" / "clinc150"]


def _clinc_texts(limit: int) -> list[str]:
    for folder in CLINC_DIRS:
        try:
            data, _ = load_clinc(folder)
        except DatasetError:
            continue
        texts = [text for text, _ in data["val"]] + [text for text, _ in data["oos_val"]]
        return random.Random(0).sample(texts, min(limit, len(texts)))
    return []


def _generated(words: list[str], count: int) -> list[str]:
    rng = random.Random(0)
    texts = ["", "!!!", "Can’t log-in!!", "ÉTÉ café 東京 résumé", "x" * 3_000, "pasword resett plz", "topup"]
    for _ in range(count):
        picked = [rng.choice(words) for _ in range(rng.randint(1, 14))]
        if rng.random() < 0.3:  # a typo: one letter dropped
            word = rng.randrange(len(picked))
            cut = rng.randrange(max(1, len(picked[word])))
            picked[word] = picked[word][:cut] + picked[word][cut + 1 :]
        texts.append(" ".join(picked) + rng.choice(["", "?", "!!", " :)"]))
    return texts


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return shared_matcher(load_directory(SAMPLE_KB).articles)


@pytest.fixture(scope="module")
def vectorizer(matcher: Matcher) -> Any:
    """scikit-learn's own vectorizer, fitted as the matcher's classifier was: on every article field."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    fields = [text for index in range(len(matcher)) for text in matcher._fields(index)]
    fitted = TfidfVectorizer(analyzer=_classifier_features, sublinear_tf=True, dtype=np.float32).fit(fields)
    assert matcher.text_classifier is not None
    assert fitted.vocabulary_ == matcher.text_classifier.row.vocabulary
    return fitted


@pytest.fixture(scope="module")
def queries(matcher: Matcher) -> list[str]:
    own = [text for article in matcher.articles for text in (article.title, *article.aliases)]
    clinc = _clinc_texts(1_500)
    words = sorted({word for text in own + clinc for word in text.split()})
    return own + clinc + _generated(words, 1_000 if clinc else 2_000)


def test_the_row_equals_the_vectorizers_transform_on_many_queries(
    matcher: Matcher, vectorizer: Any, queries: list[str]
) -> None:
    classifier = matcher.text_classifier
    assert classifier is not None
    assert len(queries) > 1_000
    texts = [normalize(text[:MAX_QUERY_CHARS]) for text in queries]  # what the matcher hands the classifier
    expected = vectorizer.transform(texts)  # one batch: row i is transform([texts[i]])
    for i, text in enumerate(texts):
        values, columns = classifier.row(text)
        start, end = expected.indptr[i], expected.indptr[i + 1]
        assert values.dtype == np.float32 and columns.dtype == np.intp
        assert columns.tolist() == expected.indices[start:end].tolist(), text
        np.testing.assert_allclose(values, expected.data[start:end], rtol=1e-6, atol=1e-7, err_msg=text)


def test_the_matrix_is_the_vectorizers_transform(matcher: Matcher, vectorizer: Any, queries: list[str]) -> None:
    assert matcher.text_classifier is not None
    texts = [normalize(text) for text in queries[:500]]
    got, want = matcher.text_classifier.row.matrix(texts), vectorizer.transform(texts)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.indptr.tolist() == want.indptr.tolist() and got.indices.tolist() == want.indices.tolist()
    np.testing.assert_allclose(got.data, want.data, rtol=1e-6, atol=1e-7)


def test_the_top_three_suggestions_are_the_same_as_with_scikit_learns_transform(
    matcher: Matcher, vectorizer: Any, queries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = random.Random(1).sample(queries, 600)
    fast = [matcher.rank(text)[:3] for text in sample]

    def _sklearn_features(classifier: TextClassifier, text: str) -> tuple[np.ndarray, np.ndarray]:
        row = vectorizer.transform([text])
        return row.data.astype(np.float32), row.indices.astype(np.intp)

    monkeypatch.setattr(TextClassifier, "_features", _sklearn_features)
    reference = [matcher.rank(text)[:3] for text in sample]
    for text, got, want in zip(sample, fast, reference, strict=True):
        assert [hit.article.id for hit in got] == [hit.article.id for hit in want], text
        assert [hit.score for hit in got] == pytest.approx([hit.score for hit in want], abs=2e-4), text


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"sublinear_tf": False},
        {"norm": "l1"},
        {"norm": None},
        {"use_idf": False},
        {"binary": True},
        {"smooth_idf": False, "dtype": np.float64},
        {"analyzer": "word"},
        {"analyzer": "char_wb", "ngram_range": (2, 4)},
    ],
)
def test_every_setting_of_the_vectorizer_is_followed(options: dict[str, object]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["where is my package", "my parcel is late late late", "i want my money back", "refund my order"]
    settings: dict[str, object] = {"analyzer": _classifier_features, "sublinear_tf": True, "dtype": np.float32}
    vectorizer = TfidfVectorizer(**{**settings, **options}).fit(texts)
    row = TfidfRow.of(vectorizer)
    for text in [*texts, "late late refund package", "nothing known here", "", "Late PARCEL, my money!"]:
        want = vectorizer.transform([text])
        values, columns = row(text)
        assert columns.tolist() == want.indices.tolist()
        np.testing.assert_allclose(values, want.data, rtol=1e-6, atol=1e-7)


def test_a_learned_wording_uses_the_same_row() -> None:
    classifier = train_text(["verify my identity", "why do you need my id"], [0, 1], 2, analyzer=str.split, c=30.0)
    assert classifier is not None
    taught = classifier.learned("verify passport", 1)
    assert taught.row.vocabulary is classifier.row.vocabulary
    assert taught.probabilities("verify passport")[1] >= 0.5
