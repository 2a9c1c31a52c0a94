"""The pleasantry rule: short thanks, greetings, goodbyes and acknowledgements; never a real request."""

from __future__ import annotations

import pytest

from bot.domain.pleasantry import Pleasantry, detect


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("thanks!", Pleasantry.THANKS),
        ("Thank you so much!!!", Pleasantry.THANKS),
        ("thx", Pleasantry.THANKS),
        ("great, thanks a lot", Pleasantry.THANKS),
        ("thanks for the help 🙏", Pleasantry.THANKS),
        ("ok", Pleasantry.ACK),
        ("Okay 👍", Pleasantry.ACK),
        (":+1:", Pleasantry.ACK),
        ("got it", Pleasantry.ACK),
        ("hello?", Pleasantry.GREETING),
        ("Helloooo??", Pleasantry.GREETING),
        ("hello? anyone there?", Pleasantry.GREETING),
        ("good morning team", Pleasantry.GREETING),
        ("bye!", Pleasantry.GOODBYE),
        ("see you later", Pleasantry.GOODBYE),
    ],
)
def test_pleasantries(text: str, kind: Pleasantry) -> None:
    assert detect(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "hi, my card was declined",
        "thanks, but it still doesn't work",
        "thanks i need help",
        "hello help",
        "hi can you help me",
        "ok so my login fails",
        "no thanks",
        "Thanks. Also, how do I export data?",
        "thanks, order 4411 never arrived",
        "help",
        "not working",
        "Any update?",
        "",
    ],
)
def test_requests_are_not_pleasantries(text: str) -> None:
    assert detect(text) is None
