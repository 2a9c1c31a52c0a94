"""Bar-chart geometry for the reports page: numbers in, rectangles out; the template draws them as SVG
(no script, no external library, nothing the Content-Security-Policy has to allow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD_BOTTOM, PAD_TOP = 640, 200, 34, 16


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str
    series: int  # 0, 1 … : which series (its colour class)


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # x, text under the axis
    series: tuple[str, ...]
    maximum: float
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> int:
        return self.height - PAD_BOTTOM

    @property
    def empty(self) -> bool:
        return self.maximum == 0


def grouped(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], every: int = 1) -> Chart:
    """Bars per label, one per series side by side (created vs resolved per day; p50 vs p90)."""
    names = tuple(series)
    maximum = max((v for values in series.values() for v in values), default=0)
    slot = WIDTH / max(1, len(labels))
    bar = max(2.0, slot * 0.8 / max(1, len(names)))
    usable = HEIGHT - PAD_BOTTOM - PAD_TOP
    bars: list[Bar] = []
    for i, label in enumerate(labels):
        for j, name in enumerate(names):
            value = float(series[name][i] or 0)
            h = 0.0 if maximum == 0 else usable * value / maximum
            x = i * slot + slot * 0.1 + j * bar
            bars.append(
                Bar(round(x, 1), round(HEIGHT - PAD_BOTTOM - h, 1), round(bar, 1), round(h, 1), value, label, j)
            )
    ticks = tuple((round(i * slot + slot / 2, 1), label) for i, label in enumerate(labels) if i % every == 0)
    return Chart(title, tuple(bars), ticks, names, float(maximum))
