"""Failed logins counted per client address: once LOGIN_FAILURES_PER_ADDRESS is reached every
login from that address answers 429 with Retry-After, without looking at the credentials, until
the window of LOGIN_THROTTLE_MINUTES ends; other addresses go on as before. Emails that have no
account are locked out exactly like accounts, after the same Argon2 work, so neither the answers
nor the work done tell which emails exist. The login form shows the same refusals."""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from redis import Redis
from sqlalchemy import func, select

from app.core import counters
from app.core.cache import get_redis
from app.core.config import get_settings
from app.core.database import SessionLocal
from app.main import app
from app.models.user import User, UserSession
from app.services import auth as auth_service
from tests.conftest import PASSWORD, REDIS_TEST_URL, MakeUser
from tests.support.pages import SESSION_COOKIE, login_form, parse, post_login
from tests.support.problems import PROBLEM_JSON

LOGIN = "/api/v1/auth/login"
TOO_MANY = "urn:dfims:problem:too-many-attempts"
AUTH_FAILED = "urn:dfims:problem:authentication-failed"
ACCOUNT_LOCKED = "urn:dfims:problem:account-locked"
LIMIT = 5
WRONG = "not the right password"


# --------------------------------------------------------------------------- helpers


def _address() -> str:
    """A client address of its own for one test (documentation range, random last parts)."""
    raw = uuid.uuid4().bytes
    return f"198.51.{raw[0]}.{raw[1]}"


ClientAt = Callable[[str], TestClient]


@pytest.fixture
def client_at() -> Iterator[ClientAt]:
    """client_at(address) is a client of the app whose requests come from ``address``."""
    opened: list[TestClient] = []

    def factory(address: str) -> TestClient:
        test_client = TestClient(app, raise_server_exceptions=False, client=(address, 40000))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield factory
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def throttle(monkeypatch: pytest.MonkeyPatch) -> int:
    """A small per-address limit, and an account lockout far enough not to get in the way."""
    monkeypatch.setattr(get_settings(), "LOGIN_FAILURES_PER_ADDRESS", LIMIT)
    monkeypatch.setattr(get_settings(), "MAX_FAILED_LOGINS", 50)
    return LIMIT


@dataclass
class Verifications:
    """How many Argon2 verifications the login service made."""

    calls: list[str] = field(default_factory=list)

    def taken(self) -> int:
        """The count since the last call, which starts a new count."""
        count = len(self.calls)
        self.calls.clear()
        return count


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Verifications:
    """Count every password verification of the login service."""
    seen = Verifications()
    real = auth_service.verify_password

    def counting(password: str, hashed_password: str) -> bool:
        seen.calls.append(hashed_password)
        return real(password, hashed_password)

    monkeypatch.setattr(auth_service, "verify_password", counting)
    return seen


@dataclass
class Clock:
    """A clock for the in-process counters and the login service, moved by hand."""

    offset: float = 0.0
    start_monotonic: float = 0.0
    start_utc: datetime = field(default_factory=lambda: datetime.now(UTC))

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def monotonic(self) -> float:
        return self.start_monotonic + self.offset

    def utcnow(self) -> datetime:
        return self.start_utc + timedelta(seconds=self.offset)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Time as the counters and the lockout see it, under the test's control."""
    fake = Clock(start_monotonic=1_000_000.0)
    monkeypatch.setattr(counters, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(auth_service, "utcnow", fake.utcnow)
    return fake


def _login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return client.post(LOGIN, data={"username": email, "password": password})


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def _fail(client: TestClient, emails: list[str]) -> list[Response]:
    """One wrong login per email in ``emails``."""
    return [_login(client, email, f"{WRONG} {n}") for n, email in enumerate(emails)]


def _assert_throttled(response: Response) -> int:
    """A 429 problem with a Retry-After within the window; its Retry-After."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == TOO_MANY
    assert body["status"] == 429
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "access_token" not in body
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= get_settings().LOGIN_THROTTLE_MINUTES * 60
    assert "too many failed logins" in body["detail"].lower()
    minutes = re.search(r"(\d+) minute", body["detail"])
    assert minutes is not None, body["detail"]
    assert int(minutes.group(1)) == -(-retry_after // 60), (body["detail"], retry_after)
    assert "www-authenticate" not in response.headers
    return retry_after


def _stored(user_id: int) -> User:
    with SessionLocal() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def _sessions_of(user_id: int) -> int:
    with SessionLocal() as session:
        return (
            session.scalar(
                select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
            )
            or 0
        )


# --------------------------------------------------------------------------- the throttle


def test_the_limit_of_failures_throttles_even_the_right_password(
    client_at: ClientAt, make_user: MakeUser, throttle: int, verifications: Verifications
) -> None:
    user = make_user()
    client = client_at(_address())

    answers = _fail(client, [user.email] * throttle)
    assert [answer.status_code for answer in answers] == [401] * throttle
    assert _stored(user.id).failed_login_attempts == throttle
    verifications.taken()

    right = _login(client, user.email, PASSWORD)

    first_wait = _assert_throttled(right)
    assert verifications.taken() == 0, "a throttled login checks no password"
    stored = _stored(user.id)
    assert stored.failed_login_attempts == throttle
    assert stored.last_login is None
    assert stored.locked_until is None
    assert _sessions_of(user.id) == 0

    # Wrong passwords and unknown emails get the same answer, and nothing is counted.
    later = [_login(client, user.email, WRONG), _login(client, _email("nobody"), WRONG)]
    for answer in later:
        assert _assert_throttled(answer) <= first_wait, "the window does not grow"
    assert verifications.taken() == 0
    assert _stored(user.id).failed_login_attempts == throttle
    assert _sessions_of(user.id) == 0


def test_the_last_failure_below_the_limit_still_lets_the_right_password_in(
    client_at: ClientAt, make_user: MakeUser, throttle: int
) -> None:
    user = make_user()
    client = client_at(_address())

    _fail(client, [user.email] * (throttle - 1))
    assert _login(client, user.email).status_code == 200

    # A success forgets nothing of the address's count: one more failure reaches the limit.
    assert _fail(client, [user.email])[0].status_code == 401
    _assert_throttled(_login(client, user.email))


def test_unknown_emails_and_wrong_passwords_count_together(
    client_at: ClientAt, make_user: MakeUser, throttle: int
) -> None:
    users = [make_user() for _ in range(2)]
    client = client_at(_address())
    spread = [users[0].email, _email("ghost"), users[1].email, _email("ghost"), users[0].email]
    assert len(spread) == throttle

    answers = _fail(client, spread)

    assert [answer.status_code for answer in answers] == [401] * throttle
    for user in users:
        _assert_throttled(_login(client, user.email))
        assert _sessions_of(user.id) == 0


def test_attempts_on_a_locked_account_count_for_the_address(
    client_at: ClientAt, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "LOGIN_FAILURES_PER_ADDRESS", 4)
    monkeypatch.setattr(get_settings(), "MAX_FAILED_LOGINS", 2)
    user = make_user()
    client = client_at(_address())

    statuses = [answer.status_code for answer in _fail(client, [user.email] * 4)]

    assert statuses == [401, 423, 423, 423]
    _assert_throttled(_login(client, make_user().email))


def test_another_address_is_not_throttled(
    client_at: ClientAt, make_user: MakeUser, throttle: int
) -> None:
    user = make_user()
    noisy, quiet = client_at(_address()), client_at(_address())
    _fail(noisy, [user.email] * throttle)
    _assert_throttled(_login(noisy, user.email))

    assert _fail(quiet, [user.email])[0].status_code == 401
    answer = _login(quiet, user.email)

    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]
    _assert_throttled(_login(noisy, user.email))


def test_the_throttle_ends_with_its_window(
    client_at: ClientAt,
    make_user: MakeUser,
    throttle: int,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(get_settings(), "LOGIN_THROTTLE_MINUTES", 2)
    user = make_user()
    client = client_at(_address())
    _fail(client, [user.email] * throttle)
    clock.advance(30)

    wait = _assert_throttled(_login(client, user.email))
    assert 60 < wait <= 90, "the window runs from the first failure"

    clock.advance(wait - 5)
    assert 1 <= _assert_throttled(_login(client, user.email)) <= 5

    clock.advance(6)
    answer = _login(client, user.email)
    assert answer.status_code == 200, answer.text

    # The count starts again: the limit less one failure throttles nothing.
    _fail(client, [user.email] * (throttle - 1))
    assert _login(client, user.email).status_code == 200


def test_a_throttled_answer_never_says_retry_after_zero(
    client_at: ClientAt, make_user: MakeUser, throttle: int, clock: Clock
) -> None:
    """In the last half second of the window the wait is still at least one second."""
    user = make_user()
    client = client_at(_address())
    _fail(client, [user.email] * throttle)

    clock.advance(get_settings().LOGIN_THROTTLE_MINUTES * 60 - 0.4)

    _assert_throttled(_login(client, user.email))


def test_the_login_form_shows_the_throttle(
    client_at: ClientAt, make_user: MakeUser, throttle: int
) -> None:
    user = make_user()
    address = _address()
    api, browser = client_at(address), client_at(address)
    _fail(api, [user.email] * (throttle - 1))
    _, token = login_form(browser)

    # A wrong password on the form counts for the address like one through the API.
    assert post_login(browser, user.email, WRONG, token=token).status_code == 401
    response = post_login(browser, user.email, PASSWORD, token=token)

    assert response.status_code == 429, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    alert = parse(response.text).find("p", role="alert").text
    assert alert.startswith("Too many failed logins from your address")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= get_settings().LOGIN_THROTTLE_MINUTES * 60
    assert browser.cookies.get(SESSION_COOKIE) is None
    assert _sessions_of(user.id) == 0
    _assert_throttled(_login(api, user.email))


# --------------------------------------------------------------------------- no enumeration


def _comparable(response: Response) -> dict[str, Any]:
    """What a client sees of a refusal, without ids and times."""
    body = dict(response.json())
    body.pop("request_id", None)
    if "locked_until" in body:
        datetime.fromisoformat(body["locked_until"])
        body["locked_until"] = "<time>"
    body["detail"] = re.sub(r"\d+", "N", body["detail"])
    body["instance"] = body.get("instance")
    return {
        "status": response.status_code,
        "body": body,
        "headers": sorted(response.headers.keys()),
        "retry_after": "retry-after" in response.headers,
    }


def _attempts(
    client: TestClient, email: str, verifications: Verifications, count: int
) -> list[tuple[dict[str, Any], int]]:
    verifications.taken()
    seen = []
    for n in range(count):
        response = _login(client, email, f"{WRONG} {n}")
        seen.append((_comparable(response), verifications.taken()))
    return seen


def test_an_unknown_email_is_locked_out_like_an_account(
    client_at: ClientAt, make_user: MakeUser, verifications: Verifications
) -> None:
    limit = get_settings().MAX_FAILED_LOGINS
    user = make_user()

    account = _attempts(client_at(_address()), user.email, verifications, limit + 1)
    unknown = _attempts(client_at(_address()), _email("nobody"), verifications, limit + 1)

    assert [seen["status"] for seen, _ in account] == [401] * (limit - 1) + [423, 423]
    assert unknown == account
    assert [work for _, work in unknown] == [1] * limit + [0]
    for seen, _ in unknown[-2:]:
        assert seen["body"]["type"] == ACCOUNT_LOCKED
        assert seen["retry_after"]
    for seen, _ in unknown[:-2]:
        assert seen["body"]["type"] == AUTH_FAILED
        assert not seen["retry_after"]


def test_a_locked_unknown_email_refuses_every_password(
    client_at: ClientAt, verifications: Verifications
) -> None:
    email = _email("nobody")
    client = client_at(_address())
    _fail(client, [email] * get_settings().MAX_FAILED_LOGINS)
    verifications.taken()

    response = _login(client, email, PASSWORD)

    assert response.status_code == 423, response.text
    assert response.json()["detail"].startswith("Account locked after")
    assert 1 <= int(response.headers["retry-after"]) <= get_settings().LOCKOUT_MINUTES * 60
    assert verifications.taken() == 0


def test_the_login_form_locks_an_unknown_email_like_an_account(
    client_at: ClientAt, make_user: MakeUser
) -> None:
    limit = get_settings().MAX_FAILED_LOGINS
    user = make_user()

    def form_answers(email: str) -> list[tuple[int, str, bool]]:
        browser = client_at(_address())
        _, token = login_form(browser)
        answers = [
            post_login(browser, email, f"{WRONG} {n}", token=token) for n in range(limit + 1)
        ]
        return [
            (
                answer.status_code,
                re.sub(r"\d+", "N", parse(answer.text).find("p", role="alert").text),
                "retry-after" in answer.headers,
            )
            for answer in answers
        ]

    account, unknown = form_answers(user.email), form_answers(_email("nobody"))

    assert unknown == account
    assert [status for status, _, _ in unknown] == [401] * (limit - 1) + [423, 423]
    assert [retry for _, _, retry in unknown] == [False] * (limit - 1) + [True, True]


# (seconds to wait before each wrong attempt) after which both must look the same.
SCHEDULES = {
    "at once": [0, 0, 0, 0, 0, 0],
    "last failure ten minutes later": [0, 0, 0, 0, 600, 360],
    "failures an hour apart": [0, 0, 0, 0, 3600],
}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_an_unknown_email_is_locked_out_like_an_account_over_time(
    client_at: ClientAt, make_user: MakeUser, clock: Clock, schedule: str
) -> None:
    """Failures in a row lock an account however far apart they come, for LOCKOUT_MINUTES
    from the one that locked it; an unknown email must answer the same at every step."""
    user = make_user()

    def answers(email: str) -> list[tuple[int, str]]:
        client = client_at(_address())
        seen = []
        for n, wait in enumerate(SCHEDULES[schedule]):
            clock.advance(wait)
            response = _login(client, email, f"{WRONG} {n}")
            seen.append((response.status_code, response.json()["detail"]))
        return seen

    account = answers(user.email)
    unknown = answers(_email("nobody"))

    assert unknown == account


# --------------------------------------------------------------------------- through Redis


@pytest.fixture
def shared_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    """The counters in the test Redis (database 15); the keys they made are deleted after."""
    get_redis.cache_clear()
    monkeypatch.setattr(get_settings(), "REDIS_URL", REDIS_TEST_URL)
    server = Redis.from_url(REDIS_TEST_URL, decode_responses=True)
    yield server
    for key in server.scan_iter(f"{counters.KEY_PREFIX}login-*"):
        server.delete(key)
    server.close()
    client = get_redis()
    if client is not None:
        client.close()
    get_redis.cache_clear()


@pytest.mark.redis
def test_counts_are_kept_in_redis(
    client_at: ClientAt, make_user: MakeUser, throttle: int, shared_counts: Redis
) -> None:
    user = make_user()
    address = _address()
    client = client_at(address)

    _fail(client, [user.email] * throttle)

    key = f"{counters.KEY_PREFIX}login-address:{address}"
    assert shared_counts.get(key) == str(throttle)
    assert 0 < shared_counts.ttl(key) <= get_settings().LOGIN_THROTTLE_MINUTES * 60
    # Nothing of it lives in this process: another replica would see the same count.
    counters.clear_local_counts()
    _assert_throttled(_login(client, user.email))
    shared_counts.delete(key)
    assert _login(client, user.email).status_code == 200


def test_without_redis_the_process_counts_on_its_own(
    client_at: ClientAt, make_user: MakeUser, throttle: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_redis.cache_clear()
    monkeypatch.setattr(get_settings(), "REDIS_URL", "redis://127.0.0.1:1/0")
    try:
        user = make_user()
        client = client_at(_address())

        assert _login(client, user.email).status_code == 200
        answers = _fail(client, [user.email] * throttle)

        assert [answer.status_code for answer in answers] == [401] * throttle
        _assert_throttled(_login(client, user.email))
    finally:
        get_redis.cache_clear()
