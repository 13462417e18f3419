"""Everyday work in a real browser: a manager adds a product and receives it, a low-stock alert
comes and goes, the sales team sells and ships first to expire first, a lot is traced to its
customers, an admin unlocks an account and ends its session, a customer orders in the shop and
sees nothing of other customers'. Each journey makes its own data (through the API where the
journey does not cover it) and checks the outcome on the server too."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.core.config import get_settings
from app.core.formatting import moment
from app.models.user import Role
from tests.conftest import PASSWORD
from tests.e2e.conftest import Site
from tests.e2e.helpers import (
    Api,
    amount,
    assert_styled,
    at,
    body_rows,
    days_from_today,
    fact,
    heading,
    log_in,
    new_product,
    number_in_url,
    other_browser,
    press,
    query_of,
    receive,
    section,
    session_cookies,
    stock_levels,
    tag,
    warehouse_ids,
)

pytestmark = [pytest.mark.system, pytest.mark.postgres]

PLACED = "The order is placed."
CONFIRMED = "The order is confirmed: stock is reserved, first to expire first."
SHIPPED = "The shipment is on its way: its lots left the warehouse."
BOOKED = "The stock movement is booked."
FIX_FIELDS = "Please correct the fields marked below."


# -- the API, to set up what a journey does not cover and to check results -------------------


def fefo_picks(levels: list[dict[str, Any]], wanted: Decimal) -> list[tuple[str, Decimal, str]]:
    """What first-to-expire-first takes for ``wanted``: (lot code, quantity, best before) from
    the available lots still in date, the earliest best-before first."""
    today = date.today().isoformat()
    sellable = sorted(
        (
            level
            for level in levels
            if level["lot_status"] == "available"
            and Decimal(level["available"]) > 0
            and level["best_before"] >= today
        ),
        key=lambda level: (level["best_before"], level["lot_id"], level["warehouse_id"]),
    )
    picks = []
    remaining = wanted
    for level in sellable:
        take = min(remaining, Decimal(level["available"]))
        picks.append((level["lot_code"], take, level["best_before"]))
        remaining -= take
        if remaining == 0:
            return picks
    raise AssertionError(f"only {wanted - remaining} of {wanted} can be picked from {levels}")


def shipped_order(api: Api, product_id: int, quantity: str) -> tuple[Any, Any]:
    """A new customer and its order of ``quantity`` of the product, confirmed and shipped."""
    customer = api("POST", "/api/v1/customers", {"name": f"Trace Foods {tag()}"})
    lines = [{"product_id": product_id, "quantity": quantity}]
    order = api("POST", "/api/v1/orders", {"customer_id": customer["id"], "lines": lines})
    api("POST", f"/api/v1/orders/{order['id']}/confirm")
    shipped = api("POST", f"/api/v1/orders/{order['id']}/ship")
    assert shipped["status"] == "shipped"
    return customer, shipped


# -- reading the pages -----------------------------------------------------------------------


def count(value: str | Decimal) -> str:
    """A quantity as the pages show it: whole numbers without decimals."""
    number = Decimal(value).normalize()
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,f}"


def field_error(page: Page, name: str) -> Locator:
    """The message in the form field box of the field ``name``."""
    return page.locator(".field", has=page.locator(f"[name='{name}']")).locator(".field-error")


def menu_link(page: Page, name: str) -> Locator:
    """A link of the main menu."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def on_hand_total(page: Page) -> Decimal:
    """The sum of a product page's "On hand per warehouse" table."""
    cells = body_rows(section(page, "per-warehouse")).locator("td.num").all_inner_texts()
    return sum((Decimal(cell.replace(",", "")) for cell in cells), Decimal(0))


def shown_date(iso: str) -> str:
    """A date as the pages show it (en_GB): 2027-03-06 -> 6 Mar 2027."""
    day = date.fromisoformat(iso)
    return f"{day.day} {day.strftime('%b %Y')}"


def allocation_texts(picks: list[tuple[str, Decimal, str]], status: str) -> list[str]:
    """The "Lots picked" lines of an order line for ``picks``."""
    return [
        f"{code}: {count(qty)} · best before {shown_date(best)} · {status}"
        for code, qty, best in picks
    ]


# -- journeys --------------------------------------------------------------------------------


def test_manager_creates_a_product_and_receives_a_first_lot(page: Page, site: Site) -> None:
    """A manager fills the product form, sees the product, and receives a lot through its
    Receive button; a first try without lot code and with a negative quantity books nothing."""
    api = Api.admin(site)
    category = api("GET", "/api/v1/categories?is_active=true&limit=200")["items"][0]
    main = warehouse_ids(api)["MAIN"]
    mark = tag()
    sku, name, lot_code = f"E2E-FIG-{mark}", f"Smyrna figs {mark}", f"FIG-{mark}"
    best_before = days_from_today(240)

    log_in(page, site.email(Role.MANAGER))
    expect(page).to_have_url(at("/dashboard"))
    page.goto("/products/new")
    expect(heading(page)).to_have_text("New product")
    page.get_by_label("SKU").fill(sku)
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_label("Category").select_option(label=category["name"])
    page.get_by_label("Variety").fill("Sarilop")
    page.get_by_label("Origin country").fill("TR")
    page.get_by_label("Grade", exact=True).fill("Protoben 4")
    page.get_by_label("Organic").check()
    page.get_by_label("Sold by").select_option("kg")
    page.get_by_label("Price (EUR per unit)").fill("12.50")
    page.get_by_label("Standard cost (EUR per unit)").fill("7.25")
    page.get_by_label("Reorder point").fill("40")
    page.get_by_label("Reorder quantity").fill("150")
    page.get_by_label("Shelf life (days)").fill("270")
    page.get_by_label("Description").fill("Sun-dried, hand-sorted.")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    product_id = number_in_url(page, r"/products/(\d+)$")
    expect(heading(page)).to_have_text(f"{name} {sku}")
    expect(fact(page, "Category")).to_have_text(category["name"])
    expect(fact(page, "Origin")).to_have_text("TR")
    expect(fact(page, "Grade")).to_have_text("Protoben 4 · organic")
    expect(fact(page, "Sold by")).to_have_text("kg")
    expect(fact(page, "Price")).to_have_text("€12.50")
    expect(fact(page, "Reorder")).to_have_text("at 40, order 150")
    expect(fact(page, "Shelf life")).to_have_text("270 days")
    expect(body_rows(section(page, "lots"))).to_have_text(["No lot holds this product."])
    expect(body_rows(section(page, "per-warehouse"))).to_have_text(["No stock."])
    assert_styled(page)
    [saved] = api("GET", f"/api/v1/products?q={sku}")["items"]
    assert saved["id"] == product_id
    assert (saved["name"], saved["category_id"], saved["is_organic"]) == (
        name,
        category["id"],
        True,
    )
    assert Decimal(saved["price"]) == Decimal("12.50")
    assert Decimal(saved["reorder_point"]) == Decimal(40)

    page.get_by_role("link", name="Receive").click()

    expect(page).to_have_url(at("/stock/receive"))
    assert query_of(page)["product_id"] == [str(product_id)]
    expect(heading(page)).to_have_text("Receive goods")
    expect(page.get_by_label("Product")).to_have_value(str(product_id))
    page.get_by_label("Warehouse").select_option(str(main))
    page.get_by_label("Quantity").fill("-5")
    page.get_by_label("Best before").fill(best_before)

    assert press(page, "Book") == 422

    expect(page).to_have_url(at("/stock/receive"))
    expect(page.get_by_role("alert")).to_have_text(FIX_FIELDS)
    expect(field_error(page, "lot_code")).to_have_text("Enter the lot code.")
    expect(field_error(page, "quantity")).to_have_text("The quantity must be more than 0.")
    expect(page.locator(".field-error")).to_have_count(2)
    for field in ("lot_code", "quantity"):
        expect(page.locator(f"[name='{field}']")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"[name='{field}']")).to_have_attribute(
            "aria-describedby", f"e-{field}"
        )
    expect(page.get_by_label("Lot code")).to_be_focused()
    expect(page.get_by_label("Product")).to_have_value(str(product_id))
    expect(page.get_by_label("Warehouse")).to_have_value(str(main))
    expect(page.get_by_label("Quantity")).to_have_value("-5")
    expect(page.get_by_label("Best before")).to_have_value(best_before)
    assert stock_levels(api, product_id) == []
    assert api("GET", f"/api/v1/stock/movements?product_id={product_id}")["total"] == 0

    page.get_by_label("Lot code").fill(lot_code)
    page.get_by_label("Quantity").fill("25")
    page.get_by_label("Reference").fill(f"DN-{mark}")

    assert press(page, "Book") == 303  # booked: on to the product

    expect(page).to_have_url(at(f"/products/{product_id}"))
    assert query_of(page)["booked"] == ["receive"]
    expect(page.get_by_role("status")).to_have_text(BOOKED)
    lots = body_rows(section(page, "lots"))
    expect(lots).to_have_count(1)
    expect(lots.first.locator("td")).to_have_text(
        [lot_code, "MAIN", shown_date(best_before), "available", "25", "0", "25"]
    )
    expect(lots.first.get_by_role("link", name=lot_code)).to_have_attribute(
        "href", re.compile(r"^/lots/\d+$")
    )
    expect(body_rows(section(page, "per-warehouse")).locator("td")).to_have_text(["MAIN", "25"])
    ledger = body_rows(section(page, "ledger"))
    expect(ledger).to_have_count(1)
    when = ledger.first.locator("td").first.locator("time")
    expect(when).to_have_text(moment(datetime.fromisoformat(when.get_attribute("datetime") or "")))
    expect(ledger.first.locator("td").nth(1)).to_have_text("receipt")
    expect(ledger.first.locator("td").nth(2)).to_have_text(lot_code)
    expect(ledger.first.locator("td").nth(3)).to_have_text("MAIN")
    expect(ledger.first.locator("td").nth(4)).to_have_text("25 kg")
    expect(ledger.first.locator("td").nth(5)).to_have_text(f"DN-{mark}")
    [level] = stock_levels(api, product_id)
    assert (level["lot_code"], level["warehouse_id"], level["best_before"]) == (
        lot_code,
        main,
        best_before,
    )
    assert Decimal(level["on_hand"]) == Decimal(25)


def test_a_low_stock_alert_comes_and_goes_with_the_stock(page: Page, site: Site) -> None:
    """A product below its reorder point is under "Low on stock" on /alerts; once more than
    the reorder point is received it is no longer listed."""
    api = Api.admin(site)
    main = warehouse_ids(api)["MAIN"]
    product = new_product(api, "Apricots", reorder_point="50")
    sku, name = product["sku"], product["name"]
    receive(api, product["id"], main, f"AP-{tag()}", "20", days_from_today(200))

    log_in(page, site.email(Role.MANAGER))
    menu_link(page, "Alerts").click()

    expect(page).to_have_url(at("/alerts"))
    expect(heading(page)).to_have_text("Alerts")
    low = section(page, "low")
    expect(low.get_by_role("heading", level=2)).to_contain_text("Low on stock")
    listed = body_rows(low).filter(has=page.get_by_role("link", name=sku, exact=True))
    expect(listed).to_have_count(1)
    expect(listed.locator("td")).to_have_text([f"{sku} {name}", "20 kg", "0 kg", "50 kg", "100 kg"])
    expect(low.locator("h2 small")).to_have_text(
        str(len(api("GET", "/api/v1/alerts")["low_stock"]))
    )

    listed.get_by_role("link", name=sku, exact=True).click()
    expect(page).to_have_url(at(f"/products/{product['id']}"))
    page.get_by_role("link", name="Receive").click()
    expect(page).to_have_url(at("/stock/receive"))
    page.get_by_label("Warehouse").select_option(str(main))
    page.get_by_label("Lot code").fill(f"AP-{tag()}")
    page.get_by_label("Quantity").fill("60")
    page.get_by_label("Best before").fill(days_from_today(260))

    assert press(page, "Book") == 303

    expect(page.get_by_role("status")).to_have_text(BOOKED)
    expect(body_rows(section(page, "per-warehouse")).locator("td")).to_have_text(["MAIN", "80"])
    menu_link(page, "Alerts").click()

    expect(page).to_have_url(at("/alerts"))
    low = section(page, "low")
    expect(low.get_by_role("heading", level=2)).to_contain_text("Low on stock")
    expect(body_rows(low).filter(has=page.get_by_role("link", name=sku, exact=True))).to_have_count(
        0
    )
    expect(low).not_to_contain_text(name)
    low_now = api("GET", "/api/v1/alerts")["low_stock"]
    assert product["id"] not in [alert["product_id"] for alert in low_now]
    expect(low.locator("h2 small")).to_have_text(str(len(low_now)))


def test_staff_sells_ships_first_to_expire_first(page: Page, site: Site) -> None:
    """Staff add a customer, order two products for it, confirm (the lots picked are the
    earliest best-before of the available lots), ship; the product pages hold less stock."""
    api = Api.admin(site)
    warehouses = warehouse_ids(api)
    main, cold = warehouses["MAIN"], warehouses["COLD"]
    dates = new_product(api, "Medjool dates", price="11.20")
    nuts = new_product(api, "Cashew kernels", price="15.60")
    mark = tag()
    receive(api, dates["id"], main, f"LATE-{mark}", "30", days_from_today(300))
    receive(api, dates["id"], main, f"EARLY-{mark}", "30", days_from_today(90))
    held = receive(api, dates["id"], main, f"HELD-{mark}", "30", days_from_today(40))
    api("POST", f"/api/v1/lots/{held}/status", {"status": "quarantine", "reason": "lab test"})
    receive(api, dates["id"], main, f"OLD-{mark}", "30", days_from_today(-5), days_from_today(-400))
    receive(api, nuts["id"], cold, f"C2-{mark}", "50", days_from_today(200))
    receive(api, nuts["id"], main, f"C1-{mark}", "10", days_from_today(120))
    ordered = {dates["id"]: Decimal(12), nuts["id"]: Decimal(15)}
    customer_name, email = f"Oasis Deli {mark}", f"e2e.deli.{mark.lower()}@example.com"

    log_in(page, site.email(Role.STAFF))
    expect(page).to_have_url(at("/products"))
    before: dict[int, Decimal] = {}
    for product in (dates, nuts):
        page.goto(f"/products/{product['id']}")
        expect(heading(page)).to_contain_text(product["name"])
        expect(body_rows(section(page, "lots"))).to_have_count(
            len(stock_levels(api, product["id"]))
        )
        before[product["id"]] = on_hand_total(page)
    assert before == {dates["id"]: Decimal(120), nuts["id"]: Decimal(60)}

    menu_link(page, "Sales").click()
    expect(page).to_have_url(at("/orders"))
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page).to_have_url(at("/customers"))
    new_customer = section(page, "new-customer")
    new_customer.get_by_label("Name").fill(customer_name)
    new_customer.get_by_label("Type").select_option("wholesale")
    new_customer.get_by_label("Email").fill(email)
    new_customer.get_by_role("button", name="Add the customer").click()

    expect(page).to_have_url(at("/orders/new"))
    customer_id = int(query_of(page)["customer_id"][0])
    expect(heading(page)).to_have_text("New order")
    expect(page.get_by_label("Customer")).to_have_value(str(customer_id))
    expect(page.get_by_label("Customer").locator("option:checked")).to_have_text(customer_name)
    assert api("GET", f"/api/v1/customers/{customer_id}")["email"] == email
    for row, (product_id, wanted) in enumerate(ordered.items(), start=1):
        page.get_by_label(f"Product of line {row}", exact=True).select_option(str(product_id))
        page.get_by_label(f"Quantity of line {row}", exact=True).fill(str(wanted))
    page.get_by_role("button", name="Place the order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+\?done=placed$"))
    order_id = number_in_url(page, r"/orders/(\d+)")
    order = api("GET", f"/api/v1/orders/{order_id}")
    assert order["customer"]["id"] == customer_id
    assert [(line["product_id"], Decimal(line["quantity"])) for line in order["lines"]] == list(
        ordered.items()
    )
    expect(page.get_by_role("status")).to_have_text(PLACED)
    expect(heading(page)).to_have_text(f"{order['number']} {customer_name} · pending")
    expect(page.locator("[data-order-status]")).to_have_text("pending")
    lines = section(page, "lines")
    expect(lines.get_by_role("heading", level=2)).to_have_text(
        f"Lines total {amount(order['total'])}"
    )
    expect(body_rows(lines)).to_have_count(2)
    for index, line in enumerate(order["lines"]):
        expect(body_rows(lines).nth(index).locator("td")).to_have_text(
            [
                str(line["line_no"]),
                f"{line['sku']} {line['product_name']} Pin a lot…",
                f"{count(line['quantity'])} kg",
                "0",
                "0",
                "0",
                amount(line["unit_price"]),
                amount(line["line_total"]),
                "—",
            ]
        )
    expected = {
        product_id: fefo_picks(stock_levels(api, product_id), wanted)
        for product_id, wanted in ordered.items()
    }
    assert expected[dates["id"]] == [(f"EARLY-{mark}", Decimal(12), days_from_today(90))]

    page.get_by_role("button", name="Confirm (reserve stock)").click()

    expect(page.get_by_role("status")).to_have_text(CONFIRMED)
    expect(page.locator("[data-order-status]")).to_have_text("confirmed")
    for index, product_id in enumerate(ordered):
        picked = body_rows(lines).nth(index).locator(".allocation")
        earliest_code, _, earliest_best_before = expected[product_id][0]
        expect(picked.first).to_contain_text(f"{earliest_code}:")
        expect(picked.first).to_contain_text(f"best before {shown_date(earliest_best_before)}")
        expect(picked).to_have_text(allocation_texts(expected[product_id], "active"))
        expect(picked.first.get_by_role("link", name=earliest_code)).to_have_attribute(
            "href", re.compile(r"^/lots/\d+$")
        )

    # Ship asks first, naming each lot that leaves; without JavaScript, as a page of its own.
    page.get_by_role("button", name="Ship…").click()
    question = page.locator("#ask")
    expect(question.get_by_role("heading")).to_have_text(f"Ship {order['number']}?")
    for product_id in ordered:
        for code, _, best_before in expected[product_id]:
            expect(question.locator("li").filter(has_text=f"{code}:")).to_contain_text(
                f"best before {shown_date(best_before)}"
            )
    expect(page.locator("[data-order-status]")).to_have_text("confirmed")
    question.get_by_role("button", name="Ship the order").click()

    expect(page.get_by_role("status")).to_have_text(SHIPPED)
    expect(page.locator("[data-order-status]")).to_have_text("shipped")
    expect(page.get_by_role("button", name="Mark delivered")).to_be_visible()
    for index, product_id in enumerate(ordered):
        picked = body_rows(lines).nth(index).locator(".allocation")
        expect(picked).to_have_text(allocation_texts(expected[product_id], "issued"))
    assert api("GET", f"/api/v1/orders/{order_id}")["status"] == "shipped"
    for product in (dates, nuts):
        page.goto(f"/products/{product['id']}")
        expect(heading(page)).to_contain_text(product["name"])
        issued = body_rows(section(page, "ledger")).filter(has_text="issue")
        expect(issued).to_have_count(len(expected[product["id"]]))
        expect(issued.first.locator("td").nth(5)).to_have_text(order["number"])
        after = on_hand_total(page)
        assert after == before[product["id"]] - ordered[product["id"]], (product["sku"], after)
    page.goto(f"/products/{dates['id']}")
    early = body_rows(section(page, "lots")).filter(has_text=f"EARLY-{mark}")
    expect(early.locator("td").nth(4)).to_have_text("18")


def test_a_shipped_lot_is_traced_to_its_customer(page: Page, site: Site) -> None:
    """From a shipped order's lot link, the lot page names the customer under "Downstream:
    customers" with the quantity shipped; its CSV download holds the shipment and order."""
    api = Api.admin(site)
    main = warehouse_ids(api)["MAIN"]
    product = new_product(api, "Sultanas")
    lot_code = f"SUL-{tag()}"
    lot_id = receive(api, product["id"], main, lot_code, "40", days_from_today(150))
    customer, order = shipped_order(api, product["id"], "15")

    log_in(page, site.email(Role.STAFF))
    page.goto("/orders?status=shipped")
    page.get_by_role("link", name=order["number"], exact=True).click()

    expect(page).to_have_url(at(f"/orders/{order['id']}"))
    expect(page.locator("[data-order-status]")).to_have_text("shipped")
    page.locator(".allocation").get_by_role("link", name=lot_code, exact=True).click()

    expect(page).to_have_url(at(f"/lots/{lot_id}"))
    expect(heading(page)).to_have_text(f"Lot {lot_code} {product['sku']} · {product['name']}")
    downstream = section(page, "downstream")
    expect(downstream.get_by_role("heading", level=2)).to_have_text("Downstream: customers")
    expect(body_rows(downstream)).to_have_count(1)
    expect(body_rows(downstream).locator("td")).to_have_text(
        [customer["name"], order["number"], "15", "0", "15"]
    )
    expect(body_rows(section(page, "holdings")).locator("td")).to_have_text(["MAIN", "25", "0"])
    shipment = body_rows(section(page, "events")).filter(has_text="issue")
    expect(shipment.locator("td").nth(3)).to_have_text("-15")
    expect(shipment.locator("td").nth(4)).to_have_text(order["number"])

    with page.expect_download() as started:
        page.get_by_role("link", name="Download the trace (CSV)").click()

    download = started.value
    assert download.failure() is None
    assert download.suggested_filename == f"lot-{lot_code}-trace.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [row["kind"] for row in rows] == ["receipt", "issue"], rows
    receipt, issue = rows
    assert Decimal(receipt["quantity"]) == Decimal(40)
    assert (issue["order_number"], issue["order_id"], issue["reference"]) == (
        order["number"],
        str(order["id"]),
        order["number"],
    )
    assert (issue["customer_name"], issue["customer_id"]) == (customer["name"], str(customer["id"]))
    assert (issue["warehouse_code"], Decimal(issue["quantity"])) == ("MAIN", Decimal(-15))


def test_admin_unlocks_an_account_and_ends_its_session(
    page: Page, site: Site, browser: Browser
) -> None:
    """Wrong passwords lock a staff account; the admin sees it locked and unlocks it, the user
    logs in again, the admin ends that session and the user's next page is the login page."""
    settings = get_settings()
    limit = settings.MAX_FAILED_LOGINS
    mark = tag()
    email, full_name = f"e2e.locked.{mark.lower()}@example.com", f"Locked Staff {mark}"
    account = {
        "email": email,
        "password": PASSWORD,
        "full_name": full_name,
        "role": "staff",
        "must_change_password": False,
    }
    api = Api.admin(site)
    user_id = api("POST", "/api/v1/users", account)["id"]
    locked_message = re.compile(
        rf"^Account locked after {limit} failed logins in a row; try again in \d+ minutes? "
        r"or ask an administrator to unlock it\.$"
    )

    with other_browser(browser, site) as user:
        login_card = user.locator("section.card", has=user.locator("form[action='/login']"))
        for attempt in range(1, limit + 1):
            with user.expect_response(
                lambda response: response.request.method == "POST" and "/login" in response.url
            ) as answer:
                log_in(user, email, f"wrong password number {attempt}")
            if attempt < limit:
                assert answer.value.status == 401
                expect(login_card.get_by_role("alert")).to_have_text("Incorrect email or password.")
        assert answer.value.status == 423
        expect(user).to_have_url(at("/login"))
        expect(login_card.get_by_role("alert")).to_have_text(locked_message)
        log_in(user, email)  # the right password, too late
        expect(user).to_have_url(at("/login"))
        expect(login_card.get_by_role("alert")).to_have_text(locked_message)
        assert session_cookies(user.context) == []
        locked_until = api("GET", f"/api/v1/users/{user_id}")["locked_until"]
        assert locked_until is not None
        locked = moment(datetime.fromisoformat(locked_until))

        log_in(page, site.email(Role.ADMIN))
        expect(page).to_have_url(at("/dashboard"))
        menu_link(page, "Users").click()
        expect(page).to_have_url(at("/admin/users"))
        page.get_by_label("Search").fill(email)
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(at("/admin/users"))
        found = body_rows(page.locator("main")).filter(
            has=page.get_by_role("link", name=email, exact=True)
        )
        expect(found).to_have_count(1)
        expect(found.locator("td").nth(3)).to_have_text(f"locked until {locked}")
        found.get_by_role("link", name=email, exact=True).click()

        expect(page).to_have_url(at(f"/admin/users/{user_id}"))
        expect(page.locator("[data-account-locked]")).to_have_text(f"until {locked}")
        expect(fact(page, "Failed logins")).to_have_text(str(limit))
        page.get_by_role("button", name="Unlock").click()

        expect(page).to_have_url(at(f"/admin/users/{user_id}"))
        expect(page.get_by_role("status")).to_have_text("The account is unlocked.")
        expect(page.locator("[data-account-locked]")).to_have_text("no")
        expect(fact(page, "Failed logins")).to_have_text("0")
        expect(page.get_by_role("button", name="Unlock")).to_have_count(0)
        assert api("GET", f"/api/v1/users/{user_id}")["locked_until"] is None

        log_in(user, email)

        expect(user).to_have_url(at("/products"))
        expect(user.locator("header.topbar")).to_contain_text(f"{full_name} (staff)")
        assert len(session_cookies(user.context)) == 1
        page.goto(f"/admin/users/{user_id}")
        sessions = section(page, "sessions")
        expect(sessions.locator("h2 small")).to_have_text("1")
        expect(body_rows(sessions)).to_have_count(1)
        sessions.get_by_role("button", name="End").click()

        expect(page).to_have_url(at(f"/admin/users/{user_id}"))
        expect(page.get_by_role("status")).to_have_text("The session is ended.")
        expect(body_rows(section(page, "sessions"))).to_have_text(["No open session."])

        user.reload()

        expect(user).to_have_url(at("/login"))
        assert query_of(user)["next"] == ["/products"]
        expect(heading(user)).to_have_text("Log in")
        expect(user.locator("header.topbar").get_by_role("button", name="Log out")).to_have_count(0)


def test_a_customer_orders_in_the_shop_and_sees_only_its_own(page: Page, site: Site) -> None:
    """A customer who registered through the API logs in, lands on the shop, orders a product
    in stock and sees the order with its total; another customer's order is not found for it,
    and the dashboard is not its page."""
    api = Api.admin(site)
    main = warehouse_ids(api)["MAIN"]
    product = new_product(api, "Pistachios", price="18.40")
    receive(api, product["id"], main, f"PI-{tag()}", "30", days_from_today(180))
    mark = tag()
    email, full_name = f"e2e.shopper.{mark.lower()}@example.com", f"Shopper {mark}"
    registered = Api(site)(
        "POST",
        "/api/v1/auth/register",
        {"email": email, "password": PASSWORD, "full_name": full_name},
    )
    assert registered["email"] == email
    other = api("POST", "/api/v1/customers", {"name": f"Other Buyer {mark}"})
    lines = [{"product_id": product["id"], "quantity": "2"}]
    others_order = api("POST", "/api/v1/orders", {"customer_id": other["id"], "lines": lines})

    log_in(page, email)

    expect(page).to_have_url(at("/shop"))
    expect(heading(page)).to_have_text(f"Order {full_name}")
    expect(menu_link(page, "Shop")).to_have_attribute("aria-current", "page")
    assert_styled(page)
    row = body_rows(page.locator("main")).filter(has_text=product["sku"])
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("30 kg")
    price_text = row.locator("td").nth(2).inner_text()
    assert re.fullmatch(r"€\d[\d,]*\.\d\d / kg", price_text), price_text
    price = Decimal(price_text.removesuffix(" / kg").removeprefix("€").replace(",", ""))
    page.get_by_label(f"Quantity of {product['name']}", exact=True).fill("4")
    page.get_by_role("button", name="Place the order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+\?done=placed$"))
    order_id = number_in_url(page, r"/orders/(\d+)")
    expect(page.get_by_role("status")).to_have_text(PLACED)
    expect(page.locator("[data-order-status]")).to_have_text("pending")
    total = amount(price * 4)
    expect(section(page, "lines").get_by_role("heading", level=2)).to_have_text(
        f"Lines total {total}"
    )
    expect(body_rows(section(page, "lines")).locator("td")).to_have_text(
        [
            "1",
            f"{product['sku']} {product['name']}",
            "4 kg",
            "0",
            "0",
            "0",
            amount(price),
            total,
            "—",
        ]
    )
    expect(page.get_by_role("button", name="Confirm (reserve stock)")).to_have_count(0)
    placed = api("GET", f"/api/v1/orders/{order_id}")
    assert placed["customer"]["name"] == full_name
    assert amount(placed["total"]) == total
    expect(heading(page)).to_have_text(f"{placed['number']} {full_name} · pending")

    with page.expect_response(lambda response: f"/orders/{others_order['id']}" in response.url) as (
        answer
    ):
        page.goto(f"/orders/{others_order['id']}")

    assert answer.value.status == 404
    expect(heading(page)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_have_text(
        "This sales order does not exist, or you cannot see it."
    )
    expect(page.locator("main")).not_to_contain_text(other["name"])
    expect(menu_link(page, "My orders")).to_be_visible()

    with page.expect_response(
        lambda response: bool(at("/dashboard").match(response.url))
    ) as answer:
        page.goto("/dashboard")

    assert answer.value.status == 403
    expect(heading(page)).to_have_text("Permission denied")
    expect(page.get_by_role("alert")).to_contain_text("(customer)")
    expect(page.locator("[data-figure]")).to_have_count(0)
