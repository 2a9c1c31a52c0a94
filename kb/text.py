"""Text normalisation shared by the matcher and the BM25 index.

Customers type "Can’t log-in!!", "cant login" and "CAN'T LOG IN" for the same thing, so before any
comparison text is NFKC-normalised (full-width letters, ligatures), case-folded, stripped of
apostrophes (so "can't" and "cant" agree), of invisible format characters (zero-width spaces, bidi
marks) and of all other punctuation and symbols (emoji included), and its whitespace is collapsed.
Letters, digits and combining marks of every script are kept.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

_APOSTROPHES = "'\u2018\u2019\u02bc\u0060\u00b4"
# Characters that vanish without leaving a word break: apostrophes and soft hyphens.
_DELETE = re.compile(f"[{_APOSTROPHES}\u00ad]")
# Fast path: everything that is neither a word character nor whitespace is a candidate for a break.
_NON_WORD = re.compile(r"[^\w\s]|_")


def _non_word(match: re.Match[str]) -> str:
    char = match.group()
    category = unicodedata.category(char)
    if category.startswith("M"):  # combining marks belong to the word (Devanagari vowel signs, …)
        return char
    if category == "Cf":  # zero-width joiners, bidi marks, BOM: invisible, so no word break either
        return ""
    return " "


def normalize(text: str) -> str:
    """Return `text` in the canonical form used for matching (may be empty)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DELETE.sub("", text)
    text = _NON_WORD.sub(_non_word, text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Split already-normalised text into terms."""
    return text.split()


def char_grams(text: str, shortest: int = 3, longest: int = 4) -> list[str]:
    """Character n-grams of each word of normalised text, the word padded with spaces (" top", "opu").

    They let "topup" meet "top up", "pasword" meet "password" and "refunded" meet "refund" where whole
    words (even stemmed) do not.
    """
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        for n in range(shortest, longest + 1):
            grams += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
    return grams


def stem(term: str) -> str:
    """The English Snowball (Porter 2) stem of one normalised term ("invoices" → "invoic").

    Lets plural, tense and derived forms share a BM25 term ("transferring", "transferred", "transfer").
    Measured on the dev splits against a five-suffix stripper it gains about 0.01 hit@1 on BANKING77 and
    cuts false abstains on the support KBs (BENCHMARKS.md). Words of other scripts pass through unchanged,
    and so do numbers — without the stemmer (~70 µs a call), whose cache they would only churn: every rule
    of Porter 2 ends in a letter.
    """
    if term.isdigit():
        return term
    return _stem_cached(term)


_local = threading.local()


@functools.lru_cache(maxsize=1 << 16)
def _stem_cached(term: str) -> str:
    # A Snowball stemmer object keeps per-call state, and indexes are built in worker threads while the
    # event loop keeps matching, so each thread gets its own.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    result: str = stemmer.stemWord(term)
    return result
