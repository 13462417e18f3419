"""The audit trail through the API: who may read it, its filters (entity, actor, action, time),
pages newest first, the entries that writes leave behind (with before/after values and ledger
movement ids), and that a refused write leaves nothing."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import (
    ADJUSTMENTS,
    API,
    LOTS,
    MOVEMENTS,
    TRANSFERS,
    WASTE,
    World,
    receive,
)

AUDIT = f"{API}/audit"
PRODUCTS = f"{API}/products"
CUSTOMERS = f"{API}/customers"
ORDERS = f"{API}/orders"
PURCHASES = f"{API}/purchase-orders"
USERS = f"{API}/users"

Json = dict[str, Any]


def ok(response: Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    return response.json()


def audit_page(client: TestClient, caller: SignedIn, **params: Any) -> Json:
    """One page of the audit trail."""
    return dict(ok(client.get(AUDIT, params=params, headers=caller.headers)))


def entries(client: TestClient, caller: SignedIn, **params: Any) -> list[Json]:
    """Every entry matching ``params``, newest first."""
    page = audit_page(client, caller, limit=500, **params)
    assert page["total"] == len(page["items"])
    return list(page["items"])


def only(client: TestClient, caller: SignedIn, **params: Any) -> Json:
    """The one entry matching ``params``."""
    found = entries(client, caller, **params)
    assert len(found) == 1, found
    return found[0]


def total(client: TestClient, caller: SignedIn) -> int:
    """How many entries the trail holds."""
    return int(audit_page(client, caller, limit=1)["total"])


def when(entry: Json) -> datetime:
    """When an entry happened."""
    return datetime.fromisoformat(entry["occurred_at"])


def assert_by(entry: Json, caller: SignedIn) -> None:
    """``entry`` was written by ``caller`` over the API."""
    assert entry["actor_id"] == caller.user.id
    assert entry["actor_label"] == caller.user.email
    assert entry["ip_address"] == "testclient"
    assert entry["request_id"]


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.STAFF, 403), (Role.CUSTOMER, 403)],
)
def test_audit_is_for_admins_and_managers(
    client: TestClient, make_user: MakeUser, role: Role, status: int
) -> None:
    caller = sign_in(client, make_user, role)
    response = client.get(AUDIT, headers=caller.headers)
    if status == 403:
        assert_problem(response, 403)
        return
    page = ok(response)
    assert page["total"] >= 1  # at least the caller's own account
    assert {"user.created"} <= {item["action"] for item in page["items"]}


def test_audit_needs_a_signed_in_caller(client: TestClient) -> None:
    assert_problem(client.get(AUDIT), 401)
    assert_problem(client.get(AUDIT, headers={"Authorization": "Bearer nonsense"}), 401)


# --------------------------------------------------------------------------- what is recorded


def test_creating_a_user_is_audited(client: TestClient, admin: SignedIn) -> None:
    body = {"email": "new.packer@example.com", "password": PASSWORD, "role": "staff"}
    response = client.post(USERS, json=body, headers=admin.headers)
    user = ok(response, 201)
    entry = only(client, admin, action="user.created", entity_id=str(user["id"]))
    assert entry["entity_type"] == "user"
    assert entry["details"] == {"email": "new.packer@example.com", "role": "staff"}
    assert_by(entry, admin)
    assert entry["request_id"] == response.headers["x-request-id"]


def test_a_price_change_records_before_and_after(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    url = f"{PRODUCTS}/{world.kg_product}"
    ok(client.patch(url, json={"price": "7.50"}, headers=manager.headers))
    filters = {"action": "product.updated", "entity_id": str(world.kg_product)}
    entry = only(client, manager, **filters)
    assert entry["entity_type"] == "product"
    assert entry["details"]["changes"]["price"] == {"before": "0.00", "after": "7.50"}
    assert entry["details"]["changes"].keys() == {"price"}
    assert_by(entry, manager)

    ok(client.patch(url, json={"price": "7.50"}, headers=manager.headers))  # no change
    assert len(entries(client, manager, **filters)) == 1
    ok(client.patch(url, json={"price": "8.00", "name": "Medjool"}, headers=manager.headers))
    latest, _ = entries(client, manager, **filters)
    assert latest["details"]["changes"] == {
        "price": {"before": "7.50", "after": "8.00"},
        "name": {"before": "Product DATE-MEDJOOL", "after": "Medjool"},
    }


def test_tier_prices_are_audited(client: TestClient, manager: SignedIn, world: World) -> None:
    url = f"{PRODUCTS}/{world.kg_product}/prices/wholesale"
    ok(client.put(url, json={"price": "6.00"}, headers=manager.headers))
    ok(client.put(url, json={"price": "5.50"}, headers=manager.headers))
    ok(client.put(url, json={"price": "5.50"}, headers=manager.headers))  # unchanged
    later, first = entries(client, manager, action="price.set")
    for entry in (later, first):
        assert (entry["entity_type"], entry["entity_id"]) == ("product", str(world.kg_product))
        assert entry["details"]["tier"] == "wholesale"
        assert_by(entry, manager)
    assert first["details"]["changes"] == {"price": {"before": None, "after": "6.00"}}
    assert later["details"]["changes"] == {"price": {"before": "6.00", "after": "5.50"}}


def test_lot_status_changes_are_audited(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    lot = receive(client, manager.headers, world.kg_product, world.main, "L-1")["lot_id"]
    body = {"status": "quarantine", "reason": "Lab check"}
    ok(client.post(f"{LOTS}/{lot}/status", json=body, headers=manager.headers))
    entry = only(client, manager, action="lot.status_changed", entity_id=str(lot))
    assert entry["entity_type"] == "lot"
    assert entry["details"] == {"old": "available", "new": "quarantine", "reason": "Lab check"}
    assert_by(entry, manager)


def test_stock_movements_are_audited_with_their_movement_ids(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    h = manager.headers
    received = receive(
        client, h, world.kg_product, world.main, "L-1", "10", reference="GRN-1", reason="Opening"
    )
    lot = received["lot_id"]
    base = {"product_id": world.kg_product, "lot_id": lot}
    adjusted = ok(
        client.post(
            ADJUSTMENTS,
            json={**base, "warehouse_id": world.main, "quantity": "-1", "reason": "Spilled"},
            headers=h,
        ),
        201,
    )["movements"]
    wasted = ok(
        client.post(
            WASTE,
            json={**base, "warehouse_id": world.main, "quantity": "2", "reason": "Mould"},
            headers=h,
        ),
        201,
    )["movements"]
    moved = ok(
        client.post(
            TRANSFERS,
            json={
                **base,
                "from_warehouse_id": world.main,
                "to_warehouse_id": world.spare,
                "quantity": "3",
                "reference": "TR-9",
            },
            headers=h,
        ),
        201,
    )["movements"]
    for action, movements, reference, reason in (
        ("stock.received", [received], "GRN-1", "Opening"),
        ("stock.adjusted", adjusted, "", "Spilled"),
        ("stock.wasted", wasted, "", "Mould"),
        ("stock.transferred", moved, "TR-9", ""),
    ):
        entry = only(client, manager, action=action)
        assert (entry["entity_type"], entry["entity_id"]) == ("lot", str(lot))
        assert entry["details"] == {
            "movements": [
                {"id": m["id"], "warehouse_id": m["warehouse_id"], "quantity": m["quantity"]}
                for m in movements
            ],
            "reference": reference,
            "reason": reason,
        }
        assert_by(entry, manager)
    ledger = ok(client.get(MOVEMENTS, params={"lot_id": lot}, headers=h))["items"]
    audited = [
        movement["id"]
        for entry in entries(client, manager, entity_type="lot", entity_id=str(lot))
        for movement in entry["details"]["movements"]
    ]
    assert sorted(audited) == sorted(m["id"] for m in ledger)  # every ledger row is audited


def test_an_order_is_audited_from_creation_to_shipping(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    h = manager.headers
    receive(client, h, world.kg_product, world.main, "L-1", "10")
    customer = ok(client.post(CUSTOMERS, json={"name": "Alpha Foods"}, headers=h), 201)
    body = {
        "customer_id": customer["id"],
        "lines": [{"product_id": world.kg_product, "quantity": "4", "unit_price": "5.00"}],
    }
    order = ok(client.post(ORDERS, json=body, headers=h), 201)
    ok(client.post(f"{ORDERS}/{order['id']}/confirm", headers=h))
    ok(client.post(f"{ORDERS}/{order['id']}/ship", headers=h))

    joined = only(client, manager, action="customer.created")
    assert (joined["entity_type"], joined["entity_id"]) == ("customer", str(customer["id"]))
    assert joined["details"]["name"] == "Alpha Foods"
    trail = entries(client, manager, entity_type="sales_order", entity_id=str(order["id"]))
    assert [entry["action"] for entry in trail] == [
        "order.shipped",
        "order.confirmed",
        "order.created",
    ]
    shipped, confirmed, created = trail
    for entry in trail:
        assert entry["details"]["number"] == order["number"]
        assert_by(entry, manager)
    assert created["details"]["customer_id"] == customer["id"]
    assert created["details"]["total"] == "20.00"
    (line,) = created["details"]["lines"]
    assert (line["line_no"], line["product_id"], line["unit_price"]) == (
        1,
        world.kg_product,
        "5.00",
    )
    assert Decimal(line["quantity"]) == 4
    issued = ok(client.get(MOVEMENTS, params={"reference": order["number"]}, headers=h))["items"]
    assert [m["kind"] for m in issued] == ["issue"]
    assert shipped["details"]["movement_ids"] == [issued[0]["id"]]
    assert when(created) <= when(confirmed) <= when(shipped)


def test_a_purchase_order_is_audited_from_draft_to_receipt(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    h = manager.headers
    body = {
        "supplier_id": world.supplier,
        "warehouse_id": world.main,
        "lines": [{"product_id": world.kg_product, "quantity": "20", "unit_cost": "2.0000"}],
    }
    purchase = ok(client.post(PURCHASES, json=body, headers=h), 201)
    ok(client.post(f"{PURCHASES}/{purchase['id']}/send", headers=h))
    delivery = {
        "delivery_note": "DN-7",
        "lines": [{"line_id": purchase["lines"][0]["id"], "quantity": "20", "lot_code": "L-7"}],
    }
    ok(client.post(f"{PURCHASES}/{purchase['id']}/receipts", json=delivery, headers=h), 201)
    receipts = ok(client.get(f"{PURCHASES}/{purchase['id']}/receipts", headers=h))

    trail = entries(client, manager, entity_type="purchase_order", entity_id=str(purchase["id"]))
    assert [entry["action"] for entry in trail] == [
        "purchase_order.received",
        "purchase_order.sent",
        "purchase_order.created",
    ]
    received, _, created = trail
    assert created["details"]["number"] == purchase["number"]
    assert created["details"]["supplier_id"] == world.supplier
    assert created["details"]["total"] == "40.00"
    lines = received["details"].pop("lines")
    assert received["details"] == {
        "number": purchase["number"],
        "receipt_id": receipts[0]["id"],
        "delivery_note": "DN-7",
        "status": "received",
    }
    assert [(x["line_id"], Decimal(x["quantity"]), x["lot_code"]) for x in lines] == [
        (purchase["lines"][0]["id"], 20, "L-7")
    ]
    booked = only(client, manager, action="stock.received")
    assert booked["details"]["reference"] == purchase["number"]
    assert [m["id"] for m in booked["details"]["movements"]] == [
        receipts[0]["lines"][0]["movement_id"]
    ]
    for entry in (*trail, booked):
        assert_by(entry, manager)


# --------------------------------------------------------------------------- refused writes


@dataclass(frozen=True)
class Refusal:
    """A write that must be refused with ``status``."""

    name: str
    method: str
    path: str
    body: Json
    status: int


def refusals(client: TestClient, caller: SignedIn, world: World) -> list[Refusal]:
    """Writes the service refuses, each against the state the test set up."""
    h = caller.headers
    lot = receive(client, h, world.kg_product, world.main, "L-1", "5")["lot_id"]
    recalled = receive(client, h, world.pack_product, world.main, "P-1", "5")["lot_id"]
    body = {"status": "recalled", "reason": "Salmonella"}
    ok(client.post(f"{LOTS}/{recalled}/status", json=body, headers=h))
    customer = ok(client.post(CUSTOMERS, json={"name": "Alpha"}, headers=h), 201)
    order = ok(
        client.post(
            ORDERS,
            json={
                "customer_id": customer["id"],
                "lines": [{"product_id": world.kg_product, "quantity": "50", "unit_price": "1"}],
            },
            headers=h,
        ),
        201,
    )
    purchase = ok(
        client.post(
            PURCHASES,
            json={
                "supplier_id": world.supplier,
                "warehouse_id": world.main,
                "lines": [{"product_id": world.kg_product, "quantity": "5"}],
            },
            headers=h,
        ),
        201,
    )
    ok(client.post(f"{PURCHASES}/{purchase['id']}/send", headers=h))
    line = purchase["lines"][0]["id"]
    stock = {"product_id": world.kg_product, "lot_id": lot, "warehouse_id": world.main}
    return [
        Refusal(
            "waste beyond stock", "post", WASTE, {**stock, "quantity": "9", "reason": "x"}, 409
        ),
        Refusal("adjustment without reason", "post", ADJUSTMENTS, {**stock, "quantity": "1"}, 422),
        Refusal(
            "duplicate SKU",
            "post",
            PRODUCTS,
            {"sku": "DATE-MEDJOOL", "name": "Again", "unit": "kg", "net_weight_kg": "1"},
            409,
        ),
        Refusal(
            "un-recall a lot",
            "post",
            f"{LOTS}/{recalled}/status",
            {**body, "status": "available"},
            409,
        ),
        Refusal("confirm beyond stock", "post", f"{ORDERS}/{order['id']}/confirm", {}, 409),
        Refusal(
            "receive beyond the order",
            "post",
            f"{PURCHASES}/{purchase['id']}/receipts",
            {"lines": [{"line_id": line, "quantity": "6", "lot_code": "L-2"}]},
            409,
        ),
        Refusal(
            "duplicate user",
            "post",
            USERS,
            {"email": caller.user.email, "password": PASSWORD, "role": "staff"},
            409,
        ),
    ]


def test_refused_writes_leave_no_entry(client: TestClient, admin: SignedIn, world: World) -> None:
    for refusal in refusals(client, admin, world):
        before = entries(client, admin)
        response = client.request(
            refusal.method.upper(), refusal.path, json=refusal.body, headers=admin.headers
        )
        assert_problem(response, refusal.status)
        assert entries(client, admin) == before, refusal.name
    order = ok(client.get(ORDERS, headers=admin.headers))["items"][0]
    assert order["status"] == "pending"  # the refused confirmation changed nothing


# --------------------------------------------------------------------------- filters and pages


@pytest.fixture
def trail(client: TestClient, admin: SignedIn, manager: SignedIn, world: World) -> list[Json]:
    """A trail written by the setup, the administrator and the manager; all of it."""
    lot = receive(client, admin.headers, world.kg_product, world.main, "L-1")["lot_id"]
    receive(client, manager.headers, world.kg_product, world.main, "L-1", "5")
    body = {"status": "quarantine", "reason": "Check"}
    ok(client.post(f"{LOTS}/{lot}/status", json=body, headers=manager.headers))
    for price in ("6.00", "6.50"):
        url = f"{PRODUCTS}/{world.pack_product}"
        ok(client.patch(url, json={"price": price}, headers=admin.headers))
    ok(client.post(CUSTOMERS, json={"name": "Alpha"}, headers=manager.headers), 201)
    return entries(client, admin)


def test_the_trail_is_newest_first(client: TestClient, admin: SignedIn, trail: list[Json]) -> None:
    # two sign-ins, five catalog records, two receipts, a status, two prices, a customer
    assert len(trail) == 13
    keys = [(when(entry), entry["id"]) for entry in trail]
    assert keys == sorted(keys, reverse=True)
    assert trail[0]["action"] == "customer.created"
    assert [entry["id"] for entry in trail] == sorted(
        (entry["id"] for entry in trail), reverse=True
    )


def test_the_trail_pages(client: TestClient, admin: SignedIn, trail: list[Json]) -> None:
    pages = []
    for offset in range(0, len(trail) + 4, 4):
        page = audit_page(client, admin, limit=4, offset=offset)
        assert (page["total"], page["limit"], page["offset"]) == (len(trail), 4, offset)
        assert len(page["items"]) == min(4, max(len(trail) - offset, 0))
        pages += page["items"]
    assert pages == trail
    beyond = audit_page(client, admin, limit=4, offset=len(trail))
    assert (beyond["items"], beyond["total"]) == ([], len(trail))
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert_problem(client.get(AUDIT, params=params, headers=admin.headers), 422)


def test_the_trail_filters(
    client: TestClient, admin: SignedIn, manager: SignedIn, world: World, trail: list[Json]
) -> None:
    lot = next(e["entity_id"] for e in trail if e["action"] == "lot.status_changed")
    cases: list[Json] = [
        {"entity_type": "lot"},
        {"entity_type": "lot", "entity_id": lot},
        {"entity_type": "product", "entity_id": str(world.pack_product)},
        {"actor_id": manager.user.id},
        {"actor_id": admin.user.id},
        {"action": "stock.received"},
        {"action": "product.updated", "actor_id": admin.user.id},
        {"action": "stock.received", "actor_id": manager.user.id, "entity_id": lot},
    ]
    for params in cases:
        expected = [e for e in trail if all(e[key] == value for key, value in params.items())]
        assert expected, params
        assert len(expected) < len(trail), params
        page = audit_page(client, admin, **params)
        assert page["items"] == expected, params
        assert page["total"] == len(expected), params
    assert [e["action"] for e in entries(client, admin, actor_id=manager.user.id)] == [
        "customer.created",
        "lot.status_changed",
        "stock.received",
    ]
    assert entries(client, admin, action="order.created") == []
    assert entries(client, admin, entity_type="lot", entity_id="987654") == []
    assert entries(client, admin, actor_id=987654) == []


def test_the_trail_filters_by_time(client: TestClient, admin: SignedIn, trail: list[Json]) -> None:
    middle = trail[len(trail) // 2]
    since = entries(client, admin, since=middle["occurred_at"])
    until = entries(client, admin, until=middle["occurred_at"])
    assert since == [e for e in trail if when(e) >= when(middle)]
    assert until == [e for e in trail if when(e) < when(middle)]
    assert middle in since
    elsewhere = when(middle).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert entries(client, admin, since=elsewhere) == since  # any offset, the same instant
    assert entries(client, admin, until=elsewhere) == until
    assert since + until == trail
    window = entries(client, admin, since=trail[-1]["occurred_at"], until=trail[0]["occurred_at"])
    assert window == [e for e in trail if when(trail[-1]) <= when(e) < when(trail[0])]
    tomorrow = (date.today() + timedelta(days=1)).isoformat() + "T00:00:00+00:00"
    assert entries(client, admin, since=tomorrow) == []
    assert entries(client, admin, until=tomorrow) == trail
    naive = client.get(AUDIT, params={"since": "2026-01-01T00:00:00"}, headers=admin.headers)
    assert_problem(naive, 422)
