"""Failed logins counted per client address, and for emails that have no account."""

import hashlib

from app.core.config import get_settings
from app.core.counters import Count, add_count, get_count
from app.core.errors import TooManyAttemptsError


def check_address(address: str | None) -> None:
    """Refuse a login from ``address`` while it has too many failures in the window."""
    settings = get_settings()
    count = get_count(_address_key(address))
    if count.value >= settings.LOGIN_FAILURES_PER_ADDRESS:
        minutes = -(-count.retry_after // 60)
        raise TooManyAttemptsError(
            f"Too many failed logins from your address; try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(count.retry_after)},
        )


def count_address_failure(address: str | None) -> None:
    """Count a failed login from ``address``."""
    add_count(_address_key(address), get_settings().LOGIN_THROTTLE_MINUTES * 60)


def unknown_email_failures(email: str) -> Count:
    """Failed logins in a row for an email that has no account, in the lockout window."""
    return get_count(_email_key(email))


def count_unknown_email_failure(email: str) -> Count:
    """Count a failed login for an email that has no account."""
    return add_count(_email_key(email), get_settings().LOCKOUT_MINUTES * 60)


def _address_key(address: str | None) -> str:
    return f"login-address:{address or 'unknown'}"


def _email_key(email: str) -> str:
    return "login-email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()
