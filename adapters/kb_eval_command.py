"""`threaddesk kb eval`: score KB suggestions on a public intent dataset (protocol: kb.protocol).

Other tools call it exactly so:

    threaddesk kb eval --dataset clinc150|banking77 --data DIR --split val|test [--k 5] [--seed 0]
                       [--subset banking_cc] [--learn] [--semantic] [--json]

`--json` prints one object: hit_at_1, hit_at_3, mrr_at_3, tie_rate, auroc, abstain_precision,
abstain_recall, false_abstain_rate, answered_hit_at_1, p50_ms, p99_ms, n_in_scope, n_out_of_scope.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import rapidfuzz
import typer
from rich.console import Console

from adapters.help import example
from adapters.progress import ProgressBars
from kb.datasets import DatasetError
from kb.eval_protocol import EvalConfig, EvalResult, notes, run
from kb.matcher import Embedder

out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


KB_EVAL_EXAMPLES = example(
    "threaddesk kb eval --dataset clinc150 --data /work/shared/data/clinc150 --split val",
    "threaddesk kb eval --dataset banking77 --data /work/shared/data/banking77 --split val --k 20 --json",
)


class DatasetChoice(StrEnum):
    clinc150 = "clinc150"
    banking77 = "banking77"


class SplitChoice(StrEnum):
    val = "val"
    test = "test"


class SubsetChoice(StrEnum):
    banking_cc = "banking_cc"


def kb_eval(
    dataset: Annotated[DatasetChoice, typer.Option(help="Which public dataset.")],
    data: Annotated[Path, typer.Option(help="The dataset's folder (layout of shared/data/<dataset>/).")],
    split: Annotated[SplitChoice, typer.Option(help="val: the dev split; test: data_test.json / test.csv.")],
    k: Annotated[int, typer.Option("--k", metavar="K", help="Authored aliases per article.")] = 5,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Seed for picking the aliases (and the BANKING77 dev set).")
    ] = 0,
    subset: Annotated[
        SubsetChoice | None, typer.Option(help="clinc150 only: banking_cc = banking + credit_cards.")
    ] = None,
    learn: Annotated[bool, typer.Option("--learn", help="Learn from the dev queries before scoring.")] = False,
    semantic: Annotated[bool, typer.Option("--semantic", help="Fuse MiniLM embeddings (needs .[semantic]).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object of metrics.")] = False,
) -> None:
    """Measure KB suggestions on a public dataset.

    hit@1/3, MRR@3, ties, abstention (threshold fixed on dev) and latency; see BENCHMARKS.md.
    """
    config = EvalConfig(
        dataset=dataset.value,
        data=data,
        split=split.value,
        k=k,
        seed=seed,
        subset=subset.value if subset else None,
        learn=learn,
    )
    if not data.is_dir():
        raise _fail(f"data folder not found: {data}")
    embedder = _embedder() if semantic else None
    try:
        with ProgressBars(err) as progress:
            result = run(config, embedder=embedder, progress=progress)
    except DatasetError as exc:
        raise _fail(str(exc)) from None
    for note in notes(config):
        err.print(f"note: {note}")
    if as_json:
        print(json.dumps(result.metrics()))
        return
    _print(result, config, semantic)


def _embedder() -> Embedder:
    from kb.semantic import SemanticUnavailable, load_embedder

    try:
        return load_embedder()
    except SemanticUnavailable as exc:
        raise _fail(str(exc)) from None


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", style="red")
    return typer.Exit(2)


def _print(result: EvalResult, config: EvalConfig, semantic: bool) -> None:
    m = result.metrics()
    scorer = "lexical + MiniLM" if semantic else "lexical"
    out.print(f"{result.name}: {result.articles} articles, K={config.k}, seed {config.seed}, body empty")
    out.print(f"scorer {scorer}; {config.scoring}; rapidfuzz {rapidfuzz.__version__}")
    out.print(
        f"hit@1 {_f(m['hit_at_1'])}  hit@3 {_f(m['hit_at_3'])}  MRR@3 {_f(m['mrr_at_3'])}"
        f"  ties {_f(m['tie_rate'])}  AUROC {_f(m['auroc'])}"
    )
    out.print(
        f"threshold {result.threshold:g} (fixed on dev): abstain precision {_f(m['abstain_precision'])}"
        f" (out-of-scope:in-scope = {m['n_out_of_scope']}:{m['n_in_scope']})"
        f"  recall {_f(m['abstain_recall'])}  false-abstain rate {_f(m['false_abstain_rate'])}"
        f"  answered hit@1 {_f(m['answered_hit_at_1'])}"
    )
    out.print(f"suggest() latency: p50 {_f(m['p50_ms'], 2)} ms  p99 {_f(m['p99_ms'], 2)} ms")
    if result.learned is not None:
        learned = result.learned
        out.print(f"learning: {learned.accepted} accepted suggestions, {learned.cited} cited by an agent")


def _f(value: float | int | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
