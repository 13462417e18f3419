"""The list pages (orders, purchase orders, products, users, audit): pages with the total,
sortable columns both ways, a search, bad query values read as not given, rows linked to
their records, New buttons for the roles that may create, and records linking each other."""

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import SessionLocal
from app.models.audit import AuditLog
from app.models.catalog import Product, Supplier, UnitOfMeasure
from app.models.inventory import Lot
from app.models.purchasing import PurchaseOrder, PurchaseStatus
from app.models.sales import Customer, OrderStatus, SalesOrder
from app.models.user import Role, User
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.pages import Node, browser, logged_in, page_login, page_of
from tests.support.sales import register_customer

ORDERS_PAGE = 50
DASH = "\N{EN DASH}"
ORDER_ID = re.compile(r"^/orders/(\d+)$")
PURCHASE_ID = re.compile(r"^/purchase-orders/(\d+)$")
PRODUCT_ID = re.compile(r"^/products/(\d+)$")
USER_ID = re.compile(r"^/admin/users/(\d+)$")


def get(client: TestClient, path: str, **params: str) -> Node:
    """The page at ``path`` with ``params``, answered 200."""
    return page_of(client.get(path, params=params or None, follow_redirects=False))


def row_links(page: Node, pattern: re.Pattern[str]) -> list[str]:
    """The links of the list's rows matching ``pattern``, in row order."""
    body = page.find("table", class_="list").find("tbody")
    links = []
    for row in body.find_all("tr"):
        found = [a.attrs["href"] for a in row.find_all("a") if pattern.match(a.attrs["href"])]
        links += found[:1]
    return links


def row_ids(page: Node, pattern: re.Pattern[str]) -> list[int]:
    """The ids of the records the list's rows link to, in row order."""
    return [int(pattern.match(link).group(1)) for link in row_links(page, pattern)]  # type: ignore[union-attr]


def pager_text(page: Node) -> str:
    return page.find("nav", class_="pager").text


def header_link(page: Node, key: str) -> str:
    return page.find("a", data_sort=key).attrs["href"]


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)


@pytest.fixture
def manager(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.MANAGER)


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.ADMIN)


def make_orders(count: int, customers: int = 1) -> list[int]:
    """``count`` pending orders of one product, spread over ``customers``; their ids."""
    product = factories.create_product()
    buyers = [factories.create_customer(name=f"Buyer {n:02d}") for n in range(customers)]
    return [
        factories.create_order(
            lines=[(product, str(n % 7 + 1))], customer_id=buyers[n % customers]
        ).id
        for n in range(count)
    ]


# --------------------------------------------------------------------------- pages


def test_orders_come_in_pages_with_the_total(client: TestClient, staff: None) -> None:
    made = make_orders(60)
    newest_first = list(reversed(made))

    first = get(client, "/orders")

    assert row_ids(first, ORDER_ID) == newest_first[:ORDERS_PAGE]
    assert f"Showing 1{DASH}50 of 60" in pager_text(first)
    assert "Page 1 of 2" in pager_text(first)
    assert not first.find_all("a", rel="prev")
    following = first.find("a", rel="next").attrs["href"]
    second = get(client, following)
    assert row_ids(second, ORDER_ID) == newest_first[ORDERS_PAGE:]
    assert f"Showing 51{DASH}60 of 60" in pager_text(second)
    assert not second.find_all("a", rel="next")
    assert (
        row_ids(get(client, first.find("a", aria_label="Page 2").attrs["href"]), ORDER_ID)
        == (newest_first[ORDERS_PAGE:])
    )
    back = second.find("a", rel="prev").attrs["href"]
    assert row_ids(get(client, back), ORDER_ID) == newest_first[:ORDERS_PAGE]


def test_purchase_orders_come_in_pages_with_the_total(client: TestClient, staff: None) -> None:
    supplier = factories.create_supplier()
    warehouse = factories.create_warehouse()
    product = factories.create_product()
    made = [
        factories.create_purchase_order(
            lines=[(product, "5")], supplier_id=supplier, warehouse_id=warehouse
        ).id
        for _ in range(55)
    ]

    first = get(client, "/purchase-orders")
    second = get(client, "/purchase-orders", page="2")

    assert row_ids(first, PURCHASE_ID) == list(reversed(made))[:ORDERS_PAGE]
    assert row_ids(second, PURCHASE_ID) == list(reversed(made))[ORDERS_PAGE:]
    assert f"Showing 1{DASH}50 of 55" in pager_text(first)
    assert f"Showing 51{DASH}55 of 55" in pager_text(second)


def test_a_page_past_the_end_goes_to_the_last_page(client: TestClient, staff: None) -> None:
    make_orders(52)

    response = client.get("/orders", params={"page": "9", "q": "buyer"}, follow_redirects=False)

    assert response.status_code == 303
    assert query_of(response.headers["location"]) == {"page": ["2"], "q": ["buyer"]}
    assert len(row_ids(get(client, response.headers["location"]), ORDER_ID)) == 2


def test_page_and_sort_links_keep_the_filters_and_the_search(
    client: TestClient, staff: None
) -> None:
    make_orders(55)

    page = get(client, "/orders", status="pending", q="buyer", sort="total", dir="asc")

    assert query_of(page.find("a", rel="next").attrs["href"]) == {
        "status": ["pending"],
        "q": ["buyer"],
        "sort": ["total"],
        "dir": ["asc"],
        "page": ["2"],
    }
    assert query_of(header_link(page, "customer")) == {
        "status": ["pending"],
        "q": ["buyer"],
        "sort": ["customer"],
        "dir": ["asc"],
    }
    assert query_of(header_link(page, "total"))["dir"] == ["desc"]
    form = page.find("form", role="search")
    assert form.find("input", name="sort").attrs["value"] == "total"
    assert form.find("input", name="dir").attrs["value"] == "asc"


# --------------------------------------------------------------------------- sorting


def order_keys() -> dict[int, dict[str, Any]]:
    with SessionLocal() as db:
        rows = db.execute(
            select(SalesOrder, Customer.name).join(Customer, Customer.id == SalesOrder.customer_id)
        ).all()
        return {
            order.id: {
                "number": order.number,
                "customer": name.lower(),
                "status": str(order.status),
                "total": order.total,
                "placed": order.created_at,
            }
            for order, name in rows
        }


def purchase_keys() -> dict[int, dict[str, Any]]:
    with SessionLocal() as db:
        rows = db.execute(
            select(PurchaseOrder, Supplier.name).join(
                Supplier, Supplier.id == PurchaseOrder.supplier_id
            )
        ).all()
        return {
            order.id: {
                "number": order.number,
                "supplier": name.lower(),
                "status": str(order.status),
                "expected": order.expected_date,
                "total": order.total,
                "created": order.created_at,
            }
            for order, name in rows
        }


def product_keys() -> dict[int, dict[str, Any]]:
    with SessionLocal() as db:
        return {
            item.id: {
                "sku": item.sku,
                "name": item.name.lower(),
                "unit": str(item.unit),
                "reorder_point": item.reorder_point,
                "price": item.price,
            }
            for item in db.scalars(select(Product))
        }


def user_keys() -> dict[int, dict[str, Any]]:
    with SessionLocal() as db:
        return {
            user.id: {
                "email": user.email,
                "name": (user.full_name or "").lower(),
                "role": str(user.role),
                "last_login": user.last_login,
            }
            for user in db.scalars(select(User))
        }


def expected_order(keys: dict[int, dict[str, Any]], key: str) -> list[int]:
    """The ids ascending by ``key`` (empty values last), then by id."""

    def rank(item: int) -> tuple[bool, Any, int]:
        value = keys[item][key]
        return (value is None, 0 if value is None else value, item)

    return sorted(keys, key=rank)


def check_both_directions(
    client: TestClient,
    path: str,
    pattern: re.Pattern[str],
    keys: Callable[[], dict[int, dict[str, Any]]],
    **params: str,
) -> None:
    values = keys()
    for key in next(iter(values.values())):
        ascending = get(client, path, sort=key, dir="asc", **params)
        descending = get(client, path, sort=key, dir="desc", **params)

        expected = expected_order(values, key)
        assert row_ids(ascending, pattern) == expected, key
        assert row_ids(descending, pattern) == list(reversed(expected)), key
        header = ascending.find("a", data_sort=key)
        # Back to the list's own order, the link names no order.
        assert query_of(header.attrs["href"]).get("dir", ["desc"]) == ["desc"], key
        assert ascending.find("th", aria_sort="ascending").find("a").attrs["data-sort"] == key
        assert descending.find("th", aria_sort="descending").find("a").attrs["data-sort"] == key
        assert query_of(descending.find("a", data_sort=key).attrs["href"])["dir"] == ["asc"]


def test_orders_sort_both_ways_on_each_column(client: TestClient, staff: None) -> None:
    product = factories.create_stocked_product(quantity="500").product_id
    names = ["Carla", "anna", "Bruno"]
    buyers = [factories.create_customer(name=name) for name in names]
    statuses = [OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.CANCELLED]
    for n in range(7):
        factories.create_order(
            lines=[(product, str((n * 3) % 5 + 1))],
            customer_id=buyers[n % 3],
            status=statuses[(n + 1) % 3],
        )

    check_both_directions(client, "/orders", ORDER_ID, order_keys)


def test_purchase_orders_sort_both_ways_on_each_column(client: TestClient, staff: None) -> None:
    product = factories.create_product()
    suppliers = [factories.create_supplier(code=code) for code in ("ZED", "ALP", "MID")]
    statuses = [PurchaseStatus.DRAFT, PurchaseStatus.ORDERED, PurchaseStatus.CANCELLED]
    for n in range(6):
        factories.create_purchase_order(
            lines=[(product, str(n % 4 + 1))],
            supplier_id=suppliers[n % 3],
            status=statuses[n % 3],
        )
    with SessionLocal() as db:
        for order in db.scalars(select(PurchaseOrder).order_by(PurchaseOrder.id)):
            if order.id % 2:
                order.expected_date = date(2027, 1, order.id % 5 + 1)
        db.commit()

    check_both_directions(client, "/purchase-orders", PURCHASE_ID, purchase_keys)


def test_products_sort_both_ways_on_each_column(client: TestClient, staff: None) -> None:
    for n, (_name, unit) in enumerate([("Figs", "kg"), ("apricots", "pack"), ("Dates", "kg")]):
        factories.create_product(
            sku=f"S-{(n * 2) % 3}",
            price=str(10 - n),
            reorder_point=Decimal(n % 2),
            unit=UnitOfMeasure(unit),
            net_weight_kg="1" if unit == "kg" else "0.5",
        )
    with SessionLocal() as db:
        for item in db.scalars(select(Product)):
            item.name = ["Figs", "apricots", "Dates"][int(item.sku[-1])]
        db.commit()

    check_both_directions(client, "/products", PRODUCT_ID, product_keys)


def test_users_sort_both_ways_on_each_column(
    client: TestClient, make_user: MakeUser, admin: None
) -> None:
    for role in (Role.STAFF, Role.MANAGER, Role.CUSTOMER):
        make_user(role=role)

    check_both_directions(client, "/admin/users", USER_ID, user_keys)


def test_the_audit_trail_sorts_both_ways(client: TestClient, manager: None) -> None:
    factories.create_product()
    factories.create_supplier()
    with SessionLocal() as db:
        ids = [entry.id for entry in db.scalars(select(AuditLog).order_by(AuditLog.action))]

    def actions(page: Node) -> list[str]:
        return [row.find_all("td")[2].text for row in page.find("tbody").find_all("tr")]

    ascending = actions(get(client, "/audit", sort="action", dir="asc"))
    descending = actions(get(client, "/audit", sort="action", dir="desc"))
    newest = actions(get(client, "/audit"))

    assert ascending == sorted(ascending)
    assert len(ascending) == len(ids)
    assert descending == list(reversed(ascending))
    assert newest == list(reversed(actions(get(client, "/audit", sort="when", dir="asc"))))


# --------------------------------------------------------------------------- search


def test_orders_are_found_by_number_or_customer(client: TestClient, staff: None) -> None:
    product = factories.create_product()
    fig_shop = factories.create_customer(name="Fig Corner")
    nut_shop = factories.create_customer(name="Nut House")
    figs = [factories.create_order(lines=[(product, "1")], customer_id=fig_shop).id for _ in "ab"]
    nuts = factories.create_order(lines=[(product, "1")], customer_id=nut_shop).id
    with SessionLocal() as db:
        number = db.get(SalesOrder, nuts).number  # type: ignore[union-attr]

    assert sorted(row_ids(get(client, "/orders", q="fig corner"), ORDER_ID)) == figs
    assert row_ids(get(client, "/orders", q=str(number)), ORDER_ID) == [nuts]
    found = get(client, "/orders", q="nobody like that")
    assert row_ids(found, ORDER_ID) == []
    assert found.find("input", name="q").attrs["value"] == "nobody like that"


def test_purchase_orders_are_found_by_number_or_supplier(client: TestClient, staff: None) -> None:
    product = factories.create_product()
    alpine = factories.create_supplier(code="ALPINE")
    other = factories.create_supplier(code="OTHER")
    mine = factories.create_purchase_order(lines=[(product, "1")], supplier_id=alpine).id
    theirs = factories.create_purchase_order(lines=[(product, "1")], supplier_id=other).id
    with SessionLocal() as db:
        number = db.get(PurchaseOrder, theirs).number  # type: ignore[union-attr]

    assert row_ids(get(client, "/purchase-orders", q="alpine"), PURCHASE_ID) == [mine]
    assert row_ids(get(client, "/purchase-orders", q="Supplier ALP"), PURCHASE_ID) == [mine]
    assert row_ids(get(client, "/purchase-orders", q=str(number)), PURCHASE_ID) == [theirs]


def test_products_are_found_by_sku_or_name_in_any_order(client: TestClient, staff: None) -> None:
    first = factories.create_product(sku="DATE-B", price="3")
    second = factories.create_product(sku="DATE-A", price="4")
    factories.create_product(sku="FIG-A")

    assert row_ids(get(client, "/products", q="date", sort="sku"), PRODUCT_ID) == [second, first]
    by_price = get(client, "/products", q="product date", sort="price", dir="desc")
    assert row_ids(by_price, PRODUCT_ID) == [second, first]


# --------------------------------------------------------------------------- bad values

LISTS = ["/orders", "/purchase-orders", "/products", "/admin/users", "/audit"]
BAD_VALUES = [
    {"page": "x"},
    {"page": "0"},
    {"page": "-3"},
    {"page": "1e3"},
    {"page": "99999999999999999999"},
    {"sort": "id; DROP TABLE users"},
    {"sort": "__class__"},
    {"dir": "sideways"},
    {"dir": "desc"},
    {"q": "x" * 500},
    {"q": "%' OR 1=1 --"},
]


@pytest.mark.parametrize("path", LISTS)
def test_bad_query_values_read_as_not_given(client: TestClient, admin: None, path: str) -> None:
    make_orders(3)
    plain = page_of(client.get(path))
    plain_rows = plain.find("tbody").text

    for params in BAD_VALUES:
        response = client.get(path, params=params, follow_redirects=False)

        assert response.status_code == 200, (params, response.status_code)
        page = page_of(response)
        if "q" not in params:
            assert page.find("tbody").text == plain_rows, params


# --------------------------------------------------------------------------- rows and buttons


def test_every_row_links_to_a_page_that_opens(client: TestClient, admin: None) -> None:
    made = factories.create_purchase_order(status=PurchaseStatus.RECEIVED)
    make_orders(2)

    checked = 0
    for path, pattern in [
        ("/orders", ORDER_ID),
        ("/purchase-orders", PURCHASE_ID),
        ("/products", PRODUCT_ID),
        ("/admin/users", USER_ID),
    ]:
        page = get(client, path)
        rows = page.find("tbody").find_all("tr")
        links = row_links(page, pattern)
        assert len(links) == len(rows) > 0, path
        for link in links:
            page_of(client.get(link))
            checked += 1
    assert checked >= 6
    assert made.id in row_ids(get(client, "/purchase-orders"), PURCHASE_ID)


def new_buttons(page: Node) -> dict[str, str]:
    return {
        link.text: link.attrs["href"]
        for link in page.find_all("a", class_="button")
        if link.text.startswith("New")
    }


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.ADMIN,
            {
                "/products": {"New product": "/products/new"},
                "/orders": {"New order": "/orders/new"},
                "/purchase-orders": {"New purchase order": "/purchase-orders/new"},
                "/admin/users": {"New account": "#new-user"},
            },
        ),
        (
            Role.MANAGER,
            {
                "/products": {"New product": "/products/new"},
                "/orders": {"New order": "/orders/new"},
                "/purchase-orders": {"New purchase order": "/purchase-orders/new"},
            },
        ),
        (
            Role.STAFF,
            {"/products": {}, "/orders": {"New order": "/orders/new"}, "/purchase-orders": {}},
        ),
    ],
)
def test_new_buttons_show_for_the_roles_that_may_create(
    client: TestClient, make_user: MakeUser, role: Role, expected: dict[str, dict[str, str]]
) -> None:
    logged_in(client, make_user, role)

    for path, buttons in expected.items():
        page = get(client, path)
        assert new_buttons(page) == buttons, path
        for target in buttons.values():
            if target.startswith("/"):
                page_of(client.get(target))


def test_a_customer_is_offered_the_shop_for_a_new_order(client: TestClient) -> None:
    shopper = register_customer(client)
    page_login(client, shopper.email)

    page = get(client, "/orders")

    assert new_buttons(page) == {"New order": "/shop"}
    page_of(client.get("/shop"))
    assert not page.find_all("a", href="/products/new")


# --------------------------------------------------------------------------- cross links


def test_records_link_to_each_other(client: TestClient, admin: None) -> None:
    product = factories.create_product()
    purchase = factories.create_purchase_order(
        lines=[(product, "10")], status=PurchaseStatus.RECEIVED
    ).id
    with SessionLocal() as db:
        lot = db.scalars(select(Lot.id).where(Lot.product_id == product)).one()
        warehouse = db.get(PurchaseOrder, purchase).warehouse_id  # type: ignore[union-attr]
    customer = factories.create_customer()
    order = factories.create_order(
        lines=[(product, "2")],
        customer_id=customer,
        status=OrderStatus.SHIPPED,
        warehouse_id=warehouse,
    ).id
    order_link, purchase_link = f"/orders/{order}", f"/purchase-orders/{purchase}"

    trace = get(client, f"/lots/{lot}")
    trace_links = {a.attrs["href"] for a in trace.find_all("a")}
    ledger = get(client, f"/products/{product}")
    ledger_links = {
        a.attrs["href"] for a in ledger.find("section", aria_labelledby="ledger").find_all("a")
    }
    audit = get(client, "/audit")
    audit_links = {a.attrs["href"] for a in audit.find("tbody").find_all("a")}
    order_page = get(client, order_link)

    assert {order_link, purchase_link} <= trace_links
    assert {order_link, purchase_link} <= ledger_links
    assert {f"/products/{product}", f"/lots/{lot}", order_link, purchase_link} <= audit_links
    assert order_page.find("h1").find("a").attrs["href"] == f"/customers/{customer}"
    assert get(client, "/orders").find("a", href=f"/customers/{customer}")
    for link in trace_links | ledger_links | audit_links:
        if link.startswith("/") and not link.endswith(".csv"):
            page_of(client.get(link))


def test_the_audit_links_users_only_for_those_who_manage_them(
    client: TestClient, make_user: MakeUser
) -> None:
    account = make_user(role=Role.STAFF)
    logged_in(client, make_user, Role.MANAGER)

    as_manager = get(client, "/audit", entity_type="user")
    other = browser()
    logged_in(other, make_user, Role.ADMIN)
    as_admin = get(other, "/audit", entity_type="user")

    assert as_manager.find("tbody").find_all("td")
    assert not as_manager.find("tbody").find_all("a")
    assert f"/admin/users/{account.id}" in {a.attrs["href"] for a in as_admin.find_all("a")}
