"""Money, quantities, dates, moments and number inputs in the company's locale, with Babel."""

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    parse_decimal,
)

from app.core.config import get_settings

NO_BREAK = "\u00a0"
UNIT_NAMES = {"pack": ("pack", "packs")}


@lru_cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def company_locale() -> Locale:
    """The locale of COMPANY_LOCALE."""
    return _locale(get_settings().COMPANY_LOCALE)


def money(value: Decimal | int | float, currency: str | None = None) -> str:
    """1234.5 -> €1,234.50 (en_GB) or 1.234,50 € (de_DE): two decimals and the currency."""
    return format_currency(
        Decimal(str(value)),
        currency or get_settings().CURRENCY,
        locale=company_locale(),
        currency_digits=False,
    )


def number(value: Decimal | int | float) -> str:
    """1234.5 -> 1,234.5 (en_GB) or 1.234,5 (de_DE); whole numbers without decimals."""
    exact = Decimal(str(value)).normalize()
    exact = exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact
    return format_decimal(exact, locale=company_locale(), decimal_quantization=False)


def quantity(value: Decimal | int | float, unit: str | None = None) -> str:
    """A quantity, with its unit when given: 2.5 kg, 1 pack, 3 packs."""
    shown = number(value)
    if not unit:
        return shown
    one, many = UNIT_NAMES.get(str(unit), (str(unit), str(unit)))
    return f"{shown}{NO_BREAK}{one if Decimal(str(value)) == 1 else many}"


def day(value: date | datetime | None, length: str = "medium") -> str:
    """A date in the locale's format of ``length``: 6 Dec 2026 (en_GB medium), 06.12.2026
    (de_DE medium), Sunday, 6 December 2026 (en_GB full); an instant on the company's day."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(get_settings().company_zone)
    return format_date(value, format=length, locale=company_locale())


def day_and_month(value: date) -> str:
    """A day without its year, for the labels of a chart: 6 Dec (en_GB), 6. Dez. (de_DE)."""
    return format_skeleton("MMMd", value, locale=company_locale())


def moment(value: datetime | None, seconds: bool = False) -> str:
    """An instant at the company's time, the locale's medium date and short time: 6 Dec 2026,
    14:05 (en_GB), 06.12.2026, 14:05 (de_DE), 14:05:09 with ``seconds``; naive means UTC."""
    if value is None:
        return ""
    locale = company_locale()
    pattern = _moment_pattern(locale, "medium" if seconds else "short")
    return format_datetime(value, pattern, tzinfo=get_settings().company_zone, locale=locale)


@lru_cache
def _moment_pattern(locale: Locale, time_length: str) -> str:
    """The locale's medium date and ``time_length`` time, joined the locale's way."""
    return (
        str(locale.datetime_formats["medium"])
        .replace("{1}", locale.date_formats["medium"].pattern)
        .replace("{0}", locale.time_formats[time_length].pattern)
    )


def input_text(value: object) -> str:
    """A stored value as a form field shows it: numbers the locale's way without grouping,
    so that sending the form unchanged reads them back as they were (2,5 in de_DE, not 2.500,
    which reads as two thousand five hundred there)."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        exact = Decimal(str(value)).normalize()
        exact = exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact
        return format_decimal(
            exact, locale=company_locale(), decimal_quantization=False, group_separator=False
        )
    return str(value)


def decimal_symbol() -> str:
    """The locale's decimal separator."""
    return get_decimal_symbol(company_locale())


def number_input(text: str) -> str:
    """A number typed in the locale's way (1,5 or 1.234,5 in de_DE; 1,234.5 in en_GB) as the
    schemas read it (1.5, 1234.5); text that is not such a number is left for them to refuse."""
    try:
        parsed = parse_decimal(text, locale=company_locale(), strict=True)
    except NumberFormatError:
        return text
    return format(parsed, "f")


def currency() -> str:
    """The currency's code (EUR), for labels of money fields."""
    return get_settings().CURRENCY


def currency_symbol() -> str:
    """The currency's symbol in the locale (€, £, US$), for the axis of a chart of money."""
    return get_currency_symbol(get_settings().CURRENCY, locale=company_locale())


def country(code: str) -> str:
    """A country's name (ISO code ``code``) in the company's language; the code if unknown."""
    return company_locale().territories.get(code, code) if code else ""
