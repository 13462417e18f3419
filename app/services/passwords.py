"""The password policy."""

from app.core.config import get_settings
from app.core.errors import InvalidRequestError

MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "123456789012",
        "1234567890",
        "qwertyuiop",
        "qwerty123456",
        "letmein12345",
        "iloveyou1234",
        "welcome12345",
        "administrator",
        "admin1234567",
        "changeme1234",
        "abc123456789",
        "trustno1trustno1",
        "dried fruits",
        "driedfruits1",
        "000000000000",
        "111111111111",
        "aaaaaaaaaaaa",
    }
)


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Refuse a password that is too short, too long, common or built from the email."""
    minimum = get_settings().PASSWORD_MIN_LENGTH
    problem: str | None = None
    if len(password) < minimum:
        problem = f"must be at least {minimum} characters long"
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    elif password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        problem = "is too common or too easy to guess"
    elif email and _contains_local_part(password, email):
        problem = "must not contain the email address"
    if problem is not None:
        raise InvalidRequestError(f"Password {problem}.", field="password")


def _contains_local_part(password: str, email: str) -> bool:
    local_part = email.split("@", 1)[0].lower()
    return len(local_part) >= 4 and local_part in password.lower()
