"""One truth per figure: the expiring and expired lots (count and value) read the same on the
dashboard, the alerts and the reports, and the reorder suggestions the same on the alerts, the
reorder page and the draft purchase orders made from them, for the demo data and for random
stock; a drafted suggestion is not suggested again."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.database import SessionLocal, session_scope
from app.core.formatting import money
from app.models.catalog import UnitOfMeasure
from app.models.inventory import Lot, LotStatus
from app.models.purchasing import PurchaseStatus
from app.models.user import Role
from app.services import allocation, demo, expiry, lots, purchasing, reorder
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.stock import InsufficientStockError, MovementContext
from tests.conftest import MakeUser, empty_tables
from tests.support.factories import (
    create_lot,
    create_product,
    create_purchase_order,
    create_supplier,
    create_warehouse,
)
from tests.support.pages import Node, form_fields, logged_in, page_of

ACTOR = Actor(user_id=None, label="consistency")
EXPIRY_PAGES = ("/dashboard", "/alerts", "/reports")
FIGURES = ("expiring-lots", "expiring-value", "expired-lots", "expired-value")


# --------------------------------------------------------------------------- reading the pages


def expiry_figures(page: Node) -> dict[str, str]:
    """The expiring and expired figures a page shows, by name."""
    return {name: page.find(data_figure=name).text for name in FIGURES}


def alert_lots(page: Node, key: str) -> dict[str, Decimal]:
    """The lots of the alerts page's ``key`` section (expiring, expired) and their values."""
    section = page.find("section", aria_labelledby=key)
    listed = {}
    for row in section.find_all("tr", data_lot=None):
        value = row.find_all("td")[6].text
        listed[row.attrs["data-lot"]] = Decimal(re.sub(r"[^\d.]", "", value))
    return listed


def suggested(page: Node) -> dict[str, Decimal]:
    """The suggested order quantity of each product row of a page, by SKU."""
    return {
        row.attrs["data-product"]: Decimal(row.find(data_suggested=None).attrs["data-suggested"])
        for row in page.find_all("tr", data_product=None)
    }


@dataclass(frozen=True)
class SupplierGroup:
    """A supplier's suggestions on the reorder page, and what its draft form sends."""

    supplier_id: str
    warehouse_id: str
    suggested: dict[str, Decimal]


def reorder_groups(page: Node) -> list[SupplierGroup]:
    """The reorder page's supplier sections that offer a draft purchase order."""
    groups = []
    for section in page.find_all("section", class_="card"):
        forms = section.find_all("form", action="/reorder")
        if not forms:
            continue
        form = forms[0]
        groups.append(
            SupplierGroup(
                supplier_id=form.find("input", name="supplier_id").attrs["value"],
                warehouse_id=form.find_all("option")[0].attrs["value"],
                suggested=suggested(section),
            )
        )
    return groups


# --------------------------------------------------------------------------- the checks


def assert_expiry_agrees(client: TestClient) -> None:
    """The three pages show the figures of ``expiry.watch``, and the alerts list its lots."""
    pages = {path: page_of(client.get(path)) for path in EXPIRY_PAGES}
    with SessionLocal() as db:
        watched = expiry.watch(db)
    expected = {
        "expiring-lots": str(len(watched.expiring)),
        "expiring-value": money(watched.expiring_value),
        "expired-lots": str(len(watched.expired)),
        "expired-value": money(watched.expired_value),
    }
    for path, page in pages.items():
        assert expiry_figures(page) == expected, path
    alerts_page = pages["/alerts"]
    for key, watched_lots in (("expiring", watched.expiring), ("expired", watched.expired)):
        listed = alert_lots(alerts_page, key)
        assert listed == {lot.lot_code: lot.value for lot in watched_lots}
        assert money(sum(listed.values(), Decimal(0))) == expected[f"{key}-value"]


def assert_suggestions_agree(client: TestClient) -> dict[str, Decimal]:
    """The reorder page shows the service's suggestions, the alerts page the same quantity
    for each product low on stock; the suggestions by SKU."""
    with SessionLocal() as db:
        wanted = {item.sku: item.suggested_quantity for item in reorder.suggestions(db)}
    on_reorder = suggested(page_of(client.get("/reorder")))
    on_alerts = suggested(page_of(client.get("/alerts")))
    assert on_reorder == wanted
    for sku, quantity in on_alerts.items():
        assert quantity == wanted.get(sku, Decimal(0)), sku
    return wanted


def draft_every_supplier(client: TestClient) -> set[str]:
    """Draft a purchase order from each supplier's suggestions on the reorder page; each
    draft holds exactly those quantities. The SKUs drafted."""
    drafted: set[str] = set()
    for group in reorder_groups(page_of(client.get("/reorder"))):
        response = client.post(
            "/reorder",
            data={
                **form_fields(client, "/reorder"),
                "supplier_id": group.supplier_id,
                "warehouse_id": group.warehouse_id,
                "cover_days": "30",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        order_id = int(response.headers["location"].split("/")[2].split("?")[0])
        with SessionLocal() as db:
            order = purchasing.get_purchase(db, order_id)
            lines = {line.product.sku: line.quantity for line in order.lines}
        assert order.status == PurchaseStatus.DRAFT
        assert lines == group.suggested
        drafted |= set(lines)
    return drafted


def assert_drafted_once(client: TestClient, drafted: set[str]) -> None:
    """After drafting, no drafted product is suggested again, on either page."""
    after = assert_suggestions_agree(client)
    assert drafted.isdisjoint(after)
    for sku, quantity in suggested(page_of(client.get("/alerts"))).items():
        if sku in drafted:
            assert quantity == 0


def assert_one_truth(client: TestClient) -> None:
    assert_expiry_agrees(client)
    assert_suggestions_agree(client)
    assert_drafted_once(client, draft_every_supplier(client))
    assert_expiry_agrees(client)


# --------------------------------------------------------------------------- demo data


def test_the_demo_data_reads_the_same_everywhere(client: TestClient, make_user: MakeUser) -> None:
    with session_scope() as db:
        demo.load(db, ACTOR)
    logged_in(client, make_user, Role.ADMIN)
    with SessionLocal() as db:
        watched = expiry.watch(db)
    # The demo shows both kinds: lots expiring within the window and an expired one held.
    assert watched.expiring
    assert watched.expired

    assert_one_truth(client)


# --------------------------------------------------------------------------- random stock

STATUSES = [LotStatus.AVAILABLE, LotStatus.QUARANTINE, LotStatus.EXPIRED, LotStatus.RECALLED]
ORDERS = [
    None,
    PurchaseStatus.DRAFT,
    PurchaseStatus.ORDERED,
    PurchaseStatus.PARTIALLY_RECEIVED,
    PurchaseStatus.CANCELLED,
]
lot_strategy = st.fixed_dictionaries(
    {
        # around today and around the edge of the 30-day window, and anywhere between
        "days": st.sampled_from([-1, 0, 1, 29, 30, 31]) | st.integers(-20, 60),
        "status": st.sampled_from(STATUSES),
        "main": st.integers(1, 40),
        "cold": st.integers(0, 15),
        "cost": st.decimals("0.5000", "9.9999", places=4),
        "supplier": st.integers(0, 1),
    }
)
product_strategy = st.fixed_dictionaries(
    {
        "pack": st.booleans(),
        "point": st.integers(0, 30),
        "quantity": st.integers(0, 20),
        "lots": st.lists(lot_strategy, max_size=3),
        "shipped": st.integers(0, 15),
        "shipped_ago": st.integers(1, 80),
        "order": st.sampled_from(ORDERS),
        "ordered": st.integers(2, 30),
    }
)


def build(products: list[dict[str, object]]) -> None:
    """Products, lots in two warehouses, sales history and purchase orders as drawn."""
    today = date.today()
    main, cold = create_warehouse(code="MAIN"), create_warehouse(code="COLD")
    suppliers = [create_supplier(code="SUNNY"), create_supplier(code="NUTTY")]
    for drawn in products:
        pack = bool(drawn["pack"])
        product_id = create_product(
            unit=UnitOfMeasure.PACK if pack else UnitOfMeasure.KG,
            net_weight_kg="0.5" if pack else "1",
            reorder_point=Decimal(str(drawn["point"])),
            reorder_quantity=Decimal(str(drawn["quantity"])),
        )
        for lot in drawn["lots"]:  # type: ignore[attr-defined]
            best_before = today + timedelta(days=lot["days"])
            line = {
                "best_before": best_before,
                "received_date": min(today, best_before) - timedelta(days=30),
                "unit_cost": lot["cost"],
                "supplier_id": suppliers[lot["supplier"]],
            }
            lot_id = create_lot(
                product_id=product_id, warehouse_id=main, quantity=str(lot["main"]), **line
            )
            if lot["cold"]:
                code = lot_code(lot_id)
                create_lot(
                    product_id=product_id,
                    warehouse_id=cold,
                    quantity=str(lot["cold"]),
                    lot_code=code,
                    **line,
                )
            if lot["status"] != LotStatus.AVAILABLE:
                with session_scope() as db:
                    held = db.get(Lot, lot_id)
                    assert held is not None
                    lots.change_status(db, ACTOR, held, lot["status"], "drawn")
        ship(product_id, Decimal(str(drawn["shipped"])), int(str(drawn["shipped_ago"])))
        if drawn["order"] is not None:
            create_purchase_order(
                lines=[(product_id, str(drawn["ordered"]))],
                supplier_id=suppliers[0],
                warehouse_id=main,
                status=drawn["order"],  # type: ignore[arg-type]
            )


def lot_code(lot_id: int) -> str:
    with SessionLocal() as db:
        lot = db.get(Lot, lot_id)
        assert lot is not None
        return lot.lot_code


def ship(product_id: int, quantity: Decimal, days_ago: int) -> None:
    """Issue ``quantity`` FEFO as shipped ``days_ago`` days ago, when there is enough."""
    if not quantity:
        return
    reference = f"SO-{product_id}"
    when = datetime.now(UTC) - timedelta(days=days_ago)
    try:
        with session_scope() as db:
            allocation.reserve(db, AllocationRequest(product_id, quantity, reference))
            context = MovementContext(actor=ACTOR, reference=reference, occurred_at=when)
            allocation.issue(db, context, reference)
    except InsufficientStockError:
        pass  # not enough sellable stock: no sales history for this product


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(products=st.lists(product_strategy, min_size=1, max_size=4))
def test_random_stock_reads_the_same_everywhere(
    client: TestClient, make_user: MakeUser, products: list[dict[str, object]]
) -> None:
    empty_tables()
    build(products)
    logged_in(client, make_user, Role.ADMIN)

    assert_one_truth(client)


@pytest.mark.parametrize(
    ("days", "status", "kind"),
    [
        (-1, LotStatus.AVAILABLE, "expired"),
        (0, LotStatus.AVAILABLE, "expiring"),
        (30, LotStatus.AVAILABLE, "expiring"),
        (31, LotStatus.AVAILABLE, None),
        (10, LotStatus.EXPIRED, "expired"),
        (10, LotStatus.QUARANTINE, "expiring"),
        (10, LotStatus.RECALLED, None),
    ],
)
def test_the_edges_of_the_window(
    client: TestClient, make_user: MakeUser, days: int, status: LotStatus, kind: str | None
) -> None:
    """Best-before today is still good today; the window's last day is in it; a recalled lot
    is the recall's business."""
    build(
        [
            {
                "pack": False,
                "point": 0,
                "quantity": 0,
                "lots": [
                    {
                        "days": days,
                        "status": status,
                        "main": 3,
                        "cold": 2,
                        "cost": Decimal("1.1111"),
                        "supplier": 0,
                    }
                ],
                "shipped": 0,
                "shipped_ago": 1,
                "order": None,
                "ordered": 2,
            }
        ]
    )
    logged_in(client, make_user, Role.ADMIN)

    assert_expiry_agrees(client)
    figures = expiry_figures(page_of(client.get("/dashboard")))
    # 5 kg at 1.1111 = 5.5555: one lot, valued to the cent once
    for key in ("expiring", "expired"):
        counted = "1" if key == kind else "0"
        assert figures[f"{key}-lots"] == counted
        assert figures[f"{key}-value"] == ("€5.56" if key == kind else "€0.00")
