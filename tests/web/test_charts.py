"""The server-drawn SVG charts: an empty series says so, values are scaled under the top of the
axis, labels, titles and units are escaped, and the output is well-formed SVG markup."""

import itertools
import math
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from app.core.config import get_settings
from app.web.charts import (
    BOTTOM,
    FONT_SIZE,
    HEIGHT,
    LEFT,
    MAX_TURNED_BARS,
    RIGHT,
    TICKS,
    TITLE_SIZE,
    TOP,
    WIDTH,
    Measure,
    Point,
    bar_chart,
    line_chart,
)
from app.web.templating import templates
from tests.support.pages import SVG, chart_texts, parse_svg, tooltips

PLOT_TOP = TOP
PLOT_BOTTOM = HEIGHT - BOTTOM
PLOT_HEIGHT = PLOT_BOTTOM - PLOT_TOP
CHARTS = [line_chart, bar_chart]
MARKUP = '<script>alert(1)</script> & "quoted" <b>'
NBSP = "\u00a0"


@pytest.fixture
def german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings of a company in Germany."""
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")


def points(*values: str | int) -> list[Point]:
    return [Point(f"p{index}", Decimal(value)) for index, value in enumerate(values)]


def bars(chart: Markup) -> list[tuple[float, float, float, float]]:
    """(x, y, width, height) of each bar."""
    svg = parse_svg(str(chart))
    return [
        (
            float(r.attrib["x"]),
            float(r.attrib["y"]),
            float(r.attrib["width"]),
            float(r.attrib["height"]),
        )
        for r in svg.iter(f"{SVG}rect")
    ]


def dots(chart: Markup) -> list[tuple[float, float]]:
    """(x, y) of each dot of a line chart."""
    svg = parse_svg(str(chart))
    return [(float(c.attrib["cx"]), float(c.attrib["cy"])) for c in svg.iter(f"{SVG}circle")]


def axis_top(chart: Markup) -> Decimal:
    """The value written at the top of the value axis."""
    ticks = chart_texts(parse_svg(str(chart)), "tick")
    return Decimal(ticks[4].replace(",", ""))


# --------------------------------------------------------------------------- empty series


@pytest.mark.parametrize("draw", CHARTS)
def test_an_empty_series_says_there_is_no_data(draw: object) -> None:
    assert callable(draw)
    chart = draw("Revenue per day", "EUR", [])

    svg = parse_svg(str(chart))

    assert chart_texts(svg, "chart-empty") == ["No data in this period"]
    assert list(svg.iter(f"{SVG}rect")) == []
    assert list(svg.iter(f"{SVG}circle")) == []
    assert list(svg.iter(f"{SVG}polyline")) == []
    assert svg.attrib["role"] == "img"
    assert svg.findtext(f"{SVG}title") == "Revenue per day"
    assert chart_texts(svg, "chart-unit") == ["EUR"]
    assert len(list(svg.iter(f"{SVG}line"))) >= 2


@pytest.mark.parametrize("draw", CHARTS)
def test_a_series_of_zeros_is_drawn_flat_on_the_axis(draw: object) -> None:
    assert callable(draw)
    chart = draw("Orders", "orders", points(0, 0, 0))

    svg = parse_svg(str(chart))

    assert chart_texts(svg, "chart-empty") == []
    assert axis_top(chart) == 1
    for _, y in dots(chart):
        assert y == PLOT_BOTTOM
    for _, y, _, height in bars(chart):
        assert (y, height) == (PLOT_BOTTOM, 0)


# --------------------------------------------------------------------------- scaling


def test_bars_are_scaled_to_a_round_axis_top() -> None:
    chart = bar_chart("Stock", "kg", points(25, 100, 50))

    drawn = bars(chart)

    assert axis_top(chart) == 100
    assert [height for _, _, _, height in drawn] == [44.0, 176.0, 88.0]
    assert [y for _, y, _, _ in drawn] == [168.0, 36.0, 124.0]
    for _, y, _, height in drawn:
        assert y + height == pytest.approx(PLOT_BOTTOM, abs=0.1)
    assert chart_texts(parse_svg(str(chart)), "tick")[:5] == ["0", "25", "50", "75", "100"]


def test_a_line_is_scaled_under_the_axis_top() -> None:
    chart = line_chart("Revenue", "EUR", points(0, 130, 65))

    assert axis_top(chart) == 200
    assert dots(chart) == [(64.0, 212.0), (344.0, 97.6), (624.0, 154.8)]
    polyline = parse_svg(str(chart)).find(f"{SVG}polyline")
    assert polyline is not None
    assert polyline.attrib["points"] == "64.0,212.0 344.0,97.6 624.0,154.8"


@pytest.mark.parametrize(
    ("largest", "top"),
    [
        ("0.4", 1),
        ("1", 1),
        ("9.99", 10),
        ("10", 10),
        ("11", 20),
        ("24", 25),
        ("26", 50),
        ("51", 100),
        ("99.5", 100),
        ("12345.67", 20000),
        ("1000000", 1000000),
    ],
)
def test_the_axis_top_is_a_round_number_at_or_above_the_largest_value(
    largest: str, top: int
) -> None:
    assert axis_top(bar_chart("Stock", "kg", points(0, largest))) == top


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@example(values=[Decimal("0.01")])
@example(values=[Decimal("999999999.99"), Decimal(0)])
@given(
    values=st.lists(
        st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=40,
    )
)
def test_every_value_is_drawn_inside_the_plot(values: list[Decimal]) -> None:
    series = [Point(f"d{index}", value) for index, value in enumerate(values)]
    largest = max(values)

    bar = bar_chart("Stock", "kg", series)
    line = line_chart("Stock", "kg", series)

    for chart in (bar, line):
        top = axis_top(chart)
        assert top >= largest
        if largest >= 1:
            assert top <= 2 * largest
    for x, y, width, height in bars(bar):
        assert PLOT_TOP - 0.05 <= y <= PLOT_BOTTOM
        assert 0 <= height <= PLOT_HEIGHT + 0.05
        assert x >= LEFT
        assert x + width <= WIDTH - RIGHT + 0.05
    for x, y in dots(line):
        assert PLOT_TOP - 0.05 <= y <= PLOT_BOTTOM
        assert LEFT <= x <= WIDTH - RIGHT + 0.05
    tallest = max(range(len(values)), key=lambda index: values[index])
    expected = PLOT_HEIGHT * float(largest / axis_top(bar))
    assert bars(bar)[tallest][3] == pytest.approx(expected, abs=0.06)


# --------------------------------------------------------------------------- labels and text


@pytest.mark.parametrize("draw", CHARTS)
def test_labels_title_and_unit_are_escaped(draw: object) -> None:
    assert callable(draw)
    chart = draw(MARKUP, MARKUP, [Point(MARKUP, Decimal(5))])

    source = str(chart)
    svg = parse_svg(source)

    assert "<script" not in source
    assert "<b>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34; &lt;b&gt;" in source
    assert svg.attrib["aria-label"] == MARKUP
    assert svg.findtext(f"{SVG}title") == MARKUP
    assert chart_texts(svg, "chart-title") == [MARKUP]
    assert chart_texts(svg, "chart-unit") == [MARKUP]
    assert MARKUP in chart_texts(svg, "tick")
    shape = "circle" if draw is line_chart else "rect"
    assert tooltips(svg, shape) == [f"{MARKUP}: 5{NBSP}{MARKUP}"]


def test_a_chart_is_markup_a_template_does_not_escape_again() -> None:
    chart = bar_chart("Stock & more", "kg", [Point("Figs & dates", Decimal(3))])

    rendered = templates.env.from_string("<figure>{{ chart }}</figure>").render(chart=chart)

    assert isinstance(chart, Markup)
    assert rendered == f"<figure>{chart}</figure>"
    assert "&amp;amp;" not in rendered


def test_tooltips_carry_the_value_and_its_unit() -> None:
    chart = bar_chart("Stock", "kg", [Point("a", Decimal("1234.5")), Point("b", Decimal(2000))])

    assert tooltips(parse_svg(str(chart)), "rect") == [f"a: 1,234.5{NBSP}kg", f"b: 2,000{NBSP}kg"]


@pytest.mark.parametrize("count", [9, 16, 30, 31, 90])
def test_long_lines_get_at_most_eight_evenly_spread_labels_that_never_overlap(
    count: int,
) -> None:
    series = [Point(f"{index:02d} Nov", Decimal(index)) for index in range(count)]

    svg = parse_svg(str(line_chart("Revenue", "EUR", series)))

    labels = [
        (int(node.text[:2]), float(node.attrib["x"]), node.attrib["text-anchor"])
        for node in svg.iter(f"{SVG}text")
        if "tick" in node.attrib.get("class", "") and (node.text or "").endswith("Nov")
    ]
    indexes = [index for index, _, _ in labels]
    assert indexes[0] == 0
    assert 4 <= len(labels) <= 8
    assert len({b - a for a, b in itertools.pairwise(indexes)}) == 1
    xs = [x for _, x, _ in labels]
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 60
    for _, x, anchor in labels:
        assert x <= WIDTH - RIGHT
        if x > WIDTH - RIGHT - 30:
            assert anchor == "end"


def test_short_series_label_every_point() -> None:
    series = [Point(f"cat {index}", Decimal(index + 1)) for index in range(8)]

    labels = chart_texts(parse_svg(str(bar_chart("Stock", "kg", series))), "tick")

    assert [text for text in labels if text.startswith("cat")] == [p.label for p in series]


def bar_labels(svg: ET.Element) -> list[ET.Element]:
    """The labels under the bars."""
    return [
        node for node in svg.iter(f"{SVG}text") if "label" in node.attrib.get("class", "").split()
    ]


@pytest.mark.parametrize("count", [1, 8, 9, 16, 30, 31, MAX_TURNED_BARS, 90])
def test_every_bar_is_labelled_and_crowded_labels_turn_to_fit(count: int) -> None:
    series = [Point(f"{index:02d} Nov", Decimal(index)) for index in range(count)]

    svg = parse_svg(str(bar_chart("Orders", "orders", series)))

    labels = bar_labels(svg)
    texts = ["".join(node.itertext()) for node in labels]
    if count <= MAX_TURNED_BARS:
        assert texts == [p.label for p in series]
    else:  # more bars than turned labels can hold apart: every few, evenly
        assert texts == [p.label for p in series][:: math.ceil(count / len(texts))]
    xs = [float(node.attrib["x"]) for node in labels]
    slot = (WIDTH - LEFT - RIGHT) / count
    turned = [node.attrib.get("transform", "").startswith("rotate(-45") for node in labels]
    if len("00 Nov") * FONT_SIZE * 0.6 > slot - 4:
        assert all(turned)
        # Turned 45 degrees, neighbours stand a line's height apart at least.
        if len(xs) > 1:
            assert min(b - a for a, b in itertools.pairwise(xs)) * 0.7 >= FONT_SIZE - 0.01
        # The chart grows downwards to hold them: the plot keeps its place.
        assert float(svg.attrib["height"]) > HEIGHT
    else:
        assert not any(turned)
        assert float(svg.attrib["height"]) == HEIGHT


def test_long_category_names_are_turned_and_shortened_never_dropped() -> None:
    names = ["Dried apricots and peaches", "Nuts", "Figs and dates from Turkey", "Berries"]
    series = [Point(name, Decimal(index + 1)) for index, name in enumerate(names)]

    svg = parse_svg(str(bar_chart("Stock on hand by category", "kg", series)))

    labels = ["".join(node.itertext()) for node in bar_labels(svg)]
    assert len(labels) == len(names)
    for label, name in zip(labels, names, strict=True):
        assert label == name or (label.endswith("…") and name.startswith(label[:-1]))
    assert tooltips(svg, "rect")[0] == f"Dried apricots and peaches: 1{NBSP}kg"


@pytest.mark.parametrize("draw", CHARTS)
@pytest.mark.parametrize("largest", ["0", "1", "3", "5", "9", "17", "41", "123", "1234"])
def test_whole_units_get_whole_ticks(draw: object, largest: str) -> None:
    assert callable(draw)
    chart = draw("Packs on hand", "pack", points(0, largest), Measure.WHOLE)

    ticks = chart_texts(parse_svg(str(chart)), "tick")[: TICKS + 1]

    assert all(tick.replace(",", "").isdigit() for tick in ticks), ticks
    assert len(set(ticks)) == TICKS + 1
    assert Decimal(ticks[-1].replace(",", "")) >= Decimal(largest)


def test_amounts_may_have_fractional_ticks() -> None:
    ticks = chart_texts(parse_svg(str(bar_chart("Kg", "kg", points("0.4")))), "tick")
    assert ticks[:5] == ["0", "0.2", "0.5", "0.8", "1"]


@pytest.mark.parametrize("draw", CHARTS)
def test_money_tooltips_have_two_decimals_and_the_currency(draw: object) -> None:
    assert callable(draw)
    series = [Point("a", Decimal("1234.5")), Point("b", Decimal(7)), Point("c", Decimal("0.125"))]

    svg = parse_svg(str(draw("Revenue", "€", series, Measure.MONEY)))

    shape = "rect" if draw is bar_chart else "circle"
    assert tooltips(svg, shape) == ["a: €1,234.50", "b: €7.00", "c: €0.12"]


def test_packs_are_counted_in_tooltips(german: None) -> None:
    series = [Point("a", Decimal(1)), Point("b", Decimal(1200))]

    svg = parse_svg(str(bar_chart("Packs", "pack", series, Measure.WHOLE)))

    assert tooltips(svg, "rect") == [f"a: 1{NBSP}pack", f"b: 1.200{NBSP}packs"]


@pytest.mark.parametrize("draw", CHARTS)
def test_a_german_company_reads_its_charts_the_german_way(draw: object, german: None) -> None:
    assert callable(draw)
    money = parse_svg(str(draw("Revenue", "€", points("1234.5", 7), Measure.MONEY)))
    amounts = parse_svg(str(draw("Stock", "kg", points("0.4", "1234.5"))))
    small = parse_svg(str(draw("Stock", "kg", points("0.4"))))

    shape = "rect" if draw is bar_chart else "circle"
    assert tooltips(money, shape) == [f"p0: 1.234,50{NBSP}€", f"p1: 7,00{NBSP}€"]
    assert chart_texts(money, "tick")[:5] == ["0", "500", "1.000", "1.500", "2.000"]
    assert tooltips(amounts, shape) == [f"p0: 0,4{NBSP}kg", f"p1: 1.234,5{NBSP}kg"]
    assert chart_texts(small, "tick")[:5] == ["0", "0,2", "0,5", "0,8", "1"]


@pytest.mark.parametrize("draw", CHARTS)
def test_every_text_has_one_of_two_sizes_and_the_chart_its_own_width(draw: object) -> None:
    assert callable(draw)
    names = [f"A rather long label {index}" for index in range(12)]

    svg = parse_svg(str(draw("T", "kg", [Point(n, Decimal(1)) for n in names])))

    sizes = {
        node.attrib["class"].split()[0]: node.attrib["font-size"] for node in svg.iter(f"{SVG}text")
    }
    assert sizes == {
        "chart-title": str(TITLE_SIZE),
        "chart-unit": str(FONT_SIZE),
        "tick": str(FONT_SIZE),
    }
    assert svg.attrib["width"] == str(WIDTH)
