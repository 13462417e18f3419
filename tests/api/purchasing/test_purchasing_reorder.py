"""Reorder suggestions checked against numbers worked out by hand, and turned into a draft
purchase order."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.catalog import UnitOfMeasure
from app.services import allocation
from app.services.allocation import AllocationRequest
from app.services.stock import MovementContext
from tests.api.purchasing.calls import (
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
    STANDARD_COST,
    SUGGESTED_ORDER,
    SUGGESTIONS,
    _today,
    arrival,
    assert_refused,
    cancel_po,
    create_po,
    dec,
    deliver,
    ok,
    ok_list,
    po_line,
    send_po,
)
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.stock import (
    PACK_WEIGHT,
    SETUP_ACTOR,
    WASTE,
    World,
    lot_id_of,
    make_product,
    make_supplier,
    make_warehouse,
    receive,
)

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
      on order: ordered PO 15 + partially received PO 30 - 10 + draft PO 5 = 40 (the
      cancelled 300 does not count). shipped 30 days: 45 -> 1.500/day; 90 days: 90 -> 1.000/day.
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
    ordered = create_po(client, headers, sunny, main, po_line(dates, "15", "2.4000"))
    send_po(client, headers, ordered["id"])
    create_po(client, headers, sunny, main, po_line(dates, "5"))  # a draft: on order too
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

    # The draft is on order: the same suggestion is not made twice.
    rows = suggestions(client, headers, supplier_id=s.sunny, cover_days=40, only_suggested="false")
    assert dec(rows["DATE-MEDJOOL"]["on_order"]) == Decimal(55)
    assert dec(rows["DATE-MEDJOOL"]["suggested_quantity"]) == 0
    assert dec(rows["APRICOT-500G"]["on_order"]) == Decimal(7)
    assert dec(rows["APRICOT-500G"]["suggested_quantity"]) == 0


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
