"""The catalog API: categories, suppliers and warehouses in depth, the parts all four catalog
kinds (products too) share, who may call which catalog operation, and the audit trail."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.main import app
from app.models.audit import AuditLog
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import ANONYMOUS, CALLERS, HTTP_METHODS, UNKNOWN_ID, SignedIn, sign_in
from tests.support.catalog import (
    CATEGORIES,
    JPEG,
    PNG,
    PRODUCTS,
    SUPPLIERS,
    WAREHOUSES,
    create_category,
    ids_of,
    ok,
    post,
    upload,
)
from tests.support.problems import assert_problem, error_fields

READERS = frozenset({Role.ADMIN.value, Role.MANAGER.value, Role.STAFF.value})
WRITERS = frozenset({Role.ADMIN.value, Role.MANAGER.value})


# --------------------------------------------------------------------------- the four kinds


@dataclass(frozen=True)
class Kind:
    """One kind of catalog record, a valid body for the n-th sample and a valid change."""

    label: str
    path: str
    key: str
    sample: Callable[[int], dict[str, Any]]
    change: dict[str, Any]


KINDS = (
    Kind(
        "category",
        CATEGORIES,
        "name",
        lambda n: {"name": f"Category {n}", "description": f"About {n}"},
        {"description": "Sun-dried, no sulphur"},
    ),
    Kind(
        "supplier",
        SUPPLIERS,
        "code",
        lambda n: {"code": f"SUP-{n}", "name": f"Supplier {n}", "country": "TR", "phone": "+90"},
        {"name": "Anatolia Dried Fruit", "contact_name": "Ayla"},
    ),
    Kind(
        "warehouse",
        WAREHOUSES,
        "code",
        lambda n: {"code": f"WH-{n}", "name": f"Warehouse {n}", "address": "Dock 1"},
        {"name": "Cold store", "address": "Dock 7"},
    ),
    Kind(
        "product",
        PRODUCTS,
        "sku",
        lambda n: {"sku": f"SKU-{n}", "name": f"Product {n}", "variety": "Medjool"},
        {"name": "Jumbo Medjool", "grade": "A"},
    ),
)
KIND_PARAMS = [pytest.param(kind, id=kind.label) for kind in KINDS]
CODED_KIND_PARAMS = [pytest.param(kind, id=kind.label) for kind in KINDS if kind.key != "name"]
KIND_BY_LABEL = {kind.label: kind for kind in KINDS}


def make(client: TestClient, kind: Kind, headers: dict[str, str], n: int = 1, **over: Any) -> Any:
    """Create the n-th sample of ``kind``; the created record."""
    return post(client, kind.path, headers, **{**kind.sample(n), **over})


# --------------------------------------------------------------------------- create and read


def test_create_category_echoes_its_fields(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        CATEGORIES,
        json={"name": "  Dried apricots ", "description": "Turkish"},
        headers=admin.headers,
    )

    body = ok(response, 201)
    assert body["name"] == "Dried apricots"
    assert body["description"] == "Turkish"
    assert body["is_active"] is True
    assert isinstance(body["id"], int)
    assert body["created_at"]
    assert body["updated_at"]


def test_create_supplier_upper_cases_code_and_country(client: TestClient, admin: SignedIn) -> None:
    body = post(
        client,
        SUPPLIERS,
        admin.headers,
        code="  atlas-01 ",
        name="Atlas Trading",
        country="tr",
        contact_name="Mehmet",
        email="buyer@atlas.example.com",
        phone="+90 212 555 0101",
        address="Izmir",
    )

    assert body["code"] == "ATLAS-01"
    assert body["country"] == "TR"
    assert body["name"] == "Atlas Trading"
    assert body["contact_name"] == "Mehmet"
    assert body["email"] == "buyer@atlas.example.com"
    assert body["phone"] == "+90 212 555 0101"
    assert body["address"] == "Izmir"
    assert body["is_active"] is True


def test_supplier_email_and_country_are_optional(client: TestClient, admin: SignedIn) -> None:
    body = post(client, SUPPLIERS, admin.headers, code="s.2", name="No Mail Ltd")

    assert body["code"] == "S.2"
    assert body["email"] == ""
    assert body["country"] == ""


def test_create_warehouse_upper_cases_its_code(client: TestClient, admin: SignedIn) -> None:
    body = post(client, WAREHOUSES, admin.headers, code=" wh_north ", name="North", address="A1")

    assert body["code"] == "WH_NORTH"
    assert body["name"] == "North"
    assert body["address"] == "A1"


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_read_answers_what_create_answered(client: TestClient, admin: SignedIn, kind: Kind) -> None:
    created = make(client, kind, admin.headers)

    response = client.get(f"{kind.path}/{created['id']}", headers=admin.headers)

    assert ok(response) == created


@pytest.mark.parametrize("action", ["GET ", "PATCH ", "POST /deactivate", "POST /activate"])
@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_unknown_id_is_a_404_problem(
    client: TestClient, admin: SignedIn, kind: Kind, action: str
) -> None:
    method, suffix = action.split(" ")
    url = f"{kind.path}/{UNKNOWN_ID}{suffix}"

    payload = {} if method == "PATCH" else None
    response = client.request(method, url, json=payload, headers=admin.headers)

    body = assert_problem(response, 404, "not-found")
    assert str(UNKNOWN_ID) in body["detail"]
    assert body["instance"] == url


# --------------------------------------------------------------------------- update, (de)activate


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_update_changes_only_the_fields_sent(
    client: TestClient, admin: SignedIn, kind: Kind
) -> None:
    url = f"{kind.path}/{make(client, kind, admin.headers)['id']}"
    created = ok(client.get(url, headers=admin.headers))

    updated = ok(client.patch(url, json=kind.change, headers=admin.headers))

    ignore = {"updated_at", *kind.change}
    assert {k: v for k, v in updated.items() if k not in ignore} == {
        k: v for k, v in created.items() if k not in ignore
    }
    assert {k: updated[k] for k in kind.change} == kind.change
    assert ok(client.get(url, headers=admin.headers)) == updated


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_null_in_an_update_keeps_the_value(client: TestClient, admin: SignedIn, kind: Kind) -> None:
    created = make(client, kind, admin.headers)

    response = client.patch(
        f"{kind.path}/{created['id']}", json={"name": None}, headers=admin.headers
    )

    assert ok(response)["name"] == created["name"]


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_the_unique_field_cannot_be_changed_by_update_unless_it_is_a_name(
    client: TestClient, admin: SignedIn, kind: Kind
) -> None:
    created = make(client, kind, admin.headers)

    response = client.patch(
        f"{kind.path}/{created['id']}", json={kind.key: "OTHER-1"}, headers=admin.headers
    )

    expected = "OTHER-1" if kind.key == "name" else created[kind.key]
    assert ok(response)[kind.key] == expected


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_deactivate_and_activate(client: TestClient, admin: SignedIn, kind: Kind) -> None:
    created = make(client, kind, admin.headers)
    url = f"{kind.path}/{created['id']}"

    off = ok(client.post(f"{url}/deactivate", headers=admin.headers))
    still_readable = ok(client.get(url, headers=admin.headers))
    off_again = ok(client.post(f"{url}/deactivate", headers=admin.headers))
    on = ok(client.post(f"{url}/activate", headers=admin.headers))

    assert off["is_active"] is False
    assert still_readable["is_active"] is False
    assert still_readable[kind.key] == created[kind.key]
    assert off_again["is_active"] is False
    assert on["is_active"] is True
    assert ok(client.get(url, headers=admin.headers))["is_active"] is True


# --------------------------------------------------------------------------- listing


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_list_paginates_in_id_order(client: TestClient, admin: SignedIn, kind: Kind) -> None:
    created = [make(client, kind, admin.headers, n)["id"] for n in range(1, 6)]

    page = ok(client.get(kind.path, params={"limit": 2, "offset": 2}, headers=admin.headers))
    everything = ok(client.get(kind.path, headers=admin.headers))
    beyond = ok(client.get(kind.path, params={"offset": 10}, headers=admin.headers))

    assert [item["id"] for item in page["items"]] == created[2:4]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [item["id"] for item in everything["items"]] == created
    assert (everything["limit"], everything["offset"]) == (50, 0)
    assert beyond["items"] == []
    assert beyond["total"] == 5


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"is_active": "maybe"}, "query.is_active"),
        ({"q": "x" * 101}, "query.q"),
    ],
)
@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_list_rejects_bad_query_parameters(
    client: TestClient, admin: SignedIn, kind: Kind, params: dict[str, Any], field_name: str
) -> None:
    response = client.get(kind.path, params=params, headers=admin.headers)

    assert field_name in error_fields(response)


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_list_filters_by_active_flag(client: TestClient, admin: SignedIn, kind: Kind) -> None:
    first, second, third = (make(client, kind, admin.headers, n)["id"] for n in range(1, 4))
    ok(client.post(f"{kind.path}/{second}/deactivate", headers=admin.headers))

    active = client.get(kind.path, params={"is_active": "true"}, headers=admin.headers)
    inactive = client.get(kind.path, params={"is_active": "false"}, headers=admin.headers)

    assert ids_of(active) == [first, third]
    assert ok(active)["total"] == 2
    assert ids_of(inactive) == [second]
    assert ok(inactive)["total"] == 1


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_search_is_case_insensitive_on_code_and_name(
    client: TestClient, admin: SignedIn, kind: Kind
) -> None:
    dates = make(client, kind, admin.headers, 1, name="Medjool Dates")["id"]
    nuts = make(client, kind, admin.headers, 2, name="Kerman Pistachios")

    def found(query: str) -> list[int]:
        response = client.get(kind.path, params={"q": query}, headers=admin.headers)
        assert ok(response)["total"] == len(ok(response)["items"])
        return ids_of(response)

    assert found("DATES") == [dates]
    assert found("pIsTaChIo") == [nuts["id"]]
    assert found("no such thing") == []
    if kind.key != "name":
        assert found(nuts[kind.key].lower()) == [nuts["id"]]  # sup-2, wh-2, sku-2


@pytest.mark.parametrize(("query", "expected"), [("%", [0]), ("0%", [0]), ("_", [2]), ("n_n", [2])])
@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_search_takes_wildcards_literally(
    client: TestClient, admin: SignedIn, kind: Kind, query: str, expected: list[int]
) -> None:
    names = ["100% natural", "100 natural", "plain_name", "plainXname"]
    ids = [make(client, kind, admin.headers, n, name=name)["id"] for n, name in enumerate(names)]

    response = client.get(kind.path, params={"q": query}, headers=admin.headers)

    assert ids_of(response) == [ids[i] for i in expected]


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_a_duplicate_unique_field_is_a_409_problem(
    client: TestClient, db: Session, admin: SignedIn, kind: Kind
) -> None:
    first = make(client, kind, admin.headers, 1)
    # codes and SKUs are upper-cased and trimmed, so another spelling is the same code
    same = first[kind.key] if kind.key == "name" else f"  {first[kind.key].lower()} "

    response = client.post(
        kind.path, json={**kind.sample(2), kind.key: same}, headers=admin.headers
    )

    body = assert_problem(response, 409, "conflict")
    assert body["field"] == kind.key
    assert ok(client.get(kind.path, headers=admin.headers))["total"] == 1
    assert len(audit_rows(f"{kind.label}.created")) == 1


def test_renaming_a_category_onto_another_name_is_a_409(
    client: TestClient, admin: SignedIn
) -> None:
    create_category(client, admin.headers, "Dates")
    figs = create_category(client, admin.headers, "Figs")

    response = client.patch(f"{CATEGORIES}/{figs}", json={"name": "Dates"}, headers=admin.headers)

    assert assert_problem(response, 409, "conflict")["field"] == "name"
    assert ok(client.get(f"{CATEGORIES}/{figs}", headers=admin.headers))["name"] == "Figs"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("code", ["", "-LEAD", ".DOT", "A B", "A/B", "ÄPFEL", "X" * 41, "A%"])
@pytest.mark.parametrize("kind", CODED_KIND_PARAMS)
def test_a_bad_code_is_refused(client: TestClient, admin: SignedIn, kind: Kind, code: str) -> None:
    response = client.post(
        kind.path, json={**kind.sample(1), kind.key: code}, headers=admin.headers
    )

    assert error_fields(response) == [f"body.{kind.key}"]


@pytest.mark.parametrize("country", ["TUR", "T", "T1", "1T", "Türkiye"])
def test_a_bad_supplier_country_is_refused(
    client: TestClient, admin: SignedIn, country: str
) -> None:
    body = {"code": "S1", "name": "S", "country": country}

    assert error_fields(client.post(SUPPLIERS, json=body, headers=admin.headers)) == [
        "body.country"
    ]


def test_a_bad_supplier_email_is_refused(client: TestClient, admin: SignedIn) -> None:
    body = {"code": "S1", "name": "S", "email": "not-an-email"}

    assert error_fields(client.post(SUPPLIERS, json=body, headers=admin.headers)) == ["body.email"]


@pytest.mark.parametrize("name", ["Bad\x00name", "Bell\x07", "Esc\x1b[31m", "", "   ", "x" * 201])
@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_a_bad_name_is_refused_on_create_and_update(
    client: TestClient, admin: SignedIn, kind: Kind, name: str
) -> None:
    created = make(client, kind, admin.headers, 1)

    on_create = client.post(kind.path, json={**kind.sample(2), "name": name}, headers=admin.headers)
    on_update = client.patch(
        f"{kind.path}/{created['id']}", json={"name": name}, headers=admin.headers
    )

    assert error_fields(on_create) == ["body.name"]
    assert error_fields(on_update) == ["body.name"]


@pytest.mark.parametrize(
    ("path", "body", "field_name"),
    [
        (CATEGORIES, {"name": "C" * 150}, "name"),
        (WAREHOUSES, {"code": "W" * 30, "name": "Long code"}, "code"),
        (SUPPLIERS, {"code": "S1", "name": "Long phone", "phone": "1" * 80}, "phone"),
        (PRODUCTS, {"sku": "P1", "name": "Long grade", "grade": "G" * 80}, "grade"),
    ],
)
def test_a_value_the_schema_accepts_is_stored_whole_or_refused(
    client: TestClient, admin: SignedIn, path: str, body: dict[str, Any], field_name: str
) -> None:
    """Never a 500 and never a cut value: the schema and the column must agree on length."""
    response = client.post(path, json=body, headers=admin.headers)

    if response.status_code == 422:
        assert f"body.{field_name}" in error_fields(response)
    else:
        created = ok(response, 201)
        assert created[field_name] == body[field_name].upper()
        read = ok(client.get(f"{path}/{created['id']}", headers=admin.headers))
        assert read[field_name] == created[field_name]


# --------------------------------------------------------------------------- who may call what


@dataclass(frozen=True)
class Operation:
    """One catalog operation, the roles allowed to use it and a valid request."""

    kind: str
    method: str
    path: str
    allowed: frozenset[str]
    body: dict[str, Any] | None = None
    image: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _operations(kind: Kind, id_name: str) -> list[Operation]:
    one = f"{kind.path}/{{{id_name}}}"
    return [
        Operation(kind.label, "GET", kind.path, READERS),
        Operation(kind.label, "POST", kind.path, WRITERS, kind.sample(2)),
        Operation(kind.label, "GET", one, READERS),
        Operation(kind.label, "PATCH", one, WRITERS, kind.change),
        Operation(kind.label, "POST", f"{one}/deactivate", WRITERS),
        Operation(kind.label, "POST", f"{one}/activate", WRITERS),
    ]


OPERATIONS = (
    *_operations(KIND_BY_LABEL["category"], "item_id"),
    *_operations(KIND_BY_LABEL["supplier"], "item_id"),
    *_operations(KIND_BY_LABEL["warehouse"], "item_id"),
    *_operations(KIND_BY_LABEL["product"], "product_id"),
    Operation("product", "PUT", f"{PRODUCTS}/{{product_id}}/image", WRITERS, image=True),
    Operation("product", "GET", f"{PRODUCTS}/{{product_id}}/image", READERS),
    Operation("product", "GET", f"{PRODUCTS}/{{product_id}}/prices", READERS),
    Operation(
        "product", "PUT", f"{PRODUCTS}/{{product_id}}/prices/{{tier}}", WRITERS, {"price": "4.20"}
    ),
    Operation("product", "DELETE", f"{PRODUCTS}/{{product_id}}/prices/{{tier}}", WRITERS),
)
OPERATION_PARAMS = [pytest.param(op, id=f"{op.method} {op.path}") for op in OPERATIONS]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATION_PARAMS)
def test_authorisation_table(
    client: TestClient,
    db: Session,
    make_user: MakeUser,
    admin: SignedIn,
    operation: Operation,
    caller: str,
) -> None:
    ids = {kind.label: make(client, kind, admin.headers, 1)["id"] for kind in KINDS}
    ok(upload(client, admin.headers, ids["product"], file=("p.png", PNG, "image/png")))
    kind = KIND_BY_LABEL[operation.kind]
    before = ok(client.get(kind.path, headers=admin.headers))
    signed_in = None if caller == ANONYMOUS else sign_in(client, make_user, Role(caller))
    url = operation.path.format(
        item_id=ids[kind.label], product_id=ids["product"], tier="wholesale"
    )

    response = client.request(
        operation.method,
        url,
        json=operation.body,
        files={"file": ("new.jpg", JPEG, "image/jpeg")} if operation.image else None,
        headers=signed_in.headers if signed_in else {},
    )

    if caller in operation.allowed:
        assert 200 <= response.status_code < 300, response.text
        return
    if signed_in is None:
        assert_problem(response, 401, "authentication-failed")
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert_problem(response, 403, "permission-denied")
        db.rollback()
        written = db.scalars(select(AuditLog).where(AuditLog.actor_id == signed_in.user.id))
        assert list(written) == [], "a refused call must change nothing"
    assert ok(client.get(kind.path, headers=admin.headers)) == before


def _documented_catalog_operations() -> set[tuple[str, str]]:
    prefixes = (CATEGORIES, SUPPLIERS, WAREHOUSES, PRODUCTS)
    operations: set[tuple[str, str]] = set()
    for path, item in app.openapi()["paths"].items():
        if path in prefixes or path.startswith(tuple(f"{prefix}/" for prefix in prefixes)):
            operations |= {(method.upper(), path) for method in item if method in HTTP_METHODS}
    return operations


def test_every_catalog_operation_has_an_authorisation_rule() -> None:
    documented = _documented_catalog_operations()
    table = {operation.key for operation in OPERATIONS}

    assert ("PUT", f"{PRODUCTS}/{{product_id}}/image") in documented
    assert documented - table == set(), "operations missing from the authorisation table"
    assert table - documented == set(), "table rows for operations the API does not have"
    assert len(table) == len(OPERATIONS), "an operation is listed twice"


# --------------------------------------------------------------------------- audit trail


@pytest.mark.parametrize("kind", KIND_PARAMS)
def test_every_write_is_audited_with_the_caller(
    client: TestClient, db: Session, make_user: MakeUser, kind: Kind
) -> None:
    manager = sign_in(client, make_user, Role.MANAGER)
    created = make(client, kind, manager.headers)
    url = f"{kind.path}/{created['id']}"

    ok(client.patch(url, json=kind.change, headers=manager.headers))
    ok(client.patch(url, json=kind.change, headers=manager.headers))  # no change: not audited
    ok(client.post(f"{url}/deactivate", headers=manager.headers))
    ok(client.post(f"{url}/activate", headers=manager.headers))
    ok(client.post(f"{url}/activate", headers=manager.headers))  # already active: not audited

    for verb in ("created", "updated", "deactivated", "activated"):
        [row] = audit_rows(f"{kind.label}.{verb}")
        assert row.actor_id == manager.user.id
        assert row.actor_label == manager.user.email
        assert row.entity_type == kind.label
        assert row.entity_id == str(created["id"])
    [created_row] = audit_rows(f"{kind.label}.created")
    [updated_row] = audit_rows(f"{kind.label}.updated")
    assert created_row.details[kind.key] == created[kind.key]
    changes = updated_row.details["changes"]
    assert {k: changes[k]["after"] for k in kind.change} == kind.change
    assert all(changes[k]["before"] == created[k] for k in kind.change)
