"""The product list page: search by SKU, name and variety, the category, low-stock and
active/inactive filters, pages of 25 with links that keep the filters, refused page numbers,
and the available column (sellable stock: not reserved, not expired)."""

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.catalog import UnitOfMeasure
from app.models.user import Role
from app.services import alerts
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.pages import Node, category, logged_in, page_of, product, title_of
from tests.support.stock import make_warehouse, receive, reserve, set_lot_dates

PAGE_SIZE = 25


def rows(page: Node) -> list[dict[str, str]]:
    """The products listed, each as its columns."""
    names = ["sku", "name", "unit", "available", "reorder_point", "price", "state"]
    listed = []
    for row in page.find("table", class_="list").find("tbody").find_all("tr"):
        cells = [cell.text for cell in row.find_all("td")]
        if len(cells) == 1:
            assert cells == ["No product matches."]
            continue
        listed.append(dict(zip(names, cells, strict=True)))
    return listed


def skus(page: Node) -> list[str]:
    return [row["sku"] for row in rows(page)]


def found(page: Node) -> str:
    return page.find("h1").find("small").text


def list_page(client: TestClient, **params: str) -> Node:
    return page_of(client.get("/products", params=params, follow_redirects=False))


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> SignedIn:
    return sign_in(client, make_user, Role.ADMIN)


# --------------------------------------------------------------------------- search and filters


def test_the_list_shows_active_products_in_order(client: TestClient, staff: None) -> None:
    product("DATE-MEDJOOL", name="Medjool dates", price="12.50", reorder_point="2.5")
    product("FIG-RETIRED", active=False)
    product("APRICOT-500G", unit=UnitOfMeasure.PACK, net_weight_kg="0.5")

    page = list_page(client)

    assert title_of(page).startswith("Products")
    assert rows(page) == [
        {
            "sku": "DATE-MEDJOOL",
            "name": "Medjool dates",
            "unit": "kg",
            "available": "0",
            "reorder_point": "2.5",
            "price": "€12.50",
            "state": "low stock",
        },
        {
            "sku": "APRICOT-500G",
            "name": "Product APRICOT-500G",
            "unit": "pack",
            "available": "0",
            "reorder_point": "0",
            "price": "€10.00",
            "state": "ok",
        },
    ]
    assert found(page) == "2 found"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("DATE-MEDJOOL", ["DATE-MEDJOOL"]),
        ("medj", ["DATE-MEDJOOL"]),
        ("FIG", ["FIG-SMYRNA"]),
        ("sun-dried", ["APRICOT-TR"]),
        ("Deglet", ["DATE-DEGLET"]),
        ("DATE", ["DATE-MEDJOOL", "DATE-DEGLET"]),
        ("nothing like it", []),
        ("%", ["NUT-MIX"]),
        ("_", []),
    ],
)
def test_search_finds_by_sku_name_or_variety(
    client: TestClient, staff: None, q: str, expected: list[str]
) -> None:
    product("DATE-MEDJOOL", name="Medjool dates")
    product("FIG-SMYRNA", name="Smyrna figs")
    product("APRICOT-TR", name="Sun-dried apricots")
    product("DATE-DEGLET", name="Algerian dates", variety="Deglet Nour")
    product("NUT-MIX", name="Mix with 30% cashews")

    page = list_page(client, q=q)

    assert skus(page) == expected
    assert found(page) == f"{len(expected)} found"
    assert page.find("input", name="q").attrs["value"] == q
    if not expected:
        assert "No product matches." in page.find("tbody").text


def test_the_category_filter_lists_that_category_only(client: TestClient, staff: None) -> None:
    dates = category("Dates")
    figs = category("Figs")
    product("DATE-1", category_id=dates)
    product("FIG-1", category_id=figs)
    product("DATE-2", category_id=dates)
    product("LOOSE-1")

    page = list_page(client, category_id=str(dates))

    assert skus(page) == ["DATE-1", "DATE-2"]
    options = page.find("select", name="category_id").find_all("option")
    assert [(option.attrs["value"], option.text) for option in options] == [
        ("", "All"),
        (str(dates), "Dates"),
        (str(figs), "Figs"),
    ]
    assert [option.attrs["value"] for option in options if "selected" in option.attrs] == [
        str(dates)
    ]
    assert skus(list_page(client, category_id=str(figs))) == ["FIG-1"]
    assert skus(list_page(client, category_id="987654")) == []


def test_the_low_stock_filter_lists_only_products_at_or_below_their_reorder_point(
    client: TestClient, staff: None, admin: SignedIn
) -> None:
    main = make_warehouse("MAIN")
    low = product("LOW-1", reorder_point="10")
    at_point = product("AT-POINT", reorder_point="10")
    plenty = product("PLENTY", reorder_point="10")
    product("NO-POINT")
    product("EMPTY-LOW", reorder_point="1")
    retired = product("RETIRED-LOW", reorder_point="10", active=False)
    receive(client, admin.headers, low, main, "L-1", "4")
    receive(client, admin.headers, at_point, main, "L-2", "10")
    receive(client, admin.headers, plenty, main, "L-3", "50")

    page = list_page(client, low_stock="true")

    assert skus(page) == ["LOW-1", "AT-POINT", "EMPTY-LOW"]
    assert {row["state"] for row in rows(page)} == {"low stock"}
    assert page.find("input", name="low_stock").attrs.get("checked") is not None
    with SessionLocal() as db:
        assert {alert.sku for alert in alerts.low_stock(db)} == set(skus(page))
    assert skus(list_page(client, low_stock="true", show="all")) == skus(page)
    assert skus(list_page(client)) == ["LOW-1", "AT-POINT", "PLENTY", "NO-POINT", "EMPTY-LOW"]
    assert retired not in {row["sku"] for row in rows(list_page(client, low_stock="true"))}


def test_show_chooses_active_inactive_or_all(client: TestClient, staff: None) -> None:
    product("ACTIVE-1")
    product("RETIRED-1", active=False)
    product("ACTIVE-2")

    assert skus(list_page(client)) == ["ACTIVE-1", "ACTIVE-2"]
    assert skus(list_page(client, show="active")) == ["ACTIVE-1", "ACTIVE-2"]
    inactive = list_page(client, show="inactive")
    assert skus(inactive) == ["RETIRED-1"]
    assert rows(inactive)[0]["state"] == "inactive"
    assert skus(list_page(client, show="all")) == ["ACTIVE-1", "RETIRED-1", "ACTIVE-2"]
    selected = [
        option.attrs["value"]
        for option in inactive.find("select", name="show").find_all("option")
        if "selected" in option.attrs
    ]
    assert selected == ["inactive"]


@pytest.mark.parametrize(
    "params",
    [{"show": "everything"}, {"low_stock": "maybe"}, {"category_id": "dates"}],
)
def test_bad_filter_values_are_refused_not_crashed_on(
    client: TestClient, staff: None, params: dict[str, str]
) -> None:
    response = client.get("/products", params=params, follow_redirects=False)

    page_of(response, 422)


# --------------------------------------------------------------------------- pages


def test_the_list_comes_in_pages_of_25(client: TestClient, staff: None) -> None:
    made = [f"BULK-{n:02d}" for n in range(1, PAGE_SIZE + 6)]
    for sku in made:
        product(sku)

    first = list_page(client)
    second = list_page(client, page="2")

    assert skus(first) == made[:PAGE_SIZE]
    assert skus(second) == made[PAGE_SIZE:]
    assert found(first) == found(second) == f"{len(made)} found"
    assert "Page 1 of 2" in first.find("nav", class_="pager").text
    assert "Page 2 of 2" in second.find("nav", class_="pager").text
    assert not first.find_all("a", rel="prev")
    assert not second.find_all("a", rel="next")
    following = first.find("a", rel="next").attrs["href"]
    assert skus(page_of(client.get(following))) == made[PAGE_SIZE:]
    back = second.find("a", rel="prev").attrs["href"]
    assert skus(page_of(client.get(back))) == made[:PAGE_SIZE]


def test_a_single_page_has_no_pager(client: TestClient, staff: None) -> None:
    for n in range(PAGE_SIZE):
        product(f"FEW-{n:02d}")

    page = list_page(client)

    assert len(skus(page)) == PAGE_SIZE
    assert not page.find_all("nav", class_="pager")


def test_page_links_keep_the_search_and_filters(client: TestClient, staff: None) -> None:
    dates = category("Dates")
    for n in range(PAGE_SIZE + 3):
        product(f"DATE-{n:02d}", name=f"Dates & co #{n}", category_id=dates, active=n % 2 == 0)
    product("FIG-00", name="Dates & co figs")

    page = list_page(client, q="dates & co", show="all", category_id=str(dates))

    link = urlsplit(page.find("a", rel="next").attrs["href"])
    assert link.path == "/products"
    assert parse_qs(link.query) == {
        "q": ["dates & co"],
        "show": ["all"],
        "category_id": [str(dates)],
        "page": ["2"],
    }
    second = page_of(client.get(page.find("a", rel="next").attrs["href"]))
    assert skus(second) == [f"DATE-{n:02d}" for n in range(PAGE_SIZE, PAGE_SIZE + 3)]


@pytest.mark.parametrize("page", ["3", "9999"])
def test_a_page_past_the_end_leads_to_the_last_page_with_the_filters(
    client: TestClient, staff: None, page: str
) -> None:
    for n in range(PAGE_SIZE + 2):
        product(f"BULK-{n:02d}")

    response = client.get(
        "/products", params={"q": "bulk", "show": "all", "page": page}, follow_redirects=False
    )

    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/products"
    assert parse_qs(target.query) == {"q": ["bulk"], "show": ["all"], "page": ["2"]}
    assert skus(page_of(client.get(response.headers["location"]))) == ["BULK-25", "BULK-26"]


def test_an_empty_list_has_one_page(client: TestClient, staff: None) -> None:
    response = client.get("/products", params={"page": "2"}, follow_redirects=False)

    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query) == {"page": ["1"]}
    assert skus(page_of(client.get("/products", params={"page": "1"}))) == []


def test_the_filter_forms_empty_fields_mean_not_given(client: TestClient, staff: None) -> None:
    dates = category("Dates")
    product("DATE-1", category_id=dates)
    product("LOOSE-1")

    response = client.get("/products?q=&category_id=&show=&page=", follow_redirects=False)

    page = page_of(response)
    assert skus(page) == ["DATE-1", "LOOSE-1"]
    assert page.find("input", name="q").attrs["value"] == ""


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", "10001"])
def test_a_bad_page_number_reads_as_the_first_page(
    client: TestClient, staff: None, value: str
) -> None:
    product("ONLY-1")

    response = client.get("/products", params={"page": value}, follow_redirects=False)

    assert skus(page_of(response)) == ["ONLY-1"]


# --------------------------------------------------------------------------- available stock


def test_available_is_the_sellable_stock(client: TestClient, staff: None, admin: SignedIn) -> None:
    main = make_warehouse("MAIN")
    spare = make_warehouse("SPARE")
    dates = product("DATE-1", reorder_point="5")
    figs = product("FIG-1")
    nothing = product("NUT-NONE")
    receive(client, admin.headers, dates, main, "D-1", "10")
    receive(client, admin.headers, dates, spare, "D-2", "2.5")
    reserve(dates, "3", "SO-TEST/1", main)
    old = receive(client, admin.headers, dates, main, "D-OLD", "5")["lot_id"]
    set_lot_dates(old, date.today() - timedelta(days=200), date.today() - timedelta(days=1))
    receive(client, admin.headers, figs, main, "F-1", "1234.5")

    page = list_page(client)

    available = {row["sku"]: row["available"] for row in rows(page)}
    assert available == {"DATE-1": "9.5", "FIG-1": "1,234.5", "NUT-NONE": "0"}
    with SessionLocal() as db:
        sellable = alerts.sellable_by_product(db, [dates, figs, nothing])
    assert sellable == {dates: Decimal("9.5"), figs: Decimal("1234.5")}
    states = {row["sku"]: row["state"] for row in rows(page)}
    assert states == {"DATE-1": "ok", "FIG-1": "ok", "NUT-NONE": "ok"}
    reserve(dates, "4.5", "SO-TEST/2", main)
    after = {row["sku"]: (row["available"], row["state"]) for row in rows(list_page(client))}
    assert after["DATE-1"] == ("5", "low stock")
