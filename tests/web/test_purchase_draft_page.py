"""Editing a draft purchase order on its page: the form holds the draft, saving rewrites it
and returns to the order, a refused edit keeps nothing, and the form sent twice applies once."""

from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx2 import Response

from app.core.database import SessionLocal
from app.models.purchasing import PurchaseStatus
from app.models.user import Role
from app.services import purchasing
from tests.support.factories import create_purchase_order
from tests.support.pages import form_fields, page_login, page_of
from tests.support.refusals import account, changed, fingerprint, lines_of
from tests.support.stock import make_product, make_supplier, make_warehouse

EXPECTED = date.today() + timedelta(days=21)


def manager_in(client: TestClient) -> dict[str, str]:
    """A manager logged in to the pages; the hidden fields of its forms."""
    page_login(client, account(Role.MANAGER).email)
    return form_fields(client, "/orders")


def save(
    client: TestClient, order_id: int, data: dict[str, str], hidden: dict[str, str]
) -> Response:
    """Send the draft's edit form, not following a redirect."""
    return client.post(
        f"/purchase-orders/{order_id}/edit", data={**hidden, **data}, follow_redirects=False
    )


def stored(order_id: int) -> tuple[int, int, date | None, str, list[tuple[int, Decimal]]]:
    """The draft's supplier, warehouse, expected date, notes and lines as stored."""
    with SessionLocal() as db:
        order = purchasing.get_purchase(db, order_id)
        lines = [(line.product_id, line.quantity) for line in order.lines]
        return order.supplier_id, order.warehouse_id, order.expected_date, order.notes, lines


def test_the_edit_form_holds_the_draft(client: TestClient) -> None:
    manager_in(client)
    dates, figs = make_product("DATE"), make_product("FIG")
    order = create_purchase_order(lines=[(dates, "10"), (figs, "3")])
    supplier, warehouse, *_ = stored(order.id)

    detail = page_of(client.get(f"/purchase-orders/{order.id}"))
    page = page_of(client.get(f"/purchase-orders/{order.id}/edit"))

    toolbar = detail.find("div", class_="toolbar")
    assert toolbar.find("a", href=f"/purchase-orders/{order.id}/edit").text == "Edit"
    form = page.find("form", action=f"/purchase-orders/{order.id}/edit")
    chosen = form.find("select", name="supplier_id").find("option", selected=None)
    assert chosen.attrs["value"] == str(supplier)
    chosen = form.find("select", name="warehouse_id").find("option", selected=None)
    assert chosen.attrs["value"] == str(warehouse)
    for row, (product, quantity) in enumerate([(dates, "10"), (figs, "3")]):
        picked = form.find("select", name=f"lines.{row}.product_id").find("option", selected=None)
        assert picked.attrs["value"] == str(product)
        amount = form.find("input", name=f"lines.{row}.quantity").attrs["value"]
        assert Decimal(amount) == Decimal(quantity)
    assert form.find("a", href=f"/purchase-orders/{order.id}").text == "Back without saving"


def test_saving_rewrites_the_draft_and_returns_to_it(client: TestClient) -> None:
    hidden = manager_in(client)
    dates, nuts = make_product("DATE"), make_product("NUT")
    order = create_purchase_order(lines=[(dates, "10")])
    shade, spare = make_supplier("SHADE"), make_warehouse("SPARE")
    data = {
        "supplier_id": str(shade),
        "warehouse_id": str(spare),
        "expected_date": EXPECTED.isoformat(),
        "notes": "Two products now",
        **lines_of(("product_id", "quantity"), [(dates, "4"), (nuts, "6")]),
    }

    response = save(client, order.id, data, hidden)

    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"/purchase-orders/{order.id}?done=edited"
    lines = [(dates, Decimal(4)), (nuts, Decimal(6))]
    assert stored(order.id) == (shade, spare, EXPECTED, "Two products now", lines)
    page = page_of(client.get(response.headers["location"]))
    assert page.find(role="status").text == "The draft is saved."


def test_a_refused_edit_keeps_nothing_and_shows_the_field(client: TestClient) -> None:
    hidden = manager_in(client)
    dates = make_product("DATE")
    order = create_purchase_order(lines=[(dates, "10")])
    _, warehouse, *_ = stored(order.id)
    data = {
        "supplier_id": str(make_supplier("SHADE")),
        "warehouse_id": str(warehouse),
        "notes": "would change",
        **lines_of(("product_id", "quantity"), [(dates, "0")]),
    }
    before, was = fingerprint(), stored(order.id)

    response = save(client, order.id, data, hidden)

    page = page_of(response, 422)
    assert page.find("input", name="lines.0.quantity").attrs["aria-invalid"] == "true"
    assert page.find("input", name="notes").attrs["value"] == "would change"
    assert changed(before, fingerprint()) == []
    assert stored(order.id) == was


def test_an_order_already_sent_has_no_edit_form(client: TestClient) -> None:
    hidden = manager_in(client)
    dates = make_product("DATE")
    order = create_purchase_order(lines=[(dates, "10")], status=PurchaseStatus.ORDERED)
    supplier, warehouse, *_ = stored(order.id)
    detail = page_of(client.get(f"/purchase-orders/{order.id}"))
    data = {
        "supplier_id": str(supplier),
        "warehouse_id": str(warehouse),
        "notes": "late",
        **lines_of(("product_id", "quantity"), [(dates, "99")]),
    }
    before = fingerprint()

    page = page_of(client.get(f"/purchase-orders/{order.id}/edit"), 409)
    refused = page_of(save(client, order.id, data, hidden), 409)

    assert detail.find_all("a", href=f"/purchase-orders/{order.id}/edit") == []
    assert "only a draft can be edited" in page.find(role="alert").text
    assert page.find_all("form", action=f"/purchase-orders/{order.id}/edit") == []
    assert "must be draft" in refused.find(role="alert").text
    assert refused.find_all("form", action=f"/purchase-orders/{order.id}/edit") == []
    assert changed(before, fingerprint()) == []


def test_the_edit_sent_twice_applies_once(client: TestClient) -> None:
    hidden = manager_in(client)
    dates = make_product("DATE")
    order = create_purchase_order(lines=[(dates, "10")])
    _, warehouse, *_ = stored(order.id)
    data = {
        "supplier_id": str(make_supplier("SHADE")),
        "warehouse_id": str(warehouse),
        **lines_of(("product_id", "quantity"), [(dates, "12")]),
    }
    before = fingerprint()

    first = save(client, order.id, data, hidden)
    applied = fingerprint()
    again = save(client, order.id, data, hidden)

    assert first.status_code == 303, first.text[:2000]
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert changed(before, applied) != []
    assert changed(applied, fingerprint()) == []
