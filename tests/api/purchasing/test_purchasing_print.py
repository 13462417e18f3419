"""A purchase order printed for the supplier: a PDF in whose text a reader finds the sender,
the supplier, the warehouse, every line with its quantity, cost and amount, the total, and the
order's number and page on every page."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.core.formatting import money, quantity
from app.models.catalog import UnitOfMeasure
from app.models.user import Role
from tests.api.purchasing.calls import PURCHASES, create_po, po_line, send_po
from tests.conftest import MakeUser
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.factories import create_product, create_supplier, create_warehouse
from tests.support.pdf import pdf_pages, plain
from tests.support.problems import assert_problem

# quantity, unit cost (to a tenth of a cent, as costs are kept), unit of the product
LINES = [("10", "2.3450", UnitOfMeasure.KG), ("4", "1.1000", UnitOfMeasure.PACK)]
LINES += [("7.5", "3.3333", UnitOfMeasure.KG)]


def printed(client: TestClient, caller: SignedIn, order_id: int) -> list[str]:
    """The pages of the order's PDF, fetched as ``caller``."""
    response = client.get(f"{PURCHASES}/{order_id}/pdf", headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    number = client.get(f"{PURCHASES}/{order_id}", headers=caller.headers).json()["number"]
    assert response.headers["content-disposition"] == f'inline; filename="{number}.pdf"'
    return pdf_pages(response.content)


def draft(client: TestClient, caller: SignedIn, lines: list[tuple[str, str, UnitOfMeasure]]) -> Any:
    """A draft order of ``lines`` from supplier SUN into warehouse COLD, with its products."""
    products = [create_product(unit=unit) for _, _, unit in lines]
    return create_po(
        client,
        caller.headers,
        create_supplier(code="SUN"),
        create_warehouse(code="COLD"),
        *(po_line(p, qty, cost) for p, (qty, cost, _) in zip(products, lines, strict=True)),
        notes="Deliver before noon.",
    )


def amount(quantity_text: str, cost: str) -> Decimal:
    """A line's amount, worked out here: quantity times cost, to the cent, half up."""
    return (Decimal(quantity_text) * Decimal(cost)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_printed_order_holds_the_parties_the_lines_and_the_total(
    client: TestClient, manager: SignedIn
) -> None:
    order = send_po(client, manager.headers, draft(client, manager, LINES)["id"])

    [page] = printed(client, manager, order["id"])

    assert get_settings().COMPANY_NAME in page
    assert f"Purchase order\n{order['number']}" in page
    assert "Supplier SUN" in page
    assert "Warehouse COLD" in page
    assert "Deliver before noon." in page
    for line, (qty, cost, unit) in zip(order["lines"], LINES, strict=True):
        assert f"{line['line_no']} {line['sku']}" in page, page
        assert plain(quantity(Decimal(qty), unit.value)) in page
        assert plain(money(Decimal(cost))) in page
        assert plain(money(amount(qty, cost))) in page
    total = sum(amount(qty, cost) for qty, cost, _ in LINES)
    assert plain(f"Total {money(total)}") in page
    assert Decimal(order["total"]) == total
    assert "Page 1 of 1" in page
    assert "Draft" not in page


def test_a_long_order_carries_its_number_and_page_on_every_page(
    client: TestClient, staff: SignedIn, manager: SignedIn
) -> None:
    lines = [("1", "1.0000", UnitOfMeasure.KG)] * 70
    order = draft(client, manager, lines)

    pages = printed(client, staff, order["id"])

    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert order["number"] in page
        assert f"Page {number} of {len(pages)}" in page
    rows = [f"\n{line['line_no']} {line['sku']} " for line in order["lines"]]
    assert [sum(page.count(row) for page in pages) for row in rows] == [1] * len(rows)


def test_a_draft_says_it_is_not_an_order(client: TestClient, manager: SignedIn) -> None:
    order = draft(client, manager, LINES[:1])

    [page] = printed(client, manager, order["id"])

    assert "Draft, not an order" in page


def test_only_purchasing_staff_print_and_an_unknown_order_is_not_found(
    client: TestClient, manager: SignedIn, make_user: MakeUser
) -> None:
    order = draft(client, manager, LINES[:1])
    url = f"{PURCHASES}/{order['id']}/pdf"
    customer = sign_in(client, make_user, Role.CUSTOMER)

    assert_problem(client.get(url), 401)
    assert_problem(client.get(url, headers=customer.headers), 403)
    assert_problem(client.get(f"{PURCHASES}/{UNKNOWN_ID}/pdf", headers=manager.headers), 404)
