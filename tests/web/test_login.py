"""The login form: its anti-forgery token and pre-login cookie, wrong passwords and the lockout,
deactivated accounts, where a login leads (each role's home, a safe ``next``, never off-site)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.core.database import SessionLocal
from app.core.security import csrf_token
from app.models.user import Role
from app.services import users as user_service
from app.web.session import LOGIN_FORM
from tests.conftest import PASSWORD, TEST_ACTOR, MakeUser
from tests.support.pages import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    browser,
    count_sessions,
    hidden_value,
    logged_in,
    login_form,
    page_login,
    page_of,
    parse,
    post_login,
    set_cookies,
    stays_on_site,
    stored_user,
    title_of,
)

WRONG = "not the password at all"
INCORRECT = "Incorrect email or password."
DEACTIVATED = "This account is deactivated; ask an administrator."
FORM_EXPIRED = "The form expired; please log in again."
HOMES = {
    Role.ADMIN: "/dashboard",
    Role.MANAGER: "/dashboard",
    Role.STAFF: "/products",
    Role.CUSTOMER: "/shop",
}
OFF_SITE = [
    "//evil.example",
    "//evil.example/dashboard",
    "///evil.example",
    "https://evil.example",
    "https://evil.example/products",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def alert_text(response_text: str) -> str:
    """The error shown on the login form."""
    return parse(response_text).find("p", role="alert").text


# --------------------------------------------------------------------------- the form


def test_the_form_carries_a_token_bound_to_a_fresh_pre_login_cookie(client: TestClient) -> None:
    response, token = login_form(client)

    page = page_of(response)
    assert title_of(page).startswith("Log in")
    form = page.find("form", action="/login")
    assert form.attrs["method"] == "post"
    assert {field.attrs["name"] for field in form.find_all("input")} == {
        CSRF_FIELD,
        "next",
        "email",
        "password",
    }
    assert page.find("input", name="password").attrs["type"] == "password"
    cookie = set_cookies(response)[LOGIN_CSRF_COOKIE]
    assert len(cookie.value) >= 24
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/login"
    assert token == csrf_token(LOGIN_FORM, cookie.value)
    assert client.cookies.get(LOGIN_CSRF_COOKIE) == cookie.value
    assert response.headers["cache-control"] == "no-store"


def test_each_browser_gets_its_own_pre_login_cookie_and_token(client: TestClient) -> None:
    first, first_token = login_form(client)
    again, again_token = login_form(client)
    other, other_token = login_form(browser())

    binding = set_cookies(first)[LOGIN_CSRF_COOKIE].value
    assert set_cookies(again)[LOGIN_CSRF_COOKIE].value == binding
    assert again_token == first_token
    assert set_cookies(other)[LOGIN_CSRF_COOKIE].value != binding
    assert other_token != first_token


def test_a_login_without_the_pre_login_cookie_is_refused(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(role=Role.ADMIN)
    _, token = login_form(client)
    client.cookies.clear()

    response = post_login(client, user.email, token=token)

    page = page_of(response, 403)
    assert alert_text(response.text) == FORM_EXPIRED
    assert SESSION_COOKIE not in set_cookies(response)
    assert client.cookies.get(SESSION_COOKIE) is None
    assert count_sessions() == 0
    # The form comes back with a new pre-login cookie and its token, so the next try works.
    fresh = set_cookies(response)[LOGIN_CSRF_COOKIE].value
    assert hidden_value(page, CSRF_FIELD) == csrf_token(LOGIN_FORM, fresh)
    assert page.find("input", name="email").attrs["value"] == user.email


@pytest.mark.parametrize(
    "token",
    ["", "0" * 64, "not-a-token", "another browser's"],
    ids=["empty", "zeros", "garbage", "other-browser"],
)
def test_a_login_with_a_wrong_token_is_refused(
    client: TestClient, make_user: MakeUser, token: str
) -> None:
    user = make_user(role=Role.ADMIN)
    login_form(client)
    if token == "another browser's":
        _, token = login_form(browser())

    response = post_login(client, user.email, token=token)

    page_of(response, 403)
    assert alert_text(response.text) == FORM_EXPIRED
    assert client.cookies.get(SESSION_COOKIE) is None
    assert count_sessions() == 0


def test_a_login_with_no_token_field_is_refused(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(role=Role.ADMIN)
    login_form(client)

    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD}, follow_redirects=False
    )

    page_of(response, 403)
    assert count_sessions() == 0


def test_a_refused_form_counts_no_failed_login(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    login_form(client)

    for _ in range(get_settings().MAX_FAILED_LOGINS + 1):
        assert post_login(client, user.email, WRONG, token="forged").status_code == 403

    stored = stored_user(user.id)
    assert stored.failed_login_attempts == 0
    assert stored.locked_until is None
    assert page_login(client, user.email).status_code == 303


# --------------------------------------------------------------------------- wrong passwords


def test_a_wrong_password_is_told_and_counted(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()

    response = post_login(client, user.email, WRONG)

    page = page_of(response, 401)
    assert alert_text(response.text) == INCORRECT
    assert page.find("input", name="email").attrs["value"] == user.email
    assert page.find("input", name="password").attrs.get("value") is None
    assert WRONG not in response.text
    assert stored_user(user.id).failed_login_attempts == 1
    assert post_login(client, user.email, WRONG).status_code == 401
    assert stored_user(user.id).failed_login_attempts == 2
    assert client.cookies.get(SESSION_COOKIE) is None
    assert count_sessions() == 0


def test_an_unknown_email_gets_the_same_answer(client: TestClient) -> None:
    response = post_login(client, "nobody@example.com", WRONG)

    page_of(response, 401)
    assert alert_text(response.text) == INCORRECT
    assert count_sessions() == 0


def test_repeated_wrong_passwords_lock_the_account(client: TestClient, make_user: MakeUser) -> None:
    limit = get_settings().MAX_FAILED_LOGINS
    user = make_user()
    _, token = login_form(client)

    answers = [post_login(client, user.email, f"{WRONG} {n}", token=token) for n in range(limit)]

    assert [answer.status_code for answer in answers] == [401] * (limit - 1) + [423]
    locked = alert_text(answers[-1].text)
    assert locked.startswith(f"Account locked after {limit} failed logins in a row")
    assert stored_user(user.id).locked_until is not None

    right = post_login(client, user.email, PASSWORD, token=token)

    page_of(right, 423)
    assert alert_text(right.text).startswith("Account locked after")
    assert client.cookies.get(SESSION_COOKIE) is None
    assert count_sessions() == 0


def test_a_deactivated_user_gets_the_apis_message(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(role=Role.MANAGER)
    with SessionLocal() as db:
        user_service.deactivate(db, TEST_ACTOR, user_service.get_user(db, user.id))
        db.commit()
    api = client.post("/api/v1/auth/login", data={"username": user.email, "password": PASSWORD})

    response = post_login(client, user.email)

    page_of(response, 401)
    assert alert_text(response.text) == DEACTIVATED == api.json()["detail"]
    assert client.cookies.get(SESSION_COOKIE) is None
    assert count_sessions() == 0


# --------------------------------------------------------------------------- where a login leads


@pytest.mark.parametrize("role", list(Role))
def test_a_login_leads_to_the_home_of_the_role(
    client: TestClient, make_user: MakeUser, role: Role
) -> None:
    user = make_user(role=role)

    response = page_login(client, user.email)

    assert response.headers["location"] == HOMES[role]
    assert count_sessions() == 1
    assert LOGIN_CSRF_COOKIE in set_cookies(response)
    assert set_cookies(response)[LOGIN_CSRF_COOKIE]["max-age"] == "0"
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, HOMES[role])


def test_the_root_sends_a_stranger_to_the_login_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/login")


@pytest.mark.parametrize("next_path", ["/products?q=fig&show=all", "/products", "/dashboard"])
def test_a_login_follows_a_safe_next_path(
    client: TestClient, make_user: MakeUser, next_path: str
) -> None:
    user = make_user(role=Role.ADMIN)
    response, token = login_form(client, next_path)
    assert hidden_value(page_of(response), "next") == next_path

    answer = post_login(client, user.email, token=token, next_path=next_path)

    assert answer.status_code == 303
    assert answer.headers["location"] == next_path
    assert client.get(next_path, follow_redirects=False).status_code == 200


def test_a_page_sends_a_stranger_to_log_in_and_back(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(role=Role.MANAGER)

    refused = client.get("/products", params={"q": "fig", "page": "1"}, follow_redirects=False)

    assert refused.status_code == 303
    target = urlsplit(refused.headers["location"])
    assert target.path == "/login"
    next_path = parse_qs(target.query)["next"][0]
    assert next_path == "/products?q=fig&page=1"
    form, token = login_form(client, next_path)
    assert hidden_value(page_of(form), "next") == next_path
    answer = post_login(client, user.email, token=token, next_path=next_path)
    assert answer.headers["location"] == next_path


@pytest.mark.parametrize("next_path", OFF_SITE)
def test_a_login_never_leads_off_site(
    client: TestClient, make_user: MakeUser, next_path: str
) -> None:
    user = make_user(role=Role.STAFF)
    _, token = login_form(client, next_path)

    answer = post_login(client, user.email, token=token, next_path=next_path)

    assert answer.status_code == 303
    assert stays_on_site(answer), answer.headers["location"]
    assert client.get(answer.headers["location"], follow_redirects=False).status_code != 500


@pytest.mark.parametrize("next_path", OFF_SITE)
def test_the_login_page_of_a_logged_in_user_never_leads_off_site(
    client: TestClient, make_user: MakeUser, next_path: str
) -> None:
    logged_in(client, make_user, Role.ADMIN)

    answer = client.get("/login", params={"next": next_path}, follow_redirects=False)

    assert answer.status_code == 303
    assert stays_on_site(answer), answer.headers["location"]


def test_the_login_page_of_a_logged_in_user_leads_home_or_to_next(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.STAFF)

    home = client.get("/login", follow_redirects=False)
    onward = client.get("/login", params={"next": "/products?page=2"}, follow_redirects=False)

    assert (home.status_code, home.headers["location"]) == (303, "/products")
    assert (onward.status_code, onward.headers["location"]) == (303, "/products?page=2")
