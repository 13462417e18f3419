"""Credit notes in the pages: issued from the invoice page by quantity or amount, refused in
plain words without writing, listed and found, and linked from the order a return credited."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.callers import SignedIn, sign_in
from tests.support.invoices import issued, make_billed_customer, ship_order, shipment_of
from tests.support.pages import browser, form_fields, page_login, page_of
from tests.support.refusals import changed, fingerprint
from tests.support.sales import (
    Json,
    advance,
    order_line,
    place_order,
    register_customer,
    stock_lot,
)


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> SignedIn:
    """A member of staff signed in to the API."""
    return sign_in(client, make_user, Role.STAFF)


@pytest.fixture
def invoice(client: TestClient, make_user: MakeUser, staff: SignedIn) -> Json:
    """An invoice of 3 kg of dates at 2.50 (20% VAT: 9.00 gross), the staff user on the pages."""
    main = factories.create_warehouse(code="MAIN")
    dates = factories.create_product(sku="DATES")
    admin = sign_in(client, make_user, Role.ADMIN)
    stock_lot(client, admin.headers, dates, main, "D-1", "10", days=90)
    customer = make_billed_customer(client, staff.headers)
    order = ship_order(client, staff.headers, customer, [(dates, "3", "2.50")])
    page_login(client, staff.user.email)
    return issued(client, staff.headers, shipment_of(order))


def credit_form(client: TestClient, invoice: Json, **line: str) -> dict[str, str]:
    """The invoice page's credit form filled in on its first line."""
    fields = form_fields(client, f"/invoices/{invoice['id']}")
    first = invoice["lines"][0]["id"]
    filled = {f"lines.0.{name}": value for name, value in line.items() if name != "reason"}
    return {
        **fields,
        "lines.0.invoice_line_id": str(first),
        "reason": line.get("reason", "Short weight"),
        **filled,
    }


def test_a_credit_note_is_issued_from_the_invoice_page(client: TestClient, invoice: Json) -> None:
    form = credit_form(client, invoice, quantity="1")
    response = client.post(
        f"/invoices/{invoice['id']}/credit-notes", data=form, follow_redirects=False
    )

    assert response.status_code == 303, response.text[:2000]
    note = client.get(response.headers["location"])
    page = page_of(note)
    assert "The credit note is issued" in page.find(role="status").text
    assert page.find(data_credited=None).text.strip().endswith("3.00")
    assert "Short weight" in page.text
    invoice_page = page_of(client.get(f"/invoices/{invoice['id']}"))
    [link] = invoice_page.find_all(data_credit_note=None)
    assert link.attrs["data-credit-note"] in page.find("h1").text
    assert invoice_page.find(data_outstanding=None).text.strip().endswith("6.00")
    listed = page_of(client.get("/credit-notes", params={"q": invoice["number"]}))
    assert link.attrs["data-credit-note"] in listed.find("tbody").text


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ({}, "Enter a quantity or an amount"),
        ({"quantity": "1", "amount": "1"}, "either a quantity or an amount"),
        ({"quantity": "4"}, "left to credit"),
        ({"amount": "7.51"}, "left to credit"),
        ({"quantity": "1", "reason": ""}, "reason"),
    ],
    ids=["nothing", "both", "too-much-quantity", "too-much-amount", "no-reason"],
)
def test_a_refused_credit_note_says_why_and_writes_nothing(
    client: TestClient, invoice: Json, line: dict[str, str], words: str
) -> None:
    form = credit_form(client, invoice, **line)
    before = fingerprint()

    response = client.post(
        f"/invoices/{invoice['id']}/credit-notes", data=form, follow_redirects=False
    )

    assert response.status_code in (409, 422), response.text[:2000]
    page = page_of(response, response.status_code)
    assert words.lower() in page.text.lower()
    assert "Traceback" not in response.text
    assert changed(before, fingerprint()) == []


def test_a_return_of_invoiced_goods_links_its_credit_note_on_the_order(
    client: TestClient, staff: SignedIn, invoice: Json
) -> None:
    order = invoice["order_id"]
    line = client.get(f"/api/v1/orders/{order}", headers=staff.headers).json()["lines"][0]
    fields = form_fields(client, f"/orders/{order}")
    form = {
        **fields,
        "lines.0.line_id": str(line["id"]),
        "lines.0.quantity": "2",
        "lines.0.disposition": "restock",
        "reason": "Torn bags",
    }

    response = client.post(f"/orders/{order}/return", data=form, follow_redirects=False)

    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"].endswith("done=return-credited")
    page = page_of(client.get(response.headers["location"]))
    assert "is credited" in page.find(role="status").text
    [link] = page.find_all(data_credit_note=None)
    note = page_of(client.get(link.attrs["href"]))
    assert "Goods returned: Torn bags" in note.text
    assert note.find(data_credited=None).text.strip().endswith(str(Decimal("6.00")))


def test_a_customer_finds_its_invoice_and_credit_note_on_its_order(
    client: TestClient, make_user: MakeUser, staff: SignedIn
) -> None:
    main = factories.create_warehouse(code="MAIN")
    figs = factories.create_product(sku="FIGS")
    admin = sign_in(client, make_user, Role.ADMIN)
    stock_lot(client, admin.headers, figs, main, "F-1", "10", days=90)
    shopper = register_customer(client)
    order = place_order(client, shopper.headers, None, [order_line(figs, "2")])
    order = advance(client, staff.headers, order["id"], "confirm", "ship")
    invoice = issued(client, staff.headers, shipment_of(order))
    lines = [{"invoice_line_id": invoice["lines"][0]["id"], "amount": "1"}]
    note = client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"reason": "Bruised", "lines": lines},
        headers=staff.headers,
    ).json()
    page_login(client, shopper.email)

    page = page_of(client.get(f"/orders/{order['id']}"))

    papers = {link.attrs["href"]: link.text for link in page.find_all(data_print=None)}
    assert papers == {
        f"/invoices/{invoice['id']}.pdf": f"Invoice {invoice['number']} (PDF)",
        f"/credit-notes/{note['id']}.pdf": f"Credit note {note['number']} (PDF)",
    }
    for href in papers:
        response = client.get(href)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
    assert client.get(f"/invoices/{invoice['id']}").status_code == 403
    rival = browser()
    page_login(rival, register_customer(client, "Rival Shop").email)
    for href in papers:
        assert rival.get(href).status_code == 404
