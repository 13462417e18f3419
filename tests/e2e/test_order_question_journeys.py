"""Asking before a step that cannot be undone, in a real browser: a confirmed order is
cancelled through the question with JavaScript off (Keep the order changes nothing), and a
manager edits a draft purchase order and comes back to it."""

from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from app.models.user import Role
from tests.e2e.conftest import DESKTOP, WAIT_MS, Site
from tests.e2e.helpers import (
    Api,
    at,
    days_from_today,
    heading,
    log_in,
    new_product,
    receive,
    stock_levels,
    tag,
    warehouse_ids,
)

pytestmark = [pytest.mark.system, pytest.mark.postgres]


@pytest.fixture
def plain_page(browser: Browser, site: Site) -> Iterator[Page]:
    """A tab with JavaScript switched off."""
    context = browser.new_context(base_url=site.url, viewport=DESKTOP, java_script_enabled=False)
    context.set_default_timeout(WAIT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def reserved(api: Api, product_id: int) -> Decimal:
    """What is reserved of the product over all its lots."""
    return sum((Decimal(level["reserved"]) for level in stock_levels(api, product_id)), Decimal(0))


def test_a_confirmed_order_is_cancelled_through_the_question(plain_page: Page, site: Site) -> None:
    """Without JavaScript: Cancel the order… asks, naming the reserved lot; Keep the order
    changes nothing; answered, the order is cancelled and its reservation released."""
    page, api = plain_page, Api.admin(site)
    product = new_product(api, "Dried figs")
    code = f"FIG-{tag()}"
    receive(api, product["id"], warehouse_ids(api)["MAIN"], code, "20", days_from_today(200))
    customer = api("POST", "/api/v1/customers", {"name": f"Fig Corner {tag()}"})
    lines = [{"product_id": product["id"], "quantity": "6"}]
    order = api("POST", "/api/v1/orders", {"customer_id": customer["id"], "lines": lines})
    api("POST", f"/api/v1/orders/{order['id']}/confirm")
    assert reserved(api, product["id"]) == Decimal(6)

    log_in(page, site.email(Role.STAFF))
    page.goto(f"/orders/{order['id']}")
    page.get_by_role("button", name="Cancel the order…").click()
    question = page.locator("#ask")
    expect(question.get_by_role("heading")).to_have_text(f"Cancel {order['number']}?")
    expect(question).to_contain_text("These reservations are released")
    expect(question.locator("li")).to_contain_text(f"{code}: 6")

    question.get_by_role("link", name="Keep the order").click()
    expect(page).to_have_url(at(f"/orders/{order['id']}"))
    expect(page.locator("[data-order-status]")).to_have_text("confirmed")
    assert api("GET", f"/api/v1/orders/{order['id']}")["status"] == "confirmed"
    assert reserved(api, product["id"]) == Decimal(6)

    page.get_by_role("button", name="Cancel the order…").click()
    page.locator("#ask").get_by_label("Reason (optional)").fill("Customer closed for winter")
    page.locator("#ask").get_by_role("button", name="Cancel the order").click()

    expect(page.get_by_role("status")).to_have_text(
        "The order is cancelled; its reservations are released."
    )
    expect(page.locator("[data-order-status]")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel the order…")).to_have_count(0)
    assert api("GET", f"/api/v1/orders/{order['id']}")["status"] == "cancelled"
    assert reserved(api, product["id"]) == 0


def test_a_manager_edits_a_draft_purchase_order(page: Page, site: Site) -> None:
    """Edit on a draft opens its form filled in; saved, the order shows the new quantity."""
    api = Api.admin(site)
    product = new_product(api, "Sultanas")
    supplier = api("GET", "/api/v1/suppliers?is_active=true&limit=1")["items"][0]
    body = {
        "supplier_id": supplier["id"],
        "warehouse_id": warehouse_ids(api)["MAIN"],
        "lines": [{"product_id": product["id"], "quantity": "40"}],
    }
    draft = api("POST", "/api/v1/purchase-orders", body)

    log_in(page, site.email(Role.MANAGER))
    page.goto(f"/purchase-orders/{draft['id']}")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(heading(page)).to_contain_text(f"Edit {draft['number']}")
    quantity = page.get_by_label("Quantity of line 1")
    expect(quantity).to_have_value("40")
    quantity.fill("55")
    page.get_by_label("Notes").fill("Bigger order for the season")
    page.get_by_role("button", name="Save the draft").click()

    expect(page).to_have_url(at(f"/purchase-orders/{draft['id']}"))
    expect(page.get_by_role("status")).to_have_text("The draft is saved.")
    saved = api("GET", f"/api/v1/purchase-orders/{draft['id']}")
    assert saved["status"] == "draft"
    assert saved["notes"] == "Bigger order for the season"
    assert [Decimal(line["quantity"]) for line in saved["lines"]] == [Decimal(55)]
