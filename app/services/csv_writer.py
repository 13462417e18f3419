"""CSV text that spreadsheets open as data: no cell, nor any part of one, runs as a formula."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal

# A spreadsheet runs a cell as a formula when its text starts with one of these, also after
# blanks, invisible characters or quotes, and in their fullwidth or small forms (U+FF1D ...).
FORMULA_STARTS = frozenset("=+-@")
# Where a spreadsheet that splits lines or cells on something other than the comma starts a
# new cell: each part of a text after one of these is guarded like the start of a cell.
CELL_BREAKS = re.compile(r"([\n\r;\t|])")
# A cell holding one of these is quoted.
QUOTED = frozenset(',"\n\r;\t|')
_SKIPPED = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def write_csv(columns: list[str], records: Iterable[Mapping[str, object]]) -> str:
    """``records`` as CSV text with a header, made safe for spreadsheets."""
    lines = [_line(columns)]
    for record in records:
        unknown = set(record) - set(columns)
        if unknown:
            raise ValueError(f"Fields not among the columns: {', '.join(sorted(unknown))}")
        lines.append(_line([_text(record.get(column, "")) for column in columns]))
    return "".join(f"{line}\n" for line in lines)


def guard(text: str) -> str:
    """``text`` with a ' before its start and before each part after a line break, ``;``, tab
    or ``|`` that a spreadsheet could run as a formula; a leading tab or CR is guarded too."""
    parts = CELL_BREAKS.split(text)
    guarded = "".join("'" + part if _starts_formula(part) else part for part in parts)
    return "'" + guarded if guarded[:1] in ("\t", "\r") else guarded


def _starts_formula(part: str) -> bool:
    for char in part:
        if char == '"' or char.isspace() or unicodedata.category(char) in _SKIPPED:
            continue
        return unicodedata.normalize("NFKC", char)[:1] in FORMULA_STARTS
    return False


def _text(value: object) -> str:
    """A value as a cell's text: text guarded, numbers as written (``-5`` stays a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return guard(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return "" if value is None else str(value)


def _line(cells: list[str]) -> str:
    if cells == [""]:
        return '""'  # a row of one empty cell, told apart from a blank line
    return ",".join(
        '"' + cell.replace('"', '""') + '"' if QUOTED.intersection(cell) else cell for cell in cells
    )
