"""An email that looks like an account's cannot become another account: written in fullwidth
letters it is the same account, a local part mixing scripts is refused, and one whose UTS #39
skeleton (without marks on Latin letters) is an account's is taken. Registration answers such
an email as it answers a taken one; an admin creating or renaming an account is told which
account it looks like, through the API, the pages and ``dfims users create-admin``."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.user import Role, User
from tests.conftest import PASSWORD, AuthHeaders, MakeUser, bearer, login
from tests.support.audit import audit_rows
from tests.support.pages import form_fields, logged_in, parse

API = "/api/v1"
REGISTER = f"{API}/auth/register"
USERS = f"{API}/users"
OTHER_PASSWORD = "quite another passphrase 42"
FULLWIDTH = "\uff53\uff45\uff43"  # s e c in fullwidth letters
# Local parts that look like "sec" without mixing scripts.
LOOKALIKES = {
    "fullwidth": FULLWIDTH,
    "upper case": "SEC",
    "cyrillic": "\u0455\u0435\u0441",  # dze, ie, es: Cyrillic only
    "c acute": "se\u0107",
    "combining acute": "sec\u0301",
    "e acute, c cedilla": "s\u00e9\u00e7",
}
MIXED = "s\u0435c"  # a Cyrillic e between Latin s and c


def _domain() -> str:
    return f"{uuid.uuid4().hex[:8]}.example.com"


def _register(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return client.post(REGISTER, json={"email": email, "password": password, "full_name": "X"})


def _users() -> int:
    with SessionLocal() as db:
        return db.scalar(select(func.count()).select_from(User)) or 0


def _shape(response: Response) -> tuple[int, str, list[str], list[str]]:
    body = response.json()
    names = sorted(
        name for name in response.headers if name not in {"x-request-id", "content-length"}
    )
    return response.status_code, body["detail"], sorted(body), names


# --------------------------------------------------------------------------- registration


@pytest.mark.parametrize("local", list(LOOKALIKES.values()), ids=list(LOOKALIKES))
def test_registering_a_lookalike_of_a_staff_email_answers_as_a_taken_one(
    client: TestClient, make_user: MakeUser, local: str
) -> None:
    domain = _domain()
    admin = make_user(role=Role.ADMIN, email=f"sec@{domain}")
    free = _register(client, f"free-{uuid.uuid4().hex[:8]}@{domain}")
    users = _users()

    response = _register(client, f"{local}@{domain}", OTHER_PASSWORD)

    assert free.status_code == 202, free.text
    assert _shape(response) == _shape(free)
    assert _users() == users
    attempts = audit_rows("auth.register_existing") + audit_rows("auth.register_lookalike")
    assert [entry.entity_id for entry in attempts] == [str(admin.id)]
    login(client, admin.email)
    refused = client.post(
        f"{API}/auth/login", data={"username": f"{local}@{domain}", "password": OTHER_PASSWORD}
    )
    assert refused.status_code == 401


def test_a_lookalike_is_audited_as_one(client: TestClient, make_user: MakeUser) -> None:
    domain = _domain()
    owner = make_user(role=Role.STAFF, email=f"sec@{domain}")

    _register(client, f"se\u0107@{domain}")
    _register(client, f"{FULLWIDTH}@{domain}")

    [lookalike] = audit_rows("auth.register_lookalike")
    [same] = audit_rows("auth.register_existing")
    assert (lookalike.entity_id, lookalike.details) == (
        str(owner.id),
        {"email": f"se\u0107@{domain}"},
    )
    assert (same.entity_id, same.details) == (str(owner.id), {"email": owner.email})


def test_a_local_part_mixing_scripts_is_refused_whether_or_not_it_is_taken(
    client: TestClient, make_user: MakeUser
) -> None:
    domain = _domain()
    make_user(role=Role.STAFF, email=f"sec@{domain}")
    users = _users()

    emails = [f"{MIXED}@{domain}", f"{MIXED}@{_domain()}"]

    answers = [_register(client, email) for email in emails]

    assert [answer.status_code for answer in answers] == [422, 422]
    details = [answer.json()["detail"] for answer in answers]
    assert details[0].replace(emails[0], "") == details[1].replace(emails[1], "")
    assert "writing systems" in details[0]
    assert answers[0].json()["field"] == "email"
    assert _users() == users


def test_a_fullwidth_registration_is_the_ascii_account(client: TestClient) -> None:
    domain = _domain()

    response = _register(client, f"{FULLWIDTH}\uff20{domain}")

    assert response.status_code == 202, response.text
    assert response.json()["email"] == f"sec@{domain}"
    tokens = login(client, f"SEC@{domain}")
    me = client.get(f"{API}/users/me", headers=bearer(tokens["access_token"])).json()
    assert me["email"] == f"sec@{domain}"
    login(client, f"{FULLWIDTH}@{domain}")


def test_a_different_email_of_the_same_domain_registers(
    client: TestClient, make_user: MakeUser
) -> None:
    domain = _domain()
    make_user(role=Role.STAFF, email=f"sec@{domain}")

    assert _register(client, f"sed@{domain}").status_code == 202
    login(client, f"sed@{domain}")


# --------------------------------------------------------------------------- administrators


def _create(client: TestClient, headers: dict[str, str], email: str) -> Response:
    body = {"email": email, "password": PASSWORD, "role": "staff", "full_name": "Twin"}
    return client.post(USERS, json=body, headers=headers)


def _problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["field"] == "email"
    return body


@pytest.mark.parametrize(
    "local", [value for key, value in LOOKALIKES.items() if key not in {"fullwidth", "upper case"}]
)
def test_an_admin_is_told_which_account_an_email_looks_like(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders, local: str
) -> None:
    domain = _domain()
    owner = make_user(role=Role.ADMIN, email=f"sec@{domain}")
    users = _users()

    body = _problem(_create(client, auth_headers(Role.ADMIN), f"{local}@{domain}"), 409)

    assert f"looks like {owner.email}" in body["detail"]
    assert f"user {owner.id}" in body["detail"]
    assert body["looks_like"] == owner.email
    assert _users() == users + 1  # the admin who asked


def test_an_admin_creating_a_fullwidth_twin_is_told_it_exists(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    domain = _domain()
    make_user(role=Role.ADMIN, email=f"sec@{domain}")

    body = _problem(_create(client, auth_headers(Role.ADMIN), f"{FULLWIDTH}@{domain}"), 409)

    assert f"sec@{domain} already exists" in body["detail"]


def test_an_admin_cannot_create_a_mixed_script_email(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    body = _problem(_create(client, auth_headers(Role.ADMIN), f"{MIXED}@{_domain()}"), 422)

    assert "writing systems" in body["detail"]


def test_an_admin_cannot_rename_an_account_to_a_lookalike(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    domain = _domain()
    owner = make_user(role=Role.ADMIN, email=f"sec@{domain}")
    other = make_user(role=Role.STAFF)
    headers = auth_headers(Role.ADMIN)

    refused = client.patch(
        f"{USERS}/{other.id}", json={"email": f"se\u0107@{domain}"}, headers=headers
    )
    mixed = client.patch(f"{USERS}/{other.id}", json={"email": f"{MIXED}@x.org"}, headers=headers)
    own = client.patch(f"{USERS}/{owner.id}", json={"email": f"se\u0107@{domain}"}, headers=headers)

    assert f"looks like {owner.email}" in _problem(refused, 409)["detail"]
    _problem(mixed, 422)
    assert own.status_code == 200, own.text
    assert own.json()["email"] == f"se\u0107@{domain}"


def test_the_admin_page_names_the_account_an_email_looks_like(
    client: TestClient, make_user: MakeUser
) -> None:
    domain = _domain()
    owner = make_user(role=Role.STAFF, email=f"sec@{domain}")
    admin = logged_in(client, make_user, Role.ADMIN)
    users = _users()
    form = {
        "email": f"\u0455\u0435\u0441@{domain}",
        "password": PASSWORD,
        "full_name": "Twin",
        "role": "admin",
        **form_fields(admin.client, "/admin/users"),
    }

    response = admin.client.post("/admin/users", data=form, follow_redirects=False)

    assert response.status_code == 409, response.text[:1000]
    alert = parse(response.text).text
    assert f"looks like {owner.email}" in alert
    assert _users() == users
