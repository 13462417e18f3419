"""The pages' session: the cookie's attributes per environment, the user session behind it
(listed and revoked through the admin API), cookies that must not open a page (tampered,
expired, of another kind, of a deactivated user), and logging out with and without the form's
anti-forgery token."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import get_settings
from app.core.database import SessionLocal
from app.core.security import create_web_session_token
from app.main import app
from app.models.user import Role, User, UserSession
from app.services.auth import REVOKED_LOGOUT
from tests.conftest import PASSWORD, AuthHeaders, MakeUser, bearer, login
from tests.support.pages import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PageUser,
    browser,
    claims_of,
    count_sessions,
    form_fields,
    logged_in,
    login_form,
    page_login,
    page_of,
    post_login,
    put_session_cookie,
    session_cookie,
    set_cookies,
    stored_session,
    title_of,
)

USERS = "/api/v1/users"
SESSIONS = "/api/v1/sessions"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a completely new passphrase 42"


def sent_to_login(client: TestClient, path: str = "/products") -> bool:
    """Whether opening ``path`` sends the browser to the login page (and back to ``path``)."""
    response = client.get(path, follow_redirects=False)
    if response.status_code != 303:
        return False
    target = urlsplit(response.headers["location"])
    return target.path == "/login" and parse_qs(target.query).get("next") == [path]


def opens(client: TestClient, path: str = "/products") -> bool:
    """Whether ``path`` answers 200 with a page."""
    response = client.get(path, follow_redirects=False)
    return response.status_code == 200 and response.headers["content-type"].startswith("text/html")


def forged(claims: dict[str, object], key: str | None = None, algorithm: str = "HS256") -> str:
    """``claims`` signed with ``key`` (default: the service's own key)."""
    return jwt.encode(claims, key or get_settings().signing_key, algorithm=algorithm)


def web_claims(user_id: int, session_id: str, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "sid": session_id,
        "role": "admin",
        "type": "web",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(hours=1),
        "jti": "x",
    }
    claims.update(changes)
    return claims


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> PageUser:
    """A staff user logged in to the pages in ``client``."""
    return logged_in(client, make_user, Role.STAFF)


# --------------------------------------------------------------------------- the cookie


def test_the_session_cookie_is_http_only_lax_site_wide_and_not_secure_in_development(
    client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "ENVIRONMENT", "development")
    user = make_user(role=Role.STAFF)

    response = page_login(client, user.email)

    cookie = set_cookies(response)[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]
    assert not cookie["domain"]
    assert cookie["max-age"] == str(get_settings().WEB_SESSION_HOURS * 3600)
    assert get_settings().WEB_SESSION_HOURS == 12
    assert cookie.value == session_cookie(client)


def test_the_test_environment_sends_no_secure_cookies(
    client: TestClient, make_user: MakeUser
) -> None:
    assert get_settings().ENVIRONMENT == "test"
    user = make_user()
    form, _ = login_form(client)

    response = page_login(client, user.email)

    assert not set_cookies(form)[LOGIN_CSRF_COOKIE]["secure"]
    assert not set_cookies(response)[SESSION_COOKIE]["secure"]


@pytest.mark.parametrize(
    ("environment", "setting"),
    [("production", None), ("development", True), ("test", True), ("production", True)],
)
def test_cookies_are_secure_in_production_or_when_asked(
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    environment: str,
    setting: bool | None,
) -> None:
    monkeypatch.setattr(get_settings(), "ENVIRONMENT", environment)
    monkeypatch.setattr(get_settings(), "SESSION_COOKIE_SECURE", setting)
    user = make_user(role=Role.ADMIN)
    https = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)

    form, _ = login_form(https)
    response = page_login(https, user.email)

    assert set_cookies(form)[LOGIN_CSRF_COOKIE]["secure"] is True
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert opens(https, "/dashboard")


@pytest.mark.parametrize("environment", ["production", "development"])
def test_session_cookie_secure_false_turns_secure_off(
    client: TestClient,
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
    environment: str,
) -> None:
    monkeypatch.setattr(get_settings(), "ENVIRONMENT", environment)
    monkeypatch.setattr(get_settings(), "SESSION_COOKIE_SECURE", False)
    user = make_user()

    response = page_login(client, user.email)

    assert not set_cookies(response)[SESSION_COOKIE]["secure"]


def test_the_cookie_and_its_session_last_web_session_hours(
    client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "WEB_SESSION_HOURS", 3)
    user = make_user(role=Role.MANAGER)

    response = page_login(client, user.email)

    assert set_cookies(response)[SESSION_COOKIE]["max-age"] == str(3 * 3600)
    claims = claims_of(session_cookie(client))
    assert claims["exp"] - claims["iat"] == 3 * 3600
    assert claims["type"] == "web"
    assert claims["sub"] == str(user.id)
    session = stored_session(claims["sid"])
    assert session.user_id == user.id
    assert session.expires_at - session.created_at == timedelta(hours=3)
    assert session.revoked_at is None


# --------------------------------------------------------------------------- the session


def test_a_page_session_is_listed_by_the_admin_api(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    staff = logged_in(client, make_user, Role.STAFF)
    admin = auth_headers(Role.ADMIN)

    listed = client.get(SESSIONS, headers=admin)
    own = client.get(f"{USERS}/{staff.user.id}/sessions", headers=admin)

    assert listed.status_code == 200, listed.text
    rows = {row["id"]: row for row in listed.json()}
    assert staff.session_id in rows
    row = rows[staff.session_id]
    assert row["user_id"] == staff.user.id
    assert row["user_agent"] == "testclient"
    lifetime = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
    assert lifetime == timedelta(hours=get_settings().WEB_SESSION_HOURS)
    assert [row["id"] for row in own.json()] == [staff.session_id]


def test_revoking_the_session_through_the_api_logs_the_page_out(
    client: TestClient, staff: PageUser, auth_headers: AuthHeaders
) -> None:
    assert opens(client)

    response = client.delete(
        f"{USERS}/{staff.user.id}/sessions/{staff.session_id}", headers=auth_headers(Role.ADMIN)
    )

    assert response.status_code == 204, response.text
    assert sent_to_login(client)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page_of(client.get("/login", follow_redirects=False))


def test_revoking_all_sessions_of_a_user_logs_every_browser_out(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    manager = logged_in(client, make_user, Role.MANAGER)
    other = browser()
    page_login(other, manager.user.email)
    assert opens(client, "/dashboard")
    assert opens(other, "/dashboard")

    response = client.delete(f"{USERS}/{manager.user.id}/sessions", headers=auth_headers())

    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == 2
    assert sent_to_login(client, "/dashboard")
    assert sent_to_login(other, "/dashboard")


def test_a_password_reset_logs_the_page_out(
    client: TestClient, staff: PageUser, auth_headers: AuthHeaders
) -> None:
    response = client.post(
        f"{USERS}/{staff.user.id}/reset-password",
        json={"new_password": NEW_PASSWORD},
        headers=auth_headers(),
    )

    assert response.status_code == 204, response.text
    assert sent_to_login(client)


def test_deactivating_the_user_through_the_api_logs_the_page_out(
    client: TestClient, staff: PageUser, auth_headers: AuthHeaders
) -> None:
    response = client.post(f"{USERS}/{staff.user.id}/deactivate", headers=auth_headers())

    assert response.status_code == 200, response.text
    assert sent_to_login(client)


def test_the_cookie_of_a_deactivated_user_opens_nothing_even_with_its_session_open(
    client: TestClient, staff: PageUser
) -> None:
    with SessionLocal() as db:
        db.execute(update(User).where(User.id == staff.user.id).values(is_active=False))
        db.commit()
    assert stored_session(staff.session_id).revoked_at is None

    assert sent_to_login(client)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_session_past_its_end_opens_nothing(client: TestClient, staff: PageUser) -> None:
    with SessionLocal() as db:
        db.execute(
            update(UserSession)
            .where(UserSession.id == staff.session_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.commit()

    assert sent_to_login(client)


def test_using_the_pages_keeps_the_sessions_last_seen_time_current(
    client: TestClient, staff: PageUser
) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with SessionLocal() as db:
        db.execute(
            update(UserSession)
            .where(UserSession.id == staff.session_id)
            .values(last_seen_at=an_hour_ago)
        )
        db.commit()

    assert opens(client)

    with SessionLocal() as db:
        session = db.get(UserSession, staff.session_id)
        assert session is not None
        assert session.last_seen_at > datetime.now(UTC) - timedelta(minutes=1)


def test_the_page_uses_the_role_stored_now_not_the_one_in_the_cookie(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    manager = logged_in(client, make_user, Role.MANAGER)
    assert opens(client, "/dashboard")

    response = client.put(
        f"{USERS}/{manager.user.id}/role", json={"role": "staff"}, headers=auth_headers()
    )

    assert response.status_code == 200, response.text
    assert claims_of(session_cookie(client))["role"] == "manager"
    assert client.get("/dashboard", follow_redirects=False).status_code == 403
    assert opens(client, "/products")


# ------------------------------------------------------------------ cookies that open nothing


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize("part", ["header", "payload", "signature"])
def test_a_tampered_cookie_opens_nothing(client: TestClient, staff: PageUser, part: str) -> None:
    token = session_cookie(client)
    segments = token.split(".")
    index = ["header", "payload", "signature"].index(part)
    segments[index] = _flip(segments[index], len(segments[index]) // 2)

    put_session_cookie(client, ".".join(segments))

    assert sent_to_login(client)
    put_session_cookie(client, token)
    assert opens(client)


@pytest.mark.parametrize("value", ["", "garbage", "a.b.c", "null"])
def test_a_malformed_cookie_opens_nothing(client: TestClient, staff: PageUser, value: str) -> None:
    put_session_cookie(client, value)

    assert sent_to_login(client)


def test_an_expired_cookie_opens_nothing_though_its_session_is_open(
    client: TestClient, staff: PageUser
) -> None:
    expired = create_web_session_token(
        staff.user.id, staff.session_id, staff.user.role, timedelta(seconds=-1)
    )
    fresh = create_web_session_token(
        staff.user.id, staff.session_id, staff.user.role, timedelta(minutes=5)
    )

    put_session_cookie(client, expired)
    assert sent_to_login(client)
    put_session_cookie(client, fresh)
    assert opens(client)


def test_an_api_access_token_in_the_cookie_opens_nothing(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(role=Role.ADMIN)
    access = login(client, user.email)["access_token"]
    assert client.get(ME, headers=bearer(access)).status_code == 200

    put_session_cookie(client, access)

    assert sent_to_login(client)
    assert sent_to_login(client, "/dashboard")


def test_the_session_cookie_is_no_api_access_token(client: TestClient, staff: PageUser) -> None:
    response = client.get(ME, headers=bearer(session_cookie(client)))

    assert response.status_code == 401


def test_a_cookie_signed_with_another_key_opens_nothing(
    client: TestClient, staff: PageUser
) -> None:
    claims = web_claims(staff.user.id, staff.session_id)
    put_session_cookie(client, forged(claims, key="another key that is long enough 0123456789"))

    assert sent_to_login(client)
    put_session_cookie(client, forged(claims))
    assert opens(client)


def test_an_unsigned_cookie_opens_nothing(client: TestClient, staff: PageUser) -> None:
    claims = web_claims(staff.user.id, staff.session_id)
    put_session_cookie(client, jwt.encode(claims, key="", algorithm="none"))

    assert sent_to_login(client)


def test_a_cookie_naming_another_users_session_opens_nothing(
    client: TestClient, staff: PageUser, make_user: MakeUser
) -> None:
    admin = make_user(role=Role.ADMIN)

    put_session_cookie(client, forged(web_claims(admin.id, staff.session_id)))

    assert sent_to_login(client)
    assert sent_to_login(client, "/dashboard")


def test_a_cookie_naming_an_unknown_session_opens_nothing(
    client: TestClient, staff: PageUser
) -> None:
    put_session_cookie(
        client, forged(web_claims(staff.user.id, "00000000-0000-0000-0000-000000000000"))
    )

    assert sent_to_login(client)


# --------------------------------------------------------------------------- logging out


@pytest.mark.parametrize(
    "token", [None, "", "0" * 64, "forged"], ids=["missing", "empty", "zeros", "garbage"]
)
def test_logout_without_the_forms_token_is_refused(
    client: TestClient, staff: PageUser, token: str | None
) -> None:
    response = client.post(
        "/logout",
        data={CSRF_FIELD: token} if token is not None else {},
        follow_redirects=False,
    )

    page = page_of(response, 403)
    assert title_of(page).startswith("Form expired")
    assert page.find("h1").text == "Form expired"
    assert SESSION_COOKIE not in set_cookies(response)
    assert stored_session(staff.session_id).revoked_at is None
    assert opens(client)


def test_logout_with_another_sessions_token_is_refused(client: TestClient, staff: PageUser) -> None:
    other = browser()
    page_login(other, staff.user.email)
    other_fields = form_fields(other)
    assert other_fields[CSRF_FIELD] != form_fields(client)[CSRF_FIELD]

    response = client.post("/logout", data=other_fields, follow_redirects=False)

    page_of(response, 403)
    assert stored_session(staff.session_id).revoked_at is None
    assert opens(client)
    assert opens(other)


def test_logout_with_the_login_forms_token_is_refused(client: TestClient, staff: PageUser) -> None:
    _, token = login_form(browser())

    response = client.post("/logout", data={CSRF_FIELD: token}, follow_redirects=False)

    page_of(response, 403)
    assert stored_session(staff.session_id).revoked_at is None


def test_logout_by_a_plain_link_does_nothing(client: TestClient, staff: PageUser) -> None:
    response = client.get("/logout", follow_redirects=False)

    assert response.status_code == 405
    assert stored_session(staff.session_id).revoked_at is None
    assert opens(client)


def test_logout_with_the_forms_token_ends_the_session(
    client: TestClient, staff: PageUser, auth_headers: AuthHeaders
) -> None:
    cookie = session_cookie(client)
    fields = form_fields(client)

    response = client.post("/logout", data=fields, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    deleted = set_cookies(response)[SESSION_COOKIE]
    assert deleted.value == ""
    assert deleted["max-age"] == "0"
    assert deleted["path"] == "/"
    assert client.cookies.get(SESSION_COOKIE) is None
    session = stored_session(staff.session_id)
    assert session.revoked_at is not None
    assert session.revoked_reason == REVOKED_LOGOUT
    listed = client.get(SESSIONS, headers=auth_headers()).json()
    assert staff.session_id not in {row["id"] for row in listed}
    assert sent_to_login(client)
    # The old cookie, kept by someone, opens nothing any more.
    put_session_cookie(client, cookie)
    assert sent_to_login(client)
    assert sent_to_login(client, "/dashboard")


def test_logout_ends_only_its_own_session(client: TestClient, staff: PageUser) -> None:
    other = browser()
    page_login(other, staff.user.email)

    response = client.post("/logout", data=form_fields(client), follow_redirects=False)

    assert response.status_code == 303
    assert sent_to_login(client)
    assert opens(other)
    assert count_sessions() == 2


def test_a_stranger_pressing_log_out_lands_on_a_working_page_after_logging_in(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(role=Role.STAFF)

    refused = client.post("/logout", data={CSRF_FIELD: "whatever"}, follow_redirects=False)

    assert refused.status_code == 303
    form = client.get(refused.headers["location"], follow_redirects=False)
    page = page_of(form)
    next_path = page.find("input", name="next").attrs["value"]
    token = page.find("input", name=CSRF_FIELD).attrs["value"]
    answer = post_login(client, user.email, PASSWORD, token=token, next_path=next_path)
    assert answer.status_code == 303
    assert client.get(answer.headers["location"], follow_redirects=False).status_code == 200


def test_the_login_form_is_no_oracle_for_a_sessions_form_token(
    client: TestClient, staff: PageUser
) -> None:
    """Session ids are not secrets (the admin API lists them, the audit trail records them):
    a pre-login cookie chosen equal to one must not make the login page print that session's
    form token."""
    attacker = browser()
    attacker.cookies.set(LOGIN_CSRF_COOKIE, staff.session_id)

    _, printed = login_form(attacker)

    assert printed != form_fields(client)[CSRF_FIELD]
    response = client.post("/logout", data={CSRF_FIELD: printed}, follow_redirects=False)
    assert response.status_code == 403
    assert stored_session(staff.session_id).revoked_at is None
