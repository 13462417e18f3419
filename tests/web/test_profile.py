"""One's own account page: name, email and role, changing the password (refused changes keep
nothing, a form sent twice changes it once), and the change an admin-set password forces."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.audit import AuditLog
from app.models.user import Role
from app.services import users as user_service
from tests.conftest import PASSWORD, TEST_ACTOR, MakeUser
from tests.support.pages import (
    CSRF_FIELD,
    browser,
    form_fields,
    logged_in,
    page_login,
    page_of,
    parse,
    post_login,
    stored_session,
    stored_user,
)
from tests.support.refusals import changed, fingerprint

NEW_PASSWORD = "a fresh and long passphrase"
COUNTED = ("users.failed_login_attempts", "users.last_failed_login", "users.updated_at")


def change(client: TestClient, current: str, new: str, again: str | None = None) -> dict[str, str]:
    """The password form's fields, with a fresh one-time key."""
    return {
        **form_fields(client, "/profile"),
        "current_password": current,
        "new_password": new,
        "new_password_again": new if again is None else again,
    }


def password_changes(user_id: int) -> int:
    """How many times the audit trail saw ``user_id`` change their own password."""
    with SessionLocal() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(
                    AuditLog.action == "user.password_changed",
                    AuditLog.entity_id == str(user_id),
                )
            )
            or 0
        )


def flag(user_id: int) -> bool:
    """Whether the user must change their password."""
    return stored_user(user_id).must_change_password


def field_error(page_text: str, name: str) -> str:
    """The message beside field ``name`` of a drawn form."""
    return parse(page_text).find("p", id=f"e-{name}").text


# --------------------------------------------------------------------------- the page


def test_the_profile_shows_the_account_and_the_header_links_to_it(
    client: TestClient, make_user: MakeUser
) -> None:
    me = logged_in(client, make_user, Role.STAFF)

    page = page_of(client.get("/profile"))

    assert page.find("h1").text == "Your account"
    facts = page.find("dl", class_="facts").text
    assert me.user.email in facts
    assert me.user.full_name in facts
    assert "staff" in facts
    form = page.find("form", action="/profile/password")
    names = {field.attrs["name"] for field in form.find_all("input")}
    assert {"current_password", "new_password", "new_password_again"} <= names
    assert page.find("header").find("a", href="/profile").text.startswith(me.user.full_name)


def test_every_role_opens_its_profile(client: TestClient, make_user: MakeUser) -> None:
    for role in Role:
        other = browser()
        logged_in(other, make_user, role)
        assert other.get("/profile", follow_redirects=False).status_code == 200


# --------------------------------------------------------------------------- changing it


def test_a_password_change_keeps_this_session_and_ends_the_others(
    client: TestClient, make_user: MakeUser
) -> None:
    me = logged_in(client, make_user, Role.STAFF)
    elsewhere = browser()
    page_login(elsewhere, me.user.email)
    before = stored_user(me.user.id).password_changed_at

    response = client.post(
        "/profile/password", data=change(client, PASSWORD, NEW_PASSWORD), follow_redirects=False
    )

    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == "/profile?done=password"
    notice = page_of(client.get("/profile?done=password")).find("p", role="status")
    assert "Your password is changed" in notice.text
    assert stored_user(me.user.id).password_changed_at > before
    assert stored_session(me.session_id).revoked_at is None
    assert (
        elsewhere.get("/products", follow_redirects=False).headers["location"].startswith("/login")
    )
    assert post_login(browser(), me.user.email, PASSWORD).status_code == 401
    assert post_login(browser(), me.user.email, NEW_PASSWORD).status_code == 303
    assert password_changes(me.user.id) == 1


def test_a_wrong_current_password_changes_nothing_but_the_count(
    client: TestClient, make_user: MakeUser
) -> None:
    me = logged_in(client, make_user, Role.STAFF)
    fields = change(client, "not my password", NEW_PASSWORD)
    before = fingerprint(COUNTED)

    response = client.post("/profile/password", data=fields, follow_redirects=False)

    page = page_of(response, 422)
    assert "The current password is not correct." in page.find("p", role="alert").text
    assert field_error(response.text, "current_password") == "The current password is not correct."
    assert changed(before, fingerprint(COUNTED)) == []
    assert stored_user(me.user.id).failed_login_attempts == 1
    assert post_login(browser(), me.user.email, PASSWORD).status_code == 303


def test_a_weak_new_password_is_refused_beside_its_field(
    client: TestClient, make_user: MakeUser
) -> None:
    me = logged_in(client, make_user, Role.STAFF)
    fields = change(client, PASSWORD, "aaaaaaaaaaaaaaaa")
    before = fingerprint()

    response = client.post("/profile/password", data=fields, follow_redirects=False)

    page_of(response, 422)
    assert "too easy to guess" in field_error(response.text, "new_password")
    assert changed(before, fingerprint()) == []
    assert post_login(browser(), me.user.email, PASSWORD).status_code == 303


def test_two_different_new_passwords_are_refused(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)
    fields = change(client, PASSWORD, NEW_PASSWORD, again=NEW_PASSWORD + "!")
    before = fingerprint()

    response = client.post("/profile/password", data=fields, follow_redirects=False)

    page_of(response, 422)
    assert "differ" in field_error(response.text, "new_password_again")
    assert changed(before, fingerprint()) == []


def test_the_same_password_again_is_not_a_change(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)
    fields = change(client, PASSWORD, PASSWORD)
    before = fingerprint()

    response = client.post("/profile/password", data=fields, follow_redirects=False)

    page_of(response, 422)
    assert "must differ" in field_error(response.text, "new_password")
    assert changed(before, fingerprint()) == []


def test_a_change_sent_twice_is_applied_once(client: TestClient, make_user: MakeUser) -> None:
    me = logged_in(client, make_user, Role.STAFF)
    fields = change(client, PASSWORD, NEW_PASSWORD)

    first = client.post("/profile/password", data=fields, follow_redirects=False)
    applied = fingerprint()
    again = client.post("/profile/password", data=fields, follow_redirects=False)

    assert first.status_code == 303, first.text[:2000]
    assert again.status_code == 303, again.text[:2000]
    assert again.headers["location"] == first.headers["location"]
    assert changed(applied, fingerprint()) == []
    assert password_changes(me.user.id) == 1


def test_the_form_needs_this_sessions_token(client: TestClient, make_user: MakeUser) -> None:
    me = logged_in(client, make_user, Role.STAFF)
    fields = {**change(client, PASSWORD, NEW_PASSWORD), CSRF_FIELD: "forged"}

    response = client.post("/profile/password", data=fields, follow_redirects=False)

    assert response.status_code == 403
    assert post_login(browser(), me.user.email, PASSWORD).status_code == 303


# --------------------------------------------------------------------------- forced change


def admin_creates(admin: TestClient, email: str, **extra: str) -> int:
    """An admin creates a staff account on the users page; its id."""
    fields = {
        **form_fields(admin, "/admin/users"),
        "email": email,
        "password": PASSWORD,
        "full_name": "New Colleague",
        "role": "staff",
        **extra,
    }
    response = admin.post("/admin/users", data=fields, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].split("/")[-1].split("?")[0])


def test_an_account_an_admin_creates_changes_its_password_first(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.ADMIN)
    user_id = admin_creates(client, "new.colleague@example.com")
    assert flag(user_id)
    user = browser()

    login = post_login(user, "new.colleague@example.com", next_path="/alerts")

    assert login.status_code == 303
    assert login.headers["location"] == "/profile"
    page = page_of(user.get("/profile"))
    assert page.find("p", data_password_change_required=None)
    assert page.find_all("nav", aria_label="Main") == []
    for path in ("/products", "/alerts", "/orders", "/"):
        answer = user.get(path)
        assert answer.url.path == "/profile", path
    hidden = form_fields(user, "/profile")
    refused = user.post(
        "/stock/receive", data={**hidden, "product_id": "1"}, follow_redirects=False
    )
    assert refused.status_code == 303
    assert refused.headers["location"] == "/profile"

    done = user.post(
        "/profile/password", data=change(user, PASSWORD, NEW_PASSWORD), follow_redirects=False
    )

    assert done.status_code == 303, done.text[:2000]
    assert done.headers["location"] == "/products"
    assert not flag(user_id)
    assert user.get("/products", follow_redirects=False).status_code == 200
    assert user.get("/profile").url.path == "/profile"


def test_a_logout_is_open_before_the_change(client: TestClient, make_user: MakeUser) -> None:
    with SessionLocal() as db:
        user = user_service.create_user(
            db,
            TEST_ACTOR,
            email="forced.out@example.com",
            password=PASSWORD,
            role=Role.STAFF,
            must_change_password=True,
        )
        db.commit()
    page_login(client, user.email)

    response = client.post("/logout", data=form_fields(client, "/profile"), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_an_admin_reset_on_the_pages_forces_a_change(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.ADMIN)
    target = make_user(role=Role.STAFF)
    assert not flag(target.id)

    response = client.post(
        f"/admin/users/{target.id}/password",
        data={**form_fields(client, "/admin/users"), "new_password": NEW_PASSWORD},
        follow_redirects=False,
    )

    assert response.status_code == 303, response.text[:2000]
    assert flag(target.id)
    user = browser()
    assert post_login(user, target.email, NEW_PASSWORD).headers["location"] == "/profile"


def test_demo_style_accounts_are_not_forced(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(role=Role.MANAGER)

    response = page_login(client, user.email)

    assert not flag(user.id)
    assert response.headers["location"] == "/dashboard"
