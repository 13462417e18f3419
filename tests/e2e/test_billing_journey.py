"""An order from stock to money, in a real browser: staff add a customer who takes partial
deliveries and order more than is in stock; part is reserved and the rest backordered; the
part ships through a pick list, a manager's purchase order brings the rest, which fills the
backorder and ships; both shipments are invoiced, the first paid, and part comes back and is
credited, as is a discount. Every paper
the pages link to is read as a PDF and its first page drawn into the screenshots."""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.models.user import Role
from tests.e2e.conftest import Site
from tests.e2e.helpers import (
    Api,
    amount,
    assert_drawn,
    at,
    body_rows,
    days_from_today,
    fact,
    heading,
    linked_pdf,
    log_in,
    new_product,
    number_in_url,
    other_browser,
    receive,
    section,
    shown_days_from_today,
    stock_levels,
    tag,
    warehouse_ids,
)

pytestmark = [pytest.mark.system, pytest.mark.postgres]

NAME = "billing-journey"
IN_STOCK, ORDERED, ARRIVING, RETURNED = Decimal(8), Decimal(20), Decimal(15), Decimal(2)
BACKORDERED = ORDERED - IN_STOCK
PART_PAYMENT = Decimal("30.00")
DISCOUNT = Decimal("5.00")
CREDIT_NOTE = r"/credit-notes/(\d+)"
PICKING = (
    "The shipment is on its pick list: print it, confirm each lot as it is picked, then send it."
)
ON_ITS_WAY = "The shipment is on its way: its lots left the warehouse."


@dataclass
class Journey:
    """What the steps share: the staff member's tab, the admin's API, and the numbers of the
    records made so far."""

    page: Page
    browser: Browser
    site: Site
    api: Api
    product: Any
    main: int
    first_lot: str
    second_lot: str
    order_id: int = 0
    order_number: str = ""
    shipments: list[str] = field(default_factory=list)
    invoice_ids: list[int] = field(default_factory=list)
    invoice_numbers: list[str] = field(default_factory=list)
    invoice_totals: list[Decimal] = field(default_factory=list)


def line_row(page: Page) -> Locator:
    """The order page's one line."""
    return page.locator("[data-order-lines] tr[data-line='1']")


def expect_line(page: Page, reserved: Decimal, shipped: Decimal, backordered: Decimal) -> None:
    """The order line's Reserved, Shipped and Backordered columns."""
    row = line_row(page)
    expect(row.locator("[data-reserved]")).to_have_text(f"{reserved:,}")
    expect(row.locator("[data-shipped]")).to_have_text(f"{shipped:,}")
    expect(row.locator("[data-backordered]")).to_have_text(f"{backordered:,}")


def stored_line(journey: Journey) -> Any:
    """The order's one line as the API reads it."""
    [line] = journey.api("GET", f"/api/v1/orders/{journey.order_id}")["lines"]
    return line


def shipment_card(page: Page, number: str) -> Locator:
    """A shipment's part of the order page."""
    return page.locator(f"article[data-shipment='{number}']")


def newest_shipment(page: Page) -> str:
    """The number of the order page's last shipment."""
    number = page.locator("article[data-shipment]").last.get_attribute("data-shipment")
    assert number, "no shipment on the order page"
    return number


def printed(page: Page, link: Locator, document: str) -> str:
    """The text of the PDF behind ``link``, its first page drawn as billing-journey-DOCUMENT."""
    paper = linked_pdf(page, link, f"{NAME}-{document}")
    assert_drawn(paper.image)
    return paper.text


def money(text: str) -> Decimal:
    """An amount as the pages show it (€1,234.50) as a number."""
    assert re.fullmatch(r"€\d[\d,]*\.\d\d", text), text
    return Decimal(text.removeprefix("€").replace(",", ""))


# -- the steps -------------------------------------------------------------------------------


def order_more_than_in_stock(journey: Journey) -> None:
    """A customer taking partial deliveries orders more than is in stock; confirmed, what
    there is is reserved and the rest backordered."""
    page, product = journey.page, journey.product
    customer_name = f"Harbour Pantry {tag()}"
    page.goto("/customers")
    new_customer = section(page, "new-customer")
    new_customer.get_by_label("Name").fill(customer_name)
    new_customer.get_by_label("Accepts partial delivery").check()
    new_customer.get_by_role("button", name="Add the customer").click()

    expect(page).to_have_url(at("/orders/new"))
    expect(page.get_by_label("Customer").locator("option:checked")).to_have_text(customer_name)
    page.get_by_label("Product of line 1", exact=True).select_option(str(product["id"]))
    page.get_by_label("Quantity of line 1", exact=True).fill(str(ORDERED))
    page.get_by_role("button", name="Place the order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+\?done=placed$"))
    journey.order_id = number_in_url(page, r"/orders/(\d+)")
    order = journey.api("GET", f"/api/v1/orders/{journey.order_id}")
    journey.order_number = order["number"]
    customer = journey.api("GET", f"/api/v1/customers/{order['customer']['id']}")
    assert (customer["name"], customer["partial_delivery"]) == (customer_name, True)
    expect(page.locator("[data-order-status]")).to_have_text("pending")
    page.get_by_role("button", name="Confirm (reserve stock)").click()

    expect(page.get_by_role("status")).to_have_text(
        "The order is confirmed: stock is reserved, first to expire first."
    )
    expect(page.locator("[data-order-status]")).to_have_text("confirmed")
    expect_line(page, IN_STOCK, Decimal(0), BACKORDERED)
    expect(line_row(page).locator(".allocation")).to_have_text(
        [f"{journey.first_lot}: {IN_STOCK} · best before {shown_days_from_today(200)} · active"]
    )
    line = stored_line(journey)
    assert Decimal(line["reserved_quantity"]) == IN_STOCK
    assert Decimal(line["backordered_quantity"]) == BACKORDERED


def ship_the_part_through_a_pick_list(journey: Journey) -> None:
    """What is reserved ships pick first: the pick list is printed, the lot scanned on the
    line, the shipment sent; its delivery note names the lot."""
    page, product = journey.page, journey.product
    page.get_by_role("button", name="Ship…").click()
    question = page.locator("#ask")
    assert Decimal(question.get_by_label("Ship now of line 1").input_value()) == IN_STOCK
    question.get_by_role("checkbox", name=re.compile(r"^Pick first:")).check()
    question.get_by_role("button", name="Ship the order").click()

    expect(page.get_by_role("status")).to_have_text(PICKING)
    number = newest_shipment(page)
    journey.shipments.append(number)
    card = shipment_card(page, number)
    expect(card.locator("[data-shipment-status]")).to_have_text("picking")
    pick_list = printed(page, card.get_by_role("link", name="Pick list (PDF)"), "pick-list")
    for text in (number, journey.order_number, product["sku"], journey.first_lot, f"{IN_STOCK} kg"):
        assert text in pick_list, (text, pick_list)

    card.get_by_label("Lot picked for line 1").fill(journey.first_lot)
    card.get_by_role("button", name="Picked").click()
    expect(page.get_by_role("status")).to_have_text("The line is picked.")
    expect(card.get_by_role("button", name="Picked")).to_have_count(0)
    card.get_by_role("button", name=f"Send {number} on its way").click()

    expect(page.get_by_role("status")).to_have_text(ON_ITS_WAY)
    expect(card.locator("[data-shipment-status]")).to_have_text("shipped")
    expect(page.locator("[data-order-status]")).to_have_text("partially_shipped")
    expect_line(page, Decimal(0), IN_STOCK, BACKORDERED)
    note = printed(page, card.get_by_role("link", name="Delivery note (PDF)"), "delivery-note")
    for text in (number, journey.order_number, product["sku"], journey.first_lot, f"{IN_STOCK} kg"):
        assert text in note, (text, note)
    line = stored_line(journey)
    assert Decimal(line["shipped_quantity"]) == IN_STOCK
    assert Decimal(line["backordered_quantity"]) == BACKORDERED


def receive_more_and_fill_the_backorder(journey: Journey) -> None:
    """A manager orders more from a supplier; staff receive the delivery on the purchase
    order's page, and Fill backorders reserves it for the waiting line."""
    page, product = journey.page, journey.product
    with other_browser(journey.browser, journey.site) as manager:
        log_in(manager, journey.site.email(Role.MANAGER))
        expect(manager).to_have_url(at("/dashboard"))
        manager.goto("/purchase-orders/new")
        supplier = manager.get_by_label("Supplier").locator("option").nth(1)
        manager.get_by_label("Supplier").select_option(supplier.get_attribute("value") or "")
        manager.get_by_label("Deliver to").select_option(str(journey.main))
        manager.get_by_label("Product of line 1", exact=True).select_option(str(product["id"]))
        manager.get_by_label("Quantity of line 1", exact=True).fill(str(ARRIVING))
        manager.get_by_label("Unit cost of line 1", exact=True).fill("5.20")
        manager.get_by_role("button", name="Draft the order").click()
        expect(manager).to_have_url(re.compile(r"/purchase-orders/\d+\?done=drafted$"))
        purchase_id = number_in_url(manager, r"/purchase-orders/(\d+)")
        manager.get_by_role("button", name="Send to the supplier").click()
        expect(manager.get_by_role("status")).to_have_text("The order is sent to the supplier.")
        purchase = journey.api("GET", f"/api/v1/purchase-orders/{purchase_id}")
        assert purchase["status"] == "ordered"
        paper = printed(manager, manager.get_by_role("link", name="Print (PDF)"), "purchase-order")
        for text in (purchase["number"], product["sku"], amount(purchase["total"])):
            assert text in paper, (text, paper)

    page.goto(f"/purchase-orders/{purchase_id}")
    expect(heading(page)).to_contain_text(purchase["number"])
    page.get_by_label("Arrived of line 1").fill(str(ARRIVING))
    page.get_by_label("Lot code of line 1").fill(journey.second_lot)
    page.get_by_label("Best before of line 1").fill(days_from_today(300))
    page.get_by_label("Delivery note").fill(f"DN-{tag()}")
    page.get_by_role("button", name="Receive the delivery").click()

    expect(page.get_by_role("status")).to_have_text("The delivery is received into stock.")
    expect(page.locator("[data-order-status]")).to_have_text("received")
    assert journey.api("GET", f"/api/v1/purchase-orders/{purchase_id}")["status"] == "received"
    page.goto(f"/orders/{journey.order_id}")
    expect_line(page, Decimal(0), IN_STOCK, BACKORDERED)
    page.get_by_role("button", name="Fill backorders").click()

    expect(page.get_by_role("status")).to_have_text(
        "What there now is is reserved for the backordered lines."
    )
    expect_line(page, BACKORDERED, IN_STOCK, Decimal(0))
    expect(page.get_by_role("button", name="Fill backorders")).to_have_count(0)
    expect(line_row(page).locator(".allocation").last).to_have_text(
        f"{journey.second_lot}: {BACKORDERED} · best before {shown_days_from_today(300)} · active"
    )
    assert Decimal(stored_line(journey)["reserved_quantity"]) == BACKORDERED


def ship_the_rest(journey: Journey) -> None:
    """The rest ships at once, without a pick list; the order is shipped."""
    page = journey.page
    page.get_by_role("button", name="Ship…").click()
    question = page.locator("#ask")
    assert Decimal(question.get_by_label("Ship now of line 1").input_value()) == BACKORDERED
    expect(question.get_by_role("checkbox", name=re.compile(r"^Pick first:"))).not_to_be_checked()
    question.get_by_role("button", name="Ship the order").click()

    expect(page.get_by_role("status")).to_have_text(ON_ITS_WAY)
    number = newest_shipment(page)
    assert number not in journey.shipments
    journey.shipments.append(number)
    expect(shipment_card(page, number).locator("[data-shipment-status]")).to_have_text("shipped")
    expect(page.locator("[data-order-status]")).to_have_text("shipped")
    expect_line(page, Decimal(0), ORDERED, Decimal(0))
    assert journey.api("GET", f"/api/v1/orders/{journey.order_id}")["status"] == "shipped"


def invoice_both_shipments(journey: Journey) -> None:
    """Each shipment is invoiced from the order page; each invoice's page and PDF name its
    lot and total."""
    page = journey.page
    lots = [journey.first_lot, journey.second_lot]
    quantities = [IN_STOCK, BACKORDERED]
    for index, number in enumerate(journey.shipments):
        page.goto(f"/orders/{journey.order_id}")
        card = shipment_card(page, number)
        card.get_by_role("button", name=f"Invoice {number}").click()
        expect(page.get_by_role("status")).to_have_text("The shipment is invoiced.")
        card = shipment_card(page, number)
        expect(card.get_by_role("button", name=f"Invoice {number}")).to_have_count(0)
        link = card.locator("a[data-invoice]")
        invoice_number = link.get_attribute("data-invoice") or ""
        assert invoice_number not in ("", *journey.invoice_numbers)
        expect(link).to_have_text(f"Invoice {invoice_number}")
        link.click()

        expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
        invoice_id = number_in_url(page, r"/invoices/(\d+)$")
        expect(heading(page)).to_contain_text(invoice_number)
        expect(page.locator("[data-invoice-status]")).to_have_text("open")
        expect(fact(page, "Shipment")).to_have_text(number)
        expect(body_rows(section(page, "lines")).locator("td").nth(2)).to_contain_text(lots[index])
        expect(body_rows(section(page, "lines")).locator("td").nth(3)).to_have_text(
            f"{quantities[index]} kg"
        )
        total = money(fact(page, "Total").inner_text())
        stored = journey.api("GET", f"/api/v1/invoices/{invoice_id}")
        assert (stored["number"], Decimal(stored["gross_total"])) == (invoice_number, total)
        expect(fact(page, "Still to pay")).to_have_text(amount(total))
        paper = printed(page, page.get_by_role("link", name="Print (PDF)"), f"invoice-{index + 1}")
        for text in (invoice_number, journey.order_number, lots[index], amount(total)):
            assert text in paper, (text, paper)
        journey.invoice_ids.append(invoice_id)
        journey.invoice_numbers.append(invoice_number)
        journey.invoice_totals.append(total)


def pay_the_first_invoice(journey: Journey) -> None:
    """A part payment leaves the first invoice partly paid with the rest to pay; paying the
    rest makes it paid."""
    page, invoice_id = journey.page, journey.invoice_ids[0]
    total = journey.invoice_totals[0]
    page.goto(f"/invoices/{invoice_id}")
    expect(fact(page, "Paid")).to_have_text(amount(0))
    for paid, status in ((PART_PAYMENT, "partly paid"), (total, "paid")):
        payments = section(page, "payments")
        payments.get_by_label("Amount").fill(str(paid - money(fact(page, "Paid").inner_text())))
        payments.get_by_label("Bank reference (optional)").fill(f"BANK-{tag()}")
        payments.get_by_role("button", name="Record the payment").click()

        expect(page.get_by_role("status")).to_have_text("The payment is recorded.")
        expect(page.locator("[data-invoice-status]")).to_have_text(status)
        expect(fact(page, "Paid")).to_have_text(amount(paid))
        expect(fact(page, "Still to pay")).to_have_text(amount(total - paid))
        stored = journey.api("GET", f"/api/v1/invoices/{invoice_id}")
        assert stored["status"] == status.replace(" ", "_")
        assert Decimal(stored["outstanding"]) == total - paid
    expect(body_rows(section(page, "payments"))).to_have_count(2)
    expect(
        section(page, "payments").get_by_role("button", name="Record the payment")
    ).to_have_count(0)
    second = journey.api("GET", f"/api/v1/invoices/{journey.invoice_ids[1]}")
    assert (second["status"], Decimal(second["outstanding"])) == ("open", journey.invoice_totals[1])


def take_back_part_of_the_line(journey: Journey) -> None:
    """Part of the line comes back to stock through the order page's return form."""
    page, product = journey.page, journey.product
    page.goto(f"/invoices/{journey.invoice_ids[0]}")
    page.get_by_role("link", name=f"Order {journey.order_number}").click()
    expect(page).to_have_url(at(f"/orders/{journey.order_id}"))
    on_hand = sum(Decimal(level["on_hand"]) for level in stock_levels(journey.api, product["id"]))
    take_back = section(page, "take-back")
    take_back.get_by_label("Coming back of line 1").fill(str(RETURNED))
    take_back.get_by_label("Where line 1 goes").select_option("restock")
    take_back.get_by_label("Reason").fill("Two bags arrived crushed")
    take_back.get_by_role("button", name="Take back").click()

    expect(page.get_by_role("status")).to_have_text(
        "The goods are taken back and what had been invoiced of them is credited."
    )
    expect(body_rows(section(page, "take-back")).locator("td").nth(2)).to_have_text(str(RETURNED))
    assert Decimal(stored_line(journey)["returned_quantity"]) == RETURNED
    after = sum(Decimal(level["on_hand"]) for level in stock_levels(journey.api, product["id"]))
    assert after == on_hand + RETURNED


def credit_the_return_and_a_discount(journey: Journey) -> None:
    """The return is credited on the invoice of the shipment it came from; a discount is then
    credited by hand on the invoice page; each credit note's page and PDF say what it credits,
    and the invoice owes that much less."""
    page = journey.page
    invoice_id, invoice_number = journey.invoice_ids[1], journey.invoice_numbers[1]
    page.goto(f"/orders/{journey.order_id}")
    card = shipment_card(page, journey.shipments[1])
    returned = card.locator("a[data-credit-note]")
    expect(returned).to_have_count(1)
    returned.click()
    expect(page).to_have_url(re.compile(r"/credit-notes/\d+$"))
    note = journey.api("GET", f"/api/v1/credit-notes/{number_in_url(page, CREDIT_NOTE)}")
    assert (note["invoice_number"], note["kind"]) == (invoice_number, "return")
    assert Decimal(note["lines"][0]["quantity"]) == RETURNED
    credited = Decimal(note["gross_total"])
    expect(fact(page, "Total credited")).to_have_text(amount(credited))
    paper = printed(page, page.get_by_role("link", name="Print (PDF)"), "credit-note-1")
    for text in (note["number"], invoice_number, "Two bags arrived crushed", amount(credited)):
        assert text in paper, (text, paper)

    page.get_by_role("link", name=f"Invoice {invoice_number}").first.click()
    expect(page).to_have_url(at(f"/invoices/{invoice_id}"))
    expect(fact(page, "Credited")).to_have_text(amount(credited))
    owed = journey.invoice_totals[1] - credited
    expect(fact(page, "Still to pay")).to_have_text(amount(owed))
    credits = section(page, "credits")
    credits.get_by_label("Amount to credit of line 1").fill(str(DISCOUNT))
    credits.get_by_label("Reason for the credit").fill("Late delivery discount")
    credits.get_by_role("button", name="Issue the credit note").click()

    expect(page.get_by_role("status")).to_contain_text("The credit note is issued")
    discount = journey.api("GET", f"/api/v1/credit-notes/{number_in_url(page, CREDIT_NOTE)}")
    assert (discount["kind"], Decimal(discount["net_total"])) == ("adjustment", DISCOUNT)
    paper = printed(page, page.get_by_role("link", name="Print (PDF)"), "credit-note-2")
    for text in (discount["number"], invoice_number, "Late delivery discount"):
        assert text in paper, (text, paper)
    stored = journey.api("GET", f"/api/v1/invoices/{invoice_id}")
    left = owed - Decimal(discount["gross_total"])
    assert (Decimal(stored["outstanding"]), stored["status"]) == (left, "open")
    assert [entry["number"] for entry in stored["credit_notes"]] == [
        note["number"],
        discount["number"],
    ]


# -- the journey -----------------------------------------------------------------------------


def test_an_order_goes_from_backorder_to_invoices_payments_and_credit_notes(
    page: Page, browser: Browser, site: Site
) -> None:
    """Order, partial shipment, receipt, backorder filled, second shipment, invoices, payment
    return and credit notes, each through the pages, each paper read and drawn."""
    api = Api.admin(site)
    product = new_product(api, "Sun-dried apricots", price="12.40")
    mark = tag()
    main = warehouse_ids(api)["MAIN"]
    journey = Journey(page, browser, site, api, product, main, f"APR-A-{mark}", f"APR-B-{mark}")
    receive(api, product["id"], main, journey.first_lot, str(IN_STOCK), days_from_today(200))
    log_in(page, site.email(Role.STAFF))
    expect(page).to_have_url(at("/products"))

    order_more_than_in_stock(journey)
    ship_the_part_through_a_pick_list(journey)
    receive_more_and_fill_the_backorder(journey)
    ship_the_rest(journey)
    invoice_both_shipments(journey)
    pay_the_first_invoice(journey)
    take_back_part_of_the_line(journey)
    credit_the_return_and_a_discount(journey)
