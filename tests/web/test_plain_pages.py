"""Through the pages: a refused form says what is wrong beside the field in plain words, and a
company in Germany types and reads numbers and money the German way."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.core.config import get_settings
from app.core.database import SessionLocal
from app.models.catalog import Product
from app.models.user import Role
from tests.support.factories import create_lot, create_product
from tests.support.pages import page_login, page_of, product
from tests.support.refusals import account, changed, fingerprint
from tests.support.stock import level_rows, make_product, make_warehouse


def stock_form(client: TestClient, slug: str, values: dict[str, str]) -> Response:
    """POST the stock form ``slug`` with its hidden fields."""
    page = page_of(client.get(f"/stock/{slug}"))
    form = page.find("form", method="post", action=f"/stock/{slug}")
    hidden = {
        node.attrs["name"]: node.attrs["value"] for node in form.find_all("input", type="hidden")
    }
    return client.post(f"/stock/{slug}", data={**hidden, **values}, follow_redirects=False)


def beside(response: Response, field: str) -> str:
    """The message beside ``field`` of the refused form."""
    page = page_of(response, response.status_code)
    return page.find("p", class_="field-error", id=f"e-{field}").text


def receipt(product: int, warehouse: int, **values: str) -> dict[str, str]:
    """A receipt form's fields."""
    return {"product_id": str(product), "warehouse_id": str(warehouse), **values}


def test_a_decimal_comma_in_en_gb_is_refused_beside_the_field_in_plain_words(
    client: TestClient,
) -> None:
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    page_login(client, account(Role.STAFF).email)
    before = fingerprint()

    response = stock_form(client, "receive", receipt(dates, main, lot_code="L-1", quantity="1,5"))

    assert response.status_code == 422
    assert beside(response, "quantity") == "Enter the quantity as a number, such as 12.5."
    assert changed(before, fingerprint()) == []


def test_missing_and_patterned_fields_are_named_by_their_labels(client: TestClient) -> None:
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    page_login(client, account(Role.STAFF).email)
    before = fingerprint()

    response = stock_form(
        client,
        "receive",
        receipt(dates, main, lot_code="-bad", quantity="0", best_before="tomorrow"),
    )

    assert response.status_code == 422
    assert beside(response, "lot_code").startswith("Enter the lot code as letters, digits")
    assert beside(response, "quantity") == "The quantity must be more than 0."
    assert beside(response, "best_before") == "Enter the best-before date as a date."
    assert "pattern" not in response.text
    assert changed(before, fingerprint()) == []


def test_a_shortage_names_the_warehouse_by_its_code(client: TestClient) -> None:
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="LOT-1", quantity="10")
    page_login(client, account(Role.STAFF).email)
    before = fingerprint()

    response = stock_form(
        client,
        "waste",
        receipt(dates, main, lot_id=str(lot), quantity="15", reason="pests"),
    )

    alerts = [node.text for node in page_of(response, 409).find_all(role="alert")]
    assert alerts == ["Lot LOT-1 has 10.000 available in MAIN; 15 was asked for."]
    assert changed(before, fingerprint()) == []


@pytest.fixture
def german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages of a company in Germany."""
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")


@pytest.mark.usefixtures("german")
def test_de_de_takes_a_decimal_comma_in_a_stock_form(client: TestClient) -> None:
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    page_login(client, account(Role.STAFF).email)

    response = stock_form(client, "receive", receipt(dates, main, lot_code="L-1", quantity="2,5"))

    assert response.status_code == 303, response.text[:2000]
    [(key, (on_hand, _))] = [item for item in level_rows().items() if item[0][0] == dates]
    assert key[1] == main
    assert on_hand == Decimal("2.5")


@pytest.mark.usefixtures("german")
def test_de_de_shows_money_with_the_euro_after_and_quantities_with_commas(
    client: TestClient,
) -> None:
    dates = create_product(sku="DATE-DE", price="1234.5")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="L-1", quantity="2.5"
    )
    page_login(client, account(Role.STAFF).email)

    page = page_of(client.get(f"/products/{dates}"))

    assert "1.234,50 €" in page.text
    assert "2,5" in page.text
    assert "1,234.50" not in page.text


@pytest.mark.usefixtures("german")
def test_de_de_refuses_a_non_number_with_its_own_example(client: TestClient) -> None:
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    page_login(client, account(Role.STAFF).email)

    response = stock_form(client, "receive", receipt(dates, main, lot_code="L-1", quantity="2,5,0"))

    assert beside(response, "quantity") == "Enter the quantity as a number, such as 12,5."


@pytest.mark.usefixtures("german")
def test_de_de_edit_form_sent_unchanged_keeps_every_number(client: TestClient) -> None:
    dates = product("DATE-DE", price="1234.50", standard_cost="2.5000", reorder_point="1000")
    page_login(client, account(Role.MANAGER).email)
    form = page_of(client.get(f"/products/{dates}/edit")).find(
        "form", method="post", action=f"/products/{dates}/edit"
    )
    shown = {
        node.attrs["name"]: node.attrs.get("value", "")
        for node in form.find_all("input")
        if node.attrs.get("type") != "checkbox"
    }
    chosen = {
        node.attrs["name"]: option.attrs["value"]
        for node in form.find_all("select")
        for option in node.find_all("option")
        if "selected" in option.attrs
    }
    assert (shown["price"], shown["standard_cost"], shown["reorder_point"]) == (
        "1234,5",
        "2,5",
        "1000",
    )

    response = client.post(
        f"/products/{dates}/edit", data={**shown, **chosen}, follow_redirects=False
    )

    assert response.status_code == 303, response.text[:2000]
    with SessionLocal() as db:
        stored = db.get(Product, dates)
        assert stored is not None
        assert (stored.price, stored.standard_cost, stored.reorder_point) == (
            Decimal("1234.50"),
            Decimal("2.5"),
            Decimal("1000"),
        )
