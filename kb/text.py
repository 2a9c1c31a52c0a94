"""Text normalisation shared by the matcher and the BM25 index.

Customers type "Can’t log-in!!", "cant login" and "CAN'T LOG IN" for the same thing, so before any
comparison text is NFKC-normalised (full-width letters, ligatures), case-folded, stripped of
apostrophes (so "can't" and "cant" agree), of invisible format characters (zero-width spaces, bidi
marks) and of all other punctuation and symbols (emoji included), and its whitespace is collapsed.
Letters, digits and combining marks of every script are kept.
"""

from __future__ import annotations

import re
import unicodedata

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


_SUFFIXES = ("ing", "ed", "es", "s")


def stem(term: str) -> str:
    """A deliberately tiny English suffix stripper ("invoices" → "invoic", "invoice" → "invoic").

    Good enough to let plural and tense variants share a BM25 term; it never has to produce a word.
    """
    if term.endswith("ies") and len(term) > 4:
        return term[:-3] + "y"
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3 and not term.endswith("ss"):
            return term[: -len(suffix)]
    return term[:-1] if term.endswith("e") and len(term) > 3 else term
