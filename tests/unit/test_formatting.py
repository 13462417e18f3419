"""Money, quantities, dates and typed numbers in the company's locale (en_GB and de_DE), and
the settings that choose the locale and the currency."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.core import formatting
from app.core.config import Settings, get_settings
from app.schemas.purchasing import PurchaseCreate
from app.web.forms import numbers_read, parse

NBSP = "\u00a0"


@pytest.fixture
def german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings of a company in Germany."""
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), "€1,234.50"),
        (Decimal("0"), "€0.00"),
        (Decimal("3.456"), "€3.46"),
        (7, "€7.00"),
        (Decimal("-12.3"), "-€12.30"),
    ],
)
def test_money_in_en_gb_has_two_decimals_and_the_euro(value: Decimal, shown: str) -> None:
    assert formatting.money(value) == shown


@pytest.mark.usefixtures("german")
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), f"1.234,50{NBSP}€"),
        (Decimal("0.1"), f"0,10{NBSP}€"),
        (Decimal("1000000"), f"1.000.000,00{NBSP}€"),
    ],
)
def test_money_in_de_de_puts_the_euro_after(value: Decimal, shown: str) -> None:
    assert formatting.money(value) == shown


def test_money_names_the_configured_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "CURRENCY", "GBP")

    assert formatting.money(Decimal("5")) == "£5.00"
    assert formatting.currency() == "GBP"


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (Decimal("1234.500"), None, "1,234.5"),
        (Decimal("2.000"), "kg", f"2{NBSP}kg"),
        (Decimal("0.125"), "kg", f"0.125{NBSP}kg"),
        (Decimal("1"), "pack", f"1{NBSP}pack"),
        (Decimal("12"), "pack", f"12{NBSP}packs"),
        (Decimal("-3.5"), "kg", f"-3.5{NBSP}kg"),
    ],
)
def test_quantities_in_en_gb_show_their_unit(value: Decimal, unit: str | None, shown: str) -> None:
    assert formatting.quantity(value, unit) == shown


@pytest.mark.usefixtures("german")
def test_quantities_in_de_de_use_the_decimal_comma() -> None:
    assert formatting.quantity(Decimal("1234.500"), "kg") == f"1.234,5{NBSP}kg"
    assert formatting.quantity(Decimal("1000")) == "1.000"


def test_dates_use_the_locales_medium_format(monkeypatch: pytest.MonkeyPatch) -> None:
    assert formatting.day(date(2026, 12, 6)) == "6 Dec 2026"
    assert formatting.day(datetime(2026, 3, 1, 23, 30)) == "1 Mar 2026"
    assert formatting.day(date(2026, 12, 6), "full") == "Sunday, 6 December 2026"
    assert formatting.day(None) == ""

    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")

    assert formatting.day(date(2026, 12, 6)) == "06.12.2026"


@pytest.mark.parametrize(
    ("typed", "read"),
    [("1,234.5", "1234.5"), ("2.5", "2.5"), ("12", "12"), ("-0.75", "-0.75")],
)
def test_en_gb_reads_typed_numbers_with_grouping(typed: str, read: str) -> None:
    assert formatting.number_input(typed) == read


@pytest.mark.parametrize("typed", ["1,5", "abc", "1.2.3", ""])
def test_en_gb_leaves_a_decimal_comma_for_the_schema_to_refuse(typed: str) -> None:
    assert formatting.number_input(typed) == typed


@pytest.mark.usefixtures("german")
@pytest.mark.parametrize(
    ("typed", "read"),
    [("2,5", "2.5"), ("1.234,5", "1234.5"), ("-0,75", "-0.75"), ("1.000", "1000"), ("7", "7")],
)
def test_de_de_reads_decimal_commas(typed: str, read: str) -> None:
    assert formatting.number_input(typed) == read


@pytest.mark.usefixtures("german")
def test_de_de_forms_read_number_fields_only_including_table_lines() -> None:
    values = {
        "supplier_id": "3",
        "warehouse_id": "4",
        "notes": "1,5 t",
        "lines": [{"product_id": "7", "quantity": "2,5", "unit_cost": "1.234,56"}],
    }

    assert numbers_read(PurchaseCreate, values) == {
        "supplier_id": "3",
        "warehouse_id": "4",
        "notes": "1,5 t",
        "lines": [{"product_id": "7", "quantity": "2.5", "unit_cost": "1234.56"}],
    }
    body, errors = parse(PurchaseCreate, values)
    assert errors == {}
    assert body is not None
    assert body.lines[0].quantity == Decimal("2.5")


def test_en_gb_forms_refuse_a_decimal_comma_in_plain_words() -> None:
    values = {
        "supplier_id": "3",
        "warehouse_id": "4",
        "lines": [{"product_id": "7", "quantity": "1,5"}],
    }

    body, errors = parse(PurchaseCreate, values)

    assert body is None
    assert errors == {"lines.0.quantity": "Enter the quantity as a number, such as 12.5."}


@pytest.mark.parametrize(
    ("locale", "stored"), [("de_DE", "de_DE"), ("de-DE", "de_DE"), ("en_GB", "en_GB"), ("fr", "fr")]
)
def test_a_known_locale_is_taken(locale: str, stored: str) -> None:
    assert stored == Settings(_env_file=None, COMPANY_LOCALE=locale).COMPANY_LOCALE


@pytest.mark.parametrize("locale", ["xx_YY", "german", ""])
def test_an_unknown_locale_stops_the_start(locale: str) -> None:
    with pytest.raises(ValueError, match=r"COMPANY_LOCALE[\s\S]*locale such as en_GB"):
        Settings(_env_file=None, COMPANY_LOCALE=locale)


def test_the_defaults_are_en_gb_and_the_euro(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPANY_LOCALE", raising=False)
    monkeypatch.delenv("CURRENCY", raising=False)

    settings = Settings(_env_file=None)

    assert (settings.COMPANY_LOCALE, settings.CURRENCY) == ("en_GB", "EUR")


def test_a_currency_is_an_iso_code() -> None:
    assert Settings(_env_file=None, CURRENCY="usd").CURRENCY == "USD"
    with pytest.raises(ValueError, match=r"CURRENCY[\s\S]*ISO 4217"):
        Settings(_env_file=None, CURRENCY="EURO")


def test_an_instant_is_dated_on_the_companys_day(monkeypatch: pytest.MonkeyPatch) -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)

    assert formatting.day(late) == "6 Dec 2026"

    monkeypatch.setattr(get_settings(), "COMPANY_TIMEZONE", "Europe/Istanbul")

    assert formatting.day(late) == "7 Dec 2026"


def test_moments_use_the_locales_medium_date_and_short_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = datetime(2026, 12, 6, 14, 5, 9, tzinfo=UTC)

    assert formatting.moment(at) == "6 Dec 2026, 14:05"
    assert formatting.moment(at, seconds=True) == "6 Dec 2026, 14:05:09"
    assert formatting.moment(None) == ""

    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")

    assert formatting.moment(at) == "06.12.2026, 14:05"
    assert formatting.moment(at, seconds=True) == "06.12.2026, 14:05:09"


@pytest.mark.parametrize(
    ("locale", "zone", "shown"),
    [
        ("en_GB", "UTC", "6 Dec 2026, 23:30"),
        ("en_GB", "Europe/Istanbul", "7 Dec 2026, 02:30"),
        ("en_GB", "America/New_York", "6 Dec 2026, 18:30"),
        ("de_DE", "Europe/Berlin", "07.12.2026, 00:30"),
    ],
)
def test_a_moment_aware_or_naive_utc_is_shown_at_the_companys_time(
    monkeypatch: pytest.MonkeyPatch, locale: str, zone: str, shown: str
) -> None:
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", locale)
    monkeypatch.setattr(get_settings(), "COMPANY_TIMEZONE", zone)
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)

    assert formatting.moment(late) == shown
    assert formatting.moment(late.replace(tzinfo=None)) == shown
    assert formatting.moment(late.astimezone(ZoneInfo("Asia/Tokyo"))) == shown


def test_chart_labels_are_days_and_currency_symbols_of_the_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (formatting.day_and_month(date(2026, 12, 6)), formatting.currency_symbol()) == (
        "6 Dec",
        "€",
    )

    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")
    monkeypatch.setattr(get_settings(), "CURRENCY", "GBP")

    assert (formatting.day_and_month(date(2026, 12, 6)), formatting.currency_symbol()) == (
        "6. Dez.",
        "£",
    )
