"""The password policy."""

import pytest

from app.core.errors import InvalidRequestError
from app.core.security import generate_password
from app.services.passwords import check_password_policy
from tests.conftest import LONG_PASSWORD_LENGTHS, long_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("elevenchars", "at least 12"),
        ("x" * 129, "at most 128"),
        ("Qwerty123456", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("ababababababab", "too easy to guess"),
        ("my-jdoe-login-pass", "email"),
        ("password1234", "too easy to guess"),
        ("inventory2024!", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(InvalidRequestError, match=reason):
        check_password_policy(password, email="jdoe@example.com")


def test_good_password_passes() -> None:
    check_password_policy("correct horse battery staple", email="jdoe@example.com")


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_long_passwords_up_to_the_maximum_pass(length: int) -> None:
    check_password_policy(long_password(length), email="jdoe@example.com")


def test_the_strength_of_a_long_password_is_judged_on_its_first_72_characters() -> None:
    with pytest.raises(InvalidRequestError, match="too easy to guess"):
        check_password_policy("a" * 72 + long_password(56), email="jdoe@example.com")


def test_generated_passwords_meet_the_policy() -> None:
    for _ in range(50):
        check_password_policy(generate_password(), email="admin@example.com")
