"""Pleasantry detector on CLINC150: does "thanks!" stay out of the queue while real requests still open tickets?

Positives: the small-talk intents a customer sends instead of a request — `greeting`, `goodbye`, `thank_you`.
Negatives: every utterance of every other domain (banking, credit cards, travel, …), which must still open a
ticket. The other small-talk intents (`tell_joke`, `are_you_a_bot`, …) are neither: they are reported apart.
The rule (`bot.domain.pleasantry`) was fixed on `train`; `val` is reported as the figure.

Cost: CPU per message of `detect()` beside a raw ceiling measured in the same run — one exact look-up of the
casefolded message in a set of the 40 commonest pleasantries (also scored, as the naive baseline).

    python bench/pleasantries.py [--data /work/shared/data/clinc150] [--split val|train|both] [--errors]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.pleasantry import detect

POSITIVE = ("greeting", "goodbye", "thank_you")
DEFAULT_DATA = Path("/work/shared/data/clinc150")

# the naive baseline and the raw cost ceiling: the exact message, casefolded, in a short list
EXACT = frozenset(
    {
        "thanks", "thanks!", "thank you", "thank you!", "thank you so much", "thanks a lot", "thx", "ty", "ok",
        "okay", "ok thanks", "hi", "hi!", "hello", "hello!", "hello?", "hey", "hey!", "hey there", "hi there",
        "good morning", "bye", "bye!", "goodbye", "see you", "see you later", "cheers", "great, thanks",
        "thanks again", "many thanks", "much appreciated", "appreciate it", "cool", "great", "perfect",
        "got it", "noted", "awesome", "ok 👍", "👍",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Score:
    tp: int
    fn: int
    fp: int
    tn: int
    other_small_talk: int
    other_small_talk_detected: int
    misses: tuple[tuple[str, str], ...]
    swallowed: tuple[tuple[str, str], ...]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def swallow_rate(self) -> float:
        return self.fp / (self.fp + self.tn)


def score(rows: Sequence[tuple[str, str]], small_talk: set[str], is_pleasantry: Callable[[str], bool]) -> Score:
    tp = fn = fp = tn = other = other_hit = 0
    misses: list[tuple[str, str]] = []
    swallowed: list[tuple[str, str]] = []
    for text, intent in rows:
        hit = is_pleasantry(text)
        if intent in POSITIVE:
            tp, fn = tp + hit, fn + (not hit)
            if not hit:
                misses.append((intent, text))
        elif intent in small_talk:
            other, other_hit = other + 1, other_hit + hit
        else:
            fp, tn = fp + hit, tn + (not hit)
            if hit:
                swallowed.append((intent, text))
    return Score(tp, fn, fp, tn, other, other_hit, tuple(misses), tuple(swallowed))


def cpu_per_message(rows: Sequence[tuple[str, str]], is_pleasantry: Callable[[str], bool], rounds: int = 5) -> float:
    """Microseconds of process CPU per message, best of `rounds` passes over every row."""
    texts = [text for text, _ in rows]
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for text in texts:
            is_pleasantry(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the CLINC150 folder")
    parser.add_argument("--split", choices=("val", "train", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list every miss and every swallowed request")
    args = parser.parse_args(argv)
    try:
        data = json.loads((args.data / "data_dev.json").read_text(encoding="utf-8"))
        domains = json.loads((args.data / "domains.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read CLINC150 from {args.data}: {exc}", file=sys.stderr)
        return 2
    small_talk = set(domains["small_talk"])
    print(f"positives: {', '.join(POSITIVE)}; negatives: every intent outside small_talk; rule fixed on train")
    splits = ("train", "val") if args.split == "both" else (args.split,)
    for split in splits:
        rows = [(text, intent) for text, intent in data[split]]
        for name, detector in (("detect()", lambda t: detect(t) is not None), ("exact list", _exact)):
            s = score(rows, small_talk, detector)
            print(
                f"{split:5} {name:10}  precision {s.precision:.3f}  recall {s.recall:.3f}"
                f"  ({s.tp}/{s.tp + s.fn})  swallowed {s.fp}/{s.fp + s.tn} = {100 * s.swallow_rate:.2f} %"
                f"  other small talk caught {s.other_small_talk_detected}/{s.other_small_talk}"
            )
            if args.errors and name == "detect()":
                for intent, text in s.swallowed:
                    print(f"    swallowed [{intent}] {text}")
                for intent, text in s.misses:
                    print(f"    missed    [{intent}] {text}")
        cost = cpu_per_message(rows, lambda t: detect(t) is not None)
        ceiling = cpu_per_message(rows, _exact)
        print(f"{split:5} CPU per message: detect() {cost:.1f} µs · exact-list ceiling {ceiling:.2f} µs")
    return 0


def _exact(text: str) -> bool:
    return text.strip().casefold() in EXACT


if __name__ == "__main__":
    sys.exit(main())
