"""How a spreadsheet sees a CSV cell: whether any part of it could start a formula."""

import unicodedata
from decimal import Decimal, InvalidOperation

# What a spreadsheet runs as a formula when a cell starts with it; NFKC folds the fullwidth
# and small forms (U+FF1D, U+FE66, ...) into these.
TRIGGERS = frozenset("=+-@")
# Skipped before the first character that counts: blanks, invisible characters, quotes.
BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Where a spreadsheet splitting on something else than the comma starts a new cell or line.
BREAKS = "\n\r;\t|"


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    for char in text:
        if char == '"' or char.isspace() or unicodedata.category(char) in BLANK_CATEGORIES:
            continue
        return unicodedata.normalize("NFKC", char)[:1] in TRIGGERS
    return False


def parts(text: str) -> list[str]:
    """``text`` cut at every character a spreadsheet may start a new cell or line at."""
    cut = [text]
    for separator in BREAKS:
        cut = [piece for part in cut for piece in part.split(separator)]
    return cut


def dangerous(text: str) -> list[str]:
    """The parts of ``text`` that a spreadsheet could run, and a leading tab or CR."""
    found = [part for part in parts(text) if starts_formula(part)]
    return [*found, "leading tab or CR"] if text[:1] in ("\t", "\r") else found


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (a number is no formula, negative or not)."""
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
