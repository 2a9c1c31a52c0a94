"""A kept fit of the text classifier is the fit itself: same suggestions, no scikit-learn, refitted when
anything it was fitted on changes, and a cache folder that is broken or unwritable never stops a start."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from kb.article import Article
from kb.fit_cache import KEEP, FitCache
from kb.loader import load_directory
from kb.matcher import Matcher

Hits = list[list[list[Any]]]  # per query: [article id, score] pairs
ROOT = Path(__file__).resolve().parents[2]
SAMPLE_KB = ROOT / "kb" / "sample"
QUERIES = ["I forgot my password", "where is my parcel", "refund please", "can't log in", "change my email"]

#: builds the sample KB's matcher with a fit cache in a fresh interpreter; prints its suggestions and whether
#: scikit-learn (or SciPy, which it brings) had to be imported
BUILD = """
import json, sys
from pathlib import Path
from kb.fit_cache import FitCache
from kb.loader import load_directory
from kb.matcher import Matcher
matcher = Matcher(load_directory(Path(sys.argv[1])).articles, fit_cache=FitCache(Path(sys.argv[2])))
queries = json.loads(sys.argv[3])
print(json.dumps({
    "suggestions": [[(hit.article.id, round(hit.score, 4)) for hit in matcher.suggest(query)] for query in queries],
    "fitted": "sklearn" in sys.modules or "scipy" in sys.modules,
}))
"""


def build_in_a_new_process(cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(SAMPLE_KB), str(cache), json.dumps(QUERIES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def ids(result: dict[str, object]) -> list[list[str]]:
    return [[hit[0] for hit in hits] for hits in cast(Hits, result["suggestions"])]


def scores(result: dict[str, object]) -> list[float]:
    return [hit[1] for hits in cast(Hits, result["suggestions"]) for hit in hits]


def test_a_second_start_reads_the_fit_back_without_scikit_learn_and_suggests_the_same(tmp_path: Path) -> None:
    first = build_in_a_new_process(tmp_path)
    second = build_in_a_new_process(tmp_path)
    assert first["fitted"] is True and second["fitted"] is False
    # the same articles in the same order; the scores to float noise (a kept fit's sums run in another order)
    assert ids(second) == ids(first)
    assert scores(second) == pytest.approx(scores(first), abs=1e-3)
    assert any(first["suggestions"])  # type: ignore[arg-type]  # the queries do get suggestions
    assert len(list(tmp_path.glob("kb-*.npz"))) == 1


def test_the_kept_fit_gives_the_fitted_probabilities(tmp_path: Path) -> None:
    articles = load_directory(SAMPLE_KB).articles
    fitted = Matcher(articles, fit_cache=FitCache(tmp_path)).text_classifier
    kept = Matcher(articles, fit_cache=FitCache(tmp_path)).text_classifier
    assert fitted is not None and kept is not None and kept.model is not fitted.model
    assert kept.row.vocabulary == fitted.row.vocabulary
    for query in QUERIES:
        np.testing.assert_array_equal(kept.probabilities(query), fitted.probabilities(query))


def test_a_changed_article_is_fitted_afresh(tmp_path: Path) -> None:
    articles = [
        Article(id="track", title="Track a package", aliases=("where is my package",)),
        Article(id="refund", title="Refunds", aliases=("i want my money back",)),
    ]
    Matcher(articles, fit_cache=FitCache(tmp_path))
    changed = [articles[0], articles[1].model_copy(update={"aliases": ("i want my money back", "refund my order")})]
    again = Matcher(changed, fit_cache=FitCache(tmp_path)).text_classifier
    assert again is not None and "w:order" in again.row.vocabulary  # the new alias's word: a new fit
    assert len(list(tmp_path.glob("kb-*.npz"))) == 2


def test_the_key_tells_apart_features_that_join_to_the_same_text() -> None:
    key = FitCache.key
    assert key([["a", "b"]], [0], 2, c=30.0) != key([["a\x1fb"]], [0], 2, c=30.0)
    assert key([["a"], ["b"]], [0, 1], 2, c=30.0) != key([["a", "b"]], [0], 2, c=30.0)
    assert key([["a"]], [0], 2, c=30.0) != key([["a"]], [1], 2, c=30.0) != key([["a"]], [1], 3, c=30.0)
    assert key([["a"]], [0], 2, c=30.0) == key([["a"]], np.array([0]), 2, c=30.0)


def test_an_unreadable_fit_is_fitted_again_and_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    articles = load_directory(SAMPLE_KB).articles
    Matcher(articles, fit_cache=FitCache(tmp_path))
    (kept,) = tmp_path.glob("kb-*.npz")
    kept.write_bytes(kept.read_bytes()[:100])  # a crash mid-copy, a full disk…
    with caplog.at_level(logging.INFO, logger="kb.fit_cache"):
        matcher = Matcher(articles, fit_cache=FitCache(tmp_path))
    assert matcher.suggest("I forgot my password")
    assert "fitting again" in caplog.text and kept.name in caplog.text
    assert Matcher(articles, fit_cache=FitCache(tmp_path)).text_classifier is not None  # readable again
    assert len(kept.read_bytes()) > 100


def test_an_unwritable_cache_folder_costs_one_warning_not_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="kb.fit_cache"):
        matcher = Matcher(load_directory(SAMPLE_KB).articles, fit_cache=FitCache(blocked / "threaddesk"))
    assert matcher.suggest("I forgot my password")
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        f"knowledge base: could not keep the classifier's fit in {blocked / 'threaddesk'}"
    ]


def test_only_the_most_recently_used_fits_are_kept(tmp_path: Path) -> None:
    for n in range(KEEP + 3):
        articles = [Article(id="a", title=f"Topic {n}"), Article(id="b", title="Something else entirely")]
        Matcher(articles, fit_cache=FitCache(tmp_path))
    assert len(list(tmp_path.glob("kb-*.npz"))) == KEEP
    assert not list(tmp_path.glob(".fit-*"))  # no half-written files left behind


def test_the_folder_follows_systemd_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CACHE_DIRECTORY", "/var/cache/threaddesk")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert FitCache.for_user().folder == Path("/var/cache/threaddesk")
    monkeypatch.delenv("CACHE_DIRECTORY")
    assert FitCache.for_user().folder == tmp_path / "threaddesk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert FitCache.for_user().folder == tmp_path / "home" / ".cache" / "threaddesk"
