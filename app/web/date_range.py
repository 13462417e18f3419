"""The date range a page filters by, read from its query: a date that cannot be read, a range
that ends before it starts or runs too long is told beside its field, and the page still shows."""

from dataclasses import dataclass, field
from datetime import date

from babel.dates import parse_date

from app.core import clock, formatting

LABELS = {"since": "from", "until": "to"}


@dataclass(frozen=True)
class DateRange:
    """The dates asked for (None when not given or not readable), the text typed for each, and
    what is wrong with each field."""

    since: date | None = None
    until: date | None = None
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def read_date(text: str) -> date | None:
    """A date as a date field sends it (2026-12-06) or as typed the locale's way; else None."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parse_date(text, locale=formatting.company_locale())
    except (ValueError, IndexError):
        return None


def read_range(since: str, until: str, longest_days: int | None = None) -> DateRange:
    """The range of the ``since`` and ``until`` texts; ``longest_days`` caps its length."""
    typed = {"since": since, "until": until}
    dates: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    example = clock.today().isoformat()
    for name, text in typed.items():
        dates[name] = read_date(text) if text else None
        if text and dates[name] is None:
            errors[name] = f"Enter the {LABELS[name]} date as a date, such as {example}."
    first, last = dates["since"], dates["until"]
    if first and last and last < first:
        errors["until"] = "The to date cannot be before the from date."
    elif first and last and longest_days and (last - first).days >= longest_days:
        errors["since"] = (
            f"Choose at most {longest_days} days: a later from date or an earlier to date."
        )
    if errors:
        return DateRange(typed=typed, errors=errors)
    return DateRange(first, last, typed)
