"""kb.text.stem: numbers skip the Snowball stemmer, which would return them unchanged anyway."""

from __future__ import annotations

import snowballstemmer
from hypothesis import given
from hypothesis import strategies as st

from kb.text import stem

DIGITS = st.characters(categories=["Nd", "No"]).filter(str.isdigit)


@given(st.text(DIGITS, min_size=1, max_size=12))
def test_a_number_is_its_own_stem_as_snowball_says(number: str) -> None:
    assert stem(number) == number == snowballstemmer.stemmer("english").stemWord(number)


def test_words_are_still_stemmed() -> None:
    assert [stem(w) for w in ("invoices", "transferring", "503", "2fa")] == ["invoic", "transfer", "503", "2fa"]
