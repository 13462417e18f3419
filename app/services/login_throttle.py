"""Failed logins counted per client address, and for emails that have no account;
registrations counted per client address."""

import hashlib

from app.core.config import get_settings
from app.core.counters import Count, add_count, get_count, reset_count
from app.core.errors import TooManyAttemptsError

# How long failures in a row of an email with no account are remembered (an account's are
# kept until it logs in).
FAILURE_MEMORY = 30 * 24 * 60 * 60


def check_address(address: str | None) -> None:
    """Refuse a login from ``address`` while it has too many failures in the window."""
    settings = get_settings()
    count = get_count(_address_key(address))
    if count.value >= settings.LOGIN_FAILURES_PER_ADDRESS:
        raise _too_many("failed logins", count)


def count_address_failure(address: str | None) -> None:
    """Count a failed login from ``address``."""
    add_count(_address_key(address), get_settings().LOGIN_THROTTLE_MINUTES * 60)


def unknown_email_lock(email: str) -> int | None:
    """Seconds left of the lockout of an email that has no account, or None."""
    lock = get_count(_email_key(email, "lock"))
    return lock.retry_after if lock.value else None


def count_unknown_email_failure(email: str) -> int | None:
    """Count a failed login for an email that has no account, as an account counts failures
    in a row; the seconds of the lockout it starts once there are MAX_FAILED_LOGINS."""
    settings = get_settings()
    failures = add_count(_email_key(email, "failures"), FAILURE_MEMORY, sliding=True)
    if failures.value < settings.MAX_FAILED_LOGINS:
        return None
    reset_count(_email_key(email, "failures"))
    return add_count(_email_key(email, "lock"), settings.LOCKOUT_MINUTES * 60).retry_after


def count_registration(address: str | None) -> None:
    """Count a registration from ``address``; a 429 once it is beyond
    REGISTRATIONS_PER_ADDRESS in the window."""
    settings = get_settings()
    window = settings.REGISTRATION_THROTTLE_MINUTES * 60
    count = add_count(f"register-address:{address or 'unknown'}", window)
    if count.value > settings.REGISTRATIONS_PER_ADDRESS:
        raise _too_many("registrations", count)


def _too_many(attempts: str, count: Count) -> TooManyAttemptsError:
    minutes = -(-count.retry_after // 60)
    return TooManyAttemptsError(
        f"Too many {attempts} from your address; try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}.",
        headers={"Retry-After": str(count.retry_after)},
    )


def _address_key(address: str | None) -> str:
    return f"login-address:{address or 'unknown'}"


def _email_key(email: str, kind: str) -> str:
    return f"login-email-{kind}:" + hashlib.sha256(email.encode("utf-8")).hexdigest()
