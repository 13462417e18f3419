"""Drafting purchase orders through the API: costs and totals to the cent, reading and
listing, editing a draft with its audit entry, and sending it once."""

from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import SessionLocal
from app.models.purchasing import (
    PurchaseOrderLine,
)
from tests.api.purchasing.calls import (
    PURCHASES,
    STANDARD_COST,
    STATE_PROBLEM,
    assert_refused,
    create_po,
    dec,
    get_po,
    list_ids,
    ok,
    ordered_po,
    po_line,
    purchase_state,
    send_po,
)
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.stock import (
    World,
    make_supplier,
)

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
