"""The password policy: long enough, not too long, and hard to guess."""

from typing import NoReturn

from app.core.config import get_settings
from app.core.errors import InvalidRequestError

MAX_PASSWORD_LENGTH = 128
MIN_STRENGTH = 3  # zxcvbn score 0-4; 3 resists an offline attack on a slow hash
# zxcvbn refuses longer passwords (its matching grows fast with the length); the rest of a
# longer one can only make it harder to guess.
STRENGTH_CHECKED_LENGTH = 72
PRODUCT_WORDS = ["dried", "fruit", "fruits", "dfims", "inventory", "admin"]


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Refuse a password that is too short, too long, guessable or built from the email."""
    minimum = get_settings().PASSWORD_MIN_LENGTH
    if len(password) < minimum:
        _refuse(f"must be at least {minimum} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        _refuse(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    local_part = email.split("@", 1)[0].lower() if email else ""
    if len(local_part) >= 4 and local_part in password.lower():
        _refuse("must not contain the email address")
    from zxcvbn import zxcvbn  # its word lists take 12 MB: loaded when a password is set

    result = zxcvbn(
        password[:STRENGTH_CHECKED_LENGTH],
        user_inputs=[*PRODUCT_WORDS, *([email, local_part] if email else [])],
    )
    if result["score"] < MIN_STRENGTH:
        feedback = result["feedback"]
        hint = feedback.get("warning") or " ".join(feedback.get("suggestions", []))
        _refuse(f"is too easy to guess{': ' + hint if hint else ''}")


def _refuse(problem: str) -> NoReturn:
    raise InvalidRequestError(f"Password {problem.rstrip('.')}.", field="password")
