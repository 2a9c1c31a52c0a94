"""Pleasantries: "thanks!", "ok", "hello?" — messages that are not a request and should not open a ticket.

A message is a pleasantry when it is short and *every* word in it belongs to the small vocabulary of
thanking, greeting, saying goodbye or acknowledging, with at least one word that carries the intent
("thanks", "hello", "bye", "ok"). One content word ("card", "refund", "login", "broken") makes it a
request. The rule is a few set look-ups (it runs on every DM) and was fixed on CLINC150's `train` split;
its precision, recall and the share of real requests it would swallow are in BENCHMARKS.md
(`python bench/pleasantries.py`).
"""

from __future__ import annotations

import re
from enum import StrEnum


class Pleasantry(StrEnum):
    THANKS = "thanks"
    GREETING = "greeting"
    GOODBYE = "goodbye"
    ACK = "ack"


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_WORDS = 12
MAX_CHARS = 120

# words that carry the intent: a pleasantry needs one of them
_CORE: dict[Pleasantry, frozenset[str]] = {
    Pleasantry.THANKS: _set(
        "thanks thank thankyou thx thnx thanx tx ty tysm tyvm cheers appreciate appreciated grateful thankful "
        "gracias merci danke obliged kudos gratitude 🙏 ❤️ ♥️ pray"
    ),
    Pleasantry.GOODBYE: _set(
        "bye goodbye byebye bye-bye buhbye cya farewell fairwell adios ciao sayonara syonara tata later "
        "laters tootles goodnight"
    ),
    Pleasantry.GREETING: _set(
        "hi hello hey heya hiya howdy yo greetings hola bonjour aloha salutations sup hallo helo heller "
        "morning afternoon evening 👋 wave"
    ),
    Pleasantry.ACK: _set(
        "ok okay okey okie k kk alright allright cool great perfect awesome excellent noted understood gotcha "
        "👍 👌 +1 thumbsup ok_hand 🙂 😊 😀 smile slightly_smiling_face blush"
    ),
}

# phrases that carry the intent, matched on the words joined by single spaces
_PHRASES: dict[Pleasantry, tuple[str, ...]] = {
    Pleasantry.THANKS: (
        r"good (job|work|answer)",
        r"well done",
        r"(you're|youre|you are) (the best|a star|a lifesaver|awesome|amazing)",
        r"you rock",
        r"much obliged",
        r"i owe you( one)?",
        r"(that|this|it) (was|is) (very |really |so )?helpful",
        r"(you've|you have) been (a )?(big |great |huge |real )?help",
        r"(you|that) helped( me)?( a lot)?",
        r"(can't|cant|can not|cannot) thank you enough",
        r"(i )?(want|wanted|would like|need) to (say )?thank( you)?",
        r"let me thank you",
        r"that's all i need(ed)?|thats all i need(ed)?",
        r"appreciate (it|that|this|the|your|you)",
        r"merci beaucoup",
        r"(you are|you're|youre|you were|that's|thats|that is|that was|how) (so |very |really )?"
        r"(kind|nice|thoughtful|sweet|helpful|great|awesome)( of you)?",
        r"(your|the|that) (answer|reply|help|response) (was|is) (good|great|helpful|perfect|enjoyable|appreciated)",
        r"happy with (your|the|that) (answer|reply|help|response)",
    ),
    Pleasantry.GOODBYE: (
        r"see (you|ya|u)",
        r"talk (to you |to u )?(later|soon)",
        r"take care",
        r"take it easy",
        r"have a (good|nice|great) (one|day|evening|night|weekend)",
        r"catch (you|ya) (later|around)",
        r"peace out",
        r"good night",
        r"(have|got|need) to (go|run|get going)",
        r"gotta (go|run)",
        r"(i'm|im|i am) (out|off|leaving|going)( of here| now)?",
        r"(i'm|im) outta here",
        r"until next time",
        r"that's all|thats all|that is all",
        r"(say|saying) goodbye",
        r"(it was |its |it's |it is |always |was )?(really |so |very )?(nice|good|great|lovely|pleasant|fun|cool)"
        r" (to )?(talk|talking|chat|chatting|speak|speaking|converse|conversing)( to you| with you)?( again)?",
        r"(nice|good|great) (talk|chat|chatting|talking)",
        r"thanks for (chatting|talking)( to me| with me)?",
        r"(it was |its |it's |it is |always |was )?(really |so |very )?(nice|good|great|lovely|pleasant|fun|cool|"
        r"enjoyable|a pleasure) (to |having |to have )?(talk|talking|chat|chatting|speak|speaking|converse|conversing|"
        r"catch up|catching up|get in touch|a conversation|this conversation)( to you| with you)?( again)?",
        r"(enjoyed|had fun|loved|had a pleasure|a pleasure) (talking|chatting|speaking)( to you| with you)?",
        r"(nice|good|great|lovely) conversation",
        r"glad (we|i) got to (talk|chat)( to you| with you)?( again)?",
        r"(i'll|ill|we'll|i will|we will) (see|talk to) you( later| around| soon)?",
        r"(we'll|ill|i'll) talk later",
        r"(i )?(must|have to|need to|got to|gotta) say goodbye",
        r"time to say goodbye",
        r"(i've|ive|i) got to (go|run)",
        r"(i'll|ill|i will) be (leaving|going|off)",
    ),
    Pleasantry.GREETING: (
        r"how (are|r) (you|u|ya|things)",
        r"(how's|hows|how is) (it going|everything|life|your day|things|it)",
        r"how (have|ve) you been",
        r"how('ve) you been",
        r"(how're|how are) you doing",
        r"how goes it",
        r"(what's|whats|what is) (up|new|happening|going on)",
        r"wassup|wazzup",
        r"good (morning|afternoon|evening|day)",
        r"(nice|good|great) to (see|meet) you",
        r"(anyone|anybody|someone|somebody) (there|here|around)",
        r"(are|r) (you|u) there",
        r"is (anyone|anybody|someone|somebody) (there|here|around)",
        r"(just )?(wanted|want) to say (hi|hello|hey)",
        r"are you (well|ok|okay|alright|(doing|feeling) (well|ok|okay|good|fine|alright))",
        r"how do you feel",
        r"(nice|good|great|lovely) (to see|seeing) you",
        r"is everything (going )?(ok|okay|alright|well|good)",
        r"are things going (well|ok|okay|good)",
        r"have you been (good|well|ok|okay)",
        r"how (is|are) (my |the |your )?(ai|bot|assistant|you) doing",
    ),
    Pleasantry.ACK: (
        r"got it",
        r"sounds (good|great|perfect)",
        r"will do",
        r"no (problem|worries)",
        r"all (good|set)",
        r"makes sense",
        r"fair enough",
        r"that works",
        r"(that's|thats|that is) (fine|great|perfect|ok|okay)",
    ),
}
_PHRASE = {kind: re.compile(r"\b(?:" + "|".join(p) + r")\b") for kind, p in _PHRASES.items()}

# words that may stand beside the intent ("thank you so much", "hi there", "ok then")
_FILLER = _set(
    "you u ya so very much a lot lots again all guys team folks everyone everybody there "
    "really just oh ah well and too man mate friend buddy dear sir maam madam bot ai assistant "
    "kindly many good nice great day have one now soon then was is am i i'm im me my we our "
    "glad happy today wonderful super indeed sweet why it's its to i've ive"
)
# more words that may stand beside one kind only: "thanks for the help" (but "hello, help" is a request)
_KIND_FILLER: dict[Pleasantry, frozenset[str]] = {
    Pleasantry.THANKS: _set(
        "for the your that this it that's thats helpful help helping helped assistance assisting answer "
        "answers answering info information response time support quick reply letting know cooperation giving "
        "providing question everything did what out"
    ),
    Pleasantry.GOODBYE: _set("for now it was again today later around in while soon"),
    Pleasantry.GREETING: _set(
        "going doing feeling been today this day with for right now fine life treating it everything things "
        "how on how've"
    ),
    Pleasantry.ACK: _set("then"),
}

_CORE_WORDS = frozenset().union(*_CORE.values())
# every word any pleasantry may contain: a message with one word outside it is a request, found without regexes
_VOCABULARY = (
    _CORE_WORDS
    | _FILLER
    | frozenset().union(*_KIND_FILLER.values())
    | frozenset(re.findall(r"[a-z']+", " ".join(p for ps in _PHRASES.values() for p in ps)))
)

_EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
_WORD = re.compile(r"[a-z0-9'+_]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?")
_MARK = "\x00"
_REPEATS = re.compile(r"(.)\1{2,}")


def _words(text: str) -> list[str]:
    text = text.casefold().replace("’", "'")
    text = _EMOJI_CODE.sub(lambda m: f" {m.group(1)} ", text)
    return [_REPEATS.sub(r"\1", w).strip("'-_") or w for w in _WORD.findall(text)]


def detect(text: str) -> Pleasantry | None:
    """The kind of pleasantry `text` is, or None when it may be a request (then it opens a ticket)."""
    if len(text) > MAX_CHARS or "http" in text or any(ch.isdigit() for ch in text if ch not in "+1"):
        return None
    words = _words(text)
    if not words or len(words) > MAX_WORDS:
        return None
    if not all(w in _VOCABULARY for w in words):
        return None
    joined = " ".join(words)
    found: set[Pleasantry] = set()
    for kind, phrase in _PHRASE.items():
        joined, n = phrase.subn(f" {_MARK} ", joined)
        if n:
            found.add(kind)
    words = joined.split()
    found |= {kind for kind, core in _CORE.items() if any(w in core for w in words)}
    if not found:
        return None
    allowed = _FILLER.union(*(_KIND_FILLER[kind] for kind in found))
    if not all(w in _CORE_WORDS or w in allowed or w == _MARK for w in words):
        return None
    for kind in (Pleasantry.THANKS, Pleasantry.GOODBYE, Pleasantry.GREETING, Pleasantry.ACK):
        if kind in found:
            return kind
    return None
