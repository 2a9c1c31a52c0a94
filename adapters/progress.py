"""Rich progress bars on stderr for long terminal work: `kb import` and `export` of many items, `kb eval`,
and the first index build of a large knowledge base. Small jobs and non-terminals show nothing."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class ProgressBars:
    """A `kb.progress.Progress` drawn with rich. Use as a context manager; each `start` adds a bar."""

    def __init__(self, console: Console, *, min_total: int = 100) -> None:
        self.console = console
        self.min_total = min_total
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBars:
        self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._bars.stop()

    def start(self, label: str, total: int) -> None:
        self._task = self._bars.add_task(label, total=total) if total >= self.min_total else None

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, steps)
