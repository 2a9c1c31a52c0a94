"""Public intent datasets turned into a KB plus labelled queries (protocol: /work/shared/EVALUATION.md).

One intent = one article: the title is the intent name made readable, the aliases are K training
utterances picked with a fixed seed, the body is empty. Queries carry the gold article id, or None
for out-of-scope ("the right answer is no suggestion").
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.article import Article

SUPPORT_DOMAINS = ("banking", "credit_cards")
UNRELATED_DOMAINS = ("kitchen_and_dining", "home", "auto_and_commute", "utility", "small_talk")


@dataclass(frozen=True)
class Query:
    text: str
    gold: str | None  # article id; None = out of scope


@dataclass(frozen=True)
class Dataset:
    name: str
    articles: tuple[Article, ...]
    queries: tuple[Query, ...]


def readable(intent: str) -> str:
    """`card_arrival` → "Card arrival"."""
    return intent.replace("_", " ").strip().capitalize()


def _rng(seed: int, intent: str) -> random.Random:
    """One generator per intent, so adding an intent never changes another intent's picks."""
    return random.Random(f"{seed}:{intent}")


def articles_from_examples(
    examples: Iterable[tuple[str, str]], intents: Sequence[str], *, k: int, seed: int
) -> list[Article]:
    """One article per intent with `k` of its `(text, intent)` examples as aliases."""
    by_intent: dict[str, list[str]] = {intent: [] for intent in intents}
    for text, intent in examples:
        if intent in by_intent:
            by_intent[intent].append(text)
    articles = []
    for intent in intents:
        pool = by_intent[intent]
        aliases = _rng(seed, intent).sample(pool, min(k, len(pool)))
        articles.append(Article(id=intent, title=readable(intent), aliases=tuple(aliases)))
    return articles


class DatasetError(ValueError):
    """A data folder that does not have the layout the protocol needs; the message says what is missing."""


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(f"{path.name} not found in {path.parent}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from exc


def _pairs(data: dict[str, Any], key: str, source: Path) -> list[tuple[str, str]]:
    rows = data.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
        raise DatasetError(f"{source} has no list of [text, intent] pairs under '{key}'")
    return [(str(text), str(intent)) for text, intent in rows]


def load_clinc(clinc_dir: Path) -> tuple[dict[str, list[list[str]]], dict[str, list[str]]]:
    """`(data_dev.json, domains.json)` of a CLINC150 folder."""
    data = _read_json(clinc_dir / "data_dev.json")
    domains = _read_json(clinc_dir / "domains.json")
    if not isinstance(data, dict) or not isinstance(domains, dict):
        raise DatasetError(f"{clinc_dir}: data_dev.json and domains.json must hold JSON objects")
    return data, domains


def clinc_intents(domain_map: dict[str, list[str]], domains: Sequence[str] | None) -> list[str]:
    """The intents of `domains` (all domains when None), in domains.json order."""
    names = list(domain_map) if domains is None else list(domains)
    missing = [name for name in names if name not in domain_map]
    if missing:
        raise DatasetError(f"domains.json has no domain {', '.join(map(repr, missing))}")
    return [intent for name in names for intent in domain_map[name]]


def clinc_dataset(
    clinc_dir: Path,
    *,
    domains: Sequence[str] | None = SUPPORT_DOMAINS,
    k: int = 5,
    seed: int = 0,
    split: str = "val",
    oos_split: str = "oos_val",
) -> Dataset:
    """The intents of `domains` (None: all 150) as a KB, aliases from `train`; `split` utterances of those
    intents and `oos_split` as queries. `split="test"` reads `data_test.json` (keys `test`, `oos_test`)."""
    data, domain_map = load_clinc(clinc_dir)
    intents = clinc_intents(domain_map, domains)
    articles = articles_from_examples(_pairs(data, "train", clinc_dir / "data_dev.json"), intents, k=k, seed=seed)
    source = clinc_dir / "data_dev.json"
    if split == "test":
        data, source, oos_split = _read_json(clinc_dir / "data_test.json"), clinc_dir / "data_test.json", "oos_test"
    wanted = set(intents)
    queries = [Query(text, intent) for text, intent in _pairs(data, split, source) if intent in wanted]
    queries += [Query(text, None) for text, _ in _pairs(data, oos_split, source)]
    label = "all" if domains is None else "+".join(domains)
    return Dataset(f"clinc150[{label}] K={k} {split}", tuple(articles), tuple(queries))


def _read_csv(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise DatasetError(f"{path.name} not found in {path.parent}")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
            raise DatasetError(f"{path} must have the columns text,category")
        return [(row["text"], row["category"]) for row in reader]


def clinc_unrelated(clinc_dir: Path, split: str) -> list[Query]:
    """Out-of-scope queries for a banking KB: CLINC's out-of-scope split plus its unrelated domains."""
    _, domain_map = load_clinc(clinc_dir)
    name = "data_test.json" if split == "test" else "data_dev.json"
    data = _read_json(clinc_dir / name)
    unrelated = set(clinc_intents(domain_map, [d for d in UNRELATED_DOMAINS if d in domain_map]))
    queries = [Query(text, None) for text, _ in _pairs(data, f"oos_{split}", clinc_dir / name)]
    queries += [Query(text, None) for text, intent in _pairs(data, split, clinc_dir / name) if intent in unrelated]
    return queries


def banking77_dataset(
    banking_csv: Path,
    clinc_dir: Path | None,
    *,
    k: int = 5,
    seed: int = 0,
    dev_per_intent: int = 10,
    split: str = "val",
    oos_split: str | None = None,
) -> Dataset:
    """BANKING77 with a dev set carved from `train` (never used as aliases) and CLINC out-of-scope.

    The out-of-scope queries come from CLINC's `oos_split` (default: the same split as `split`).

    `split="test"` keeps the same KB and asks `test.csv` (beside `banking_csv`) instead of the dev set.
    Without a CLINC folder there are no out-of-scope queries.
    """
    rows = _read_csv(banking_csv)
    intents = list(dict.fromkeys(intent for _, intent in rows))
    by_intent: dict[str, list[str]] = {intent: [] for intent in intents}
    for text, intent in rows:
        by_intent[intent].append(text)
    articles, queries = [], []
    for intent in intents:
        pool = list(by_intent[intent])
        _rng(seed, intent).shuffle(pool)
        dev, rest = pool[:dev_per_intent], pool[dev_per_intent:]
        queries += [Query(text, intent) for text in dev]
        aliases = _rng(seed, intent).sample(rest, min(k, len(rest)))
        articles.append(Article(id=intent, title=readable(intent), aliases=tuple(aliases)))
    if split == "test":
        queries = [Query(text, intent) for text, intent in _read_csv(banking_csv.parent / "test.csv")]
    if clinc_dir is not None:
        queries += clinc_unrelated(clinc_dir, oos_split or split)
    return Dataset(f"banking77 K={k} {split}", tuple(articles), tuple(queries))
