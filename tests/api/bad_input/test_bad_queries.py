"""SQL and template injection strings in query parameters, enumerated filters and sort keys,
ids beyond any integer column, and hostile login names: clean refusals or literal matches."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.api.bad_input.scene import (
    AUDIT,
    HUGE_ID,
    PURCHASES,
    SUPPLIERS,
    USERS,
    WAREHOUSES,
    Call,
    Raw,
    Scene,
    Unchanged,
    _order,
    _product,
    _purchase,
    assert_refusal,
    ids,
)
from tests.conftest import MakeUser
from tests.support.pages import logged_in
from tests.support.problems import assert_problem
from tests.support.sales import (
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
)
from tests.support.stock import (
    API,
    LEVELS,
    LOTS,
    MOVEMENTS,
    RECEIPTS,
    receipt_body,
)

TRACE = f"{API}/trace"
LOGIN = f"{API}/auth/login"


# --------------------------------------------------------------------------- query parameters

QUERY_STRINGS: dict[str, str] = {
    "sql-injection": "' OR 1=1 --",
    "sql-drop-table": "'; DROP TABLE products; --",
    "sql-union": "x' UNION SELECT email, hashed_password FROM users --",
    "like-percent": "%",
    "like-underscore": "_",
    "template-injection": "{{7*7}}",
    "nul": "a\x00b",
}


SEARCHES: dict[str, tuple[str, str]] = {
    "products-q": (PRODUCTS, "q"),
    "customers-q": (CUSTOMERS, "q"),
    "suppliers-q": (SUPPLIERS, "q"),
    "warehouses-q": (WAREHOUSES, "q"),
    "lots-q": (LOTS, "q"),
    "users-q": (USERS, "q"),
    "movements-reference": (MOVEMENTS, "reference"),
    "audit-action": (AUDIT, "action"),
    "audit-entity-type": (AUDIT, "entity_type"),
}


@pytest.fixture
def populated(scene: Scene) -> Scene:
    """One record of every searched kind (and their audit rows)."""
    scene.lot, scene.customer, scene.supplier, scene.order  # noqa: B018
    return scene


@pytest.mark.parametrize("value", ids(QUERY_STRINGS))
def test_a_search_parameter_is_only_ever_a_literal(
    populated: Scene, subtests: pytest.Subtests, value: str
) -> None:
    """Matched literally (no record holds these strings, so none matches) or refused; the
    tables are all still there afterwards."""
    unchanged = Unchanged()
    for name, (path, parameter) in SEARCHES.items():
        with subtests.test(name):
            response = populated.client.get(
                path, params={parameter: value}, headers=populated.headers
            )
            written = unchanged.written()
            if response.status_code == 200:
                assert response.json()["items"] == []
                assert response.json()["total"] == 0
            else:
                assert_refusal(response, parameter)
            assert written == []
    assert populated.get(PRODUCTS)["total"] == 1
    assert populated.get(f"{USERS}/me")["role"] == "admin"


ENUM_FILTERS: dict[str, tuple[str, str]] = {
    "orders-status": (ORDERS, "status"),
    "purchases-status": (PURCHASES, "status"),
    "movements-kind": (MOVEMENTS, "kind"),
    "lots-status": (LOTS, "status"),
    "users-role": (USERS, "role"),
    "products-unit": (PRODUCTS, "unit"),
}
NOT_IN_AN_ENUM = {
    "sql-injection": "' OR 1=1 --",
    "sql-after-a-valid-value": "pending' OR '1'='1",
    "template-injection": "{{7*7}}",
    "nul": "a\x00b",
}


@pytest.mark.parametrize("where", ids(ENUM_FILTERS))
def test_an_enumerated_filter_refuses_anything_else(
    populated: Scene, subtests: pytest.Subtests, where: tuple[str, str]
) -> None:
    path, parameter = where
    for name, value in NOT_IN_AN_ENUM.items():
        with subtests.test(name):
            response = populated.client.get(
                path, params={parameter: value}, headers=populated.headers
            )
            assert_refusal(response, parameter)


SORT_KEYS = {
    "sql-statement": "occurred_at; DROP TABLE lots; --",
    "subquery": "(SELECT hashed_password FROM users)",
    "sql-direction": "occurred_at desc",
    "injection-after-a-valid-key": "occurred_at,' OR 1=1 --",
    "template-injection": "{{7*7}}",
    "python-attribute": "__class__",
    "nul": "occurred_at\x00",
}


@pytest.mark.parametrize("report", ["lots", "customers"])
def test_a_sort_key_outside_the_list_is_refused(
    populated: Scene, subtests: pytest.Subtests, report: str
) -> None:
    target = populated.lot if report == "lots" else populated.customer
    path = f"{TRACE}/{report}/{target}"
    for name, sort in SORT_KEYS.items():
        with subtests.test(name):
            response = populated.client.get(path, params={"sort": sort}, headers=populated.headers)
            assert_refusal(response, "sort")
    assert populated.get(f"{LOTS}/{populated.lot}")["id"] == populated.lot


# --------------------------------------------------------------------------- ids

HUGE_ID_PATHS: dict[str, str] = {
    "product": f"{PRODUCTS}/{HUGE_ID}",
    "customer": f"{CUSTOMERS}/{HUGE_ID}",
    "order": f"{ORDERS}/{HUGE_ID}",
    "purchase": f"{PURCHASES}/{HUGE_ID}",
    "user": f"{USERS}/{HUGE_ID}",
    "lot-trace": f"{TRACE}/lots/{HUGE_ID}",
    "levels-product-filter": f"{LEVELS}?product_id={HUGE_ID}",
    "movements-lot-filter": f"{MOVEMENTS}?lot_id={HUGE_ID}",
    "products-offset": f"{PRODUCTS}?offset={HUGE_ID}",
    "audit-actor-filter": f"{AUDIT}?actor_id={HUGE_ID}",
}


HUGE = Raw(HUGE_ID)


def _receipt_with(s: Scene, **fields: Any) -> Call:
    return Call("POST", RECEIPTS, {**receipt_body(s.product, s.main, "LOT-H", "1"), **fields})


HUGE_BODY_IDS: dict[str, tuple[Callable[[Scene], Call], str]] = {
    "receipt-product": (lambda s: _receipt_with(s, product_id=HUGE), "product_id"),
    "receipt-warehouse": (lambda s: _receipt_with(s, warehouse_id=HUGE), "warehouse_id"),
    "order-customer": (lambda s: _order(s, customer_id=HUGE), "customer_id"),
    "order-line-product": (lambda s: _order(s, {"product_id": HUGE}), "product_id"),
    "purchase-supplier": (lambda s: _purchase(s, supplier_id=HUGE), "supplier_id"),
    "product-category": (lambda s: _product(s, category_id=HUGE), "category_id"),
}


def test_an_id_beyond_any_integer_column_is_a_4xx(scene: Scene, subtests: pytest.Subtests) -> None:
    """In a path, a query or a body: a 404 or 422 problem, never a server error."""
    calls = {name: (make(scene), field) for name, (make, field) in HUGE_BODY_IDS.items()}
    unchanged = Unchanged()
    for name, path in HUGE_ID_PATHS.items():
        with subtests.test(name):
            assert_problem(scene.client.get(path, headers=scene.headers), (404, 422))
    for name, (call, field) in calls.items():
        with subtests.test(name):
            response = scene.send(call)
            written = unchanged.written()
            assert_refusal(response, field)
            assert written == []


def test_a_page_for_an_id_beyond_any_integer_column_is_not_a_server_error(
    scene: Scene, make_user: MakeUser
) -> None:
    logged_in(scene.client, make_user, Role.STAFF)

    response = scene.client.get(f"/products/{HUGE_ID}")

    assert response.status_code in (404, 422), response.status_code


# --------------------------------------------------------------------------- login

LOGIN_NAMES = {
    "nul": "admin\x00@example.com",
    "sql-injection": "' OR 1=1 --",
    "100-kB": "x" * 100_000,
    "template-injection": "{{7*7}}@example.com",
}


def test_a_hostile_login_name_is_a_clean_refusal(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    unchanged = Unchanged()
    for name, username in LOGIN_NAMES.items():
        with subtests.test(name):
            response = client.post(LOGIN, data={"username": username, "password": "not it"})
            written = unchanged.written()
            assert_problem(response, (401, 422))
            assert written == []
