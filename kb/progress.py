"""Progress of long work (indexing a big KB, importing, evaluating), reported to whoever shows it.

The core and the KB only count; the command line draws the bars (`adapters/progress.py`).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int) -> None:
        """A new stage of `total` steps begins."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more of the current stage are done (may be called from a worker thread)."""


class NoProgress:
    """Reports nowhere: the default."""

    def start(self, label: str, total: int) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


NO_PROGRESS: Progress = NoProgress()
