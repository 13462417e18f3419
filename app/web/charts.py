"""Charts as inline SVG drawn on the server: readable without JavaScript, titled, with axes."""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from app.core.formatting import money, number, quantity

WIDTH = 640
HEIGHT = 260
LEFT = 64
RIGHT = 16
TOP = 36
BOTTOM = 48
TICKS = 4
# One text size on every chart of every page (SVG units; the chart is drawn at WIDTH px wide,
# narrower only on a narrow screen).
FONT_SIZE = 11
TITLE_SIZE = 13
# Roughly how wide one character of a label is, to decide when labels must turn.
CHAR_WIDTH = FONT_SIZE * 0.6
LABEL_CHARS = 18
# Turned 45 degrees, labels a slot apart stand slot x TURN apart: one line's height at least.
TURN = 0.7
MAX_TURNED_BARS = int((WIDTH - LEFT - RIGHT) * TURN / FONT_SIZE)


class Measure(enum.StrEnum):
    """What the values count: money (tooltips to the cent), whole units, or an amount."""

    MONEY = "money"
    WHOLE = "whole"
    AMOUNT = "amount"


@dataclass(frozen=True)
class Point:
    """One labelled value of a chart."""

    label: str
    value: Decimal


def _nice_ceiling(value: Decimal, measure: Measure = Measure.AMOUNT) -> Decimal:
    """A round number at or above ``value`` for the top of the axis; for whole units, one
    whose every tick is a whole number."""
    if measure is Measure.WHOLE:
        tick = Decimal(max(1, math.ceil(value / TICKS)))
        if tick > 10:
            tick = _nice_ceiling(tick).to_integral_value(rounding="ROUND_CEILING")
        return tick * TICKS
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = magnitude * Decimal(str(step))
        if top >= value:
            return top
    return magnitude * 10


def _tick(value: Decimal) -> str:
    """An axis value in the locale's way, to a tenth at most: 1,250 or 0.2 (en_GB), 1.250 or
    0,2 (de_DE)."""
    return number(value.quantize(Decimal("0.1")))


def _tip(point: Point, unit: str, measure: Measure) -> str:
    """A point's tooltip as the pages write its value: money with its currency to the cent,
    anything else with its unit."""
    value = money(point.value) if measure is Measure.MONEY else quantity(point.value, unit)
    return f"{escape(point.label)}: {escape(value)}"


def _text(css_class: str, x: float, y: float, body: str, anchor: str = "start") -> str:
    size = TITLE_SIZE if css_class == "chart-title" else FONT_SIZE
    return (
        f'<text class="{css_class}" x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
        f'text-anchor="{anchor}">{body}</text>'
    )


def _frame(title: str, unit: str, top: Decimal) -> list[str]:
    plot_height = HEIGHT - TOP - BOTTOM
    parts = [
        _text("chart-title", LEFT, 20, str(escape(title))),
        _text("chart-unit", LEFT - 8, TOP - 8, str(escape(unit)), "end"),
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
    ]
    for tick in range(TICKS + 1):
        value = top * tick / TICKS
        y = HEIGHT - BOTTOM - plot_height * tick / TICKS
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
            + _text("tick", LEFT - 6, y + 4, _tick(value), "end")
        )
    return parts


def _svg(title: str, parts: list[str], height: float = HEIGHT) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 (every text inside was escaped above)
        f'<svg class="chart" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _x_labels(points: Sequence[Point], xs: list[float]) -> list[str]:
    """Labels under the axis, every few points so that none overlaps another or the edge."""
    every = max(1, -(-len(points) // 8))
    labels = []
    for index, (point, x) in enumerate(zip(points, xs, strict=True)):
        if index % every:
            continue
        anchor = "end" if x > WIDTH - RIGHT - 30 else "middle"
        labels.append(
            _text("tick label", x, HEIGHT - BOTTOM + 16, str(escape(point.label)), anchor)
        )
    return labels


def _bar_labels(points: Sequence[Point], xs: list[float], slot: float) -> tuple[list[str], float]:
    """A label under every bar, turned 45 degrees when they would not fit side by side (and
    under every few bars only past MAX_TURNED_BARS, where even turned ones would overlap);
    the labels and the height the chart needs for them."""
    longest = max(len(point.label) for point in points)
    if longest * CHAR_WIDTH <= slot - 4:
        labels = [
            _text("tick label", x, HEIGHT - BOTTOM + 16, str(escape(point.label)), "middle")
            for point, x in zip(points, xs, strict=True)
        ]
        return labels, HEIGHT
    every = math.ceil(FONT_SIZE / (slot * TURN))
    y = HEIGHT - BOTTOM + 12
    labels = []
    for index, (point, x) in enumerate(zip(points, xs, strict=True)):
        if index % every:
            continue
        shown = point.label
        if len(shown) > LABEL_CHARS:
            shown = shown[: LABEL_CHARS - 1] + "…"
        labels.append(
            f'<text class="tick label turned" x="{x:.1f}" y="{y}" font-size="{FONT_SIZE}" '
            f'text-anchor="end" transform="rotate(-45 {x:.1f} {y})">{escape(shown)}</text>'
        )
    reach = min(longest, LABEL_CHARS) * CHAR_WIDTH * TURN + FONT_SIZE
    return labels, y + reach + 4


def line_chart(
    title: str, unit: str, points: Sequence[Point], measure: Measure = Measure.AMOUNT
) -> Markup:
    """A line over ``points`` (in order), with a dot and a tooltip per point."""
    top = _nice_ceiling(max((point.value for point in points), default=Decimal(0)), measure)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / max(1, len(points) - 1)
    xs = [LEFT + step * index for index in range(len(points))]
    ys = [HEIGHT - BOTTOM - float(point.value / top) * plot_height for point in points]
    parts = _frame(title, unit, top)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(f'<polyline class="series" points="{path}"/>')
        parts += [
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>'
            f"{_tip(point, unit, measure)}</title></circle>"
            for point, x, y in zip(points, xs, ys, strict=True)
        ]
        parts += _x_labels(points, xs)
    else:
        parts.append(_empty())
    return _svg(title, parts)


def bar_chart(
    title: str, unit: str, points: Sequence[Point], measure: Measure = Measure.AMOUNT
) -> Markup:
    """A bar per point, each labelled under the axis, the value in a tooltip."""
    top = _nice_ceiling(max((point.value for point in points), default=Decimal(0)), measure)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(points))
    width = slot * 0.7
    parts = _frame(title, unit, top)
    xs = []
    for index, point in enumerate(points):
        height = float(point.value / top) * plot_height
        x = LEFT + slot * index + (slot - width) / 2
        xs.append(x + width / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}"><title>'
            f"{_tip(point, unit, measure)}</title></rect>"
        )
    if not points:
        return _svg(title, [*parts, _empty()])
    labels, chart_height = _bar_labels(points, xs, slot)
    return _svg(title, parts + labels, chart_height)


def _empty() -> str:
    return _text("chart-empty", WIDTH / 2, HEIGHT / 2, "No data in this period", "middle")
