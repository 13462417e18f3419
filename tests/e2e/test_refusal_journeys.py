"""Refused and repeated forms in a real browser: a confirm refused for want of stock reserves
nothing and the order cannot be shipped, a delivery refused on one line books none of them, a
receive form sent twice books once, and a delivery note received again into a lot is refused
until the user confirms another delivery under it. Each journey checks through the API what
is stored."""

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from app.models.user import Role
from tests.e2e.conftest import Site
from tests.e2e.helpers import (
    Api,
    at,
    body_rows,
    days_from_today,
    heading,
    log_in,
    new_product,
    number_in_url,
    press,
    receive,
    section,
    stock_levels,
    tag,
    warehouse_ids,
)

pytestmark = [pytest.mark.system, pytest.mark.postgres]

RECEIVED = "The delivery is received into stock."
RECEIVE = "Receive the delivery"
ANOTHER_DELIVERY = "Another delivery under the same note"


# -- the API ---------------------------------------------------------------------------------


def sent_purchase_order(api: Api, lines: list[tuple[Any, str]]) -> Any:
    """A purchase order of (product, quantity) lines to a demo supplier, sent to it."""
    supplier = api("GET", "/api/v1/suppliers?is_active=true&limit=1")["items"][0]
    body = {
        "supplier_id": supplier["id"],
        "warehouse_id": warehouse_ids(api)["MAIN"],
        "lines": [
            {"product_id": product["id"], "quantity": quantity} for product, quantity in lines
        ],
    }
    order = api("POST", "/api/v1/purchase-orders", body)
    sent = api("POST", f"/api/v1/purchase-orders/{order['id']}/send")
    assert sent["status"] == "ordered"
    return sent


def receipts(api: Api, order_id: int) -> list[dict[str, Any]]:
    """The deliveries received against the purchase order, oldest first."""
    found: list[dict[str, Any]] = api("GET", f"/api/v1/purchase-orders/{order_id}/receipts")
    return found


def received(api: Api, order_id: int) -> list[Decimal]:
    """What the purchase order's lines have received, in line order."""
    order = api("GET", f"/api/v1/purchase-orders/{order_id}")
    return [Decimal(line["received_quantity"]) for line in order["lines"]]


def lots_held(api: Api, product_id: int) -> list[tuple[str, Decimal]]:
    """The product's stock as (lot code, on hand), one per level holding stock."""
    return [
        (level["lot_code"], Decimal(level["on_hand"])) for level in stock_levels(api, product_id)
    ]


def receipt_count(api: Api, product_id: int) -> int:
    """How many receipt rows the ledger holds for the product."""
    total: int = api("GET", f"/api/v1/stock/movements?product_id={product_id}&kind=receipt")[
        "total"
    ]
    return total


# -- the pages -------------------------------------------------------------------------------


def fill_arrival(page: Page, line_no: int, quantity: str, lot_code: str, best_before: str) -> None:
    """Fill what arrived for a line of a purchase order's receive form."""
    page.get_by_label(f"Arrived of line {line_no}", exact=True).fill(quantity)
    page.get_by_label(f"Lot code of line {line_no}", exact=True).fill(lot_code)
    page.get_by_label(f"Best before of line {line_no}", exact=True).fill(best_before)


def form_fields(form: Locator) -> dict[str, str]:
    """The fields the form would send as the browser holds them now, hidden ones too."""
    fields: dict[str, str] = form.evaluate("form => Object.fromEntries(new FormData(form))")
    return fields


def deliveries(page: Page) -> Locator:
    """The lines of a purchase order's "Deliveries" card."""
    return section(page, "receipts").locator("li")


# -- journeys --------------------------------------------------------------------------------


def test_a_refused_confirm_reserves_nothing_and_cannot_ship(page: Page, site: Site) -> None:
    """A confirm refused for want of stock reserves nothing, and the order cannot be shipped."""
    api = Api.admin(site)
    main = warehouse_ids(api)["MAIN"]
    plenty = new_product(api, "Apricots")
    scarce = new_product(api, "Goji berries")
    receive(api, plenty["id"], main, f"AP-{tag()}", "40", days_from_today(200))
    receive(api, scarce["id"], main, f"GO-{tag()}", "5", days_from_today(200))
    customer = api("POST", "/api/v1/customers", {"name": f"Short Foods {tag()}"})
    available = sum(
        (Decimal(level["available"]) for level in stock_levels(api, scarce["id"])), Decimal(0)
    )
    assert available == 5
    before = {product["id"]: stock_levels(api, product["id"]) for product in (plenty, scarce)}

    log_in(page, site.email(Role.MANAGER))
    expect(page).to_have_url(at("/dashboard"))
    page.goto(f"/orders/new?customer_id={customer['id']}")
    ordered = ((plenty, "10"), (scarce, "8"))  # 3 more than the 5 available
    for row, (product, quantity) in enumerate(ordered, start=1):
        page.get_by_label(f"Product of line {row}", exact=True).select_option(str(product["id"]))
        page.get_by_label(f"Quantity of line {row}", exact=True).fill(quantity)
    page.get_by_role("button", name="Place the order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+\?done=placed$"))
    order_id = number_in_url(page, r"/orders/(\d+)")
    order = api("GET", f"/api/v1/orders/{order_id}")
    assert order["status"] == "pending"

    assert press(page, "Confirm (reserve stock)") == 409

    expect(page.get_by_role("alert")).to_have_text(
        f"Order {order['number']} cannot be confirmed: line 2 ({scarce['sku']}): "
        "5.000 of 8.000 available."
    )
    expect(page.locator("[data-order-status]")).to_have_text("pending")
    expect(page.locator(".allocation")).to_have_count(0)
    expect(page.get_by_role("button", name="Confirm (reserve stock)")).to_be_visible()
    expect(page.get_by_role("button", name="Ship")).to_have_count(0)
    assert api("GET", f"/api/v1/orders/{order_id}")["status"] == "pending"
    for product in (plenty, scarce):
        assert stock_levels(api, product["id"]) == before[product["id"]], product["sku"]
    confirmations = f"/api/v1/audit?entity_type=sales_order&entity_id={order_id}"
    assert api("GET", f"{confirmations}&action=order.confirmed")["total"] == 0

    # No Ship button: the page's own Confirm form, sent to ship instead (answered yes), is
    # refused.
    fields = form_fields(page.locator(f"form[action='/orders/{order_id}/confirm']"))
    answered = {**fields, "confirmed": "yes"}
    shipped = page.request.post(
        f"{site.url}/orders/{order_id}/ship", form=answered, max_redirects=0
    )

    assert shipped.status == 409
    assert f"Order {order['number']} is pending; it must be confirmed" in shipped.text()
    assert api("GET", f"/api/v1/orders/{order_id}")["status"] == "pending"
    for product in (plenty, scarce):
        assert stock_levels(api, product["id"]) == before[product["id"]], product["sku"]
        issued = api("GET", f"/api/v1/stock/movements?product_id={product['id']}&kind=issue")
        assert issued["total"] == 0, product["sku"]
    assert api("GET", f"{confirmations}&action=order.shipped")["total"] == 0


def test_a_refused_delivery_books_none_of_its_lines(page: Page, site: Site) -> None:
    """A delivery refused on its second line books nothing; corrected, it is booked once."""
    api = Api.admin(site)
    almonds = new_product(api, "Almonds")
    walnuts = new_product(api, "Walnuts")
    order = sent_purchase_order(api, [(almonds, "40"), (walnuts, "25")])
    mark = tag()
    almond_lot, walnut_lot = f"AL-{mark}", f"WA-{mark}"
    best_before = days_from_today(300)

    log_in(page, site.email(Role.STAFF))
    expect(page).to_have_url(at("/products"))
    page.goto(f"/purchase-orders/{order['id']}")
    expect(heading(page)).to_have_text(f"{order['number']} {order['supplier']['name']} · ordered")
    fill_arrival(page, 1, "40", almond_lot, best_before)
    fill_arrival(page, 2, "250", walnut_lot, best_before)
    page.get_by_label("Delivery note").fill(f"DN-{mark}")

    assert press(page, RECEIVE) == 409

    expect(page.get_by_role("alert")).to_have_text(
        f"Line 2 of {order['number']} has 25.000 still to receive; 250 arrived. "
        "Confirm that more than ordered is accepted to receive it."
    )
    expect(page.locator("#lines\\.1\\.quantity ~ .field-error")).to_contain_text(
        "25.000 still to receive"
    )
    expect(page.locator("[data-order-status]")).to_have_text("ordered")
    expect(body_rows(section(page, "lines")).locator("td:nth-child(4)")).to_have_text(["0", "0"])
    expect(deliveries(page)).to_have_text(["Nothing received yet."])
    expect(page.get_by_label("Arrived of line 1", exact=True)).to_have_value("40")
    expect(page.get_by_label("Arrived of line 2", exact=True)).to_have_value("250")
    assert receipts(api, order["id"]) == []
    assert received(api, order["id"]) == [0, 0]
    assert api("GET", f"/api/v1/purchase-orders/{order['id']}")["status"] == "ordered"
    for product in (almonds, walnuts):
        assert stock_levels(api, product["id"]) == [], product["sku"]
        assert receipt_count(api, product["id"]) == 0, product["sku"]

    page.get_by_label("Arrived of line 2", exact=True).fill("20")

    assert press(page, RECEIVE) == 303

    expect(page).to_have_url(at(f"/purchase-orders/{order['id']}"))
    expect(page.get_by_role("status")).to_have_text(RECEIVED)
    expect(page.locator("[data-order-status]")).to_have_text("partially received")
    expect(body_rows(section(page, "lines")).locator("td:nth-child(4)")).to_have_text(["40", "20"])
    expect(deliveries(page)).to_have_count(1)
    [receipt] = receipts(api, order["id"])
    assert receipt["delivery_note"] == f"DN-{mark}"
    assert [Decimal(line["quantity"]) for line in receipt["lines"]] == [40, 20]
    assert received(api, order["id"]) == [40, 20]
    assert lots_held(api, almonds["id"]) == [(almond_lot, Decimal(40))]
    assert lots_held(api, walnuts["id"]) == [(walnut_lot, Decimal(20))]
    for product in (almonds, walnuts):
        assert receipt_count(api, product["id"]) == 1, product["sku"]


def test_a_receive_form_sent_twice_books_once(page: Page, site: Site) -> None:
    """The same filled receive form sent twice with the browser's cookies is booked once."""
    api = Api.admin(site)
    dates = new_product(api, "Medjool dates")
    order = sent_purchase_order(api, [(dates, "60")])
    lot_code = f"MJ-{tag()}"

    log_in(page, site.email(Role.STAFF))
    expect(page).to_have_url(at("/products"))
    page.goto(f"/purchase-orders/{order['id']}")
    fill_arrival(page, 1, "20", lot_code, days_from_today(250))
    page.get_by_label("Delivery note").fill(f"DN-{tag()}")
    form = page.locator(f"form[action='/purchase-orders/{order['id']}/receive']")
    fields = form_fields(form)
    target = f"{site.url}/purchase-orders/{order['id']}/receive"

    answers = [page.request.post(target, form=fields, max_redirects=0) for _ in range(2)]

    assert [answer.status for answer in answers] == [303, 303]
    assert [answer.headers["location"] for answer in answers] == [
        f"/purchase-orders/{order['id']}?done=receive"
    ] * 2
    page.goto(answers[1].headers["location"])
    expect(page.get_by_role("status")).to_have_text(RECEIVED)
    expect(deliveries(page)).to_have_count(1)
    expect(body_rows(section(page, "lines")).locator("td:nth-child(4)")).to_have_text(["20"])
    assert len(receipts(api, order["id"])) == 1
    assert received(api, order["id"]) == [20]
    assert lots_held(api, dates["id"]) == [(lot_code, Decimal(20))]
    assert receipt_count(api, dates["id"]) == 1


def test_a_delivery_note_received_again_needs_confirming(page: Page, site: Site) -> None:
    """A delivery note received again into a lot is refused until ticked as another delivery."""
    api = Api.admin(site)
    cashews = new_product(api, "Cashews")
    order = sent_purchase_order(api, [(cashews, "100")])
    mark = tag()
    lot_code, note = f"CA-{mark}", f"DN-{mark}"
    best_before = days_from_today(320)

    log_in(page, site.email(Role.STAFF))
    expect(page).to_have_url(at("/products"))
    page.goto(f"/purchase-orders/{order['id']}")
    fill_arrival(page, 1, "30", lot_code, best_before)
    page.get_by_label("Delivery note").fill(note)

    assert press(page, RECEIVE) == 303

    expect(page.get_by_role("status")).to_have_text(RECEIVED)
    assert len(receipts(api, order["id"])) == 1
    assert lots_held(api, cashews["id"]) == [(lot_code, Decimal(30))]

    page.goto(f"/purchase-orders/{order['id']}")  # a fresh form, with a key of its own
    fill_arrival(page, 1, "30", lot_code, best_before)
    page.get_by_label("Delivery note").fill(note)

    assert press(page, RECEIVE) == 409

    expect(page.get_by_role("alert")).to_have_text(
        re.compile(
            rf"^Delivery note {note} was already received for {cashews['sku']} lot {lot_code} "
            r"on \d{1,2} [A-Z][a-z]{2} \d{4}\. If the supplier delivered again under the same "
            r"note, tick “Another delivery under the same note” and send the form again\.$"
        )
    )
    another = page.get_by_label(ANOTHER_DELIVERY)
    expect(another).not_to_be_checked()
    expect(another).to_have_attribute("aria-invalid", "true")
    expect(another).to_be_focused()
    expect(page.get_by_label("Arrived of line 1", exact=True)).to_have_value("30")
    expect(page.get_by_label("Delivery note")).to_have_value(note)
    expect(deliveries(page)).to_have_count(1)
    assert len(receipts(api, order["id"])) == 1
    assert received(api, order["id"]) == [30]
    assert lots_held(api, cashews["id"]) == [(lot_code, Decimal(30))]
    assert receipt_count(api, cashews["id"]) == 1

    another.check()

    assert press(page, RECEIVE) == 303

    expect(page.get_by_role("status")).to_have_text(RECEIVED)
    expect(deliveries(page)).to_have_count(2)
    expect(deliveries(page).nth(1)).to_contain_text(f"note {note}")
    assert [receipt["delivery_note"] for receipt in receipts(api, order["id"])] == [note, note]
    assert received(api, order["id"]) == [60]
    assert lots_held(api, cashews["id"]) == [(lot_code, Decimal(60))]
    assert receipt_count(api, cashews["id"]) == 2
