"""The clock: the current instant in UTC and the company's calendar day."""

from datetime import UTC, date, datetime

from app.core.config import get_settings


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def today(now: datetime | None = None) -> date:
    """The calendar day in the company's time zone (COMPANY_TIMEZONE), now or at ``now``."""
    return (now or utcnow()).astimezone(get_settings().company_zone).date()
