"""The stock forms: one product picker, a lot picker that shows what each warehouse holds
(first to expire first), the warehouse chosen by itself when one warehouse holds the lot, and
an adjustment whose direction is a choice, not a minus sign."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.core.database import session_scope
from app.models.user import Role
from app.services import stock_queries
from tests.conftest import MakeUser
from tests.support.pages import Node, form_fields, logged_in, page_of
from tests.support.queries import statements
from tests.support.stock import Shelves, level_rows, make_shelves, snapshot

SLUGS = ("receive", "adjust", "transfer", "waste")


@pytest.fixture
def shelves() -> Shelves:
    return make_shelves()


@pytest.fixture
def manager(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.MANAGER)


def form_page(client: TestClient, slug: str, **params: int) -> Node:
    return page_of(client.get(f"/stock/{slug}", params=params))


def book(client: TestClient, slug: str, values: dict[str, object]) -> Response:
    data = {**form_fields(client), **{name: str(value) for name, value in values.items()}}
    return client.post(f"/stock/{slug}", data=data, follow_redirects=False)


def lot_options(page: Node) -> list[str]:
    return [option.text for option in page.find("select", name="lot_id").find_all("option")][1:]


def selected(page: Node, name: str) -> str:
    chosen = page.find("select", name=name).find_all("option", selected="")
    return chosen[0].attrs["value"] if chosen else ""


def field_error(page: Node, name: str) -> str:
    return page.find("p", id=f"e-{name}").text


def held(shelves: Shelves, warehouse: int, lot: int) -> Decimal:
    return level_rows().get((shelves.product, warehouse, lot), (Decimal(0), Decimal(0)))[0]


# --------------------------------------------------------------------------- one product picker


@pytest.mark.parametrize("slug", SLUGS)
def test_each_form_has_one_product_picker(
    client: TestClient, manager: None, shelves: Shelves, slug: str
) -> None:
    for params in ({}, {"product_id": shelves.product}):
        page = form_page(client, slug, **params)

        assert len(page.find_all("select", name="product_id")) == 1, (slug, params)
        booking = page.find("form", method="post", action=f"/stock/{slug}")
        carried = booking.find_all("input", name="product_id") + booking.find_all(
            "select", name="product_id"
        )
        assert len(carried) == (1 if params or slug == "receive" else 0), (slug, params)


def test_the_lot_form_books_the_product_it_shows(
    client: TestClient, manager: None, shelves: Shelves
) -> None:
    page = form_page(client, "waste", product_id=shelves.product)

    assert selected(page, "product_id") == str(shelves.product)
    booking = page.find("form", method="post", action="/stock/waste")
    hidden = booking.find("input", name="product_id")
    assert (hidden.attrs["type"], hidden.attrs["value"]) == ("hidden", str(shelves.product))


# --------------------------------------------------------------------------- the lot picker


@pytest.mark.parametrize("slug", ["transfer", "waste"])
def test_the_lot_picker_shows_each_warehouse_first_to_expire_first(
    client: TestClient, manager: None, shelves: Shelves, slug: str
) -> None:
    page = form_page(client, slug, product_id=shelves.product)

    assert lot_options(page) == [
        f"EARLY-1 · best before {shelves.shown('EARLY')} · MAIN: 10 kg (2 reserved)",
        f"LATE-1 · best before {shelves.shown('LATE')} · COLD: 5 kg, MAIN: 40 kg",
    ]


def test_the_adjustment_also_offers_lots_without_stock(
    client: TestClient, manager: None, shelves: Shelves
) -> None:
    page = form_page(client, "adjust", product_id=shelves.product)

    assert lot_options(page) == [
        f"GONE-1 · best before {shelves.shown('GONE')} · no stock",
        f"EARLY-1 · best before {shelves.shown('EARLY')} · MAIN: 10 kg (2 reserved)",
        f"LATE-1 · best before {shelves.shown('LATE')} · COLD: 5 kg, MAIN: 40 kg",
    ]


def test_the_lots_and_their_holdings_are_read_in_one_query(shelves: Shelves) -> None:
    with session_scope() as db, statements() as sent:
        lots = stock_queries.lot_choices(db, shelves.product, with_stock=False)

    assert [len(lot.holdings) for lot in lots] == [0, 1, 2]
    assert len(sent) == 1, sent


# --------------------------------------------------------------------------- the warehouse


def test_a_lot_in_one_warehouse_preselects_it(
    client: TestClient, manager: None, shelves: Shelves
) -> None:
    page = form_page(client, "waste", product_id=shelves.product, lot_id=shelves.early)

    assert selected(page, "warehouse_id") == str(shelves.main)
    options = page.find("select", name="lot_id").find_all("option")
    warehouses = {option.attrs["value"]: option.attrs.get("data-warehouse") for option in options}
    assert warehouses == {"": None, str(shelves.early): str(shelves.main), str(shelves.late): None}
    assert page.find("select", name="lot_id").attrs["data-fills"] == "f-warehouse_id"
    assert page.find("select", id="f-warehouse_id").attrs["name"] == "warehouse_id"


def test_a_lot_in_several_warehouses_preselects_none(
    client: TestClient, manager: None, shelves: Shelves
) -> None:
    page = form_page(client, "waste", product_id=shelves.product, lot_id=shelves.late)

    assert selected(page, "warehouse_id") == ""


@pytest.mark.parametrize(
    ("slug", "values"),
    [
        ("waste", {"quantity": "1", "reason": "pests"}),
        ("transfer", {"quantity": "1", "to_warehouse_id": "COLD"}),
        ("adjust", {"direction": "remove", "quantity": "1", "reason": "lost"}),
    ],
)
def test_the_form_without_a_warehouse_takes_the_lot_from_the_one_that_holds_it(
    client: TestClient, manager: None, shelves: Shelves, slug: str, values: dict[str, str]
) -> None:
    if values.get("to_warehouse_id") == "COLD":
        values = {**values, "to_warehouse_id": str(shelves.cold)}
    sent = {"product_id": shelves.product, "lot_id": shelves.early, **values}

    response = book(client, slug, sent)

    assert response.status_code == 303, response.text[:2000]
    assert held(shelves, shelves.main, shelves.early) == Decimal(9)


@pytest.mark.parametrize(
    ("slug", "lot", "values", "field", "message"),
    [
        (
            "waste",
            "late",
            {"quantity": "1", "reason": "pests"},
            "warehouse_id",
            "This lot is in COLD, MAIN; choose the warehouse to take it from.",
        ),
        (
            "transfer",
            "late",
            {"quantity": "1", "to_warehouse_id": "COLD"},
            "from_warehouse_id",
            "This lot is in COLD, MAIN; choose the warehouse to take it from.",
        ),
        (
            "adjust",
            "gone",
            {"direction": "add", "quantity": "1", "reason": "found"},
            "warehouse_id",
            "No warehouse holds this lot now; choose the warehouse.",
        ),
    ],
)
def test_a_lot_in_no_or_several_warehouses_needs_the_warehouse(
    client: TestClient,
    manager: None,
    shelves: Shelves,
    slug: str,
    lot: str,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = snapshot()
    sent = {"product_id": shelves.product, "lot_id": getattr(shelves, lot), **values}
    if values.get("to_warehouse_id") == "COLD":
        sent["to_warehouse_id"] = str(shelves.cold)

    page = page_of(book(client, slug, sent), 422)

    assert field_error(page, field) == message
    assert page.find("select", name=field).attrs["aria-invalid"] == "true"
    assert page.find("input", name="quantity").attrs["value"] == "1"
    assert selected(page, "lot_id") == str(getattr(shelves, lot))
    assert snapshot() == before


# --------------------------------------------------------------------------- adjusting


@pytest.mark.parametrize(("direction", "change"), [("remove", "-4"), ("add", "2.5")])
def test_the_adjustment_adds_or_removes_as_chosen(
    client: TestClient, manager: None, shelves: Shelves, direction: str, change: str
) -> None:
    sent = {
        "product_id": shelves.product,
        "lot_id": shelves.late,
        "warehouse_id": shelves.cold,
        "direction": direction,
        "quantity": change.lstrip("-"),
        "reason": "recount",
    }

    response = book(client, "adjust", sent)

    assert response.status_code == 303, response.text[:2000]
    assert held(shelves, shelves.cold, shelves.late) == Decimal(5) + Decimal(change)


def test_the_adjustment_asks_for_the_direction_with_a_number_keyboard(
    client: TestClient, manager: None, shelves: Shelves
) -> None:
    page = form_page(client, "adjust", product_id=shelves.product)

    radios = page.find_all("input", type="radio", name="direction")
    assert [radio.attrs["value"] for radio in radios] == ["add", "remove"]
    assert page.find("fieldset").find("legend").text.startswith("Change")
    assert page.find("input", name="quantity").attrs["inputmode"] == "decimal"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"quantity": "4"}, "direction", "Choose whether stock is added or removed."),
        (
            {"direction": "remove", "quantity": "-4"},
            "quantity",
            "Enter the quantity without a sign; Add or Remove says which way.",
        ),
    ],
)
def test_an_adjustment_without_a_direction_or_with_a_sign_is_refused(
    client: TestClient,
    manager: None,
    shelves: Shelves,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = snapshot()
    sent = {
        "product_id": shelves.product,
        "lot_id": shelves.late,
        "warehouse_id": shelves.cold,
        "reason": "recount",
        **values,
    }

    page = page_of(book(client, "adjust", sent), 422)

    assert field_error(page, field) == message
    assert page.find("input", name="quantity").attrs["value"] == values["quantity"]
    assert snapshot() == before
