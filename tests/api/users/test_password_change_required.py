"""An account whose password an admin set: it logs in, but every call except its own account
(GET and PATCH /users/me) and logging out is refused with a password-change-required problem
until PATCH /users/me changes the password."""

from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.user import User
from app.services.bootstrap import ensure_admin
from tests.conftest import PASSWORD, TEST_ACTOR, MakeUser, bearer, login
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem

API = "/api/v1"
USERS = f"{API}/users"
ME = f"{USERS}/me"
NEW_PASSWORD = "a fresh and long passphrase"
OWN_PASSWORD = "another passphrase of mine"
REQUIRED = "password-change-required"


def flagged(user_id: int) -> bool:
    """Whether the stored account must change its password."""
    with SessionLocal() as db:
        user = db.get(User, user_id)
        assert user is not None
        return user.must_change_password


def created_by_admin(client: TestClient, admin: SignedIn, **extra: object) -> int:
    """A staff account an admin creates through the API; its id."""
    body = {"email": "first.login@example.com", "password": NEW_PASSWORD, **extra}
    response = client.post(USERS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_an_account_an_admin_creates_changes_its_password_before_anything_else(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = sign_in(client, make_user)
    user_id = created_by_admin(client, admin)
    assert flagged(user_id)
    headers = bearer(login(client, "first.login@example.com", NEW_PASSWORD)["access_token"])

    refused = client.get(f"{API}/products", headers=headers)
    me = client.get(ME, headers=headers)

    problem = assert_problem(refused, 403, REQUIRED)
    assert "PATCH /api/v1/users/me" in problem["detail"]
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id

    same = client.patch(
        ME, json={"current_password": NEW_PASSWORD, "new_password": NEW_PASSWORD}, headers=headers
    )
    assert_problem(same, 422, "invalid-request", field="new_password")
    assert flagged(user_id)

    changed = client.patch(
        ME, json={"current_password": NEW_PASSWORD, "new_password": OWN_PASSWORD}, headers=headers
    )

    assert changed.status_code == 200, changed.text
    assert not flagged(user_id)
    assert client.get(f"{API}/products", headers=headers).status_code == 200


def test_logging_out_is_open_before_the_change(client: TestClient, make_user: MakeUser) -> None:
    admin = sign_in(client, make_user)
    created_by_admin(client, admin)
    headers = bearer(login(client, "first.login@example.com", NEW_PASSWORD)["access_token"])

    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    assert client.get(ME, headers=headers).status_code == 401


def test_an_admin_may_say_the_user_chose_the_password(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = sign_in(client, make_user)

    user_id = created_by_admin(client, admin, must_change_password=False)

    assert not flagged(user_id)
    headers = bearer(login(client, "first.login@example.com", NEW_PASSWORD)["access_token"])
    assert client.get(f"{API}/products", headers=headers).status_code == 200


def test_an_admin_reset_forces_a_change_unless_told_otherwise(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = sign_in(client, make_user)
    target = make_user()
    assert not flagged(target.id)
    reset = f"{USERS}/{target.id}/reset-password"

    forced = client.post(reset, json={"new_password": NEW_PASSWORD}, headers=admin.headers)

    assert forced.status_code == 204, forced.text
    assert flagged(target.id)
    headers = bearer(login(client, target.email, NEW_PASSWORD)["access_token"])
    assert_problem(client.get(f"{API}/products", headers=headers), 403, REQUIRED)

    chosen = client.post(
        reset,
        json={"new_password": OWN_PASSWORD, "must_change_password": False},
        headers=admin.headers,
    )

    assert chosen.status_code == 204, chosen.text
    assert not flagged(target.id)


def test_accounts_made_by_the_services_are_not_forced(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()

    headers = bearer(login(client, user.email, PASSWORD)["access_token"])

    assert not flagged(user.id)
    assert client.get(f"{API}/products", headers=headers).status_code == 200


def test_the_bootstrap_admin_with_a_generated_password_is_forced() -> None:
    with SessionLocal() as db:
        result = ensure_admin(db, TEST_ACTOR, email=None, password=None)
        db.commit()
    assert result.admin is not None
    assert result.generated_password
    assert flagged(result.admin.id)


def test_the_bootstrap_admin_with_a_configured_password_is_not_forced() -> None:
    with SessionLocal() as db:
        result = ensure_admin(db, TEST_ACTOR, email="boss@example.com", password=NEW_PASSWORD)
        db.commit()
    assert result.admin is not None
    assert result.generated_password is None
    assert not flagged(result.admin.id)


def test_the_schema_documents_the_refusal(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "403" in paths[f"{API}/products"]["get"]["responses"]
    described = paths[f"{API}/products"]["get"]["responses"]["403"]["description"]
    assert REQUIRED in described
    create = client.get("/openapi.json").json()["components"]["schemas"]["UserCreate"]
    assert create["properties"]["must_change_password"]["default"] is True
