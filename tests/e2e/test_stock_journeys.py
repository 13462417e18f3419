"""Stock work in a browser: the lot picker fills in the warehouse that alone holds the lot, and
a blind stocktake hides the book quantities and books the count."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from app.models.user import Role
from tests.e2e.conftest import Site
from tests.e2e.helpers import (
    Api,
    at,
    days_from_today,
    heading,
    log_in,
    new_product,
    press,
    query_of,
    receive,
    shown_days_from_today,
    stock_levels,
    tag,
    warehouse_ids,
)

pytestmark = [pytest.mark.system, pytest.mark.postgres]


def held(api: Api, product_id: int, lot_code: str, warehouse_id: int) -> Decimal:
    """On-hand of a lot in a warehouse, as the API lists it."""
    return sum(
        (
            Decimal(level["on_hand"])
            for level in stock_levels(api, product_id)
            if level["lot_code"] == lot_code and level["warehouse_id"] == warehouse_id
        ),
        Decimal(0),
    )


def test_the_lot_picker_chooses_the_only_warehouse_that_holds_the_lot(
    page: Page, site: Site
) -> None:
    """Staff write off waste: the product picker shows the lots with what each warehouse
    holds; choosing a lot that only the cold store holds selects the cold store."""
    api = Api.admin(site)
    warehouses = warehouse_ids(api)
    main, cold = warehouses["MAIN"], warehouses["COLD"]
    product = new_product(api, "Dried mango")
    mark = tag()
    shared, single = f"SHARED-{mark}", f"COLD-{mark}"
    shared_id = receive(api, product["id"], main, shared, "34", days_from_today(200))
    moved = {"from_warehouse_id": main, "to_warehouse_id": cold, "quantity": "4"}
    api(
        "POST",
        "/api/v1/stock/transfers",
        {"product_id": product["id"], "lot_id": shared_id, **moved},
    )
    receive(api, product["id"], cold, single, "12", days_from_today(100))

    log_in(page, site.email(Role.STAFF))
    page.goto("/stock/waste")
    expect(heading(page)).to_have_text("Write off waste")
    expect(page.get_by_label("Product")).to_have_count(1)
    page.get_by_label("Product").select_option(str(product["id"]))
    page.get_by_role("button", name="Show its lots").click()

    expect(page).to_have_url(at("/stock/waste"))
    assert query_of(page)["product_id"] == [str(product["id"])]
    expect(page.locator("select[name=lot_id] option")).to_have_text(
        [
            "—",
            f"{single} · best before {shown_days_from_today(100)} · COLD: 12 kg",
            f"{shared} · best before {shown_days_from_today(200)} · COLD: 4 kg, MAIN: 30 kg",
        ]
    )
    expect(page.get_by_label("Warehouse")).to_have_value("")
    page.locator("select[name=lot_id]").select_option(
        label=f"{single} · best before {shown_days_from_today(100)} · COLD: 12 kg"
    )
    expect(page.get_by_label("Warehouse")).to_have_value(str(cold))
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Reason").fill("mould")

    assert press(page, "Book") == 303

    expect(page).to_have_url(at(f"/products/{product['id']}"))
    assert held(api, product["id"], single, cold) == Decimal(10)


def test_a_blind_count_hides_the_book_quantities_and_books(page: Page, site: Site) -> None:
    """A blind stocktake of the cold store shows no book quantities; the counted figure is
    booked as for an open count, and the count sheet is one link away."""
    api = Api.admin(site)
    cold = warehouse_ids(api)["COLD"]
    product = new_product(api, "Dried pears")
    lot_code = f"PEAR-{tag()}"
    lot_id = receive(api, product["id"], cold, lot_code, "17", days_from_today(150))

    log_in(page, site.email(Role.STAFF))
    page.goto("/count")
    page.get_by_label("Warehouse").select_option(str(cold))
    page.get_by_label("Blind count (hide book quantities)").check()
    page.get_by_role("button", name="Show its lots").click()

    expect(page).to_have_url(at("/count"))
    expect(page.locator("table thead th")).to_have_text(
        ["Product", "Lot", "Best before", "Counted"]
    )
    expect(page.locator("table")).not_to_contain_text("17 kg")
    expect(page.get_by_role("link", name="Print a count sheet")).to_have_attribute(
        "href", f"/count/sheet?warehouse_id={cold}&blind=1"
    )
    page.locator(f"[name='lot_{lot_id}']").fill("16.5")

    assert press(page, "Book the count") == 303

    expect(page.get_by_role("status")).to_contain_text("The count is booked")
    assert query_of(page)["blind"] == ["1"]
    expect(page.locator("table thead th")).to_have_count(4)
    assert held(api, product["id"], lot_code, cold) == Decimal("16.5")
