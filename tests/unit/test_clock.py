"""The clock: "today" is the calendar day of COMPANY_TIMEZONE, checked at fixed instants."""

from datetime import UTC, date, datetime

import pytest

from app.core import clock
from app.core.config import Settings

BEFORE_MIDNIGHT = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 15, 0, 30, tzinfo=UTC)


def company_in(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    """The clock reads settings whose COMPANY_TIMEZONE is ``zone``."""
    settings = Settings(_env_file=None, COMPANY_TIMEZONE=zone)
    monkeypatch.setattr(clock, "get_settings", lambda: settings)


@pytest.mark.parametrize(
    ("zone", "instant", "day"),
    [
        ("UTC", BEFORE_MIDNIGHT, date(2026, 3, 14)),
        ("Europe/Istanbul", BEFORE_MIDNIGHT, date(2026, 3, 15)),
        ("Asia/Tokyo", BEFORE_MIDNIGHT, date(2026, 3, 15)),
        ("America/New_York", BEFORE_MIDNIGHT, date(2026, 3, 14)),
        ("UTC", AFTER_MIDNIGHT, date(2026, 3, 15)),
        ("Europe/Istanbul", AFTER_MIDNIGHT, date(2026, 3, 15)),
        ("America/New_York", AFTER_MIDNIGHT, date(2026, 3, 14)),
    ],
)
def test_today_is_the_day_in_the_company_time_zone(
    monkeypatch: pytest.MonkeyPatch, zone: str, instant: datetime, day: date
) -> None:
    company_in(monkeypatch, zone)
    assert clock.today(instant) == day


def test_today_without_an_instant_reads_the_utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    company_in(monkeypatch, "Europe/Istanbul")
    monkeypatch.setattr(clock, "utcnow", lambda: BEFORE_MIDNIGHT)
    assert clock.today() == date(2026, 3, 15)


def test_company_time_zone_defaults_to_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPANY_TIMEZONE", raising=False)
    settings = Settings(_env_file=None)
    assert settings.COMPANY_TIMEZONE == "UTC"
    assert settings.company_zone is UTC


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "Europe", "", "../etc/passwd", "/UTC"])
def test_unknown_time_zone_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("COMPANY_TIMEZONE", zone)
    with pytest.raises(ValueError, match=r"COMPANY_TIMEZONE[\s\S]*IANA time zone name"):
        Settings(_env_file=None)
