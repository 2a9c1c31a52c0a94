"""Read marks in memory: a conversation's mark never passes a message that is still being taken in, and marks
are written in the background, coalesced."""

from __future__ import annotations

import asyncio
import random

from adapters.read_marks import ReadMarks, decimal_order


class Recorder:
    def __init__(self) -> None:
        self.writes: list[dict[str, str]] = []
        self.fail = 0

    async def __call__(self, platform: str, marks: dict[str, str]) -> None:
        assert platform == "discord"
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database is locked")
        self.writes.append(dict(marks))


async def test_a_mark_waits_for_an_earlier_message_still_being_taken_in() -> None:
    record = Recorder()
    marks = ReadMarks(record, "discord")
    for position in ("101", "102", "103"):
        marks.begin("c", position)
    marks.finish("c", "102", write=True)  # a later message finished first (the earlier one awaits a thread)
    marks.finish("c", "103", write=True)
    assert marks.mark("c") is None
    marks.finish("c", "101", write=True)
    assert marks.mark("c") == "103"
    await marks.flush()
    assert record.writes[-1] == {"c": "103"}


async def test_chatter_moves_the_mark_without_a_write_of_its_own() -> None:
    record = Recorder()
    marks = ReadMarks(record, "discord")
    marks.begin("c", "5")
    marks.finish("c", "5", write=False)
    await marks.flush()
    assert marks.mark("c") == "5" and record.writes == []
    marks.begin("c", "6")
    marks.finish("c", "6", write=True)
    marks.begin("c", "7")
    marks.finish("c", "7", write=False)
    await marks.flush()
    assert record.writes == [{"c": "7"}]  # coalesced: the burst is one write, with the newest mark


async def test_a_failed_write_is_tried_again_with_the_next_message() -> None:
    record = Recorder()
    record.fail = 2  # the background write, and the one `flush` tries again
    marks = ReadMarks(record, "discord")
    marks.begin("c", "1")
    marks.finish("c", "1", write=True)
    await marks.flush()
    assert record.writes == []
    marks.begin("d", "2")
    marks.finish("d", "2", write=True)
    await marks.flush()
    assert record.writes == [{"c": "1", "d": "2"}]


async def test_a_first_read_starts_at_now_unless_an_older_message_is_in_flight() -> None:
    record = Recorder()
    marks = ReadMarks(record, "discord")
    marks.begin("c", "90")
    marks.start_at("c", "100")
    assert marks.mark("c") is None
    marks.finish("c", "90", write=True)
    assert marks.mark("c") == "100"
    await asyncio.sleep(0)
    await marks.flush()
    assert record.writes[-1] == {"c": "100"}


def test_positions_are_numbers_discord_ids_and_slack_timestamps() -> None:
    assert decimal_order("999") < decimal_order("1000")
    assert decimal_order("1700000000.000100") < decimal_order("1700000000.000200") < decimal_order("1700000001.0")
    assert decimal_order("1700000000.1") == decimal_order("1700000000.100000")


def test_a_burst_finishing_in_any_order_gives_the_marks_a_full_scan_gives() -> None:
    """Thousands in flight in one channel: the mark is the newest position below every unfinished one, at
    every step, as computed by scanning everything still pending (repeated positions included)."""
    rng = random.Random(5)
    marks = ReadMarks(Recorder(), "discord")
    positions = [str(1000 + rng.randrange(1500)) for _ in range(1500)]  # some begun twice
    for position in positions:
        marks.begin("c", position)
    pending, finished, expected = list(positions), set(), None
    rng.shuffle(positions)
    for position in positions:
        marks.finish("c", position, write=False)
        pending.remove(position)
        finished.add(position)
        lowest = min(map(int, pending), default=None)
        below = [p for p in finished if lowest is None or int(p) < lowest]
        if below:
            expected = max(below, key=int) if expected is None else max([expected, *below], key=int)
            finished -= set(below)
        assert marks.mark("c") == expected
    assert marks.mark("c") == max(positions, key=int)
