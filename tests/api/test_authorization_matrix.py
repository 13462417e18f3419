"""Who may call which API operation. RULES (tests/api/authorization_rules.py) is written out by
hand: one row per operation (method and path template) naming the callers allowed, a stranger
included where the operation is public. The table is checked against the routes the app
registers (every method of every route under /api/v1, plus /health and /metrics), so no
operation goes out without a rule and no rule outlives its operation. Then every operation is
called by every caller: an allowed caller is let through, a stranger on a protected operation
gets a 401 problem with WWW-Authenticate: Bearer, any other role a 403 problem, and a refused
call writes nothing.

The object-level checks follow: a customer user reaches its own orders and records only; for
another customer's order it gets exactly what an unknown id gets (404, so ids are not
confirmed), query parameters do not widen what it sees, and self-service bodies cannot carry a
role or another customer in."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core.counters import clear_local_counts
from app.core.database import Base, SessionLocal, engine
from app.main import app
from app.models.user import Role, User, UserSession
from app.services import users as user_service
from tests.api.authorization_rules import (
    ADMIN,
    CALLERS,
    CUSTOMER,
    MANAGER,
    PDF,
    PNG,
    RULES,
    STAFF,
    V1,
    Ref,
    Rule,
)
from tests.conftest import PASSWORD, TEST_ACTOR, bearer, empty_tables, login
from tests.support.callers import ANONYMOUS, UNKNOWN_ID
from tests.support.problems import assert_problem
from tests.support.sales import (
    CustomerUser,
    make_priced_product,
    order_line,
    place_order,
    register_customer,
)
from tests.support.stock import API, make_category, make_supplier, make_warehouse, receive

ORDERS = f"{API}/orders"


RULE_PARAMS = [pytest.param(rule, id=f"{rule.method} {rule.path}") for rule in RULES]


def registered_operations() -> set[tuple[str, str]]:
    """(method, path template) of every API route the app serves: /api/v1, /health, /metrics."""
    operations: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if not isinstance(route.original_route, APIRoute) or path is None:
            continue
        if path.startswith(f"{V1}/") or path in {"/health", "/metrics"}:
            operations |= {(method, path) for method in route.methods or ()}
    return operations


def test_every_api_operation_has_a_rule() -> None:
    missing = sorted(registered_operations() - {rule.key for rule in RULES})

    assert not missing, (
        "API operations without a row in RULES; add a rule naming who may call each: "
        + ", ".join(f"{method} {path}" for method, path in missing)
    )


def test_every_rule_names_an_operation_the_app_serves() -> None:
    stale = sorted({rule.key for rule in RULES} - registered_operations())

    assert not stale, "RULES rows for operations the app no longer serves: " + ", ".join(
        f"{method} {path}" for method, path in stale
    )


def test_each_operation_has_one_rule() -> None:
    keys = [rule.key for rule in RULES]

    assert len(keys) == len(set(keys)), sorted({key for key in keys if keys.count(key) > 1})
    assert ("GET", "/metrics") in registered_operations()  # the enumeration sees hidden routes


# --------------------------------------------------------------------------- the scene


@pytest.fixture(scope="module", autouse=True)
def _clean_tables() -> Iterator[None]:
    """The tests of this module share one scene, so the tables are emptied once, when the
    module is done, rather than after each test as the suite's fixture of this name does."""
    yield
    empty_tables()


@pytest.fixture(autouse=True)
def _forget_counts() -> Iterator[None]:
    """Counted registrations and failed logins are forgotten after each test, as elsewhere."""
    yield
    clear_local_counts()


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    """The API in-process, for the whole module."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Scene:
    """A signed-in user of each role (the customer user owns the scene's sales order) and the
    ids the paths and bodies name."""

    headers: dict[str, dict[str, str]]
    emails: dict[str, str]
    ids: dict[str, Any]

    def url(self, path: str) -> str:
        """``path`` with its parameters filled in from the scene."""
        ids = self.ids
        catalog_items = {
            "categories": ids["category"],
            "suppliers": ids["supplier"],
            "warehouses": ids["warehouse"],
        }
        values = {
            "user_id": ids["target_user"],
            "session_id": ids["target_session"],
            "item_id": catalog_items.get(path.removeprefix(f"{V1}/").split("/")[0]),
            "product_id": ids["product"],
            "tier": "wholesale",
            "lot_id": ids["lot"],
            "document_id": ids["document"],
            "dataset": "stock",
            "customer_id": ids["customer"],
            "address_id": ids["address"],
            "shipment_id": ids["shipment"],
            "line_id": ids["order_line"],
            "invoice_id": ids["invoice"],
            "credit_note_id": ids["credit_note"],
            "order_id": ids["purchase" if "/purchase-orders/" in path else "order"],
        }
        return path.format(**values)


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """A request body with ``ids`` in place of its Refs."""
    if isinstance(value, Ref):
        return ids[value.name]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


def create_user(role: Role) -> str:
    """A committed user of ``role``; its email."""
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    with SessionLocal() as session:
        user_service.create_user(
            session,
            TEST_ACTOR,
            email=email,
            password=PASSWORD,
            role=role,
            full_name=f"Test {role.value}",
        )
        session.commit()
    return email


def token_of(client: TestClient, email: str) -> dict[str, str]:
    """Log ``email`` in; its bearer headers."""
    return bearer(login(client, email)["access_token"])


def created_id(response: Response) -> int:
    """The id of what a create request answered with."""
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def scene(api: TestClient) -> Scene:
    """Users of each role, a staff user to act on (with an open session), a catalog with an
    image, a lot with stock and a document, a draft purchase order, and a pending sales order
    of the customer user's."""
    emails = {role.value: create_user(role) for role in (Role.ADMIN, Role.MANAGER, Role.STAFF)}
    headers = {role: token_of(api, email) for role, email in emails.items()}
    shopper = register_customer(api, "Corner Shop")
    emails[CUSTOMER] = shopper.email
    headers[CUSTOMER] = shopper.headers
    headers[ANONYMOUS] = {}
    admin = headers[ADMIN]

    target_email = create_user(Role.STAFF)
    login(api, target_email)
    with SessionLocal() as session:
        target_user = session.scalars(select(User.id).where(User.email == target_email)).one()
        target_session_id = session.scalars(
            select(UserSession.id).where(UserSession.user_id == target_user)
        ).one()

    product = make_priced_product(f"DATE-{uuid.uuid4().hex[:6].upper()}")
    warehouse = make_warehouse("MAIN")
    supplier = make_supplier("SUNNY")
    lot = int(receive(api, admin, product, warehouse, "LOT-1", "50")["lot_id"])
    image = api.put(
        f"{V1}/products/{product}/image",
        files={"file": ("date.png", PNG, "image/png")},
        headers=admin,
    )
    assert image.status_code == 200, image.text
    document = api.post(
        f"{V1}/lots/{lot}/documents",
        files={"file": ("certificate.pdf", PDF, "application/pdf")},
        headers=admin,
    )
    purchase = api.post(
        f"{V1}/purchase-orders",
        json={
            "supplier_id": supplier,
            "warehouse_id": warehouse,
            "lines": [{"product_id": product, "quantity": "5"}],
        },
        headers=admin,
    )
    address = api.post(
        f"{V1}/customers/{shopper.customer_id}/addresses",
        json={"kind": "delivery", "street": "1 Shop Row", "country": "GB"},
        headers=shopper.headers,
    )
    order = place_order(api, shopper.headers, None, [order_line(product, "2")])
    picked = place_order(api, shopper.headers, None, [order_line(product, "3")])
    confirmed = api.post(f"{V1}/orders/{picked['id']}/confirm", headers=admin)
    assert confirmed.status_code == 200, confirmed.text
    shipment = api.post(
        f"{V1}/orders/{picked['id']}/shipments", json={"pick_first": True}, headers=admin
    )
    sold = place_order(api, shopper.headers, None, [order_line(product, "1")])
    for action in ("confirm", "ship"):
        moved = api.post(f"{V1}/orders/{sold['id']}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text
    [sent] = moved.json()["shipments"]
    invoice = api.post(f"{V1}/shipments/{sent['id']}/invoice", headers=admin)
    invoice_line = invoice.json()["lines"][0]["id"]
    credit_note = api.post(
        f"{V1}/invoices/{created_id(invoice)}/credit-notes",
        json={"reason": "Bruised", "lines": [{"invoice_line_id": invoice_line, "amount": "0.01"}]},
        headers=admin,
    )
    ids = {
        "target_user": target_user,
        "target_session": target_session_id,
        "category": make_category("Dates"),
        "supplier": supplier,
        "warehouse": warehouse,
        "spare_warehouse": make_warehouse("SPARE"),
        "product": product,
        "lot": lot,
        "document": created_id(document),
        "purchase": created_id(purchase),
        "purchase_line": purchase.json()["lines"][0]["id"],
        "customer": shopper.customer_id,
        "address": created_id(address),
        "order": order["id"],
        "order_line": order["lines"][0]["id"],
        "shipment": created_id(shipment),
        "shipment_line": shipment.json()["lines"][0]["id"],
        "invoice": created_id(invoice),
        "invoice_line": invoice_line,
        "credit_note": created_id(credit_note),
    }
    return Scene(headers=headers, emails=emails, ids=ids)


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as committed now."""
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after[name])


def send(client: TestClient, scene: Scene, rule: Rule, headers: dict[str, str]) -> Response:
    """Call ``rule``'s operation, as ``headers`` say, with its request."""
    return client.request(
        rule.method,
        scene.url(rule.path),
        json=fill(rule.body, scene.ids),
        files=rule.files,
        headers=headers,
    )


def assert_refused(response: Response, caller: str) -> None:
    """A stranger is asked to authenticate; a signed-in caller is refused."""
    if caller == ANONYMOUS:
        assert_problem(response, 401, "authentication-failed")
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert_problem(response, 403, "permission-denied")
        assert f"({caller})" in response.json()["detail"]


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("rule", RULE_PARAMS)
def test_each_caller_gets_exactly_what_the_table_allows(
    api: TestClient, scene: Scene, rule: Rule, caller: str
) -> None:
    headers = scene.headers[caller]
    if rule.fresh_session and caller != ANONYMOUS:
        headers = token_of(api, scene.emails[caller])

    if caller in rule.allowed:
        response = send(api, scene, rule, headers)

        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 500, response.text
        if rule.method == "GET":
            assert response.status_code == 200, response.text
        return

    if rule.method == "GET":
        assert_refused(send(api, scene, rule, headers), caller)
        return

    before = database_state()
    response = send(api, scene, rule, headers)
    # The refusal comes before the body is read: one that would not validate is refused the
    # same way rather than answered 422.
    unreadable = api.request(rule.method, scene.url(rule.path), json={}, headers=headers)
    after = database_state()

    assert_refused(response, caller)
    assert_refused(unreadable, caller)
    assert after == before, f"a refused call wrote to {changed_tables(before, after)}"


def test_a_forged_or_ended_token_is_a_stranger(api: TestClient, scene: Scene) -> None:
    staff_only = f"{V1}/stock/levels"
    ended = token_of(api, scene.emails[STAFF])
    assert api.post(f"{V1}/auth/logout", headers=ended).status_code == 204

    for headers in (bearer("not-a-jwt"), ended, {"Authorization": "Basic c3RhZmY6cGFzcw=="}):
        response = api.get(staff_only, headers=headers)

        assert_problem(response, 401, "authentication-failed")
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_new_role_or_a_deactivation_counts_from_the_next_request(
    api: TestClient, scene: Scene
) -> None:
    email = create_user(Role.STAFF)
    headers = token_of(api, email)
    user_id = api.get(f"{V1}/users/me", headers=headers).json()["id"]
    admin = scene.headers[ADMIN]
    assert api.get(f"{V1}/stock/levels", headers=headers).status_code == 200

    demoted = api.put(f"{V1}/users/{user_id}/role", json={"role": CUSTOMER}, headers=admin)
    assert demoted.status_code == 200, demoted.text
    assert_problem(api.get(f"{V1}/stock/levels", headers=headers), 403, "permission-denied")

    promoted = api.put(f"{V1}/users/{user_id}/role", json={"role": MANAGER}, headers=admin)
    assert promoted.status_code == 200, promoted.text
    assert api.get(f"{V1}/reports/kpis", headers=headers).status_code == 200

    switched_off = api.post(f"{V1}/users/{user_id}/deactivate", headers=admin)
    assert switched_off.status_code == 200, switched_off.text
    response = api.get(f"{V1}/users/me", headers=headers)
    assert_problem(response, 401, "authentication-failed")
    assert response.headers["www-authenticate"] == "Bearer"


# --------------------------------------------------------------------------- customers' own data


@dataclass(frozen=True)
class Rivals:
    """Two self-registered customer users with orders of their own, one placed by staff for
    the first, and a product to order."""

    mine: CustomerUser
    theirs: CustomerUser
    my_orders: frozenset[int]
    their_order: dict[str, Any]
    product: int


@pytest.fixture
def rivals(api: TestClient, scene: Scene) -> Rivals:
    product = make_priced_product(f"FIG-{uuid.uuid4().hex[:6].upper()}")
    mine = register_customer(api, f"Mine {uuid.uuid4().hex[:6]}")
    theirs = register_customer(api, f"Theirs {uuid.uuid4().hex[:6]}")
    own = place_order(api, mine.headers, None, [order_line(product, "1")])
    for_me = place_order(api, scene.headers[STAFF], mine.customer_id, [order_line(product, "2")])
    their_order = place_order(api, theirs.headers, None, [order_line(product, "3")])
    return Rivals(mine, theirs, frozenset({own["id"], for_me["id"]}), their_order, product)


def detail_of(response: Response, record_id: int) -> str:
    """A problem's detail with ``record_id`` blanked out, to compare answers about two ids."""
    return str(response.json()["detail"]).replace(str(record_id), "{id}")


def listed(api: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    """The ids GET /orders lists for ``params``; the page total agrees."""
    response = api.get(ORDERS, params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return {item["id"] for item in page["items"]}


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="no filter"),
        pytest.param({"customer_id": "theirs"}, id="customer_id of another customer"),
        pytest.param({"customer_id": "theirs", "status": "pending"}, id="customer_id and status"),
        pytest.param({"customer_id": UNKNOWN_ID}, id="customer_id of nobody"),
    ],
)
def test_a_customer_lists_only_its_own_orders(
    api: TestClient, rivals: Rivals, params: dict[str, Any]
) -> None:
    query = {
        key: rivals.theirs.customer_id if value == "theirs" else value
        for key, value in params.items()
    }

    assert listed(api, rivals.mine.headers, **query) == rivals.my_orders
    assert listed(api, rivals.theirs.headers, **query) == {rivals.their_order["id"]}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="read"),
        pytest.param("PATCH", "", {"notes": "Mine now"}, id="change"),
        pytest.param(
            "PATCH", "", {"lines": [{"product_id": Ref("product"), "quantity": "9"}]}, id="relines"
        ),
        pytest.param("POST", "/cancel", {"reason": "Not wanted"}, id="cancel"),
    ],
)
def test_another_customers_order_answers_as_an_unknown_one(
    api: TestClient, rivals: Rivals, method: str, suffix: str, body: Any
) -> None:
    theirs = rivals.their_order["id"]
    body = fill(body, {"product": rivals.product})
    before = database_state()

    response = api.request(
        method, f"{ORDERS}/{theirs}{suffix}", json=body, headers=rivals.mine.headers
    )
    unknown = api.request(
        method, f"{ORDERS}/{UNKNOWN_ID}{suffix}", json=body, headers=rivals.mine.headers
    )

    assert_problem(response, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert detail_of(response, theirs) == detail_of(unknown, UNKNOWN_ID)
    after = database_state()
    assert after == before, f"a refused call wrote to {changed_tables(before, after)}"
    still = api.get(f"{ORDERS}/{theirs}", headers=rivals.theirs.headers)
    assert still.json() == rivals.their_order


def test_a_customer_cannot_replay_another_customers_idempotent_answer(
    api: TestClient, rivals: Rivals
) -> None:
    key = {"Idempotency-Key": f"cancel-{uuid.uuid4().hex}"}
    theirs = rivals.their_order["id"]
    cancelled = api.post(
        f"{ORDERS}/{theirs}/cancel", json={}, headers={**rivals.theirs.headers, **key}
    )
    assert cancelled.status_code == 200, cancelled.text

    replay = api.post(f"{ORDERS}/{theirs}/cancel", json={}, headers={**rivals.mine.headers, **key})

    assert_problem(replay, 404, "not-found")
    assert "Idempotent-Replayed" not in replay.headers


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="list"),
        pytest.param(
            "POST", "", {"kind": "delivery", "street": "9 Back Lane", "country": "GB"}, id="add"
        ),
        pytest.param("PATCH", "/{address}", {"is_default": True}, id="make default"),
        pytest.param("PATCH", "/{address}", {"is_active": False}, id="deactivate"),
    ],
)
def test_another_customers_addresses_answer_as_an_unknown_customers(
    api: TestClient, rivals: Rivals, method: str, suffix: str, body: Any
) -> None:
    theirs = rivals.theirs.customer_id
    made = api.post(
        f"{V1}/customers/{theirs}/addresses",
        json={"kind": "delivery", "street": "3 Their Street", "country": "GB"},
        headers=rivals.theirs.headers,
    )
    address = created_id(made)
    path = f"{{customer}}/addresses{suffix.format(address=address)}"
    before = database_state()

    response = api.request(
        method, f"{V1}/customers/{path.format(customer=theirs)}", json=body,
        headers=rivals.mine.headers,
    )  # fmt: skip
    unknown = api.request(
        method, f"{V1}/customers/{path.format(customer=UNKNOWN_ID)}", json=body,
        headers=rivals.mine.headers,
    )  # fmt: skip

    assert_problem(response, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert detail_of(response, theirs) == detail_of(unknown, UNKNOWN_ID)
    after = database_state()
    assert after == before, f"a refused call wrote to {changed_tables(before, after)}"


def test_a_customer_cannot_send_its_order_to_another_customers_address(
    api: TestClient, rivals: Rivals
) -> None:
    made = api.post(
        f"{V1}/customers/{rivals.theirs.customer_id}/addresses",
        json={"kind": "delivery", "street": "4 Their Street", "country": "GB"},
        headers=rivals.theirs.headers,
    )
    lines = [order_line(rivals.product, "1")]
    own = min(rivals.my_orders)
    before = database_state()

    placed = api.post(
        ORDERS,
        json={"delivery_address_id": created_id(made), "lines": lines},
        headers=rivals.mine.headers,
    )
    moved = api.patch(
        f"{ORDERS}/{own}",
        json={"delivery_address_id": created_id(made)},
        headers=rivals.mine.headers,
    )

    assert_problem(placed, 422, "invalid-request", field="delivery_address_id")
    assert_problem(moved, 422, "invalid-request", field="delivery_address_id")
    assert database_state() == before


def test_a_customer_cannot_order_for_another_customer(api: TestClient, rivals: Rivals) -> None:
    lines = [order_line(rivals.product, "1")]
    before = database_state()

    theirs = api.post(
        ORDERS,
        json={"customer_id": rivals.theirs.customer_id, "lines": lines},
        headers=rivals.mine.headers,
    )
    nobody = api.post(
        ORDERS, json={"customer_id": UNKNOWN_ID, "lines": lines}, headers=rivals.mine.headers
    )

    assert_problem(theirs, 404, "not-found")
    assert_problem(nobody, 404, "not-found")
    assert detail_of(theirs, rivals.theirs.customer_id) == detail_of(nobody, UNKNOWN_ID)
    assert database_state() == before


def test_a_customer_cannot_move_its_order_to_another_customer(
    api: TestClient, rivals: Rivals
) -> None:
    own = min(rivals.my_orders)

    response = api.patch(
        f"{ORDERS}/{own}",
        json={"customer_id": rivals.theirs.customer_id, "notes": "Leave at the door"},
        headers=rivals.mine.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["customer"]["id"] == rivals.mine.customer_id
    assert own not in listed(api, rivals.theirs.headers)


def test_a_customer_reads_its_own_records(api: TestClient, rivals: Rivals) -> None:
    for user in (rivals.mine, rivals.theirs):
        customer = api.get(f"{V1}/customers/me", headers=user.headers)
        account = api.get(f"{V1}/users/me", headers=user.headers)

        assert customer.status_code == 200, customer.text
        assert (customer.json()["id"], customer.json()["user_id"]) == (
            user.customer_id,
            user.user_id,
        )
        assert (account.json()["id"], account.json()["email"]) == (user.user_id, user.email)


def test_a_customer_cannot_raise_its_own_role(api: TestClient, rivals: Rivals) -> None:
    response = api.patch(
        f"{V1}/users/me",
        json={"full_name": "Still A Shop", "role": ADMIN, "is_active": True, "id": 1},
        headers=rivals.mine.headers,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["role"]) == (rivals.mine.user_id, CUSTOMER)
    assert_problem(api.get(f"{V1}/users", headers=rivals.mine.headers), 403, "permission-denied")
    other = api.get(f"{V1}/users/me", headers=rivals.theirs.headers).json()
    assert other["full_name"] != "Still A Shop"


def test_registering_always_makes_a_customer(api: TestClient) -> None:
    email = f"climber-{uuid.uuid4().hex[:8]}@example.com"

    response = api.post(
        f"{V1}/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Climber", "role": ADMIN},
    )

    assert response.status_code == 202, response.text
    headers = token_of(api, email)
    assert api.get(f"{V1}/users/me", headers=headers).json()["role"] == CUSTOMER
    assert_problem(api.get(f"{V1}/users", headers=headers), 403, "permission-denied")


@pytest.mark.parametrize(
    "target",
    [
        "/customers?q={their_name}",
        "/customers/{their_customer}",
        "/customers/{my_customer}",
        "/trace/customers/{their_customer}",
        "/audit?entity_type=sales_order&entity_id={their_order}",
        "/stock/movements?reference={their_number}",
        "/users/{their_user}",
        "/users?role=customer",
    ],
)
def test_a_customer_cannot_reach_back_office_data_by_query(
    api: TestClient, rivals: Rivals, target: str
) -> None:
    their_name = api.get(f"{V1}/customers/me", headers=rivals.theirs.headers).json()["name"]
    url = V1 + target.format(
        their_name=their_name,
        their_customer=rivals.theirs.customer_id,
        my_customer=rivals.mine.customer_id,
        their_order=rivals.their_order["id"],
        their_number=rivals.their_order["number"],
        their_user=rivals.theirs.user_id,
    )

    response = api.get(url, headers=rivals.mine.headers)

    assert_problem(response, 403, "permission-denied")
    assert their_name not in response.text
