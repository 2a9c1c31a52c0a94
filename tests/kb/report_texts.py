"""Support-chat reports made up for tests of report grouping: CLINC150-like utterances — a few dozen intents,
several wordings each with interchangeable words, many function words in common across intents — plus
what real chat adds now and then: order numbers, a repeated word, shouting, emoji, a message of
punctuation only, another script. Deterministic for a seed."""

from __future__ import annotations

import random

SLOTS: dict[str, list[str]] = {
    "card": ["card", "credit card", "debit card", "visa card", "mastercard"],
    "account": ["account", "profile", "login", "user account"],
    "money": ["money", "funds", "cash", "balance"],
    "when": ["today", "yesterday", "this morning", "last week", "right now"],
    "app": ["app", "mobile app", "website", "dashboard", "site"],
    "doc": ["invoice", "receipt", "statement", "bill"],
    "place": ["paris", "the airport", "my hotel", "berlin", "the station"],
}

INTENTS: dict[str, list[str]] = {
    "login_broken": [
        "i cant log in to my {account}",
        "login fails with error 503 {when}",
        "the {app} says my password is wrong but it is not",
        "cannot sign in to the {app}, error 503",
        "why does my {account} keep logging me out",
    ],
    "card_declined": [
        "my {card} was declined {when}",
        "why was my {card} declined at the shop",
        "payment with my {card} did not go through",
        "the {card} keeps getting declined",
    ],
    "refund": [
        "how do i get a refund for my order",
        "i want my {money} back for the last order",
        "where is my refund, it has been a week",
        "refund still not received {when}",
    ],
    "export_empty": [
        "the csv export is empty",
        "exporting to csv gives me an empty file",
        "my export has no rows in it",
        "why is the exported file blank",
    ],
    "app_down": [
        "is the {app} down? nothing loads",
        "the {app} is not loading at all",
        "{app} outage, blank page {when}",
        "nothing works in the {app} {when}",
    ],
    "invite_team": [
        "how do i invite my team",
        "how can i add a colleague to my workspace",
        "inviting people to the team does not work",
        "where do i send invites to my coworkers",
    ],
    "lost_phone": [
        "i lost my phone with the authenticator app",
        "my phone was stolen and i need to get into my {account}",
        "new phone, how do i move my two factor codes",
    ],
    "sync": [
        "the {app} does not sync my boards",
        "changes on my laptop do not show up in the {app}",
        "sync is stuck since {when}",
    ],
    "delete_account": [
        "please delete my {account} and all data",
        "how do i close my {account} for good",
        "remove all my personal data please",
    ],
    "invoices": [
        "where do i find my {doc}",
        "can you send me the {doc} for march",
        "i need a copy of my last {doc}",
        "download {doc} pdf",
    ],
    "balance": [
        "what is my {money} right now",
        "how much {money} do i have",
        "show me my {money}",
        "check my {money} please",
    ],
    "transfer": [
        "how do i transfer {money} to a friend",
        "my transfer has not arrived {when}",
        "send {money} to another bank",
        "the transfer is pending since {when}",
    ],
    "travel": [
        "my flight to {place} was cancelled",
        "can i use my {card} in {place}",
        "how do i get from {place} to the city centre",
        "book a taxi to {place}",
    ],
    "pin": [
        "i forgot my {card} pin",
        "how do i change the pin of my {card}",
        "my pin is blocked after three tries",
    ],
    "exchange": [
        "what is the exchange rate for euros",
        "how much is 100 dollars in yen",
        "exchange rate fee is too high",
    ],
    "small_talk": ["hello", "thanks a lot", "are you a bot", "good morning team", "ok"],
}

FILLERS = ["please", "hi", "urgent", "help", "thanks", "asap", "again", "still", "hello there"]
ODD = [
    "!!!",
    "???",
    "🙂🙂",
    "HELP HELP HELP my {card} is blocked",
    "error error 503 503",
    "a",
    "i i i cant",
    "ПОМОГИТЕ карта не работает",
    "カードが使えません",
    "order #{n} never arrived",
    "ticket {n}: {app} crashed",
]


def _fill(template: str, rng: random.Random) -> str:
    text = template
    for slot, choices in SLOTS.items():
        while "{" + slot + "}" in text:
            text = text.replace("{" + slot + "}", rng.choice(choices), 1)
    return text.replace("{n}", str(rng.randrange(10_000, 99_999)))


def report(rng: random.Random, intent: str | None = None) -> str:
    """One report: of `intent`, or of a random one (now and then an odd message)."""
    if intent is None and rng.random() < 0.06:
        return _fill(rng.choice(ODD), rng)
    text = _fill(rng.choice(INTENTS[intent or rng.choice(sorted(INTENTS))]), rng)
    if rng.random() < 0.2:
        text = f"{rng.choice(FILLERS)} {text}" if rng.random() < 0.5 else f"{text} {rng.choice(FILLERS)}"
    if rng.random() < 0.1:
        text = text.upper()
    if rng.random() < 0.15:
        text += f" (order {rng.randrange(1000, 9999)})"
    return text


def traffic(n: int, seed: int = 0, *, bursts: int = 0) -> list[str]:
    """`n` reports of random intents, with `bursts` runs of 4–8 reports of one intent mixed in."""
    rng = random.Random(seed)
    out = [report(rng) for _ in range(n)]
    for _ in range(bursts):
        intent = rng.choice(sorted(INTENTS))
        at = rng.randrange(n)
        for k in range(rng.randint(4, 8)):
            out.insert(min(len(out), at + 2 * k), report(rng, intent))
    return out
