"""Returns of shipped goods: restocked into the original lots or written off, split over
the picked lots, never more than shipped, and credited at the line's price."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import (
    APRICOTS_PRICE,
    DATES_PRICE,
    Shipped,
    Shop,
    levels,
)
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    Json,
    advance,
    count_returns,
    dec,
    make_priced_product,
    order_line,
    picked,
    place_order,
    return_goods,
    return_line,
    sales_snapshot,
    stock_lot,
)
from tests.support.stock import (
    assert_projection_matches_ledger,
    get_movements,
)


@pytest.fixture
def shipped(client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop) -> Shipped:
    """An order confirmed over two lots and shipped."""
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "4", days=30)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=90)
    other = stock_lot(client, admin.headers, shop.dates, shop.spare, "OTHER", "10", days=200)
    packs = stock_lot(client, admin.headers, shop.apricots, shop.main, "A-1", "20", days=90)
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "7"), order_line(shop.apricots, "4")],
    )
    order = advance(client, staff.headers, order["id"], "confirm", "ship")
    assert picked(order["lines"][0]) == [(early, 4, "issued"), (late, 3, "issued")]
    return Shipped(shop, order, early, late, other, packs)


@pytest.mark.parametrize("deliver", [False, True], ids=["shipped", "delivered"])
def test_restock_return_goes_back_into_the_original_lot(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped, deliver: bool
) -> None:
    number = shipped.order["number"]
    if deliver:
        advance(client, staff.headers, shipped.order["id"], "deliver")
    main = shipped.shop.main
    before = levels(client, admin.headers, main, shipped.early, shipped.late)
    assert before == [(0, 0), (7, 0)]

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [return_line(shipped.dates_line, "2", lot_id=shipped.early)],
        reason="Wrong size",
    )

    assert response.status_code == 201, response.text
    batch = response.json()
    [share] = batch["returns"]
    assert (share["line_id"], share["lot_id"], share["warehouse_id"]) == (
        shipped.dates_line,
        shipped.early,
        main,
    )
    assert (dec(share["quantity"]), dec(share["credit"])) == (2, 2 * DATES_PRICE)
    assert (share["disposition"], share["reason"]) == ("restock", "Wrong size")
    assert batch["order"]["status"] == ("delivered" if deliver else "shipped")
    assert dec(batch["order"]["lines"][0]["returned_quantity"]) == 2
    assert levels(client, admin.headers, main, shipped.early, shipped.late) == [(2, 0), (7, 0)]
    returned = get_movements(client, admin.headers, reference=number, kind="return")
    assert [(m["lot_id"], m["warehouse_id"], dec(m["quantity"])) for m in returned] == [
        (shipped.early, main, Decimal(2))
    ]
    assert returned[0]["reason"] == "Wrong size"
    assert get_movements(client, admin.headers, reference=number, kind="waste") == []
    assert_projection_matches_ledger()
    [entry] = audit_rows("order.returned", shipped.order["id"])
    assert entry.actor_id == staff.user.id
    assert Decimal(entry.details["credit"]) == Decimal("25.00")


def test_waste_return_books_the_return_and_writes_it_off(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped
) -> None:
    number = shipped.order["number"]
    assert levels(client, admin.headers, shipped.shop.main, shipped.packs) == [(16, 0)]

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [return_line(shipped.packs_line, "3", "waste")],
        reason="Crushed",
    )

    assert response.status_code == 201, response.text
    [share] = response.json()["returns"]
    assert (share["lot_id"], share["disposition"]) == (shipped.packs, "waste")
    assert dec(share["credit"]) == 3 * APRICOTS_PRICE
    rows = get_movements(client, admin.headers, reference=number, lot_id=shipped.packs)
    by_kind = {m["kind"]: m for m in rows if m["kind"] != "issue"}
    assert set(by_kind) == {"return", "waste"}
    assert dec(by_kind["return"]["quantity"]) == 3
    assert dec(by_kind["waste"]["quantity"]) == -3
    assert by_kind["return"]["group_id"] == by_kind["waste"]["group_id"]
    assert levels(client, admin.headers, shipped.shop.main, shipped.packs) == [(16, 0)]
    assert dec(response.json()["order"]["lines"][1]["returned_quantity"]) == 3
    assert_projection_matches_ledger()


def test_return_without_a_lot_splits_latest_picked_first(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped
) -> None:
    response = return_goods(
        client, staff.headers, shipped.order["id"], [return_line(shipped.dates_line, "5")]
    )

    assert response.status_code == 201, response.text
    shares = response.json()["returns"]
    assert [(s["lot_id"], dec(s["quantity"]), dec(s["credit"])) for s in shares] == [
        (shipped.late, 3, 3 * DATES_PRICE),
        (shipped.early, 2, 2 * DATES_PRICE),
    ]
    assert levels(client, admin.headers, shipped.shop.main, shipped.early, shipped.late) == [
        (2, 0),
        (10, 0),
    ]
    returned = get_movements(
        client, admin.headers, reference=shipped.order["number"], kind="return"
    )
    assert sorted((m["lot_id"], dec(m["quantity"])) for m in returned) == sorted(
        [(shipped.late, Decimal(3)), (shipped.early, Decimal(2))]
    )
    assert count_returns() == 2


def test_returns_add_up_to_at_most_what_shipped(
    client: TestClient, staff: SignedIn, shipped: Shipped
) -> None:
    order_id = shipped.order["id"]
    first = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "5")])
    assert first.status_code == 201, first.text
    before = sales_snapshot()

    refused = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "3")])

    problem = assert_problem(refused, 409, "conflict", "lines[0].quantity")
    assert dec(problem["returnable"]) == 2
    assert sales_snapshot() == before
    last = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "2")])
    assert last.status_code == 201, last.text
    assert dec(last.json()["order"]["lines"][0]["returned_quantity"]) == 7
    assert_problem(
        return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "0.001")]),
        409,
        "conflict",
    )


@pytest.mark.parametrize(
    ("quantity", "lot"),
    [("8", None), ("5", "early"), ("4", "late"), ("1", "other"), ("1", "packs")],
    ids=[
        "more-than-shipped",
        "more-than-from-early",
        "more-than-from-late",
        "unused-lot",
        "lot-of-another-line",
    ],
)
def test_return_refuses_more_than_shipped_from_the_lot(
    client: TestClient, staff: SignedIn, shipped: Shipped, quantity: str, lot: str | None
) -> None:
    lot_id = getattr(shipped, lot) if lot is not None else None
    before = sales_snapshot()

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [
            return_line(shipped.packs_line, "1"),
            return_line(shipped.dates_line, quantity, lot_id=lot_id),
        ],
    )

    assert_problem(response, 409, "conflict", "lines[1].quantity")
    assert sales_snapshot() == before


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_return_needs_a_reason(
    client: TestClient, staff: SignedIn, shipped: Shipped, reason: str | None
) -> None:
    body: Json = {"lines": [return_line(shipped.dates_line, "1")]}
    if reason is not None:
        body["reason"] = reason
    before = sales_snapshot()

    response = client.post(
        f"{ORDERS}/{shipped.order['id']}/returns", json=body, headers=staff.headers
    )

    assert_problem(response, 422, "validation-error", "reason")
    assert sales_snapshot() == before


@pytest.mark.parametrize(
    ("make_line", "status", "slug", "field"),
    [
        (lambda s: return_line(UNKNOWN_ID, "1"), 422, "invalid-request", "lines[0].line_id"),
        (lambda s: return_line(s.packs_line, "1.5"), 422, "invalid-request", "quantity"),
        (lambda s: return_line(s.dates_line, "0"), 422, "validation-error", "quantity"),
        (lambda s: return_line(s.dates_line, "1", "lost"), 422, "validation-error", "disposition"),
    ],
    ids=["unknown-line", "fractional-pack", "zero", "unknown-disposition"],
)
def test_return_refuses_bad_lines(
    client: TestClient,
    staff: SignedIn,
    shipped: Shipped,
    make_line: Callable[[Shipped], Json],
    status: int,
    slug: str,
    field: str,
) -> None:
    before = sales_snapshot()

    response = return_goods(client, staff.headers, shipped.order["id"], [make_line(shipped)])

    assert_problem(response, status, slug, field)
    assert sales_snapshot() == before


# =========================================================================== known bugs


def test_returning_a_whole_line_credits_exactly_its_line_total(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    figs = make_priced_product("FIG", "2.35")
    stock_lot(client, admin.headers, figs, shop.main, "FIG-EARLY", "1.5", days=30)
    stock_lot(client, admin.headers, figs, shop.main, "FIG-LATE", "10", days=90)
    order = place_order(client, staff.headers, shop.customer, [order_line(figs, "3")])
    order = advance(client, staff.headers, order["id"], "confirm", "ship")
    [line] = order["lines"]
    assert line["line_total"] == "7.05"
    assert len(line["allocations"]) == 2

    response = return_goods(client, staff.headers, order["id"], [return_line(line["id"], "3")])

    assert response.status_code == 201, response.text
    credits = [dec(share["credit"]) for share in response.json()["returns"]]
    assert sum(credits) == Decimal("7.05"), credits
