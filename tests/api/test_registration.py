"""Self-registration tells nobody which emails have accounts: a free and a taken email (a
customer's, a member of staff's, an admin's) get the same answer after the same password work;
a taken email changes nothing and is audited for the admins. Registrations are throttled per
client address like failed logins."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.core import counters
from app.core.config import get_settings
from app.core.database import SessionLocal
from app.main import app
from app.models.sales import Customer
from app.models.user import Role, User, UserSession
from app.services import customers as customer_service
from tests.conftest import PASSWORD, AuthHeaders, MakeUser, bearer, login

API = "/api/v1"
REGISTER = f"{API}/auth/register"
LOGIN = f"{API}/auth/login"
AUDIT = f"{API}/audit"
OTHER_PASSWORD = "quite another passphrase 42"
TOO_MANY = "urn:dfims:problem:too-many-attempts"
# Headers whose values differ from one answer to the next whatever was registered.
PER_REQUEST = {"x-request-id", "content-length"}


# --------------------------------------------------------------------------- helpers


def _email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def _address() -> str:
    """A client address of its own for one test (documentation range, random last parts)."""
    raw = uuid.uuid4().bytes
    return f"203.0.{raw[0]}.{raw[1]}"


def _register(
    client: TestClient, email: str, password: str = PASSWORD, full_name: str = "Corner Shop"
) -> Response:
    return client.post(
        REGISTER, json={"email": email, "password": password, "full_name": full_name}
    )


def _counts() -> list[int]:
    """Users, customers and sessions in the database."""
    with SessionLocal() as db:
        return [
            db.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, Customer, UserSession)
        ]


def _stored(email: str) -> User:
    with SessionLocal() as db:
        user = db.scalar(select(User).where(User.email == email))
        assert user is not None, email
        db.expunge(user)
        return user


def _shape(response: Response) -> tuple[int, str, list[str], list[str]]:
    """What a caller sees of an answer apart from the address it echoes."""
    body = response.json()
    return (
        response.status_code,
        body["detail"],
        sorted(body),
        sorted(name for name in response.headers if name not in PER_REQUEST),
    )


@pytest.fixture
def client_at() -> Iterator[Any]:
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


@dataclass
class Hashes:
    """The passwords the registration service hashed."""

    calls: list[str] = field(default_factory=list)

    def taken(self) -> int:
        """The count since the last call, which starts a new count."""
        count = len(self.calls)
        self.calls.clear()
        return count


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Hashes:
    """Count every Argon2 hash the registration service computes."""
    seen = Hashes()
    real = customer_service.get_password_hash

    def counting(password: str) -> str:
        seen.calls.append(password)
        return real(password)

    monkeypatch.setattr(customer_service, "get_password_hash", counting)
    return seen


# --------------------------------------------------------------------------- no enumeration


def test_a_new_customer_logs_in_right_after_registering(client: TestClient) -> None:
    email = _email("Ada")

    response = _register(client, f"  {email.upper()} ", full_name=" Ada Lovelace ")

    assert response.status_code == 202, response.text
    assert response.json()["email"] == email.lower()
    assert "log in" in response.json()["detail"]
    assert "id" not in response.json()
    headers = bearer(login(client, response.json()["email"])["access_token"])
    me = client.get(f"{API}/users/me", headers=headers).json()
    assert (me["email"], me["role"], me["full_name"]) == (email.lower(), "customer", "Ada Lovelace")
    mine = client.get(f"{API}/customers/me", headers=headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["user_id"] == me["id"]


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_a_free_and_a_taken_email_get_the_same_answer(
    client: TestClient, make_user: MakeUser, role: Role
) -> None:
    taken = make_user(role=role).email

    free_answer = _register(client, _email())
    taken_answer = _register(client, taken.upper(), OTHER_PASSWORD)

    assert free_answer.status_code == 202, free_answer.text
    assert _shape(taken_answer) == _shape(free_answer)
    assert taken_answer.json()["email"] == taken
    assert taken_answer.headers["content-type"] == free_answer.headers["content-type"]


def test_a_taken_email_changes_nothing(client: TestClient, make_user: MakeUser) -> None:
    staff = make_user(role=Role.STAFF)
    before = _stored(staff.email)
    counts = _counts()

    response = _register(client, staff.email, OTHER_PASSWORD, full_name="Someone Else")

    assert response.status_code == 202, response.text
    after = _stored(staff.email)
    assert (after.role, after.full_name, after.hashed_password, after.is_active) == (
        before.role,
        before.full_name,
        before.hashed_password,
        before.is_active,
    )
    assert _counts() == counts
    assert (
        client.post(LOGIN, data={"username": staff.email, "password": OTHER_PASSWORD}).status_code
        == 401
    )
    login(client, staff.email)


def test_a_taken_email_is_audited_for_the_admins(
    client_at: Any, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    address = _address()
    owner = make_user(role=Role.STAFF)
    _register(client_at(address), owner.email.upper(), OTHER_PASSWORD)
    _register(client_at(address), _email())

    admin = client_at(_address())
    entries = admin.get(
        AUDIT, params={"action": "auth.register_existing"}, headers=auth_headers(Role.ADMIN)
    ).json()["items"]

    assert len(entries) == 1, entries
    [entry] = entries
    assert (entry["entity_type"], entry["entity_id"]) == ("user", str(owner.id))
    assert entry["details"] == {"email": owner.email}
    assert entry["ip_address"] == address
    assert entry["actor_id"] is None
    assert OTHER_PASSWORD not in str(entry)


def test_a_free_and_a_taken_email_take_the_same_password_work(
    client: TestClient, make_user: MakeUser, hashes: Hashes
) -> None:
    taken = make_user(role=Role.ADMIN).email

    assert _register(client, _email()).status_code == 202
    free_work = hashes.taken()
    assert _register(client, taken, OTHER_PASSWORD).status_code == 202
    taken_work = hashes.taken()

    assert free_work == taken_work == 1


def test_a_weak_password_is_refused_alike_for_a_free_and_a_taken_email(
    client: TestClient, make_user: MakeUser
) -> None:
    taken = make_user(role=Role.STAFF).email
    counts = _counts()

    answers = [_register(client, email, "qwerty123456") for email in (_email(), taken)]

    assert [answer.status_code for answer in answers] == [422, 422]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]
    assert _counts() == counts


def test_the_openapi_schema_documents_the_answers(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][REGISTER]["post"]

    assert {"202", "422", "429"} <= set(operation["responses"])
    assert not {"200", "201", "409"} & set(operation["responses"])
    accepted = operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert accepted["$ref"].endswith("/RegistrationAccepted")
    assert "Retry-After" in operation["responses"]["429"]["headers"]


# --------------------------------------------------------------------------- the throttle


@pytest.fixture
def limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """A small number of registrations per address."""
    monkeypatch.setattr(get_settings(), "REGISTRATIONS_PER_ADDRESS", 3)
    return 3


def _assert_throttled(response: Response) -> int:
    """A 429 problem with a Retry-After within the window; its Retry-After."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == TOO_MANY
    assert body["detail"].startswith("Too many registrations from your address")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= get_settings().REGISTRATION_THROTTLE_MINUTES * 60
    return retry_after


def test_registrations_beyond_the_limit_from_one_address_are_throttled(
    client_at: Any, make_user: MakeUser, limit: int
) -> None:
    taken = make_user(role=Role.STAFF).email
    noisy, quiet = client_at(_address()), client_at(_address())
    answers = [_register(noisy, email) for email in (_email(), taken, _email())]
    assert [answer.status_code for answer in answers] == [202] * limit
    counts = _counts()

    free, again = _email(), _register(noisy, taken)

    _assert_throttled(_register(noisy, free))
    _assert_throttled(again)
    assert _counts() == counts
    assert _register(quiet, free).status_code == 202
    login(quiet, free)


def test_the_registration_throttle_ends_with_its_window(
    client_at: Any, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(counters, "time", SimpleNamespace(monotonic=lambda: now[0]))
    client = client_at(_address())
    for _ in range(limit):
        assert _register(client, _email()).status_code == 202
    now[0] += 60

    wait = _assert_throttled(_register(client, _email()))
    assert wait == get_settings().REGISTRATION_THROTTLE_MINUTES * 60 - 60

    now[0] += wait
    assert _register(client, _email()).status_code == 202
