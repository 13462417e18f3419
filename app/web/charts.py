"""Charts as inline SVG drawn on the server: readable without JavaScript, titled, with axes."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
LEFT = 64
RIGHT = 16
TOP = 36
BOTTOM = 48
TICKS = 4


@dataclass(frozen=True)
class Point:
    """One labelled value of a chart."""

    label: str
    value: Decimal


def _nice_ceiling(value: Decimal) -> Decimal:
    """A round number at or above ``value`` for the top of the axis."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = magnitude * Decimal(str(step))
        if top >= value:
            return top
    return magnitude * 10


def _format(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _frame(title: str, unit: str, top: Decimal) -> list[str]:
    plot_height = HEIGHT - TOP - BOTTOM
    parts = [
        f'<text class="chart-title" x="{LEFT}" y="20">{escape(title)}</text>',
        f'<text class="chart-unit" x="{LEFT - 8}" y="{TOP - 8}" text-anchor="end">'
        f"{escape(unit)}</text>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
    ]
    for tick in range(TICKS + 1):
        value = top * tick / TICKS
        y = HEIGHT - BOTTOM - plot_height * tick / TICKS
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_format(value)}</text>"
        )
    return parts


def _svg(title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 (every text inside was escaped above)
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
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
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}">'
            f"{escape(point.label)}</text>"
        )
    return labels


def line_chart(title: str, unit: str, points: Sequence[Point]) -> Markup:
    """A line over ``points`` (in order), with a dot and a tooltip per point."""
    top = _nice_ceiling(max((point.value for point in points), default=Decimal(0)))
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
            f"{escape(point.label)}: {_format(point.value)} {escape(unit)}</title></circle>"
            for point, x, y in zip(points, xs, ys, strict=True)
        ]
        parts += _x_labels(points, xs)
    else:
        parts.append(_empty())
    return _svg(title, parts)


def bar_chart(title: str, unit: str, points: Sequence[Point]) -> Markup:
    """A bar per point, labelled under the axis, the value in a tooltip and above the bar."""
    top = _nice_ceiling(max((point.value for point in points), default=Decimal(0)))
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
            f'width="{width:.1f}" height="{height:.1f}"><title>{escape(point.label)}: '
            f"{_format(point.value)} {escape(unit)}</title></rect>"
        )
    parts += _x_labels(points, xs) if points else [_empty()]
    return _svg(title, parts)


def _empty() -> str:
    return (
        f'<text class="chart-empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
        'text-anchor="middle">No data in this period</text>'
    )
