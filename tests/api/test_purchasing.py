"""Purchase orders through the API: drafting, sending, receiving deliveries into lots,
cancelling, refusals that write nothing, roles, Idempotency-Key, the audit trail, and
reorder suggestions checked against numbers worked out by hand."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.catalog import UnitOfMeasure
from app.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
)
from app.models.user import Role
from app.services import allocation
from app.services.allocation import AllocationRequest
from app.services.stock import MovementContext
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import (
    API,
    LOTS,
    PACK_WEIGHT,
    RECEIPTS,
    SETUP_ACTOR,
    SHELF_LIFE_DAYS,
    WASTE,
    Snapshot,
    World,
    assert_projection_matches_ledger,
    get_movements,
    level_of,
    lot_id_of,
    make_product,
    make_supplier,
    make_warehouse,
    on_hand,
    receipt_body,
    receive,
    snapshot,
)

PURCHASES = f"{API}/purchase-orders"
SUGGESTIONS = f"{API}/reorder-suggestions"
SUGGESTED_ORDER = f"{SUGGESTIONS}/purchase-order"
PRODUCTS = f"{API}/products"
CUSTOMERS = f"{API}/customers"
ORDERS = f"{API}/orders"
STATE_PROBLEM = "purchase-order-state"
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
STANDARD_COST = Decimal("2.5")  # what make_product gives every product


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


def ok(response: Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    return dict(response.json())


# --------------------------------------------------------------------------- purchase calls


def po_line(product_id: int, quantity: str, unit_cost: str | None = None) -> dict[str, Any]:
    """A purchase order line as the API takes it."""
    body: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    if unit_cost is not None:
        body["unit_cost"] = unit_cost
    return body


def po_body(supplier_id: int, warehouse_id: int, *lines: dict[str, Any], **extra: Any) -> dict:
    """The JSON body of a new purchase order."""
    return {"supplier_id": supplier_id, "warehouse_id": warehouse_id, "lines": list(lines), **extra}


def create_po(
    client: TestClient,
    headers: dict[str, str],
    supplier_id: int,
    warehouse_id: int,
    *lines: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Draft a purchase order through the API; the order."""
    body = po_body(supplier_id, warehouse_id, *lines, **extra)
    return ok(client.post(PURCHASES, json=body, headers=headers), 201)


def send_po(client: TestClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    """Send a draft to the supplier; the order."""
    return ok(client.post(f"{PURCHASES}/{order_id}/send", headers=headers))


def cancel_po(
    client: TestClient, headers: dict[str, str], order_id: int, reason: str = ""
) -> Response:
    """Ask to cancel a purchase order."""
    return client.post(f"{PURCHASES}/{order_id}/cancel", json={"reason": reason}, headers=headers)


def arrival(line_id: int, quantity: str, lot_code: str, **extra: Any) -> dict[str, Any]:
    """A delivery line as the API takes it."""
    return {"line_id": line_id, "quantity": quantity, "lot_code": lot_code, **extra}


def delivery_body(*arrivals: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON body of a delivery."""
    return {"lines": list(arrivals), **extra}


def deliver(
    client: TestClient,
    headers: dict[str, str],
    order_id: int,
    *arrivals: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Receive a delivery through the API; the order after it."""
    body = delivery_body(*arrivals, **extra)
    return ok(client.post(f"{PURCHASES}/{order_id}/receipts", json=body, headers=headers), 201)


def get_po(client: TestClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    """One purchase order as the API shows it."""
    return ok(client.get(f"{PURCHASES}/{order_id}", headers=headers))


def list_ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    """The ids of the purchase orders the API lists for ``params``, in its order."""
    page = ok(client.get(PURCHASES, params={"limit": 200, **params}, headers=headers))
    assert page["total"] == len(page["items"])
    return [item["id"] for item in page["items"]]


def ordered_po(
    client: TestClient, headers: dict[str, str], world: World, quantity: str = "10"
) -> dict[str, Any]:
    """A sent order for ``quantity`` kg of the kg product, delivered to MAIN."""
    draft = create_po(
        client, headers, world.supplier, world.main, po_line(world.kg_product, quantity)
    )
    return send_po(client, headers, draft["id"])


# --------------------------------------------------------------------------- nothing written


@dataclass(frozen=True)
class PurchaseState:
    """Everything a purchasing request may write."""

    stock: Snapshot
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    receipts: int
    receipt_lines: int


def purchase_state() -> PurchaseState:
    """What the purchasing and stock tables hold right now."""
    with SessionLocal() as db:
        orders = db.execute(
            select(
                PurchaseOrder.id,
                PurchaseOrder.status,
                PurchaseOrder.total,
                PurchaseOrder.notes,
                PurchaseOrder.warehouse_id,
                PurchaseOrder.expected_date,
            ).order_by(PurchaseOrder.id)
        ).all()
        lines = db.execute(
            select(
                PurchaseOrderLine.id,
                PurchaseOrderLine.order_id,
                PurchaseOrderLine.product_id,
                PurchaseOrderLine.quantity,
                PurchaseOrderLine.unit_cost,
                PurchaseOrderLine.received_quantity,
            ).order_by(PurchaseOrderLine.id)
        ).all()
        receipts = db.scalar(select(func.count()).select_from(PurchaseReceipt)) or 0
        receipt_lines = db.scalar(select(func.count()).select_from(PurchaseReceiptLine)) or 0
    return PurchaseState(
        stock=snapshot(),
        orders=[tuple(row) for row in orders],
        lines=[tuple(row) for row in lines],
        receipts=receipts,
        receipt_lines=receipt_lines,
    )


def assert_refused(
    call: Callable[[], Response], status: int, slug: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """``call`` answers a problem of ``status`` and writes nothing at all."""
    before = purchase_state()
    problem = assert_problem(call(), status, slug, field)
    assert purchase_state() == before
    return problem


# --------------------------------------------------------------------------- drafting


def test_create_draft_defaults_costs_and_totals_each_line_to_the_cent(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    expected = date.today() + timedelta(days=14)
    order = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "10"),  # standard cost 2.5 -> 25.00
        po_line(world.kg_product, "1.5", "1.2300"),  # 1.845 -> 1.85 (half up)
        po_line(world.pack_product, "3", "0.3333"),  # 0.9999 -> 1.00
        expected_date=expected.isoformat(),
        notes="Autumn dates",
    )

    assert order["status"] == "draft"
    assert order["number"] == f"PO-{order['id']:06d}"
    assert order["supplier"] == {"id": world.supplier, "code": "SUNNY", "name": "Supplier SUNNY"}
    assert order["warehouse_id"] == world.main
    assert order["expected_date"] == expected.isoformat()
    assert order["notes"] == "Autumn dates"
    assert order["ordered_at"] is None
    assert order["closed_at"] is None
    # Each line rounds to the cent before the sum: 25.00 + 1.85 + 1.00, not 27.8449 -> 27.84.
    assert dec(order["total"]) == Decimal("27.85")
    lines = order["lines"]
    assert [line["line_no"] for line in lines] == [1, 2, 3]
    assert [line["sku"] for line in lines] == ["DATE-MEDJOOL", "DATE-MEDJOOL", "APRICOT-500G"]
    assert [dec(line["quantity"]) for line in lines] == [Decimal(10), Decimal("1.5"), Decimal(3)]
    assert [dec(line["unit_cost"]) for line in lines] == [
        STANDARD_COST,
        Decimal("1.23"),
        Decimal("0.3333"),
    ]
    assert all(dec(line["received_quantity"]) == 0 for line in lines)
    assert [dec(line["open_quantity"]) for line in lines] == [
        Decimal(10),
        Decimal("1.5"),
        Decimal(3),
    ]
    assert get_po(client, manager.headers, order["id"]) == order

    [entry] = audit_rows("purchase_order.created", order["id"])
    assert entry.actor_id == manager.user.id
    assert entry.entity_type == "purchase_order"
    assert entry.details["number"] == order["number"]
    assert entry.details["supplier_id"] == world.supplier
    assert dec(entry.details["total"]) == Decimal("27.85")
    assert [dec(line["quantity"]) for line in entry.details["lines"]] == [
        Decimal(10),
        Decimal("1.5"),
        Decimal(3),
    ]
    assert purchase_state().stock.movements == 0  # a draft moves no stock


def test_unknown_purchase_order_is_a_404(client: TestClient, manager: SignedIn) -> None:
    assert_problem(client.get(f"{PURCHASES}/{UNKNOWN_ID}", headers=manager.headers), 404)
    assert_problem(client.get(f"{PURCHASES}/{UNKNOWN_ID}/receipts", headers=manager.headers), 404)
    assert_problem(client.post(f"{PURCHASES}/{UNKNOWN_ID}/send", headers=manager.headers), 404)


def test_list_filters_by_status_and_supplier_newest_first(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    other = make_supplier("NUTTY")
    first = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    sent = ordered_po(client, manager.headers, world, "2")
    third = create_po(client, manager.headers, other, world.main, po_line(world.kg_product, "3"))

    assert list_ids(client, manager.headers) == [third["id"], sent["id"], first["id"]]
    assert list_ids(client, manager.headers, status="draft") == [third["id"], first["id"]]
    assert list_ids(client, manager.headers, status="ordered") == [sent["id"]]
    assert list_ids(client, manager.headers, status="received") == []
    assert list_ids(client, manager.headers, supplier_id=world.supplier) == [
        sent["id"],
        first["id"],
    ]
    assert list_ids(client, manager.headers, supplier_id=other) == [third["id"]]
    assert list_ids(client, manager.headers, status="draft", supplier_id=world.supplier) == [
        first["id"]
    ]
    page = ok(client.get(PURCHASES, params={"status": "ordered"}, headers=manager.headers))
    [summary] = page["items"]
    assert summary["number"] == sent["number"]
    assert summary["supplier"]["code"] == "SUNNY"
    assert dec(summary["total"]) == Decimal("5.00")  # 2 kg at the standard 2.5
    assert "lines" not in summary
    assert_problem(
        client.get(PURCHASES, params={"status": "shipped"}, headers=manager.headers),
        422,
        "validation-error",
    )


def test_patch_draft_replaces_every_line_and_audits_before_and_after(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "10"),
        po_line(world.pack_product, "4", "1.0000"),
    )
    expected = date.today() + timedelta(days=7)
    body = {
        "notes": "Bigger pack order",
        "expected_date": expected.isoformat(),
        "warehouse_id": world.spare,
        "lines": [po_line(world.pack_product, "12", "1.1000")],
    }
    changed = ok(client.patch(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers))

    assert changed["status"] == "draft"
    assert changed["notes"] == "Bigger pack order"
    assert changed["expected_date"] == expected.isoformat()
    assert changed["warehouse_id"] == world.spare
    [line] = changed["lines"]
    assert line["line_no"] == 1
    assert line["product_id"] == world.pack_product
    assert dec(line["quantity"]) == Decimal(12)
    assert dec(line["unit_cost"]) == Decimal("1.1")
    assert dec(changed["total"]) == Decimal("13.20")
    assert get_po(client, manager.headers, order["id"]) == changed
    with SessionLocal() as db:
        stored = db.scalars(
            select(PurchaseOrderLine.id).where(PurchaseOrderLine.order_id == order["id"])
        ).all()
    assert list(stored) == [line["id"]]  # the old lines are gone, not kept beside the new

    [entry] = audit_rows("purchase_order.updated", order["id"])
    assert entry.actor_id == manager.user.id
    changes = entry.details["changes"]
    assert changes["notes"] == {"before": "", "after": "Bigger pack order"}
    assert changes["expected_date"] == {"before": None, "after": expected.isoformat()}
    assert changes["warehouse_id"] == {"before": world.main, "after": world.spare}
    before, after = changes["lines"]["before"], changes["lines"]["after"]
    assert [(row["product_id"], dec(row["quantity"])) for row in before] == [
        (world.kg_product, Decimal(10)),
        (world.pack_product, Decimal(4)),
    ]
    assert [(row["product_id"], dec(row["quantity"]), dec(row["unit_cost"])) for row in after] == [
        (world.pack_product, Decimal(12), Decimal("1.1"))
    ]


def test_patch_can_clear_the_expected_date(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    expected = date.today() + timedelta(days=3)
    order = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "1"),
        expected_date=expected.isoformat(),
    )
    body = {"expected_date": None, "notes": None}
    cleared = ok(client.patch(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers))
    assert cleared["expected_date"] is None
    assert cleared["notes"] == ""  # a null note is no change
    assert cleared["lines"] == order["lines"]
    [entry] = audit_rows("purchase_order.updated", order["id"])
    assert entry.details["changes"] == {
        "expected_date": {"before": expected.isoformat(), "after": None}
    }


def test_patch_without_changes_writes_no_audit_entry(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    same = ok(client.patch(f"{PURCHASES}/{order['id']}", json={}, headers=manager.headers))
    assert same == order
    assert audit_rows("purchase_order.updated") == []


def test_send_moves_a_draft_to_ordered_once(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    draft = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "5")
    )
    sent = send_po(client, manager.headers, draft["id"])
    assert sent["status"] == "ordered"
    assert sent["ordered_at"] is not None
    assert sent["closed_at"] is None
    assert sent["lines"] == draft["lines"]
    [entry] = audit_rows("purchase_order.sent", draft["id"])
    assert entry.details["number"] == draft["number"]
    assert entry.actor_id == manager.user.id

    problem = assert_refused(
        lambda: client.post(f"{PURCHASES}/{draft['id']}/send", headers=manager.headers),
        409,
        STATE_PROBLEM,
    )
    assert problem["current_status"] == "ordered"
    assert len(audit_rows("purchase_order.sent")) == 1


def test_a_sent_order_cannot_be_edited(client: TestClient, manager: SignedIn, world: World) -> None:
    order = ordered_po(client, manager.headers, world)
    body = {"notes": "too late", "lines": [po_line(world.kg_product, "99")]}
    problem = assert_refused(
        lambda: client.patch(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers),
        409,
        STATE_PROBLEM,
    )
    assert problem["current_status"] == "ordered"
    assert get_po(client, manager.headers, order["id"]) == order


# --------------------------------------------------------------------------- receiving


def test_receiving_in_several_deliveries_books_lots_movements_and_status(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "100", "2.4000"),
            po_line(world.pack_product, "40"),
        )["id"],
    )
    kg_line, pack_line = order["lines"]
    number = order["number"]
    today = date.today()
    best_before = today + timedelta(days=90)

    # First delivery: 60 kg into one lot, all 40 packs into another, received by staff.
    first = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(
            kg_line["id"],
            "60",
            "DAT-24-01",
            best_before=best_before.isoformat(),
            moisture_pct="18.50",
            grade="Jumbo",
        ),
        arrival(pack_line["id"], "40", "APR-24-01", unit_cost="1.1000"),
        delivery_note="DN-1001",
    )
    assert first["status"] == "partially_received"
    assert first["closed_at"] is None
    kg_now, pack_now = first["lines"]
    assert (dec(kg_now["received_quantity"]), dec(kg_now["open_quantity"])) == (60, 40)
    assert (dec(pack_now["received_quantity"]), dec(pack_now["open_quantity"])) == (40, 0)

    kg_lot = lot_id_of(world.kg_product, "DAT-24-01")
    pack_lot = lot_id_of(world.pack_product, "APR-24-01")
    lot = ok(client.get(f"{LOTS}/{kg_lot}", headers=staff.headers))
    assert lot["supplier_id"] == world.supplier
    assert lot["received_date"] == today.isoformat()
    assert lot["best_before"] == best_before.isoformat()
    assert dec(lot["unit_cost"]) == Decimal("2.4")  # the line's cost
    assert dec(lot["moisture_pct"]) == Decimal("18.5")
    assert lot["grade"] == "Jumbo"
    lot = ok(client.get(f"{LOTS}/{pack_lot}", headers=staff.headers))
    assert lot["supplier_id"] == world.supplier
    assert lot["best_before"] == (today + timedelta(days=SHELF_LIFE_DAYS)).isoformat()
    assert dec(lot["unit_cost"]) == Decimal("1.1")  # given on the delivery line
    assert lot["grade"] == "A"  # the product's grade
    assert on_hand(client, staff.headers, kg_lot, world.main) == Decimal(60)
    assert on_hand(client, staff.headers, pack_lot, world.main) == Decimal(40)

    # Second delivery, yesterday, into the spare warehouse: the rest of the dates.
    yesterday = today - timedelta(days=1)
    second = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(kg_line["id"], "40", "DAT-24-02"),
        warehouse_id=world.spare,
        received_date=yesterday.isoformat(),
        delivery_note="DN-1002",
    )
    assert second["status"] == "received"
    assert second["closed_at"] is not None
    assert [dec(line["received_quantity"]) for line in second["lines"]] == [100, 40]
    assert [dec(line["open_quantity"]) for line in second["lines"]] == [0, 0]
    late_lot = lot_id_of(world.kg_product, "DAT-24-02")
    lot = ok(client.get(f"{LOTS}/{late_lot}", headers=staff.headers))
    assert lot["received_date"] == yesterday.isoformat()
    assert lot["best_before"] == (yesterday + timedelta(days=SHELF_LIFE_DAYS)).isoformat()
    assert dec(lot["unit_cost"]) == Decimal("2.4")
    assert on_hand(client, staff.headers, late_lot, world.spare) == Decimal(40)
    assert level_of(client, staff.headers, late_lot, world.main) is None
    assert on_hand(client, staff.headers, kg_lot, world.main) == Decimal(60)

    # The ledger: three receipts referencing the PO number, the delivery note as reason.
    movements = get_movements(client, staff.headers, reference=number)
    assert {m["kind"] for m in movements} == {"receipt"}
    by_lot = {m["lot_id"]: m for m in movements}
    assert set(by_lot) == {kg_lot, pack_lot, late_lot}
    assert dec(by_lot[kg_lot]["quantity"]) == Decimal(60)
    assert dec(by_lot[pack_lot]["quantity"]) == Decimal(40)
    assert dec(by_lot[pack_lot]["quantity_kg"]) == Decimal(40) * PACK_WEIGHT
    assert dec(by_lot[late_lot]["quantity"]) == Decimal(40)
    assert by_lot[late_lot]["warehouse_id"] == world.spare
    assert by_lot[kg_lot]["reason"] == "DN-1001"
    assert by_lot[late_lot]["reason"] == "DN-1002"
    assert {m["actor_id"] for m in movements} == {staff.user.id}
    assert_projection_matches_ledger()

    # The receipts listing: both deliveries, oldest first, with their lots and movements.
    receipts = client.get(f"{PURCHASES}/{order['id']}/receipts", headers=staff.headers)
    one, two = ok_list(receipts)
    assert one["delivery_note"] == "DN-1001"
    assert one["warehouse_id"] == world.main
    assert one["actor_label"] == staff.user.email
    assert [
        (r["order_line_id"], r["lot_id"], r["movement_id"], dec(r["quantity"]))
        for r in one["lines"]
    ] == [
        (kg_line["id"], kg_lot, by_lot[kg_lot]["id"], Decimal(60)),
        (pack_line["id"], pack_lot, by_lot[pack_lot]["id"], Decimal(40)),
    ]
    assert two["delivery_note"] == "DN-1002"
    assert two["warehouse_id"] == world.spare
    assert [(r["lot_id"], r["movement_id"]) for r in two["lines"]] == [
        (late_lot, by_lot[late_lot]["id"])
    ]

    entries = audit_rows("purchase_order.received", order["id"])
    assert [entry.details["status"] for entry in entries] == ["partially_received", "received"]
    assert [entry.details["receipt_id"] for entry in entries] == [one["id"], two["id"]]
    assert [entry.actor_id for entry in entries] == [staff.user.id, staff.user.id]
    assert [line["lot_code"] for line in entries[0].details["lines"]] == [
        "DAT-24-01",
        "APR-24-01",
    ]


def ok_list(response: Response) -> list[dict[str, Any]]:
    """The JSON list of a 200 answer."""
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_second_delivery_tops_up_the_same_lot(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    line_id = order["lines"][0]["id"]
    deliver(client, staff.headers, order["id"], arrival(line_id, "4", "DAT-SAME"))
    done = deliver(client, staff.headers, order["id"], arrival(line_id, "6", "DAT-SAME"))
    assert done["status"] == "received"
    lot = lot_id_of(world.kg_product, "DAT-SAME")
    assert on_hand(client, staff.headers, lot, world.main) == Decimal(10)
    movements = get_movements(client, staff.headers, reference=order["number"])
    assert sorted(dec(m["quantity"]) for m in movements) == [Decimal(4), Decimal(6)]
    assert {m["lot_id"] for m in movements} == {lot}


def test_over_receipt_is_refused_and_writes_nothing(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    line_id = order["lines"][0]["id"]
    deliver(client, staff.headers, order["id"], arrival(line_id, "6", "DAT-OVER-1"))
    path = f"{PURCHASES}/{order['id']}/receipts"

    body = delivery_body(arrival(line_id, "5", "DAT-OVER-2"))
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers),
        409,
        "conflict",
        "lines[0].quantity",
    )
    assert dec(problem["open_quantity"]) == Decimal(4)
    with SessionLocal() as db:
        assert db.scalar(select(func.count()).select_from(PurchaseReceipt)) == 1
    current = get_po(client, staff.headers, order["id"])
    assert current["status"] == "partially_received"
    assert dec(current["lines"][0]["received_quantity"]) == Decimal(6)

    # With allow_over_receipt the supplier's extra kilo is taken in.
    allowed = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(line_id, "5", "DAT-OVER-2"),
        allow_over_receipt=True,
    )
    assert allowed["status"] == "received"
    [line] = allowed["lines"]
    assert dec(line["received_quantity"]) == Decimal(11)
    assert dec(line["open_quantity"]) == 0
    assert (
        on_hand(client, staff.headers, lot_id_of(world.kg_product, "DAT-OVER-2"), world.main) == 5
    )


def test_a_refused_line_undoes_the_whole_delivery(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "10"),
            po_line(world.pack_product, "4"),
        )["id"],
    )
    kg_line, pack_line = (line["id"] for line in order["lines"])
    body = delivery_body(
        arrival(kg_line, "10", "DAT-FINE"), arrival(pack_line, "5", "APR-TOO-MANY")
    )
    problem = assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        "conflict",
        "lines[1].quantity",
    )
    assert dec(problem["open_quantity"]) == Decimal(4)
    assert get_po(client, staff.headers, order["id"])["status"] == "ordered"


REPEATED = "repeated-delivery-note"
CONFIRM = "allow_repeated_delivery_note"


def receipt_ids(client: TestClient, headers: dict[str, str], order_id: int) -> list[int]:
    """The ids of the deliveries received against an order, oldest first."""
    return [
        r["id"] for r in ok_list(client.get(f"{PURCHASES}/{order_id}/receipts", headers=headers))
    ]


@pytest.mark.parametrize("again", ["DN-7", "dn-7", " Dn-7  "])
def test_a_delivery_note_received_again_into_a_lot_is_refused_and_writes_nothing(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World, again: str
) -> None:
    order = ordered_po(client, manager.headers, world, "20")
    line_id = order["lines"][0]["id"]
    deliver(
        client, staff.headers, order["id"], arrival(line_id, "4", "DAT-DN"), delivery_note="DN-7"
    )
    [first] = receipt_ids(client, staff.headers, order["id"])
    [movement] = get_movements(client, staff.headers, reference=order["number"])
    path = f"{PURCHASES}/{order['id']}/receipts"

    # A new lot on the same delivery does not save it: the whole delivery is refused.
    body = delivery_body(
        arrival(line_id, "2", "DAT-DN-NEW"), arrival(line_id, "4", "DAT-DN"), delivery_note=again
    )
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert (problem["delivery_note"], problem["sku"], problem["lot_code"]) == (
        "DN-7",
        "DATE-MEDJOOL",
        "DAT-DN",
    )
    assert (problem["receipt_id"], problem["movement_id"]) == (first, movement["id"])
    assert problem["lot_id"] == lot_id_of(world.kg_product, "DAT-DN")
    when = movement["created_at"][:16].replace("T", " ")
    assert problem["detail"] == (
        f"Delivery note DN-7 was already received for DATE-MEDJOOL lot DAT-DN on {when} UTC "
        f"(receipt #{first} of {order['number']}). Confirm that this is another delivery under "
        "the same note to receive it again."
    )
    assert get_po(client, staff.headers, order["id"])["status"] == "partially_received"

    done = deliver(
        client, staff.headers, order["id"], *body["lines"], delivery_note=again, **{CONFIRM: True}
    )
    assert dec(done["lines"][0]["received_quantity"]) == Decimal(10)
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "DAT-DN"), world.main) == 8
    assert len(receipt_ids(client, staff.headers, order["id"])) == 2
    assert_projection_matches_ledger()


def test_a_delivery_note_is_only_refused_for_the_same_product_and_lot(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    draft = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "50"),
        po_line(world.kg_product, "50"),
        po_line(world.pack_product, "50"),
    )
    order = send_po(client, manager.headers, draft["id"])
    kg_a, kg_b, pack = (line["id"] for line in order["lines"])
    # Two lines of one delivery may go into one lot.
    deliver(
        client,
        staff.headers,
        order["id"],
        arrival(kg_a, "3", "LOT-1"),
        arrival(kg_b, "3", "LOT-1"),
        delivery_note="DN-8",
    )
    deliver(client, staff.headers, order["id"], arrival(kg_a, "1", "LOT-2"), delivery_note="DN-8")
    deliver(client, staff.headers, order["id"], arrival(pack, "1", "LOT-1"), delivery_note="DN-8")
    deliver(client, staff.headers, order["id"], arrival(kg_a, "1", "LOT-1"), delivery_note="DN-9")
    for _ in range(2):  # an empty note never counts as repeated
        deliver(client, staff.headers, order["id"], arrival(kg_b, "1", "LOT-1"))
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "LOT-1"), world.main) == 9
    assert len(receipt_ids(client, staff.headers, order["id"])) == 6


def test_a_note_received_directly_is_refused_on_a_purchase_order_and_back(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    direct = receive(client, staff.headers, world.kg_product, world.main, "LOT-X", reference="DN-5")
    order = ordered_po(client, manager.headers, world, "20")
    line_id = order["lines"][0]["id"]
    path = f"{PURCHASES}/{order['id']}/receipts"
    body = delivery_body(arrival(line_id, "4", "LOT-X"), delivery_note="dn-5")
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert problem["movement_id"] == direct["id"]
    assert "receipt_id" not in problem

    deliver(
        client, staff.headers, order["id"], arrival(line_id, "4", "LOT-Y"), delivery_note="DN-6"
    )
    again = receipt_body(world.kg_product, world.main, "LOT-Y", "4", reference="DN-6")
    problem = assert_refused(
        lambda: client.post(RECEIPTS, json=again, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert problem["receipt_id"] == receipt_ids(client, staff.headers, order["id"])[0]
    # The order number, the reference of its movements, is not a delivery note.
    receive(client, staff.headers, world.kg_product, world.main, "LOT-Y", reference=order["number"])


@pytest.mark.parametrize("state", ["draft", "ordered", "partially_received"])
def test_cancel_from_an_open_state(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "10")
    )
    if state != "draft":
        send_po(client, manager.headers, order["id"])
    if state == "partially_received":
        line_id = order["lines"][0]["id"]
        deliver(client, staff.headers, order["id"], arrival(line_id, "3", "DAT-PART"))
    assert get_po(client, manager.headers, order["id"])["status"] == state

    cancelled = ok(cancel_po(client, manager.headers, order["id"], "Supplier out of stock"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["closed_at"] is not None
    [entry] = audit_rows("purchase_order.cancelled", order["id"])
    assert entry.details["was"] == state
    assert entry.details["reason"] == "Supplier out of stock"
    assert entry.actor_id == manager.user.id
    if state == "partially_received":  # what arrived stays received
        lot = lot_id_of(world.kg_product, "DAT-PART")
        assert on_hand(client, manager.headers, lot, world.main) == Decimal(3)
        assert dec(cancelled["lines"][0]["received_quantity"]) == Decimal(3)


def test_cancel_without_a_body_is_accepted(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world)
    response = client.post(f"{PURCHASES}/{order['id']}/cancel", headers=manager.headers)
    assert ok(response)["status"] == "cancelled"
    [entry] = audit_rows("purchase_order.cancelled", order["id"])
    assert entry.details["reason"] == ""


@pytest.mark.parametrize("state", ["received", "cancelled"])
def test_cancel_is_refused_once_closed(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = ordered_po(client, manager.headers, world, "2")
    if state == "received":
        deliver(client, staff.headers, order["id"], arrival(order["lines"][0]["id"], "2", "D-1"))
    else:
        ok(cancel_po(client, manager.headers, order["id"]))
    problem = assert_refused(
        lambda: cancel_po(client, manager.headers, order["id"]), 409, STATE_PROBLEM
    )
    assert problem["current_status"] == state
    assert problem["type"] == "urn:dfims:problem:purchase-order-state"


@pytest.mark.parametrize("state", ["draft", "cancelled", "received"])
def test_receiving_is_refused_unless_the_order_is_open(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "2")
    )
    line_id = order["lines"][0]["id"]
    if state == "cancelled":
        ok(cancel_po(client, manager.headers, order["id"]))
    if state == "received":
        send_po(client, manager.headers, order["id"])
        deliver(client, staff.headers, order["id"], arrival(line_id, "2", "DONE-1"))
    body = delivery_body(arrival(line_id, "1", "LATE-1"), allow_over_receipt=True)
    problem = assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        STATE_PROBLEM,
    )
    assert problem["current_status"] == state


# --------------------------------------------------------------------------- bad input


@dataclass(frozen=True)
class Scene:
    """The small catalog, plus an inactive supplier, product and warehouse."""

    world: World
    retired_supplier: int
    retired_product: int
    closed_warehouse: int


@pytest.fixture
def scene(world: World) -> Scene:
    """The catalog with inactive records to refuse."""
    return Scene(
        world=world,
        retired_supplier=make_supplier("GONE", active=False),
        retired_product=make_product("FIG-RETIRED", active=False),
        closed_warehouse=make_warehouse("CLOSED", active=False),
    )


def _draft_body(scene: Scene, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    values = {"supplier_id": scene.world.supplier, "warehouse_id": scene.world.main, **extra}
    return {**values, "lines": list(lines)}


BAD_DRAFTS: list[tuple[str, Callable[[Scene], dict[str, Any]], str, str]] = [
    (
        "inactive-supplier",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), supplier_id=s.retired_supplier),
        "invalid-request",
        "supplier_id",
    ),
    (
        "unknown-supplier",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), supplier_id=UNKNOWN_ID),
        "invalid-request",
        "supplier_id",
    ),
    (
        "inactive-warehouse",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), warehouse_id=s.closed_warehouse),
        "invalid-request",
        "warehouse_id",
    ),
    (
        "inactive-product",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), po_line(s.retired_product, "1")),
        "invalid-request",
        "lines[1].product_id",
    ),
    (
        "zero-quantity",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "0")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-quantity",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "-5")),
        "validation-error",
        "quantity",
    ),
    (
        "too-many-decimals",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1.0005")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-unit-cost",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1", "-0.0100")),
        "validation-error",
        "unit_cost",
    ),
    (
        "fractional-packs",
        lambda s: _draft_body(
            s, po_line(s.world.kg_product, "1"), po_line(s.world.pack_product, "2.5")
        ),
        "invalid-request",
        "lines[1].quantity",
    ),
    ("no-lines", lambda s: _draft_body(s), "validation-error", "lines"),
]


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [pytest.param(build, slug, field, id=name) for name, build, slug, field in BAD_DRAFTS],
)
def test_bad_drafts_are_refused_and_write_nothing(
    client: TestClient,
    manager: SignedIn,
    scene: Scene,
    build: Callable[[Scene], dict[str, Any]],
    slug: str,
    field: str,
) -> None:
    body = build(scene)
    assert_refused(
        lambda: client.post(PURCHASES, json=body, headers=manager.headers), 422, slug, field
    )
    assert list_ids(client, manager.headers) == []


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [
        pytest.param(build, slug, field, id=name)
        for name, build, slug, field in BAD_DRAFTS
        if name not in {"inactive-supplier", "unknown-supplier", "no-lines"}
    ],
)
def test_bad_edits_are_refused_and_keep_the_draft(
    client: TestClient,
    manager: SignedIn,
    scene: Scene,
    build: Callable[[Scene], dict[str, Any]],
    slug: str,
    field: str,
) -> None:
    order = create_po(
        client,
        manager.headers,
        scene.world.supplier,
        scene.world.main,
        po_line(scene.world.kg_product, "7"),
    )
    body = build(scene)
    body.pop("supplier_id")
    assert_refused(
        lambda: client.patch(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers),
        422,
        slug,
        field,
    )
    assert get_po(client, manager.headers, order["id"]) == order


def test_patch_with_empty_lines_is_refused(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "7")
    )
    assert_refused(
        lambda: client.patch(
            f"{PURCHASES}/{order['id']}", json={"lines": []}, headers=manager.headers
        ),
        422,
        "validation-error",
        "lines",
    )


def _today(days: int = 0) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


BAD_DELIVERIES: list[tuple[str, Callable[[int, int], dict[str, Any]], str, str]] = [
    (
        "unknown-line",
        lambda kg, pack: delivery_body(arrival(kg, "1", "OK-1"), arrival(UNKNOWN_ID, "1", "X-1")),
        "invalid-request",
        "lines[1].line_id",
    ),
    (
        "best-before-before-received",
        lambda kg, pack: delivery_body(
            arrival(kg, "1", "BB-1", best_before=_today(-6)), received_date=_today(-5)
        ),
        "invalid-request",
        "best_before",
    ),
    (
        "received-in-the-future",
        lambda kg, pack: delivery_body(arrival(kg, "1", "FUT-1"), received_date=_today(1)),
        "invalid-request",
        "received_date",
    ),
    (
        "zero-quantity",
        lambda kg, pack: delivery_body(arrival(kg, "0", "Z-1")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-quantity",
        lambda kg, pack: delivery_body(arrival(kg, "-1", "N-1")),
        "validation-error",
        "quantity",
    ),
    (
        "fractional-packs",
        lambda kg, pack: delivery_body(arrival(pack, "1.5", "P-1")),
        "invalid-request",
        None,
    ),
    (
        "negative-unit-cost",
        lambda kg, pack: delivery_body(arrival(kg, "1", "C-1", unit_cost="-1")),
        "validation-error",
        "unit_cost",
    ),
    (
        "moisture-over-100",
        lambda kg, pack: delivery_body(arrival(kg, "1", "M-1", moisture_pct="100.5")),
        "validation-error",
        "moisture_pct",
    ),
    (
        "bad-lot-code",
        lambda kg, pack: delivery_body(arrival(kg, "1", "no spaces allowed")),
        "validation-error",
        "lot_code",
    ),
    ("no-lines", lambda kg, pack: delivery_body(), "validation-error", "lines"),
]


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [pytest.param(build, slug, field, id=name) for name, build, slug, field in BAD_DELIVERIES],
)
def test_bad_deliveries_are_refused_and_write_nothing(
    client: TestClient,
    manager: SignedIn,
    staff: SignedIn,
    world: World,
    build: Callable[[int, int], dict[str, Any]],
    slug: str,
    field: str | None,
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "10"),
            po_line(world.pack_product, "10"),
        )["id"],
    )
    kg_line, pack_line = (line["id"] for line in order["lines"])
    body = build(kg_line, pack_line)
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        422,
        slug,
        field,
    )
    assert get_po(client, staff.headers, order["id"]) == order


def test_a_delivery_cannot_use_another_orders_line(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    mine = ordered_po(client, manager.headers, world, "5")
    other = ordered_po(client, manager.headers, world, "5")
    body = delivery_body(arrival(other["lines"][0]["id"], "1", "WRONG-1"))
    assert_refused(
        lambda: client.post(f"{PURCHASES}/{mine['id']}/receipts", json=body, headers=staff.headers),
        422,
        "invalid-request",
        "lines[0].line_id",
    )


def test_a_delivery_into_an_inactive_warehouse_is_refused(
    client: TestClient, manager: SignedIn, staff: SignedIn, scene: Scene
) -> None:
    order = ordered_po(client, manager.headers, scene.world, "5")
    body = delivery_body(
        arrival(order["lines"][0]["id"], "1", "CLOSED-1"), warehouse_id=scene.closed_warehouse
    )
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        422,
        "invalid-request",
        "warehouse_id",
    )


def test_a_delivery_into_another_suppliers_lot_is_refused(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    other = make_supplier("NUTTY")
    receive(
        client, manager.headers, world.kg_product, world.main, "SHARED-1", "5", supplier_id=other
    )
    order = ordered_po(client, manager.headers, world, "5")
    body = delivery_body(arrival(order["lines"][0]["id"], "5", "SHARED-1"))
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        "conflict",
        "supplier_id",
    )
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "SHARED-1"), world.main) == 5


# --------------------------------------------------------------------------- roles


def test_manager_drafts_edits_sends_and_cancels(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    patch = {"notes": "checked"}
    assert (
        ok(client.patch(f"{PURCHASES}/{order['id']}", json=patch, headers=manager.headers))["notes"]
        == "checked"
    )
    assert send_po(client, manager.headers, order["id"])["status"] == "ordered"
    assert ok(cancel_po(client, manager.headers, order["id"]))["status"] == "cancelled"


def test_staff_reads_and_receives_but_cannot_write(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    draft = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    order = ordered_po(client, manager.headers, world, "4")
    refused: list[Callable[[], Response]] = [
        lambda: client.post(
            PURCHASES,
            json=po_body(world.supplier, world.main, po_line(world.kg_product, "1")),
            headers=staff.headers,
        ),
        lambda: client.patch(
            f"{PURCHASES}/{draft['id']}", json={"notes": "x"}, headers=staff.headers
        ),
        lambda: client.post(f"{PURCHASES}/{draft['id']}/send", headers=staff.headers),
        lambda: cancel_po(client, staff.headers, order["id"]),
        lambda: client.post(
            SUGGESTED_ORDER,
            json={"supplier_id": world.supplier, "warehouse_id": world.main},
            headers=staff.headers,
        ),
    ]
    for call in refused:
        assert_refused(call, 403, "permission-denied")

    assert set(list_ids(client, staff.headers)) == {draft["id"], order["id"]}
    assert get_po(client, staff.headers, order["id"])["number"] == order["number"]
    assert ok_list(client.get(SUGGESTIONS, headers=staff.headers)) == []
    received = deliver(
        client, staff.headers, order["id"], arrival(order["lines"][0]["id"], "4", "STAFF-1")
    )
    assert received["status"] == "received"
    assert (
        len(ok_list(client.get(f"{PURCHASES}/{order['id']}/receipts", headers=staff.headers))) == 1
    )


def test_customers_are_refused_everywhere(
    client: TestClient, make_user: MakeUser, manager: SignedIn, world: World
) -> None:
    customer = sign_in(client, make_user, Role.CUSTOMER)
    order = ordered_po(client, manager.headers, world, "4")
    line_id = order["lines"][0]["id"]
    path = f"{PURCHASES}/{order['id']}"
    calls: list[Callable[[], Response]] = [
        lambda: client.get(PURCHASES, headers=customer.headers),
        lambda: client.get(path, headers=customer.headers),
        lambda: client.get(f"{path}/receipts", headers=customer.headers),
        lambda: client.post(
            PURCHASES,
            json=po_body(world.supplier, world.main, po_line(world.kg_product, "1")),
            headers=customer.headers,
        ),
        lambda: client.patch(path, json={"notes": "x"}, headers=customer.headers),
        lambda: client.post(f"{path}/send", headers=customer.headers),
        lambda: cancel_po(client, customer.headers, order["id"]),
        lambda: client.post(
            f"{path}/receipts",
            json=delivery_body(arrival(line_id, "1", "CUST-1")),
            headers=customer.headers,
        ),
        lambda: client.get(SUGGESTIONS, headers=customer.headers),
        lambda: client.post(
            SUGGESTED_ORDER,
            json={"supplier_id": world.supplier, "warehouse_id": world.main},
            headers=customer.headers,
        ),
    ]
    for call in calls:
        assert_refused(call, 403, "permission-denied")


def test_anonymous_callers_are_refused(client: TestClient, manager: SignedIn, world: World) -> None:
    order = ordered_po(client, manager.headers, world, "4")
    assert_refused(lambda: client.get(PURCHASES), 401)
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts",
            json=delivery_body(arrival(order["lines"][0]["id"], "1", "ANON-1")),
        ),
        401,
    )
    assert_refused(lambda: client.get(SUGGESTIONS), 401)


# --------------------------------------------------------------------------- idempotency


def test_receiving_twice_with_one_idempotency_key_books_once(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    path = f"{PURCHASES}/{order['id']}/receipts"
    body = delivery_body(arrival(order["lines"][0]["id"], "4", "IDEM-1"), delivery_note="DN-7")
    headers = {**staff.headers, IDEMPOTENCY_KEY: "delivery-dn-7"}

    first = client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    after_first = purchase_state()
    again = client.post(path, json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert purchase_state() == after_first

    assert after_first.receipts == 1
    current = get_po(client, staff.headers, order["id"])
    assert dec(current["lines"][0]["received_quantity"]) == Decimal(4)
    lot = lot_id_of(world.kg_product, "IDEM-1")
    assert on_hand(client, staff.headers, lot, world.main) == Decimal(4)
    assert len(get_movements(client, staff.headers, reference=order["number"])) == 1
    assert len(audit_rows("purchase_order.received")) == 1

    other = delivery_body(arrival(order["lines"][0]["id"], "5", "IDEM-2"))
    assert_refused(
        lambda: client.post(path, json=other, headers=headers),
        422,
        "invalid-request",
        IDEMPOTENCY_KEY,
    )


def test_drafting_twice_with_one_idempotency_key_creates_one_order(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    body = po_body(world.supplier, world.main, po_line(world.kg_product, "3"))
    headers = {**manager.headers, IDEMPOTENCY_KEY: "po-draft-1"}
    first = client.post(PURCHASES, json=body, headers=headers)
    again = client.post(PURCHASES, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert list_ids(client, manager.headers) == [first.json()["id"]]
    assert len(audit_rows("purchase_order.created")) == 1


# --------------------------------------------------------------------------- reorder suggestions


@dataclass(frozen=True)
class ReorderScene:
    """Four products bought from two suppliers, with stock, sales history and open orders.

    Worked out by hand (cover 30 days unless said, rates are per day, to 0.001):

    DATE-MEDJOOL (kg, point 50, quantity 10), last bought from SUNNY at 2.4000:
      received 245 (A-OLD, SUNNY, 2.2000) + 10 (A-PO, on a SUNNY purchase order, 2.4000);
      issued 30 today (shipped order), 15 ten days ago, 45 sixty days ago, 100 long ago;
      5 wasted today; 5 reserved by a confirmed order.
      on hand 255 - 190 - 5 = 60, available 55.
      on order: ordered PO 20 + partially received PO 30 - 10 = 40 (draft 500, cancelled 300
      do not count). shipped 30 days: 45 -> 1.500/day; 90 days: 90 -> 1.000/day.
      cover 30: target 50 + 45 = 95, projected 95 -> nothing. days of cover 55 / 1.5 = 36.7.
      cover 40: target 110 -> 15.000.
    APRICOT-500G (pack, point 20, quantity 2), last bought from SUNNY at 1.1000:
      received 40 (B-1, SUNNY) and 5 in an expired lot (not available);
      issued 7 today, 10 sixty days ago. available 23, on order 0.
      30 days: 7 -> 0.233; 90 days: 17 -> 0.189.
      cover 30: target 20 + 6.99 = 26.99 -> 3.99 -> 4 packs. days of cover 23 / 0.233 = 98.7.
      cover 40: target 29.32 -> 6.32 -> 7 packs.
    FIG-DRIED (kg, point 10, quantity 25): 4 kg from SUNNY (2.9000), then 4 kg from NUTTY
      (3.1000) -> NUTTY's. available 8 <= 10 -> max(25, 2) = 25. No sales: no cover.
    RAISIN (kg, nothing set), 50 kg without a supplier -> never suggested.
    """

    manager: SignedIn
    dates: int
    apricots: int
    figs: int
    raisins: int
    sunny: int
    nutty: int
    main: int


def set_reorder(
    client: TestClient, headers: dict[str, str], product_id: int, point: str, quantity: str
) -> None:
    """Set a product's reorder point and quantity through the API."""
    body = {"reorder_point": point, "reorder_quantity": quantity}
    ok(client.patch(f"{PRODUCTS}/{product_id}", json=body, headers=headers))


def issue_back_dated(product_id: int, quantity: str, days_ago: int, reference: str) -> None:
    """Reserve FEFO and issue ``quantity`` as if shipped ``days_ago`` days ago, committed."""
    with SessionLocal() as db:
        allocation.reserve(db, AllocationRequest(product_id, Decimal(quantity), reference))
        when = datetime.now(UTC) - timedelta(days=days_ago)
        context = MovementContext(actor=SETUP_ACTOR, reference=reference, occurred_at=when)
        allocation.issue(db, context, reference)
        db.commit()


def sales_order(
    client: TestClient, headers: dict[str, str], customer_id: int, *lines: tuple[int, str]
) -> int:
    """Place and confirm a sales order through the API; its id."""
    body = {
        "customer_id": customer_id,
        "lines": [{"product_id": product, "quantity": quantity} for product, quantity in lines],
    }
    order = ok(client.post(ORDERS, json=body, headers=headers), 201)
    ok(client.post(f"{ORDERS}/{order['id']}/confirm", headers=headers))
    return int(order["id"])


@pytest.fixture
def reorder_scene(client: TestClient, manager: SignedIn) -> ReorderScene:
    """The products, stock, sales and purchase orders of ReorderScene, built by hand."""
    headers = manager.headers
    dates = make_product("DATE-MEDJOOL")
    apricots = make_product("APRICOT-500G", unit=UnitOfMeasure.PACK, net_weight_kg=PACK_WEIGHT)
    figs = make_product("FIG-DRIED")
    raisins = make_product("RAISIN")
    make_product("PRUNE-RETIRED", active=False)
    main = make_warehouse("MAIN")
    sunny, nutty = make_supplier("SUNNY"), make_supplier("NUTTY")
    set_reorder(client, headers, dates, "50", "10")
    set_reorder(client, headers, apricots, "20", "2")
    set_reorder(client, headers, figs, "10", "25")

    receive(client, headers, dates, main, "A-OLD", "245", supplier_id=sunny, unit_cost="2.2000")
    partial = create_po(client, headers, sunny, main, po_line(dates, "30", "2.4000"))
    send_po(client, headers, partial["id"])
    deliver(client, headers, partial["id"], arrival(partial["lines"][0]["id"], "10", "A-PO"))
    ordered = create_po(client, headers, sunny, main, po_line(dates, "20", "2.4000"))
    send_po(client, headers, ordered["id"])
    create_po(client, headers, sunny, main, po_line(dates, "500"))  # a draft: not on order
    dropped = create_po(client, headers, sunny, main, po_line(dates, "300"))
    send_po(client, headers, dropped["id"])
    ok(cancel_po(client, headers, dropped["id"]))  # cancelled: not on order

    receive(
        client,
        headers,
        apricots,
        main,
        "B-EXP",
        "5",
        received_date=_today(-10),
        best_before=_today(-1),
    )
    receive(client, headers, apricots, main, "B-1", "40", supplier_id=sunny, unit_cost="1.1000")
    receive(client, headers, figs, main, "C-OLD", "4", supplier_id=sunny, unit_cost="2.9000")
    receive(client, headers, figs, main, "C-NEW", "4", supplier_id=nutty, unit_cost="3.1000")
    receive(client, headers, raisins, main, "R-1", "50")

    issue_back_dated(dates, "100", 120, "SO-HISTORY-1")  # outside both windows
    issue_back_dated(dates, "45", 60, "SO-HISTORY-2")  # 90-day window only
    issue_back_dated(dates, "15", 10, "SO-HISTORY-3")  # both windows
    issue_back_dated(apricots, "10", 60, "SO-HISTORY-4")

    customer = ok(
        client.post(
            CUSTOMERS, json={"name": "Bazaar", "customer_type": "wholesale"}, headers=headers
        ),
        201,
    )
    shipped = sales_order(client, headers, customer["id"], (dates, "30"), (apricots, "7"))
    ok(client.post(f"{ORDERS}/{shipped}/ship", headers=headers))
    sales_order(client, headers, customer["id"], (dates, "5"))  # confirmed: reserved only
    waste = {
        "product_id": dates,
        "lot_id": lot_id_of(dates, "A-OLD"),
        "warehouse_id": main,
        "quantity": "5",
        "reason": "Torn sacks",
    }
    ok(client.post(WASTE, json=waste, headers=headers), 201)  # not a sale
    return ReorderScene(manager, dates, apricots, figs, raisins, sunny, nutty, main)


def suggestions(
    client: TestClient, headers: dict[str, str], **params: Any
) -> dict[str, dict[str, Any]]:
    """The reorder suggestions for ``params``, by SKU, in the API's order."""
    rows = ok_list(client.get(SUGGESTIONS, params=params, headers=headers))
    return {row["sku"]: row for row in rows}


def figures(row: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a suggestion, as Decimals (days of cover may be None)."""
    names = (
        "available",
        "on_order",
        "reorder_point",
        "reorder_quantity",
        "avg_daily_sales_30d",
        "avg_daily_sales_90d",
        "suggested_quantity",
        "unit_cost",
    )
    numbers: dict[str, Any] = {name: dec(row[name]) for name in names}
    cover = row["days_of_cover"]
    numbers["days_of_cover"] = None if cover is None else dec(cover)
    return numbers


DATES_COVER_30 = {
    "available": Decimal(55),
    "on_order": Decimal(40),
    "reorder_point": Decimal(50),
    "reorder_quantity": Decimal(10),
    "avg_daily_sales_30d": Decimal("1.5"),
    "avg_daily_sales_90d": Decimal(1),
    "days_of_cover": Decimal("36.7"),
    "suggested_quantity": Decimal(0),
    "unit_cost": Decimal("2.4"),
}
APRICOTS_COVER_30 = {
    "available": Decimal(23),
    "on_order": Decimal(0),
    "reorder_point": Decimal(20),
    "reorder_quantity": Decimal(2),
    "avg_daily_sales_30d": Decimal("0.233"),
    "avg_daily_sales_90d": Decimal("0.189"),
    "days_of_cover": Decimal("98.7"),
    "suggested_quantity": Decimal(4),
    "unit_cost": Decimal("1.1"),
}
FIGS_COVER_30 = {
    "available": Decimal(8),
    "on_order": Decimal(0),
    "reorder_point": Decimal(10),
    "reorder_quantity": Decimal(25),
    "avg_daily_sales_30d": Decimal(0),
    "avg_daily_sales_90d": Decimal(0),
    "days_of_cover": None,
    "suggested_quantity": Decimal(25),
    "unit_cost": Decimal("3.1"),
}


def test_suggestions_match_the_hand_computed_scene(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    rows = suggestions(client, s.manager.headers)
    assert list(rows) == ["APRICOT-500G", "FIG-DRIED"]  # by SKU; dates are covered exactly
    assert figures(rows["APRICOT-500G"]) == APRICOTS_COVER_30
    assert figures(rows["FIG-DRIED"]) == FIGS_COVER_30
    apricots = rows["APRICOT-500G"]
    assert apricots["product_id"] == s.apricots
    assert apricots["unit"] == "pack"
    assert apricots["supplier_id"] == s.sunny
    assert apricots["name"] == "Product APRICOT-500G"
    assert rows["FIG-DRIED"]["supplier_id"] == s.nutty  # the latest lot's supplier


def test_every_active_product_is_listed_when_asked(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    rows = suggestions(client, s.manager.headers, only_suggested="false")
    assert list(rows) == ["APRICOT-500G", "DATE-MEDJOOL", "FIG-DRIED", "RAISIN"]  # no retired
    assert figures(rows["DATE-MEDJOOL"]) == DATES_COVER_30
    assert rows["DATE-MEDJOOL"]["supplier_id"] == s.sunny
    raisins = figures(rows["RAISIN"])
    assert rows["RAISIN"]["supplier_id"] is None
    assert raisins["available"] == Decimal(50)
    assert raisins["suggested_quantity"] == 0
    assert raisins["days_of_cover"] is None
    assert raisins["unit_cost"] == STANDARD_COST  # no lot with a supplier: the standard cost


def test_longer_cover_tops_up_to_the_target_and_packs_round_up(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    rows = suggestions(client, reorder_scene.manager.headers, cover_days=40)
    assert list(rows) == ["APRICOT-500G", "DATE-MEDJOOL", "FIG-DRIED"]
    # dates: 50 + 1.5 x 40 = 110 against 55 + 40 -> 15, more than the reorder quantity 10.
    assert dec(rows["DATE-MEDJOOL"]["suggested_quantity"]) == Decimal(15)
    # apricots: 20 + 0.233 x 40 = 29.32 against 23 -> 6.32, a whole 7 packs.
    assert dec(rows["APRICOT-500G"]["suggested_quantity"]) == Decimal(7)
    assert dec(rows["FIG-DRIED"]["suggested_quantity"]) == Decimal(25)
    assert_problem(
        client.get(SUGGESTIONS, params={"cover_days": 0}, headers=reorder_scene.manager.headers),
        422,
        "validation-error",
    )


def test_supplier_filter_keeps_products_last_bought_from_it(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    headers = s.manager.headers
    assert list(suggestions(client, headers, supplier_id=s.sunny)) == ["APRICOT-500G"]
    assert list(suggestions(client, headers, supplier_id=s.nutty)) == ["FIG-DRIED"]
    assert list(suggestions(client, headers, supplier_id=s.sunny, cover_days=40)) == [
        "APRICOT-500G",
        "DATE-MEDJOOL",
    ]
    everything = suggestions(client, headers, supplier_id=s.sunny, only_suggested="false")
    assert list(everything) == ["APRICOT-500G", "DATE-MEDJOOL"]
    assert suggestions(client, headers, supplier_id=UNKNOWN_ID) == {}


def test_suggestions_become_a_draft_purchase_order(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    headers = s.manager.headers
    body = {"supplier_id": s.sunny, "warehouse_id": s.main, "cover_days": 40}
    order = ok(client.post(SUGGESTED_ORDER, json=body, headers=headers), 201)

    assert order["status"] == "draft"
    assert order["supplier"]["id"] == s.sunny
    assert order["warehouse_id"] == s.main
    assert order["notes"] == "From reorder suggestions (40 days of cover)."
    assert [
        (line["sku"], dec(line["quantity"]), dec(line["unit_cost"])) for line in order["lines"]
    ] == [
        ("APRICOT-500G", Decimal(7), Decimal("1.1")),  # the latest SUNNY lot's cost
        ("DATE-MEDJOOL", Decimal(15), Decimal("2.4")),  # A-PO, not A-OLD at 2.2
    ]
    assert dec(order["total"]) == Decimal("43.70")  # 7.70 + 36.00
    [entry] = audit_rows("purchase_order.created", order["id"])
    assert entry.actor_id == s.manager.user.id

    # A draft is not on order yet: the suggestions stand.
    rows = suggestions(client, headers, supplier_id=s.sunny, cover_days=40)
    assert dec(rows["DATE-MEDJOOL"]["on_order"]) == Decimal(40)
    assert dec(rows["DATE-MEDJOOL"]["suggested_quantity"]) == Decimal(15)


def test_sending_the_suggested_order_leaves_nothing_to_order(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    headers = s.manager.headers
    body = {"supplier_id": s.nutty, "warehouse_id": s.main}
    order = ok(client.post(SUGGESTED_ORDER, json=body, headers=headers), 201)
    [line] = order["lines"]
    assert (line["product_id"], dec(line["quantity"]), dec(line["unit_cost"])) == (
        s.figs,
        Decimal(25),
        Decimal("3.1"),
    )
    assert dec(order["total"]) == Decimal("77.50")
    send_po(client, headers, order["id"])

    figs = suggestions(client, headers, only_suggested="false")["FIG-DRIED"]
    assert dec(figs["on_order"]) == Decimal(25)
    assert dec(figs["suggested_quantity"]) == 0
    problem = assert_refused(
        lambda: client.post(SUGGESTED_ORDER, json=body, headers=headers),
        409,
        "conflict",
        "supplier_id",
    )
    assert "NUTTY" in problem["detail"]


def test_nothing_to_order_from_a_supplier_is_a_conflict(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    body = {"supplier_id": world.supplier, "warehouse_id": world.main}
    assert_refused(
        lambda: client.post(SUGGESTED_ORDER, json=body, headers=manager.headers),
        409,
        "conflict",
        "supplier_id",
    )


def test_suggested_order_needs_an_active_supplier_and_warehouse(
    client: TestClient, reorder_scene: ReorderScene
) -> None:
    s = reorder_scene
    headers = s.manager.headers
    gone = make_supplier("GONE", active=False)
    closed = make_warehouse("CLOSED", active=False)
    assert_refused(
        lambda: client.post(
            SUGGESTED_ORDER, json={"supplier_id": gone, "warehouse_id": s.main}, headers=headers
        ),
        422,
        "invalid-request",
        "supplier_id",
    )
    assert_refused(
        lambda: client.post(
            SUGGESTED_ORDER, json={"supplier_id": s.nutty, "warehouse_id": closed}, headers=headers
        ),
        422,
        "invalid-request",
        "warehouse_id",
    )
