"""Traceability through the API: the mock recall of a lot (supplier, purchase order receipts,
documents, every ledger row with its order and customer, per-customer shares, what is left and
what is reserved), its CSV with sorting, and the lots one customer received."""

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.user import Role
from app.schemas.trace import CustomerLotRow, TraceEvent
from tests.conftest import MakeUser
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import API, LOTS, MOVEMENTS, RECEIPTS, TRANSFERS, WASTE, World, make_world

TRACE = f"{API}/trace"
ORDERS = f"{API}/orders"
CUSTOMERS = f"{API}/customers"
PURCHASES = f"{API}/purchase-orders"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PRICE = "5.00"
TRACE_BEST_BEFORE = date.today() + timedelta(days=60)
OTHER_BEST_BEFORE = date.today() + timedelta(days=200)
PACK_BEST_BEFORE = date.today() + timedelta(days=90)

Json = dict[str, Any]


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


def ok(response: Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    return response.json()


# --------------------------------------------------------------------------- the scene


def create_customer(client: TestClient, headers: dict[str, str], name: str) -> int:
    """A customer made through the API; its id."""
    return int(ok(client.post(CUSTOMERS, json={"name": name}, headers=headers), 201)["id"])


def place_order(
    client: TestClient,
    headers: dict[str, str],
    customer_id: int,
    lines: list[tuple[int, str]],
) -> Json:
    """Place an order of (product, quantity) lines at PRICE each."""
    body = {
        "customer_id": customer_id,
        "lines": [
            {"product_id": product, "quantity": quantity, "unit_price": PRICE}
            for product, quantity in lines
        ],
    }
    return dict(ok(client.post(ORDERS, json=body, headers=headers), 201))


def advance(client: TestClient, headers: dict[str, str], order_id: int, step: str) -> Json:
    """Confirm or ship an order."""
    return dict(ok(client.post(f"{ORDERS}/{order_id}/{step}", headers=headers)))


def sell(
    client: TestClient,
    headers: dict[str, str],
    customer_id: int,
    lines: list[tuple[int, str]],
    *,
    ship: bool = True,
) -> Json:
    """Place, confirm and (unless told not to) ship an order."""
    order = place_order(client, headers, customer_id, lines)
    order = advance(client, headers, order["id"], "confirm")
    return advance(client, headers, order["id"], "ship") if ship else order


def return_goods(
    client: TestClient,
    headers: dict[str, str],
    order: Json,
    quantity: str,
    disposition: str,
    reason: str,
) -> Json:
    """Send back ``quantity`` of the order's first line."""
    body = {
        "reason": reason,
        "lines": [
            {"line_id": order["lines"][0]["id"], "quantity": quantity, "disposition": disposition}
        ],
    }
    return dict(ok(client.post(f"{ORDERS}/{order['id']}/returns", json=body, headers=headers), 201))


def deliver(
    client: TestClient,
    headers: dict[str, str],
    purchase: Json,
    quantity: str,
    lot_code: str,
    best_before: date,
    note: str,
) -> Json:
    """Receive a delivery of the purchase order's only line into ``lot_code``."""
    body = {
        "delivery_note": note,
        "lines": [
            {
                "line_id": purchase["lines"][0]["id"],
                "quantity": quantity,
                "lot_code": lot_code,
                "best_before": best_before.isoformat(),
                "moisture_pct": "14.50",
                "grade": "Premium",
            }
        ],
    }
    url = f"{PURCHASES}/{purchase['id']}/receipts"
    return dict(ok(client.post(url, json=body, headers=headers), 201))


@dataclass(frozen=True)
class Scene:
    """Lot L-TRACE (40 kg over two deliveries of one purchase order) and what became of it.

    Alpha took 6 (O1) and 3 (O4, which also took 2 packs of P-1); Beta took 10 (O2) and sent
    2 back to stock, and has 5 reserved on O5 (confirmed, not shipped); Gamma took 4 (O3) and
    sent 1 back, which went to waste. 1.5 kg were written off and 5 kg moved to SPARE.
    """

    admin: SignedIn
    world: World
    lot: int
    other_lot: int
    pack_lot: int
    purchase: Json
    receipts: list[Json]
    document: Json
    alpha: int
    beta: int
    gamma: int
    orders: dict[str, Json]
    waste_movement: Json
    transfer_movements: list[Json]


@pytest.fixture
def scene(client: TestClient, admin: SignedIn) -> Scene:
    """Build the traced lot's history through the API."""
    h = admin.headers
    world = make_world()
    body = {
        "supplier_id": world.supplier,
        "warehouse_id": world.main,
        "lines": [{"product_id": world.kg_product, "quantity": "60", "unit_cost": "2.0000"}],
    }
    purchase = ok(client.post(PURCHASES, json=body, headers=h), 201)
    purchase = ok(client.post(f"{PURCHASES}/{purchase['id']}/send", headers=h))
    deliver(client, h, purchase, "20", "L-TRACE", TRACE_BEST_BEFORE, "DN-1")
    deliver(client, h, purchase, "20", "L-TRACE", TRACE_BEST_BEFORE, "DN-2")
    purchase = deliver(client, h, purchase, "20", "L-OTHER", OTHER_BEST_BEFORE, "DN-3")
    receipts = ok(client.get(f"{PURCHASES}/{purchase['id']}/receipts", headers=h))
    lot, _, other_lot = (receipt["lines"][0]["lot_id"] for receipt in receipts)

    pack = {
        "product_id": world.pack_product,
        "warehouse_id": world.main,
        "lot_code": "P-1",
        "quantity": "10",
        "best_before": PACK_BEST_BEFORE.isoformat(),
    }
    pack_lot = ok(client.post(RECEIPTS, json=pack, headers=h), 201)["movements"][0]["lot_id"]

    document = ok(
        client.post(
            f"{LOTS}/{lot}/documents",
            files={"file": ("coa.pdf", PDF, "application/pdf")},
            data={"description": "Certificate of analysis"},
            headers=h,
        ),
        201,
    )

    alpha = create_customer(client, h, "Alpha Foods")
    beta = create_customer(client, h, "Beta Bakery")
    gamma = create_customer(client, h, "Gamma Grocers")
    kg = world.kg_product
    orders = {
        "o1": sell(client, h, alpha, [(kg, "6")]),
        "o2": sell(client, h, beta, [(kg, "10")]),
        "o3": sell(client, h, gamma, [(kg, "4")]),
        "o4": sell(client, h, alpha, [(kg, "3"), (world.pack_product, "2")]),
    }
    orders["o2"] = return_goods(client, h, orders["o2"], "2", "restock", "Wrong size")["order"]
    orders["o3"] = return_goods(client, h, orders["o3"], "1", "waste", "Crushed")["order"]
    waste = {
        "product_id": kg,
        "lot_id": lot,
        "warehouse_id": world.main,
        "quantity": "1.5",
        "reason": "Mould",
    }
    (waste_movement,) = ok(client.post(WASTE, json=waste, headers=h), 201)["movements"]
    transfer = {
        "product_id": kg,
        "lot_id": lot,
        "from_warehouse_id": world.main,
        "to_warehouse_id": world.spare,
        "quantity": "5",
        "reference": "TR-1",
        "reason": "Rebalance",
    }
    transfer_movements = ok(client.post(TRANSFERS, json=transfer, headers=h), 201)["movements"]
    orders["o5"] = sell(client, h, beta, [(kg, "5")], ship=False)
    return Scene(
        admin=admin,
        world=world,
        lot=lot,
        other_lot=other_lot,
        pack_lot=pack_lot,
        purchase=purchase,
        receipts=receipts,
        document=document,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        orders=orders,
        waste_movement=waste_movement,
        transfer_movements=transfer_movements,
    )


def trace_lot(client: TestClient, scene: Scene, lot_id: int | None = None, **params: Any) -> Json:
    """The lot trace as JSON."""
    url = f"{TRACE}/lots/{lot_id or scene.lot}"
    return dict(ok(client.get(url, params=params, headers=scene.admin.headers)))


def trace_customer(client: TestClient, scene: Scene, customer_id: int, **params: Any) -> Json:
    """A customer's trace as JSON."""
    url = f"{TRACE}/customers/{customer_id}"
    return dict(ok(client.get(url, params=params, headers=scene.admin.headers)))


def csv_rows(response: Response, model: type[Any]) -> list[dict[str, str]]:
    """The rows of a CSV answer, after checking its type and header."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    reader = csv.DictReader(io.StringIO(response.text))
    columns = model.model_fields if hasattr(model, "model_fields") else model.__annotations__
    assert reader.fieldnames == list(columns)
    return list(reader)


def h(scene: Scene) -> dict[str, str]:
    """The administrator's headers."""
    return scene.admin.headers


def number(scene: Scene, key: str) -> str:
    """The number of one of the scene's orders."""
    return str(scene.orders[key]["number"])


# --------------------------------------------------------------------------- lot trace


def test_lot_trace_names_the_lot_and_where_it_came_from(client: TestClient, scene: Scene) -> None:
    report = trace_lot(client, scene)
    assert report["lot"] == {
        "id": scene.lot,
        "lot_code": "L-TRACE",
        "status": "available",
        "received_date": date.today().isoformat(),
        "best_before": TRACE_BEST_BEFORE.isoformat(),
        "unit_cost": "2.0000",
        "moisture_pct": "14.50",
        "grade": "Premium",
        "product": {
            "id": scene.world.kg_product,
            "sku": "DATE-MEDJOOL",
            "name": "Product DATE-MEDJOOL",
            "unit": "kg",
        },
        "supplier": {
            "id": scene.world.supplier,
            "code": "SUNNY",
            "name": "Supplier SUNNY",
            "country": "",
        },
    }
    first, second, _ = scene.receipts
    assert report["receipts"] == [
        {
            "purchase_order_id": scene.purchase["id"],
            "purchase_order_number": scene.purchase["number"],
            "receipt_id": receipt["id"],
            "received_at": receipt["received_at"],
            "delivery_note": note,
            "quantity": "20.000",
            "movement_id": receipt["lines"][0]["movement_id"],
        }
        for receipt, note in ((first, "DN-1"), (second, "DN-2"))
    ]
    assert report["documents"] == [
        {
            "id": scene.document["id"],
            "filename": "coa.pdf",
            "content_type": "application/pdf",
            "sha256": hashlib.sha256(PDF).hexdigest(),
            "description": "Certificate of analysis",
            "uploaded_at": scene.document["uploaded_at"],
        }
    ]


def test_lot_trace_lists_every_ledger_row_with_its_order_and_customer(
    client: TestClient, scene: Scene
) -> None:
    report = trace_lot(client, scene)
    email = scene.admin.user.email
    po = scene.purchase["number"]
    main, spare = scene.world.main, scene.world.spare
    o1, o2, o3, o4 = (number(scene, key) for key in ("o1", "o2", "o3", "o4"))
    alpha, beta, gamma = scene.alpha, scene.beta, scene.gamma
    # kind, warehouse, quantity, reference, reason, order number, customer
    expected = [
        ("receipt", main, "20.000", po, "DN-1", None, None),
        ("receipt", main, "20.000", po, "DN-2", None, None),
        ("issue", main, "-6.000", o1, "", o1, alpha),
        ("issue", main, "-10.000", o2, "", o2, beta),
        ("issue", main, "-4.000", o3, "", o3, gamma),
        ("issue", main, "-3.000", o4, "", o4, alpha),
        ("return", main, "2.000", o2, "Wrong size", o2, beta),
        ("return", main, "1.000", o3, "Crushed", o3, gamma),
        ("waste", main, "-1.000", o3, "Crushed", o3, gamma),
        ("waste", main, "-1.500", "", "Mould", None, None),
        ("transfer_out", main, "-5.000", "TR-1", "Rebalance", None, None),
        ("transfer_in", spare, "5.000", "TR-1", "Rebalance", None, None),
    ]
    events = report["events"]
    assert [
        (
            e["kind"],
            e["warehouse_id"],
            e["quantity"],
            e["reference"],
            e["reason"],
            e["order_number"],
            e["customer_id"],
        )
        for e in events
    ] == expected
    codes = {main: "MAIN", spare: "SPARE"}
    names = {alpha: "Alpha Foods", beta: "Beta Bakery", gamma: "Gamma Grocers"}
    order_ids = {order["number"]: order["id"] for order in scene.orders.values()}
    for event in events:
        assert event["warehouse_code"] == codes[event["warehouse_id"]]
        assert event["actor"] == email
        assert event["customer_name"] == names.get(event["customer_id"])
        assert event["order_id"] == order_ids.get(event["order_number"])
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    assert times == sorted(times)

    ledger = ok(
        client.get(MOVEMENTS, params={"lot_id": scene.lot, "limit": 500}, headers=h(scene))
    )["items"]
    assert [e["movement_id"] for e in events] == [m["id"] for m in reversed(ledger)]
    assert events[0]["movement_id"] == scene.receipts[0]["lines"][0]["movement_id"]
    assert events[1]["movement_id"] == scene.receipts[1]["lines"][0]["movement_id"]
    assert events[9]["movement_id"] == scene.waste_movement["id"]
    assert [e["movement_id"] for e in events[10:]] == [m["id"] for m in scene.transfer_movements]


def test_lot_trace_shares_per_customer(client: TestClient, scene: Scene) -> None:
    report = trace_lot(client, scene)
    issued = {e["order_number"]: e["occurred_at"] for e in report["events"] if e["kind"] == "issue"}
    o1, o2, o3, o4 = (number(scene, key) for key in ("o1", "o2", "o3", "o4"))
    assert report["customers"] == [
        {
            "customer_id": scene.beta,
            "customer_name": "Beta Bakery",
            "orders": [o2],
            "shipped": "10.000",
            "returned": "2.000",
            "net": "8.000",
            "first_shipped_at": issued[o2],
            "last_shipped_at": issued[o2],
        },
        {
            "customer_id": scene.alpha,
            "customer_name": "Alpha Foods",
            "orders": sorted([o1, o4]),
            "shipped": "9.000",
            "returned": "0.000",
            "net": "9.000",
            "first_shipped_at": issued[o1],
            "last_shipped_at": issued[o4],
        },
        {
            "customer_id": scene.gamma,
            "customer_name": "Gamma Grocers",
            "orders": [o3],
            "shipped": "4.000",
            "returned": "1.000",
            "net": "3.000",
            "first_shipped_at": issued[o3],
            "last_shipped_at": issued[o3],
        },
    ]


def test_lot_trace_holdings_reservations_and_totals(client: TestClient, scene: Scene) -> None:
    report = trace_lot(client, scene)
    assert report["holdings"] == [
        {
            "warehouse_id": scene.world.main,
            "warehouse_code": "MAIN",
            "on_hand": "12.500",
            "reserved": "5.000",
        },
        {
            "warehouse_id": scene.world.spare,
            "warehouse_code": "SPARE",
            "on_hand": "5.000",
            "reserved": "0.000",
        },
    ]
    o5 = scene.orders["o5"]
    assert o5["status"] == "confirmed"
    assert [a["lot_id"] for a in o5["lines"][0]["allocations"]] == [scene.lot]
    assert report["reservations"] == [
        {
            "order_id": o5["id"],
            "order_number": o5["number"],
            "customer_id": scene.beta,
            "customer_name": "Beta Bakery",
            "warehouse_id": scene.world.main,
            "quantity": "5.000",
        }
    ]
    assert report["totals"] == {
        "received": "40.000",
        "shipped": "23.000",
        "returned": "3.000",
        "wasted": "2.500",
        "adjusted": "0.000",
        "counted": "0.000",
        "transferred_in": "5.000",
        "transferred_out": "5.000",
        "on_hand": "17.500",
    }
    ledger_sum = sum((dec(e["quantity"]) for e in report["events"]), Decimal(0))
    assert ledger_sum == dec(report["totals"]["on_hand"])


def test_other_lots_trace_only_their_own_history(client: TestClient, scene: Scene) -> None:
    other = trace_lot(client, scene, scene.other_lot)
    assert other["lot"]["lot_code"] == "L-OTHER"
    assert other["lot"]["best_before"] == OTHER_BEST_BEFORE.isoformat()
    third = scene.receipts[2]
    assert [(r["receipt_id"], r["delivery_note"]) for r in other["receipts"]] == [
        (third["id"], "DN-3")
    ]
    assert [(e["kind"], e["quantity"]) for e in other["events"]] == [("receipt", "20.000")]
    assert other["documents"] == other["customers"] == other["reservations"] == []
    assert other["holdings"] == [
        {
            "warehouse_id": scene.world.main,
            "warehouse_code": "MAIN",
            "on_hand": "20.000",
            "reserved": "0.000",
        }
    ]

    pack = trace_lot(client, scene, scene.pack_lot)
    assert pack["lot"]["supplier"] is None
    assert pack["receipts"] == []
    assert [(c["customer_id"], c["orders"], c["net"]) for c in pack["customers"]] == [
        (scene.alpha, [number(scene, "o4")], "2.000")
    ]
    assert pack["totals"]["on_hand"] == "8.000"


def test_lot_trace_of_an_unknown_lot_is_a_404(client: TestClient, scene: Scene) -> None:
    response = client.get(f"{TRACE}/lots/{UNKNOWN_ID}", headers=h(scene))
    assert_problem(response, 404)
    response = client.get(f"{TRACE}/lots/{UNKNOWN_ID}", params={"format": "csv"}, headers=h(scene))
    assert_problem(response, 404)


# --------------------------------------------------------------------------- lot CSV


def test_lot_trace_csv_has_one_row_per_event(client: TestClient, scene: Scene) -> None:
    events = trace_lot(client, scene)["events"]
    response = client.get(f"{TRACE}/lots/{scene.lot}", params={"format": "csv"}, headers=h(scene))
    assert 'filename="lot-L-TRACE-trace.csv"' in response.headers["content-disposition"]
    rows = csv_rows(response, TraceEvent)
    assert len(rows) == len(events) == 12
    for row, event in zip(rows, events, strict=True):
        assert int(row["movement_id"]) == event["movement_id"]
        assert datetime.fromisoformat(row["occurred_at"]) == datetime.fromisoformat(
            event["occurred_at"]
        )
        assert dec(row["quantity"]) == dec(event["quantity"])
        assert row["quantity"] == event["quantity"]  # plain notation, not a formula
        for field in ("kind", "warehouse_code", "reference", "reason", "actor"):
            assert row[field] == event[field]
        for field in ("order_id", "order_number", "customer_id", "customer_name"):
            assert row[field] == ("" if event[field] is None else str(event[field]))


def test_lot_trace_csv_sorts_by_quantity_descending(client: TestClient, scene: Scene) -> None:
    events = trace_lot(client, scene)["events"]
    expected = sorted(events, key=lambda e: (-dec(e["quantity"]), e["movement_id"]))
    params = {"format": "csv", "sort": "-quantity"}
    rows = csv_rows(
        client.get(f"{TRACE}/lots/{scene.lot}", params=params, headers=h(scene)), TraceEvent
    )
    assert [int(r["movement_id"]) for r in rows] == [e["movement_id"] for e in expected]
    quantities = [dec(r["quantity"]) for r in rows]
    assert quantities[0] == 20
    assert quantities[-1] == -10
    assert quantities == sorted(quantities, reverse=True)
    # the JSON answer sorts its events the same way
    assert trace_lot(client, scene, sort="-quantity")["events"] == expected


def test_lot_trace_csv_sorts_by_customer_then_time(client: TestClient, scene: Scene) -> None:
    events = trace_lot(client, scene)["events"]
    params = {"format": "csv", "sort": "customer,occurred_at"}
    rows = csv_rows(
        client.get(f"{TRACE}/lots/{scene.lot}", params=params, headers=h(scene)), TraceEvent
    )
    served = [e for e in events if e["customer_name"] is not None]
    unserved = [e for e in events if e["customer_name"] is None]
    by_customer = sorted(
        served,
        key=lambda e: (
            e["customer_name"],
            datetime.fromisoformat(e["occurred_at"]),
            e["movement_id"],
        ),
    )
    ids = [int(r["movement_id"]) for r in rows]
    customer_ids = [e["movement_id"] for e in by_customer]
    other_ids = [e["movement_id"] for e in unserved]  # already in time order
    # rows without a customer form one block, in time order, before or after the others
    assert ids in (customer_ids + other_ids, other_ids + customer_ids)
    assert [r["customer_name"] for r in rows if r["customer_name"]] == [
        *["Alpha Foods"] * 2,
        *["Beta Bakery"] * 2,
        *["Gamma Grocers"] * 3,
    ]


def test_events_without_a_customer_sort_last_on_every_database(
    client: TestClient, scene: Scene
) -> None:
    events = trace_lot(client, scene, sort="customer")["events"]
    names = [e["customer_name"] for e in events]
    first_unnamed = names.index(None)
    assert all(name is None for name in names[first_unnamed:])
    assert names[0] == "Alpha Foods"


@pytest.mark.parametrize("sort", ["colour", "-price", "quantity,nope", "customer_id"])
def test_lot_trace_refuses_unknown_sort_fields(client: TestClient, scene: Scene, sort: str) -> None:
    for fmt in ("json", "csv"):
        params = {"sort": sort, "format": fmt}
        response = client.get(f"{TRACE}/lots/{scene.lot}", params=params, headers=h(scene))
        problem = assert_problem(response, 422, field="sort")
        assert "occurred_at" in problem["detail"]


def test_lot_trace_refuses_an_unknown_format(client: TestClient, scene: Scene) -> None:
    params = {"format": "xml"}
    assert_problem(client.get(f"{TRACE}/lots/{scene.lot}", params=params, headers=h(scene)), 422)


# --------------------------------------------------------------------------- customer trace


def issue_and_return_events(client: TestClient, scene: Scene) -> list[Json]:
    """Every issue and return row of the scene's lots (the customer-facing ledger rows)."""
    rows = []
    for lot_id in (scene.lot, scene.other_lot, scene.pack_lot):
        rows += [
            {**event, "lot_id": lot_id}
            for event in trace_lot(client, scene, lot_id)["events"]
            if event["kind"] in ("issue", "return")
        ]
    return sorted(rows, key=lambda e: e["movement_id"])


def test_customer_trace_lists_exactly_the_customers_issues_and_returns(
    client: TestClient, scene: Scene
) -> None:
    report = trace_customer(client, scene, scene.alpha)
    assert report["customer_id"] == scene.alpha
    assert report["customer_name"] == "Alpha Foods"
    o1, o4 = scene.orders["o1"], scene.orders["o4"]
    w = scene.world
    common = {"warehouse_id": w.main, "lot_status": "available"}
    expected = [
        {
            "order_id": o1["id"],
            "order_number": o1["number"],
            "kind": "issue",
            "quantity": "-6.000",
            "lot_id": scene.lot,
            "lot_code": "L-TRACE",
            "best_before": TRACE_BEST_BEFORE.isoformat(),
            "product_id": w.kg_product,
            "sku": "DATE-MEDJOOL",
            "supplier_id": w.supplier,
            "supplier_code": "SUNNY",
            **common,
        },
        {
            "order_id": o4["id"],
            "order_number": o4["number"],
            "kind": "issue",
            "quantity": "-3.000",
            "lot_id": scene.lot,
            "lot_code": "L-TRACE",
            "best_before": TRACE_BEST_BEFORE.isoformat(),
            "product_id": w.kg_product,
            "sku": "DATE-MEDJOOL",
            "supplier_id": w.supplier,
            "supplier_code": "SUNNY",
            **common,
        },
        {
            "order_id": o4["id"],
            "order_number": o4["number"],
            "kind": "issue",
            "quantity": "-2.000",
            "lot_id": scene.pack_lot,
            "lot_code": "P-1",
            "best_before": PACK_BEST_BEFORE.isoformat(),
            "product_id": w.pack_product,
            "sku": "APRICOT-500G",
            "supplier_id": None,
            "supplier_code": None,
            **common,
        },
    ]
    rows = report["rows"]
    assert [
        {k: v for k, v in row.items() if k not in ("movement_id", "occurred_at")} for row in rows
    ] == expected
    ledger = {e["movement_id"]: e for e in issue_and_return_events(client, scene)}
    for row in rows:
        event = ledger[row["movement_id"]]
        assert (row["occurred_at"], row["quantity"], row["lot_id"]) == (
            event["occurred_at"],
            event["quantity"],
            event["lot_id"],
        )
        assert event["customer_id"] == scene.alpha


def test_customer_trace_includes_returns_to_stock(client: TestClient, scene: Scene) -> None:
    rows = trace_customer(client, scene, scene.beta)["rows"]
    o2 = number(scene, "o2")
    assert [(r["order_number"], r["kind"], r["quantity"], r["lot_code"]) for r in rows] == [
        (o2, "issue", "-10.000", "L-TRACE"),
        (o2, "return", "2.000", "L-TRACE"),
    ]  # O5 is only reserved: nothing shipped, nothing listed


def test_customer_trace_leaves_out_the_write_off_of_goods_returned_to_waste(
    client: TestClient, scene: Scene
) -> None:
    rows = trace_customer(client, scene, scene.gamma)["rows"]
    o3 = number(scene, "o3")
    assert [(r["order_number"], r["kind"], r["quantity"]) for r in rows] == [
        (o3, "issue", "-4.000"),
        (o3, "return", "1.000"),
    ]
    assert sum(dec(r["quantity"]) for r in rows) == -3  # Gamma still holds 3 kg


def test_customers_never_see_each_others_rows(client: TestClient, scene: Scene) -> None:
    events = issue_and_return_events(client, scene)
    seen: set[int] = set()
    for customer in (scene.alpha, scene.beta, scene.gamma):
        rows = trace_customer(client, scene, customer)["rows"]
        own = {e["movement_id"] for e in events if e["customer_id"] == customer}
        listed = {r["movement_id"] for r in rows if r["kind"] in ("issue", "return")}
        assert listed == own
        assert {r["order_id"] for r in rows} <= {
            o["id"] for o in scene.orders.values() if o["customer"]["id"] == customer
        }
        assert not seen & listed
        seen |= listed
    assert seen == {e["movement_id"] for e in events}
    nobody = create_customer(client, h(scene), "Delta Deli")
    assert trace_customer(client, scene, nobody) == {
        "customer_id": nobody,
        "customer_name": "Delta Deli",
        "rows": [],
    }


def test_customer_trace_csv_and_sorting(client: TestClient, scene: Scene) -> None:
    rows = trace_customer(client, scene, scene.alpha)["rows"]
    url = f"{TRACE}/customers/{scene.alpha}"
    response = client.get(url, params={"format": "csv"}, headers=h(scene))
    assert f'filename="customer-{scene.alpha}-lots.csv"' in response.headers["content-disposition"]
    listed = csv_rows(response, CustomerLotRow)
    assert [int(r["movement_id"]) for r in listed] == [r["movement_id"] for r in rows]
    for row, json_row in zip(listed, rows, strict=True):
        assert row["quantity"] == json_row["quantity"]
        assert row["lot_code"] == json_row["lot_code"]
        assert date.fromisoformat(row["best_before"]).isoformat() == json_row["best_before"]
        assert row["supplier_code"] == (json_row["supplier_code"] or "")

    params = {"format": "csv", "sort": "lot,-quantity"}
    by_lot = csv_rows(client.get(url, params=params, headers=h(scene)), CustomerLotRow)
    assert [(r["lot_code"], r["quantity"]) for r in by_lot] == [
        ("L-TRACE", "-3.000"),
        ("L-TRACE", "-6.000"),
        ("P-1", "-2.000"),
    ]
    by_quantity = trace_customer(client, scene, scene.alpha, sort="quantity")["rows"]
    assert [r["quantity"] for r in by_quantity] == ["-6.000", "-3.000", "-2.000"]
    assert_problem(client.get(url, params={"sort": "price"}, headers=h(scene)), 422, field="sort")


def test_customer_trace_csv_neutralises_formulas(client: TestClient, scene: Scene) -> None:
    sneaky = create_customer(client, h(scene), "=HYPERLINK(1)")
    order = sell(client, h(scene), sneaky, [(scene.world.kg_product, "1")])
    url = f"{TRACE}/customers/{sneaky}"
    (row,) = csv_rows(client.get(url, params={"format": "csv"}, headers=h(scene)), CustomerLotRow)
    assert row["order_number"] == order["number"]
    assert row["quantity"] == "-1.000"
    params = {"format": "csv", "sort": "-occurred_at"}
    rows = csv_rows(
        client.get(f"{TRACE}/lots/{scene.lot}", params=params, headers=h(scene)), TraceEvent
    )
    assert rows[0]["customer_name"] == "'=HYPERLINK(1)"
    assert rows[0]["reference"] == order["number"]


def test_customer_trace_of_an_unknown_customer_is_a_404(client: TestClient, scene: Scene) -> None:
    assert_problem(client.get(f"{TRACE}/customers/{UNKNOWN_ID}", headers=h(scene)), 404)


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.STAFF, 200), (Role.CUSTOMER, 403)],
)
def test_trace_is_for_staff_managers_and_admins(
    client: TestClient, make_user: MakeUser, scene: Scene, role: Role, status: int
) -> None:
    caller = sign_in(client, make_user, role)
    urls = [
        f"{TRACE}/lots/{scene.lot}",
        f"{TRACE}/lots/{scene.lot}?format=csv",
        f"{TRACE}/customers/{scene.alpha}",
        f"{TRACE}/customers/{scene.alpha}?format=csv",
    ]
    for url in urls:
        response = client.get(url, headers=caller.headers)
        if status == 200:
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, status)
    if status == 200:
        assert client.get(urls[0], headers=caller.headers).json() == trace_lot(client, scene)


def test_trace_needs_a_signed_in_caller(client: TestClient, scene: Scene) -> None:
    for url in (f"{TRACE}/lots/{scene.lot}", f"{TRACE}/customers/{scene.alpha}"):
        assert_problem(client.get(url), 401)
        assert_problem(client.get(url, headers={"Authorization": "Bearer nonsense"}), 401)
