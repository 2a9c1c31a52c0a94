"""Whatever a person types, the desk answers with a plain sentence: never the internal-error apology.

Hypothesis writes command lines from the command table's own words mixed with hostile tokens (huge and
negative numbers, mentions, separators, control and non-ASCII characters), typed by customers, agents and
leads, in a DM, in a ticket's thread and in the queue channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.bootstrap import build_desk, open_knowledge_base
from bot.domain.commands import GROUPS, SPECS
from bot.domain.inbound import Place
from bot.domain.refs import UserRef
from bot.services.desk import Desk
from bot.storage import open_store
from tests.conftest import ALICE, BOB, CAROL, DANA, dm, make_settings, shared_matcher
from tests.fakes.clock import FakeClock

APOLOGY = "something went wrong"

WORDS = sorted({spec.name for spec in SPECS} | {"all", "open", "pending", "urgent", "high", "vip", "|", "--kb"})
TOKENS = st.one_of(
    st.sampled_from(WORDS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=0, max_value=10**25).map(lambda n: f"#{n}"),
    st.sampled_from(["<@bob>", "<@U123|bob>", "@here", "<!channel>", "@erin", "#", "##1", "0", "-1", "1e9", ""]),
    st.text(max_size=12),
)
LINES = st.one_of(
    st.builds(  # a real command with hostile arguments: most of the examples
        lambda spec, args: " ".join([f"/{spec.group}", spec.name, *args]),
        st.sampled_from(SPECS),
        st.lists(TOKENS, max_size=5),
    ),
    st.builds(  # anything at all after a group's name
        lambda group, name, args: " ".join([group, name, *args]),
        st.sampled_from([f"/{g}" for g in GROUPS] + ["/TICKET", "ticket"]),
        st.text(max_size=8),
        st.lists(TOKENS, max_size=5),
    ),
)
PEOPLE = st.sampled_from([ALICE, CAROL, BOB, DANA])


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, Desk]]:
    """One desk with two open tickets for every example (Hypothesis drives a plain function)."""
    loop = asyncio.new_event_loop()
    database = open_store(tmp_path / "fuzz.db")

    async def start() -> Desk:
        db = await database.__aenter__()
        clock = FakeClock()
        config = make_settings()
        kb = await open_knowledge_base(config, db, clock, build=shared_matcher)
        desk = build_desk(config, db, kb=kb, clock=clock)
        for customer, text in ((ALICE, "my invoice is wrong"), (CAROL, "sync is broken")):
            await desk.receive(dm(customer, text, message_id=f"open-{customer.id}"))
        return desk

    try:
        yield loop, loop.run_until_complete(start())
    finally:
        loop.run_until_complete(database.__aexit__(None, None, None))
        loop.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=LINES, who=PEOPLE, where=st.sampled_from(["dm", "ticket-thread", "queue", None]))
def test_no_command_line_gets_the_internal_error_apology(
    running: tuple[asyncio.AbstractEventLoop, Desk], line: str, who: UserRef, where: str | None
) -> None:
    loop, desk = running
    place = {
        "dm": Place(platform="test", channel=f"dm-{who.id}"),
        "ticket-thread": Place(platform="test", channel=f"dm-{who.id}", thread=f"open-{who.id}"),
        "queue": Place(platform="test", channel="queue"),
        None: None,
    }[where]
    reply = loop.run_until_complete(desk.run(who, line, place))
    assert APOLOGY not in reply.text, f"{who.id} typed {line!r} in {where}: {reply.text}"
