"""CSV cells a spreadsheet cannot run: text that would start a formula (after blanks and
invisible characters, in fullwidth form, or after a separator that some spreadsheets split
cells or lines on) gets a quote before it; text holding such a separator is quoted; numbers,
dates and all other text come back as they were."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.services.csv_writer import write_csv
from tests.support.csv_cells import TRIGGERS, dangerous, is_number, starts_formula

SEPARATORS = (";", "\t", "|")
HYPERLINK = '=HYPERLINK("http://evil.example","x")'
FULLWIDTH = "\uff1d\uff0b\uff0d\uff20"  # = + - @
SMALL = "\ufe66\ufe62\ufe63\ufe6b"  # = + - @
FORMULA_LIKE = st.sampled_from([*TRIGGERS, *FULLWIDTH, *SMALL])
BLANKS = st.text(st.sampled_from(' \t\r\n"\u00a0\u2003\u3000\u200b\u200e\ufeff\x00\x1b'))
ROWS = st.lists(st.text(), min_size=1, max_size=4)


def body_of(cells: list[str]) -> str:
    """The CSV text of one row of ``cells`` and a negative number after them."""
    columns = [f"c{index}" for index in range(len(cells))] + ["n"]
    return write_csv(columns, [{**dict(zip(columns, cells, strict=False)), "n": Decimal(-5)}])


def written(text: str) -> str:
    """The raw text of the one cell ``text`` is written as."""
    body = write_csv(["text"], [{"text": text}])
    assert body.startswith("text\n")
    assert body.endswith("\n")
    return body[len("text\n") : -1]


def read_back(text: str) -> str:
    """``text`` written to a CSV file and read back by the csv module."""
    rows = list(csv.reader(io.StringIO(write_csv(["text"], [{"text": text}]), newline="")))
    assert len(rows) == 2, rows
    assert rows[0] == ["text"]
    [cell] = rows[1]
    return cell


@given(st.text())
@example(" " + HYPERLINK)
@example("\n" + HYPERLINK)
@example("\uff1dHYPERLINK(1)")
@example("a;" + HYPERLINK)
@example("a\r\n" + HYPERLINK)
@example("\t" + HYPERLINK)
@example("")
@example('"')
@example("-5")
def test_no_part_of_a_written_cell_starts_a_formula_and_the_rest_round_trips(text: str) -> None:
    cell = read_back(text)

    assert dangerous(cell) == [], (text, cell)
    if not dangerous(text):
        assert cell == text
    else:
        assert cell.replace("'", "") == text.replace("'", "")
        assert cell.count("'") == text.count("'") + len(dangerous(text))


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (" " + HYPERLINK, "' " + HYPERLINK),
        ("\n" + HYPERLINK, "\n'" + HYPERLINK),
        ("\uff1dHYPERLINK(1)", "'\uff1dHYPERLINK(1)"),
        ("a;" + HYPERLINK, "a;'" + HYPERLINK),
        ("a | @SUM(1)", "a |' @SUM(1)"),
        ("\tplain", "'\tplain"),
        ("Dates; 5% moisture", "Dates; 5% moisture"),
        ("-5", "'-5"),
    ],
    ids=[
        "formula",
        "after-a-space",
        "after-a-line-break",
        "fullwidth",
        "after-a-semicolon",
        "after-a-pipe",
        "leading-tab",
        "harmless-semicolon",
        "negative-number-as-text",
    ],
)
def test_the_findings_are_guarded(text: str, cell: str) -> None:
    assert read_back(text) == cell


@given(BLANKS, FORMULA_LIKE, st.text())
def test_blanks_and_fullwidth_forms_do_not_hide_a_formula(
    blanks: str, start: str, rest: str
) -> None:
    text = blanks + start + rest
    cell = read_back(text)

    assert dangerous(cell) == []
    assert cell != text


@given(st.text(), st.sampled_from(SEPARATORS), st.text())
@example("a", ";", HYPERLINK)
@example("a", "|", HYPERLINK)
@example("a", "\t", HYPERLINK)
def test_a_cell_holding_another_separator_is_quoted(
    before: str, separator: str, after: str
) -> None:
    raw = written(before + separator + after)

    assert raw.startswith('"'), raw
    assert raw.endswith('"'), raw


@given(ROWS, st.sampled_from([",", *SEPARATORS]))
@example(["a;" + HYPERLINK], ";")
@example(["x", "a\n" + HYPERLINK], ";")
@example(["x", 'a;"' + HYPERLINK], ";")
def test_no_cell_starts_a_formula_whatever_a_spreadsheet_splits_on(
    cells: list[str], delimiter: str
) -> None:
    """Read with another delimiter (a spreadsheet set to ``;``), no cell is a formula either;
    only the negative number is what it is."""
    body = body_of(cells)
    for row in csv.reader(io.StringIO(body, newline=""), delimiter=delimiter):
        for cell in row:
            assert not starts_formula(cell) or is_number(cell.strip()), (body, cell)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("-5"), "-5"),
        (Decimal("-6.00"), "-6.00"),
        (Decimal("1E+3"), "1000"),
        (-5, "-5"),
        (True, "true"),
        (None, ""),
        (date(2024, 1, 2), "2024-01-02"),
        (datetime(2024, 1, 2, 3, 4, tzinfo=UTC), "2024-01-02 03:04:00+00:00"),
    ],
)
def test_numbers_and_dates_are_written_as_they_are(value: object, cell: str) -> None:
    body = write_csv(["text", "number"], [{"text": "x", "number": value}])

    assert body == f"text,number\nx,{cell}\n"


def test_a_negative_number_stays_a_number_and_text_that_looks_like_one_is_guarded() -> None:
    body = write_csv(["text", "number"], [{"text": "-5", "number": Decimal("-5")}])

    assert body == "text,number\n'-5,-5\n"
