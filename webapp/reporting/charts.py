"""Charts as geometry for server-rendered inline SVG (templates/reports/_chart.html draws them).

No JavaScript and no style attributes: positions are SVG presentation attributes, colours come
from CSS classes (static/css/reports.css: .series-0 ... .series-5). Each mark has a <title>
tooltip, and the page shows the same figures in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 34


@dataclass(frozen=True)
class Mark:
    kind: str          # rect | polyline | circle
    cls: str
    title: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    points: str = ""


@dataclass
class Chart:
    title: str
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    marks: list[Mark] = field(default_factory=list)
    yticks: list[tuple[float, str]] = field(default_factory=list)
    xlabels: list[tuple[float, str]] = field(default_factory=list)
    values: list[tuple[float, float, str]] = field(default_factory=list)   # figures above bars
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = False

    @property
    def plot(self) -> tuple[int, int, int, int]:
        return LEFT, TOP, self.width - RIGHT, self.height - BOTTOM

    @property
    def desc(self) -> str:
        return f"{self.title}（单位：{self.unit}）" if self.unit else self.title


def nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """A round top of the axis >= value, and its tick step."""
    if value <= 0:
        return 1.0, 1.0 / ticks if ticks else 1.0
    raw = value / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * mag
        if step * ticks >= value:
            break
    if step < 1 and value >= 1:
        step = 1.0
    return step * ticks, step


def _fmt(v: float | Decimal | int) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.1f}"


def _axes(chart: Chart, top: float, step: float, suffix: str = "") -> None:
    _x0, y0, _x1, y1 = chart.plot
    n = round(top / step) if step else 0
    for i in range(n + 1):
        v = step * i
        chart.yticks.append((y1 - (y1 - y0) * v / top, _fmt(v) + suffix))


def _y(chart: Chart, v: float, top: float) -> float:
    _x0, y0, _x1, y1 = chart.plot
    return round(y1 - (y1 - y0) * float(v) / top, 1)


def line_chart(title: str, unit: str, xlabels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
               title_fmt: str = "{series}年{x}：{v}") -> Chart:
    """One polyline per series over the same x labels (months)."""
    chart = Chart(title, unit)
    x0, _y0, x1, _y1 = chart.plot
    top, step = nice_max(max((max(vals, default=0) for _n, vals in series), default=0))
    _axes(chart, top, step)
    n = len(xlabels)
    xs = [round(x0 + (x1 - x0) * (i + 0.5) / n, 1) for i in range(n)]
    chart.xlabels = list(zip(xs, xlabels, strict=True))
    for i, (name, vals) in enumerate(series):
        cls = f"series-{i}"
        pts = [(xs[j], _y(chart, v, top)) for j, v in enumerate(vals)]
        chart.marks.append(Mark("polyline", f"line {cls}", f"{name}年", points=" ".join(f"{x},{y}" for x, y in pts)))
        for j, (x, y) in enumerate(pts):
            chart.marks.append(Mark("circle", f"dot {cls}", title_fmt.format(series=name, x=xlabels[j], v=vals[j]),
                                    x=x, y=y))
        chart.legend.append((cls, f"{name}年"))
    chart.empty = all(not any(vals) for _n, vals in series)
    return chart


def bar_chart(title: str, unit: str, bars: Sequence[tuple[str, float | Decimal | None]],
              top: float | None = None, suffix: str = "") -> Chart:
    """One bar per x label; None draws no bar (shown as "—")."""
    chart = Chart(title, unit)
    x0, _y0, x1, y1 = chart.plot
    vmax = max((float(v) for _l, v in bars if v is not None), default=0)
    if top is None:
        top, step = nice_max(vmax)
    else:
        step = top / 4
    _axes(chart, top, step, suffix)
    n = len(bars) or 1
    slot = (x1 - x0) / n
    for i, (label, v) in enumerate(bars):
        cx = round(x0 + slot * (i + 0.5), 1)
        chart.xlabels.append((cx, label))
        if v is None:
            chart.values.append((cx, y1 - 4, "—"))
            continue
        y = _y(chart, v, top)
        w = round(slot * 0.5, 1)
        chart.marks.append(Mark("rect", "bar series-0", f"{label}：{_fmt(v)}{suffix or unit}",
                                x=round(cx - w / 2, 1), y=y, w=w, h=round(y1 - y, 1)))
        chart.values.append((cx, y - 4, _fmt(v) + suffix))
    chart.empty = all(v is None or not v for _l, v in bars)
    return chart


def stacked_chart(title: str, unit: str, labels: Sequence[str], groups: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Stacked bars: for each x label, the groups' values one above the other."""
    chart = Chart(title, unit)
    x0, _y0, x1, _y1 = chart.plot
    totals = [sum(vals[i] for _g, vals in groups) for i in range(len(labels))]
    top, step = nice_max(max(totals, default=0))
    _axes(chart, top, step)
    n = len(labels) or 1
    slot = (x1 - x0) / n
    w = round(slot * 0.5, 1)
    for i, label in enumerate(labels):
        cx = round(x0 + slot * (i + 0.5), 1)
        chart.xlabels.append((cx, label))
        base = 0
        for g, (name, vals) in enumerate(groups):
            v = vals[i]
            if v:
                ytop, ybottom = _y(chart, base + v, top), _y(chart, base, top)
                chart.marks.append(Mark("rect", f"bar series-{g}", f"{label}：{name}{v}{unit}",
                                        x=round(cx - w / 2, 1), y=ytop, w=w, h=round(ybottom - ytop, 1)))
                base += v
        chart.values.append((cx, _y(chart, base, top) - 4, str(totals[i])))
    chart.legend = [(f"series-{g}", name) for g, (name, _v) in enumerate(groups)]
    chart.empty = not any(totals)
    return chart
