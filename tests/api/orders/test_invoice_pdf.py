"""An invoice printed: a PDF in whose text a reader finds its number, its dates as the company's
locale writes them, the customer's billing details, every line with its lots and sums, the VAT
of each rate, the totals, the note a customer without VAT must read, and the page; always as
the invoice was issued."""

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.core.formatting import country, day, money, quantity
from tests.support import factories
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.invoices import (
    INVOICES,
    Json,
    add_billing_address,
    expected_line,
    issued,
    make_billed_customer,
    make_stocked_product,
    make_vat_category,
    ship_order,
    shipment_of,
)
from tests.support.pdf import pdf_pages, plain
from tests.support.problems import assert_problem

# (sku, quantity, unit price, VAT rate): DATES has no category (the default 20%), NUTS is in
# a category at 7%, FIGS in one without a rate.
LINES = [("DATES", "2.5", "1234.35", "20"), ("NUTS", "1.5", "1.00", "7")]
LINES += [("FIGS", "3", "4.10", "20")]


def printed(client: TestClient, caller: SignedIn, invoice: Json) -> str:
    """The only page of the invoice's PDF, its lines run together and hyphens restored."""
    response = client.get(f"{INVOICES}/{invoice['id']}/pdf", headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{invoice["number"]}.pdf"'
    [page] = pdf_pages(response.content)
    return page.replace("\ufffe", "-").replace("\n", " ")


def euros(value: Decimal | str) -> str:
    """An amount as the company's locale prints it."""
    return plain(money(Decimal(value), "EUR"))


def stocked(main: int) -> dict[str, int]:
    """DATES, NUTS and FIGS, each with a lot L-<sku> in ``main``."""
    return {
        "DATES": make_stocked_product("DATES", main),
        "NUTS": make_stocked_product("NUTS", main, category_id=make_vat_category("Nuts", "7")),
        "FIGS": make_stocked_product("FIGS", main, category_id=make_vat_category("Figs", None)),
    }


@pytest.fixture
def products() -> dict[str, int]:
    """The three products, stocked in MAIN."""
    return stocked(factories.create_warehouse(code="MAIN"))


def test_the_printed_invoice_holds_its_number_dates_lines_vat_bands_and_totals(
    client: TestClient, staff: SignedIn, products: dict[str, int]
) -> None:
    customer = make_billed_customer(
        client, staff.headers, "Souk Traders", payment_terms_days=14, vat_number="GB123456789"
    )
    add_billing_address(
        client,
        staff.headers,
        customer,
        recipient="Accounts",
        street="7 Quay Street",
        postal_code="BS1 4DJ",
        city="Bristol",
    )
    order = ship_order(
        client,
        staff.headers,
        customer,
        [(products[sku], qty, price) for sku, qty, price, _ in LINES],
    )
    invoice = issued(client, staff.headers, shipment_of(order))

    page = printed(client, staff, invoice)

    issue_date = date.fromisoformat(invoice["issue_date"])
    due_date = date.fromisoformat(invoice["due_date"])
    assert f"Invoice {invoice['number']}" in page
    assert get_settings().COMPANY_NAME in page
    assert f"INVOICE DATE {plain(day(issue_date))}" in page
    assert f"DUE DATE {plain(day(due_date))}" in page
    assert f"ORDER {order['number']}" in page
    assert f"SHIPMENT {order['shipments'][0]['number']}" in page
    assert "CURRENCY EUR" in page
    assert f"Souk Traders Accounts 7 Quay Street BS1 4DJ Bristol {country('GB')}" in page
    assert "VAT number GB123456789" in page
    wanted = [expected_line(qty, price, rate) for _, qty, price, rate in LINES]
    for number, ((sku, qty, price, rate), sums) in enumerate(zip(LINES, wanted, strict=True), 1):
        row = (
            f"{number} {sku} Product {sku} L-{sku} {plain(quantity(Decimal(qty), 'kg'))} "
            f"{euros(price)} {euros(sums.net)} {rate}% {euros(sums.vat)} {euros(sums.gross)}"
        )
        assert row in page, page
    at_20 = [sums for (_, _, _, rate), sums in zip(LINES, wanted, strict=True) if rate == "20"]
    net_20, vat_20 = sum(s.net for s in at_20), sum(s.vat for s in at_20)
    assert f"VAT 20% on {euros(net_20)} {euros(vat_20)}" in page
    assert f"VAT 7% on {euros(wanted[1].net)} {euros(wanted[1].vat)}" in page
    assert page.index("VAT 20% on") < page.index("VAT 7% on")  # highest rate first
    net, vat = sum(s.net for s in wanted), sum(s.vat for s in wanted)
    assert (net, vat) == (Decimal("3099.68"), Decimal("619.75"))
    assert f"Net total {euros(net)}" in page
    assert f"VAT total {euros(vat)}" in page
    assert f"Total due {euros(net + vat)}" in page
    assert f"Payment due by {plain(day(due_date))}. Please quote {invoice['number']}" in page
    assert "Reverse charge" not in page
    assert "Zero-rated" not in page
    assert "Page 1 of 1" in page


@pytest.mark.parametrize("locale", ["en_GB", "de_DE"])
def test_a_reverse_charge_invoice_prints_no_vat_and_the_note_in_the_companys_locale(
    client: TestClient,
    staff: SignedIn,
    products: dict[str, int],
    locale: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", locale)
    customer = make_billed_customer(
        client,
        staff.headers,
        "Hamburg Imports",
        vat_number="DE987654321",
        vat_treatment="reverse_charge",
    )
    order = ship_order(
        client,
        staff.headers,
        customer,
        [(products["DATES"], "2.5", "1234.35"), (products["NUTS"], "1.5", "1.00")],
    )
    invoice = issued(client, staff.headers, shipment_of(order))

    page = printed(client, staff, invoice)

    due_date = date.fromisoformat(invoice["due_date"])
    assert f"INVOICE DATE {plain(day(date.fromisoformat(invoice['issue_date'])))}" in page
    assert f"DUE DATE {plain(day(due_date))}" in page
    assert "VAT number DE987654321" in page
    assert f"VAT 0% on {euros('3087.38')} {euros(0)}" in page
    assert f"VAT total {euros(0)}" in page
    assert f"Total due {euros('3087.38')}" in page
    assert " ".join(invoice["vat_note"].split()) in " ".join(page.split())
    assert "Reverse charge: VAT to be accounted for by the recipient" in " ".join(page.split())
    assert "Page 1 of 1" in page


def test_the_pdf_shows_the_invoice_as_issued_not_the_customer_as_changed_since(
    client: TestClient, staff: SignedIn, products: dict[str, int]
) -> None:
    customer = make_billed_customer(
        client,
        staff.headers,
        "Hamburg Imports",
        vat_number="DE987654321",
        vat_treatment="zero_rated",
        payment_terms_days=7,
    )
    address = add_billing_address(client, staff.headers, customer, street="1 Elbe Quay")
    order = ship_order(client, staff.headers, customer, [(products["FIGS"], "3", "4.10")])
    invoice = issued(client, staff.headers, shipment_of(order))
    changes = {
        "name": "Renamed Ltd",
        "vat_number": "DE111111111",
        "vat_treatment": "standard",
        "payment_terms_days": 60,
    }
    changed = client.patch(f"/api/v1/customers/{customer}", json=changes, headers=staff.headers)
    assert changed.status_code == 200, changed.text
    moved = client.patch(
        f"/api/v1/customers/{customer}/addresses/{address['id']}",
        json={"street": "99 New Road"},
        headers=staff.headers,
    )
    assert moved.status_code == 200, moved.text

    page = printed(client, staff, invoice)

    assert "Hamburg Imports 1 Elbe Quay" in page
    assert "VAT number DE987654321" in page
    assert "Renamed Ltd" not in page
    assert "99 New Road" not in page
    assert f"DUE DATE {plain(day(date.fromisoformat(invoice['due_date'])))}" in page
    assert "Zero-rated supply" in page
    assert f"Total due {euros('12.30')}" in page


def test_an_unknown_invoice_has_no_pdf(client: TestClient, staff: SignedIn) -> None:
    assert_problem(client.get(f"{INVOICES}/{UNKNOWN_ID}/pdf", headers=staff.headers), 404)
