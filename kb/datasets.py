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


def load_clinc(clinc_dir: Path) -> tuple[dict[str, list[list[str]]], dict[str, list[str]]]:
    """`(data_dev.json, domains.json)` of a CLINC150 folder."""
    data = json.loads((clinc_dir / "data_dev.json").read_text(encoding="utf-8"))
    domains = json.loads((clinc_dir / "domains.json").read_text(encoding="utf-8"))
    return data, domains


def clinc_dataset(
    clinc_dir: Path,
    *,
    domains: Sequence[str] = SUPPORT_DOMAINS,
    k: int = 5,
    seed: int = 0,
    split: str = "val",
    oos_split: str = "oos_val",
) -> Dataset:
    """The intents of `domains` as a KB; `split` utterances of those intents and `oos_split` as queries."""
    data, domain_map = load_clinc(clinc_dir)
    intents = [intent for domain in domains for intent in domain_map[domain]]
    articles = articles_from_examples(((t, i) for t, i in data["train"]), intents, k=k, seed=seed)
    wanted = set(intents)
    queries = [Query(text, intent) for text, intent in data[split] if intent in wanted]
    queries += [Query(text, None) for text, _ in data[oos_split]]
    return Dataset(f"clinc150[{'+'.join(domains)}] K={k}", tuple(articles), tuple(queries))


def banking77_dataset(
    banking_csv: Path, clinc_dir: Path, *, k: int = 5, seed: int = 0, dev_per_intent: int = 10
) -> Dataset:
    """BANKING77 with a dev set carved from `train` (never used as aliases) and CLINC out-of-scope."""
    with banking_csv.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
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
    data, domain_map = load_clinc(clinc_dir)
    unrelated = {intent for domain in UNRELATED_DOMAINS for intent in domain_map[domain]}
    queries += [Query(text, None) for text, _ in data["oos_val"]]
    queries += [Query(text, None) for text, intent in data["val"] if intent in unrelated]
    return Dataset(f"banking77 K={k}", tuple(articles), tuple(queries))
