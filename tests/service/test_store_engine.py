"""The SQLite engine behind the store port: group commit, a failing unit rolled back alone, durability."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.refs import UserRef
from bot.storage import open_store
from tests.fakes.sql import sql

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.sqlite_only  # the SQLite engine itself


async def test_units_ready_together_share_one_commit_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    async with open_store(tmp_path / "desk.db") as store:
        before = store.commits  # type: ignore[attr-defined]

        async def remember(n: int) -> None:
            async with store.transaction() as uow:
                await uow.people.remember_person(UserRef(platform="t", id=f"u{n}", name=f"User {n}"), NOW)
                if n == 3:
                    raise ValueError("this unit fails")

        results = await asyncio.gather(*(remember(n) for n in range(8)), return_exceptions=True)
        assert [type(r).__name__ for r in results].count("ValueError") == 1
        assert sorted(r[0] for r in sql(store, "SELECT id FROM people")) == [f"u{n}" for n in range(8) if n != 3]
        assert store.commits - before < 8  # type: ignore[attr-defined]  # grouped, not one commit per unit


async def test_a_caller_goes_on_only_once_its_unit_is_committed(tmp_path: Path) -> None:
    async with open_store(tmp_path / "desk.db") as store:
        async with store.transaction() as uow:
            await uow.people.remember_person(UserRef(platform="t", id="u1", name="One"), NOW)
        assert sql(store, "SELECT name FROM people") == [("One",)]  # another connection sees it at once


@pytest.mark.parametrize(("asked", "pragma"), [("NORMAL", 1), ("FULL", 2)])
async def test_synchronous_is_what_the_config_asks(tmp_path: Path, asked: str, pragma: int) -> None:
    async with open_store(tmp_path / "desk.db", synchronous=asked) as store:  # type: ignore[arg-type]
        assert store._writer.execute("PRAGMA synchronous").fetchone()[0] == pragma  # type: ignore[attr-defined]


async def test_a_unit_asked_first_goes_ahead_of_the_ordinary_units_waiting(tmp_path: Path) -> None:
    """An acknowledgement's unit (`Desk.accept`) does not queue behind the handling backlog for the writer."""
    async with open_store(tmp_path / "desk.db") as store:
        turn = store._turn  # type: ignore[attr-defined]
        release, order = asyncio.Event(), []

        async def holder() -> None:
            async with store.transaction() as uow:
                await uow.people.remember_person(UserRef(platform="t", id="holder", name="Holder"), NOW)
                await release.wait()  # holds the writer's turn while the others queue
            order.append("holder")

        async def unit(name: str, *, first: bool = False) -> None:
            async with store.transaction(first=first) as uow:
                order.append(name)
                await uow.people.remember_person(UserRef(platform="t", id=name, name=name), NOW)
            # no caller goes on before the COMMIT holding its unit
            assert sql(store, "SELECT name FROM people WHERE id = ?", (name,)) == [(name,)]

        async def queued(n: int) -> None:
            while turn.waiting < n:
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(holder())]
        await queued(0)
        while not turn.locked():
            await asyncio.sleep(0)
        tasks += [asyncio.create_task(unit(f"u{n}")) for n in range(5)]
        await queued(5)
        tasks.append(asyncio.create_task(unit("ack", first=True)))
        await queued(6)
        tasks.append(asyncio.create_task(unit("u5")))
        await queued(7)
        release.set()
        await asyncio.gather(*tasks)
        assert [name for name in order if name != "holder"] == ["ack", "u0", "u1", "u2", "u3", "u4", "u5"]
        assert sorted(r[0] for r in sql(store, "SELECT id FROM people")) == sorted(
            ["holder", "ack"] + [f"u{n}" for n in range(6)]
        )


async def test_a_unit_cancelled_while_waiting_for_its_turn_does_not_hold_up_the_others(tmp_path: Path) -> None:
    async with open_store(tmp_path / "desk.db") as store:
        turn = store._turn  # type: ignore[attr-defined]
        release, done = asyncio.Event(), []

        async def unit(name: str, *, hold: bool = False, first: bool = False) -> None:
            async with store.transaction(first=first) as uow:
                await uow.people.remember_person(UserRef(platform="t", id=name, name=name), NOW)
                if hold:
                    await release.wait()
            done.append(name)

        holder = asyncio.create_task(unit("holder", hold=True))
        while not turn.locked():
            await asyncio.sleep(0)
        doomed = asyncio.create_task(unit("doomed", first=True))
        other = asyncio.create_task(unit("other"))
        while turn.waiting < 2:
            await asyncio.sleep(0)
        doomed.cancel()
        release.set()
        await asyncio.gather(holder, other)
        assert doomed.cancelled()
        # (in either order: both wait for one COMMIT, and a unit that ends after the batch's 2 ms is up
        # commits it itself and so goes on before the holder is woken)
        assert sorted(done) == ["holder", "other"]
        assert not turn.locked() and not turn.waiting


async def test_a_key_is_held_by_one_block_at_a_time_and_let_go_when_it_ends(tmp_path: Path) -> None:
    async with open_store(tmp_path / "d.db") as db:
        async with db.exclusive("digest:a") as held, db.exclusive("digest:a") as again, db.exclusive("b") as other:
            assert (held, again, other) == (True, False, True)
        with pytest.raises(RuntimeError):
            async with db.exclusive("digest:a") as held:
                assert held
                raise RuntimeError("the build failed")
        async with db.exclusive("digest:a") as held:
            assert held  # let go after the block, however it ended
