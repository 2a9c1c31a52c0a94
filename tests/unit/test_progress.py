"""Long terminal work shows rich progress bars; the KB reports its steps; small jobs and pipes stay quiet."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from adapters.progress import ProgressBars
from kb.article import Article
from kb.loader import load_directory
from kb.matcher import Matcher


class Recorder:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int]] = []
        self.steps = 0

    def start(self, label: str, total: int) -> None:
        self.stages.append((label, total))

    def advance(self, steps: int = 1) -> None:
        self.steps += steps


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system=None), out


def test_a_long_job_draws_a_bar_to_the_end() -> None:
    console, out = terminal()
    with ProgressBars(console) as bars:
        bars.start("Exporting tickets", 250)
        for _ in range(250):
            bars.advance()
    assert "Exporting tickets" in out.getvalue() and "250/250" in out.getvalue()


def test_small_jobs_and_pipes_show_nothing() -> None:
    console, out = terminal()
    with ProgressBars(console) as bars:
        bars.start("Exporting tickets", 12)
        bars.advance(12)
    assert "Exporting" not in out.getvalue()
    piped = io.StringIO()
    with ProgressBars(Console(file=piped), min_total=1) as bars:
        bars.start("Exporting tickets", 500)
        bars.advance(500)
    assert piped.getvalue() == ""


def test_reading_a_folder_and_indexing_report_each_article(tmp_path: Path) -> None:
    for n in range(3):
        (tmp_path / f"a{n}.md").write_text(f"---\ntitle: Article {n}\n---\nBody {n}\n", encoding="utf-8")
    reading = Recorder()
    found = load_directory(tmp_path, reading)
    assert reading.stages == [("Reading articles", 3)] and reading.steps == 3 and len(found.articles) == 3
    indexing = Recorder()
    Matcher([Article(id=f"a{n}", title=f"Article {n}") for n in range(4)], progress=indexing)
    assert indexing.stages == [("Indexing the knowledge base", 4)] and indexing.steps == 4
