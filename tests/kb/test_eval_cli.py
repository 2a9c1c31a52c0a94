"""`threaddesk kb eval` on tiny hand-made datasets in both layouts, with metrics checked by hand.

The fixture KBs have three articles whose aliases share no words, so every in-scope query below is
an exact alias of one article (top score far above anything else) and every out-of-scope query shares
no word with any article (top score far below), which makes each metric countable by hand.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from kb.eval_protocol import EvalConfig, run

ARRIVAL = ["when will my new card arrive", "my card still has not come in the post"]
TRANSFER = ["send money to a friend abroad", "how can i transfer funds"]
LIMIT = ["what is the spending limit", "raise the maximum i can spend"]
RECIPE = ["how long should pasta boil", "lasagna"]
OOS = ["who won the football game yesterday", "sing me a song about cats"]

KEYS = {
    "hit_at_1",
    "hit_at_3",
    "mrr_at_3",
    "tie_rate",
    "auroc",
    "abstain_precision",
    "abstain_recall",
    "false_abstain_rate",
    "answered_hit_at_1",
    "p50_ms",
    "p99_ms",
    "n_in_scope",
    "n_out_of_scope",
}


def _pairs(texts: list[str], intent: str) -> list[list[str]]:
    return [[text, intent] for text in texts]


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    """shared/data-like folders: clinc150/ (JSON) and banking77/ (CSV) side by side."""
    clinc = tmp_path / "clinc150"
    clinc.mkdir()
    domains = {
        "banking": ["card_arrival", "transfer"],
        "credit_cards": ["spending_limit"],
        "kitchen_and_dining": ["recipe"],
    }
    train = _pairs(ARRIVAL, "card_arrival") + _pairs(TRANSFER, "transfer") + _pairs(LIMIT, "spending_limit")
    train += _pairs(RECIPE, "recipe")
    dev: dict[str, Any] = {
        "train": train,
        "val": [
            [ARRIVAL[0], "card_arrival"],  # exact alias: rank 1
            [TRANSFER[1], "transfer"],  # rank 1
            [LIMIT[0], "spending_limit"],  # rank 1
            [ARRIVAL[1], "transfer"],  # labelled transfer, but it is card_arrival's alias: a miss
            [RECIPE[0], "recipe"],  # kitchen: in scope for all of CLINC, unrelated for BANKING77
        ],
        "oos_train": [],
        "oos_val": [[OOS[0], "oos"], [OOS[1], "oos"]],
    }
    test = {
        "test": [[TRANSFER[0], "transfer"], [LIMIT[1], "spending_limit"], [RECIPE[1], "recipe"]],
        "oos_test": [["play jazz music", "oos"]],
    }
    (clinc / "data_dev.json").write_text(json.dumps(dev))
    (clinc / "data_test.json").write_text(json.dumps(test))
    (clinc / "domains.json").write_text(json.dumps(domains))

    banking = tmp_path / "banking77"
    banking.mkdir()
    with (banking / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        # 12 rows per intent: 10 are carved out as dev queries, 2 are left for K = 2 aliases
        for intent, word in (("card_arrival", "delivery"), ("exchange_rate", "currency"), ("top_up", "topup")):
            for n in range(12):
                writer.writerow([f"{word} {word} question\nnumber {n}", intent])
    with (banking / "test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows([["delivery delivery question", "card_arrival"], ["topup topup question", "top_up"]])
    return tmp_path


def _eval(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["kb", "eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    metrics: dict[str, Any] = json.loads(result.stdout)
    assert set(metrics) == KEYS
    return metrics


def test_clinc_layout_dev_split(data: Path) -> None:
    m = _eval("--dataset", "clinc150", "--data", str(data / "clinc150"), "--split", "val", "--k", "2")
    # 5 in-scope: 4 exact aliases of their gold article, 1 exact alias of another article
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (5, 2)
    assert m["hit_at_1"] == pytest.approx(4 / 5)
    assert m["hit_at_3"] == pytest.approx(5 / 5)  # transfer comes second ("my", "money"…) or third
    assert 4 / 5 + 1 / 3 / 5 - 1e-4 <= m["mrr_at_3"] <= 4 / 5 + 1 / 2 / 5 + 1e-4
    # the threshold is fixed on this split so that ≥ 90 % of the 2 out-of-scope queries are abstained on
    assert m["abstain_recall"] == 1.0 and m["abstain_precision"] == 1.0 and m["false_abstain_rate"] == 0.0
    assert m["auroc"] == 1.0
    assert m["answered_hit_at_1"] == pytest.approx(4 / 5)
    assert m["tie_rate"] == 0.0
    assert 0 < m["p50_ms"] <= m["p99_ms"]


def test_clinc_layout_test_split_and_subset(data: Path) -> None:
    clinc = str(data / "clinc150")
    m = _eval("--dataset", "clinc150", "--data", clinc, "--split", "test", "--k", "2")
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (3, 1)
    assert m["hit_at_1"] == 1.0 and m["abstain_recall"] == 1.0 and m["false_abstain_rate"] == 0.0

    m = _eval("--dataset", "clinc150", "--data", clinc, "--split", "test", "--k", "2", "--subset", "banking_cc")
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (2, 1)  # the recipe query is not in banking + credit cards
    assert m["hit_at_1"] == 1.0 and m["mrr_at_3"] == 1.0


def test_banking77_layout_uses_clinc_beside_it_for_out_of_scope(data: Path) -> None:
    banking = str(data / "banking77")
    m = _eval("--dataset", "banking77", "--data", banking, "--split", "val", "--k", "2")
    # dev = 10 carved rows × 3 intents; out of scope = CLINC oos_val (2) + val of kitchen_and_dining (1)
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (30, 3)
    assert m["hit_at_1"] == 1.0 and m["auroc"] == 1.0 and m["abstain_recall"] == 1.0
    assert m["false_abstain_rate"] == 0.0 and m["answered_hit_at_1"] == 1.0

    m = _eval("--dataset", "banking77", "--data", banking, "--split", "test", "--k", "2")
    # test.csv (2 rows); out of scope = CLINC oos_test (1) + test of kitchen_and_dining (1)
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (2, 2)
    assert m["hit_at_1"] == 1.0 and m["abstain_precision"] == 1.0 and m["abstain_recall"] == 1.0


def test_learning_mode_on_dev_teaches_with_half_and_scores_the_other_half(data: Path) -> None:
    clinc = str(data / "clinc150")
    m = _eval("--dataset", "clinc150", "--data", clinc, "--split", "val", "--k", "2", "--learn")
    # in-scope val queries 0, 2, 4 teach; 1 (TRANSFER[1]: hit) and 3 (mislabelled: miss) are scored
    assert (m["n_in_scope"], m["n_out_of_scope"]) == (2, 2)
    assert m["hit_at_1"] == pytest.approx(1 / 2)


def test_learning_feeds_every_in_scope_dev_query_with_simulated_feedback(data: Path) -> None:
    config = EvalConfig(dataset="clinc150", data=data / "clinc150", split="test", k=1, learn=True, calls=10)
    result = run(config)
    assert result.learned is not None
    # 5 in-scope dev queries; the mislabelled one can never be accepted, so an agent cites it
    assert result.learned.accepted + result.learned.cited == 5 and result.learned.cited >= 1
    assert result.name.endswith("+learn")


def test_human_readable_output_states_the_settings(data: Path) -> None:
    args = ["kb", "eval", "--dataset", "clinc150", "--data", str(data / "clinc150"), "--split", "val"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "K=5, seed 0" in result.stdout and "threshold" in result.stdout and "rapidfuzz" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "clinc150", "--data", "{tmp}/nowhere", "--split", "val"], "data folder not found"),
        (["--dataset", "clinc150", "--data", "{tmp}/banking77", "--split", "val"], "data_dev.json not found"),
        (
            ["--dataset", "banking77", "--data", "{tmp}/banking77", "--split", "val", "--subset", "banking_cc"],
            "clinc150 only",
        ),
        (["--dataset", "clinc150", "--data", "{tmp}/clinc150", "--split", "val", "--k", "0"], "at least 1"),
    ],
)
def test_bad_input_gets_a_plain_error(data: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["kb", "eval", *(a.replace("{tmp}", str(data)) for a in args)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_banking77_test_split_without_clinc_test_data_still_scores_and_says_so(data: Path) -> None:
    (data / "clinc150" / "data_test.json").unlink()
    args = ["kb", "eval", "--dataset", "banking77", "--data", str(data / "banking77"), "--split", "test", "--k", "2"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert (metrics["n_in_scope"], metrics["n_out_of_scope"]) == (2, 3)  # CLINC's dev out-of-scope queries
    assert "has no data_test.json" in result.stderr
