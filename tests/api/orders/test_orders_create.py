"""Placing and editing sales orders: list and tier prices, totals to the cent, reading,
listing and filtering, and changes while an order is pending."""

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.sales import CustomerType, PriceTier
from tests.api.orders.scenes import APRICOTS_PRICE, DATES_PRICE, Shop, Stocked, total_of
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    advance,
    dec,
    list_orders,
    make_customer,
    make_priced_product,
    order_line,
    place_order,
    read_order,
    sales_snapshot,
    set_product_active,
    set_tier_price,
)

# =========================================================================== placing


def test_new_order_is_pending_with_list_prices(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    """Lines without a price take the product's list price; nothing is reserved yet."""
    before = sales_snapshot()
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "3"), order_line(shop.apricots, "4")],
        notes="Deliver before noon",
    )

    assert order["status"] == "pending"
    assert order["number"] == f"SO-{order['id']:06d}"
    assert order["customer"] == {"id": shop.customer, "name": "Oasis Foods"}
    assert order["warehouse_id"] is None
    assert order["notes"] == "Deliver before noon"
    assert order["created_at"]
    assert order["confirmed_at"] is None
    first, second = order["lines"]
    assert (first["line_no"], first["product_id"], first["sku"]) == (1, shop.dates, "DATE-MEDJOOL")
    assert (first["unit"], dec(first["quantity"])) == ("kg", Decimal(3))
    assert dec(first["unit_price"]) == DATES_PRICE
    assert dec(first["line_total"]) == Decimal("37.50")
    assert (second["line_no"], second["unit"], dec(second["quantity"])) == (2, "pack", 4)
    assert dec(second["unit_price"]) == APRICOTS_PRICE
    assert dec(second["line_total"]) == Decimal("12.80")
    assert total_of(order) == Decimal("50.30")
    assert first["allocations"] == second["allocations"] == []
    assert dec(first["returned_quantity"]) == 0
    assert read_order(client, staff.headers, order["id"]) == order
    after = sales_snapshot()
    assert after.stock.movements == before.stock.movements
    assert after.stock.levels == before.stock.levels
    assert after.reservations == before.reservations == []


def test_line_totals_round_half_up_to_the_cent_and_add_up_exactly(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    """Each line is quantity x price rounded half up (not to even, not through floats)."""
    figs = make_priced_product("FIG", "2.35")
    nuts = make_priced_product("NUT", "4.05")
    mix = make_priced_product("MIX", "1.13")
    lines = [order_line(figs, "1.5"), order_line(nuts, "0.5"), order_line(mix, "2.5")]

    order = place_order(client, staff.headers, shop.customer, lines)

    # 3.525, 2.025 and 2.825 exactly: half-even would give 3.52, 2.02, 2.82 and floats
    # (4.05 and 1.13 are just below themselves) 2.02 and 2.82.
    assert [line["line_total"] for line in order["lines"]] == ["3.53", "2.03", "2.83"]
    assert order["total"] == "8.39"
    assert read_order(client, staff.headers, order["id"])["total"] == "8.39"


def test_three_decimal_quantities_keep_their_precision(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "0.125", "3.30")]
    )

    [line] = order["lines"]
    assert dec(line["quantity"]) == Decimal("0.125")
    assert line["line_total"] == "0.41"  # 0.4125
    assert order["total"] == "0.41"


@pytest.mark.parametrize("tier", list(PriceTier))
def test_unit_price_defaults_to_the_customers_tier_price(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop, tier: PriceTier
) -> None:
    """A tier price set with PUT /products/{id}/prices/{tier} is the default for that tier
    only; other tiers and products without one pay the list price."""
    prices = set_tier_price(client, admin.headers, shop.dates, tier, "9.40")
    assert {row["tier"]: (dec(row["price"]), row["is_list_price"]) for row in prices} == {
        t.value: (Decimal("9.40"), False) if t is tier else (DATES_PRICE, True) for t in PriceTier
    }
    other_tier = next(t for t in PriceTier if t is not tier)
    ours = make_customer("Tiered", price_tier=tier)
    theirs = make_customer("Other tier", price_tier=other_tier)
    lines = [order_line(shop.dates, "2"), order_line(shop.apricots, "1")]

    ours_order = place_order(client, staff.headers, ours, lines)
    theirs_order = place_order(client, staff.headers, theirs, lines)

    assert [dec(line["unit_price"]) for line in ours_order["lines"]] == [
        Decimal("9.40"),
        APRICOTS_PRICE,
    ]
    assert total_of(ours_order) == Decimal("18.80") + APRICOTS_PRICE
    assert [dec(line["unit_price"]) for line in theirs_order["lines"]] == [
        DATES_PRICE,
        APRICOTS_PRICE,
    ]


def test_wholesale_customers_buy_from_the_wholesale_tier_by_default(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    set_tier_price(client, admin.headers, shop.dates, PriceTier.WHOLESALE, "8.75")
    wholesale = make_customer("Bulk Buyer", customer_type=CustomerType.WHOLESALE)

    order = place_order(client, staff.headers, wholesale, [order_line(shop.dates, "10")])

    assert dec(order["lines"][0]["unit_price"]) == Decimal("8.75")
    assert total_of(order) == Decimal("87.50")


def test_staff_may_override_the_unit_price(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    set_tier_price(client, admin.headers, shop.dates, PriceTier.RETAIL, "11.00")

    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "4", "9.99"), order_line(shop.apricots, "2", "0")],
    )

    assert [dec(line["unit_price"]) for line in order["lines"]] == [Decimal("9.99"), 0]
    assert [dec(line["line_total"]) for line in order["lines"]] == [Decimal("39.96"), 0]
    assert total_of(order) == Decimal("39.96")


def test_orders_created_by_staff_are_audited_with_the_actor(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "2")])

    [entry] = audit_rows("order.created", order["id"])
    assert entry.actor_id == staff.user.id
    assert entry.entity_type == "sales_order"
    assert entry.details["number"] == order["number"]
    assert entry.details["customer_id"] == shop.customer
    assert Decimal(entry.details["total"]) == Decimal("25.00")


# =========================================================================== reading, listing


def test_reading_an_unknown_order_is_a_404(client: TestClient, staff: SignedIn) -> None:
    response = client.get(f"{ORDERS}/{UNKNOWN_ID}", headers=staff.headers)

    assert_problem(response, 404, "not-found")


def test_listing_filters_by_status_customer_and_time(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    other = make_customer("Desert Deli")
    line = [order_line(shop.dates, "1")]
    first = place_order(client, staff.headers, shop.customer, line)
    second = place_order(client, staff.headers, other, line)
    third = place_order(client, staff.headers, shop.customer, line)
    advance(client, staff.headers, second["id"], "confirm")
    advance(client, staff.headers, third["id"], "cancel")

    def ids(**params: Any) -> list[int]:
        return [order["id"] for order in list_orders(client, staff.headers, **params)]

    assert ids() == [third["id"], second["id"], first["id"]]  # newest first
    assert ids(status="pending") == [first["id"]]
    assert ids(status="confirmed") == [second["id"]]
    assert ids(status="cancelled") == [third["id"]]
    assert ids(status="shipped") == []
    assert ids(customer_id=shop.customer) == [third["id"], first["id"]]
    assert ids(customer_id=other) == [second["id"]]
    assert ids(customer_id=shop.customer, status="pending") == [first["id"]]
    assert ids(since=second["created_at"]) == [third["id"], second["id"]]
    assert ids(until=second["created_at"]) == [first["id"]]
    assert ids(since=first["created_at"], until=third["created_at"]) == [
        second["id"],
        first["id"],
    ]
    page = client.get(ORDERS, params={"limit": 1, "offset": 1}, headers=staff.headers).json()
    assert (page["total"], [order["id"] for order in page["items"]]) == (3, [second["id"]])
    summary = list_orders(client, staff.headers, status="confirmed")[0]
    assert summary["number"] == second["number"]
    assert summary["customer"] == {"id": other, "name": "Desert Deli"}
    assert "lines" not in summary


def test_listing_refuses_an_unknown_status(client: TestClient, staff: SignedIn) -> None:
    response = client.get(ORDERS, params={"status": "lost"}, headers=staff.headers)

    assert_problem(response, 422, "validation-error", "status")


# =========================================================================== changing


def test_patch_replaces_every_line_and_recomputes_the_total(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "3"), order_line(shop.apricots, "4")],
    )

    response = client.patch(
        f"{ORDERS}/{order['id']}",
        json={
            "notes": "Call first",
            "warehouse_id": shop.spare,
            "lines": [order_line(shop.apricots, "10"), order_line(shop.dates, "1.5", "10.00")],
        },
        headers=staff.headers,
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["status"] == "pending"
    assert (changed["notes"], changed["warehouse_id"]) == ("Call first", shop.spare)
    assert [
        (line["line_no"], line["product_id"], dec(line["quantity"]), dec(line["unit_price"]))
        for line in changed["lines"]
    ] == [(1, shop.apricots, 10, APRICOTS_PRICE), (2, shop.dates, Decimal("1.5"), 10)]
    assert total_of(changed) == Decimal("32.00") + Decimal("15.00")
    assert read_order(client, staff.headers, order["id"]) == changed
    [entry] = audit_rows("order.updated", order["id"])
    assert entry.actor_id == staff.user.id
    assert set(entry.details["changes"]) == {"notes", "warehouse_id", "lines", "total"}


def test_patch_without_lines_keeps_them(client: TestClient, staff: SignedIn, shop: Shop) -> None:
    order = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "2")], warehouse_id=shop.main
    )

    response = client.patch(
        f"{ORDERS}/{order['id']}", json={"warehouse_id": None}, headers=staff.headers
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["warehouse_id"] is None
    assert changed["lines"] == order["lines"]
    assert changed["total"] == order["total"]


def test_patch_with_bad_lines_changes_nothing(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "2")])
    retired = make_priced_product("RETIRED")
    set_product_active(retired, False)
    before = sales_snapshot()

    response = client.patch(
        f"{ORDERS}/{order['id']}",
        json={"notes": "x", "lines": [order_line(shop.apricots, "1"), order_line(retired, "1")]},
        headers=staff.headers,
    )

    assert_problem(response, 422, "invalid-request", "lines[1].product_id")
    assert sales_snapshot() == before
