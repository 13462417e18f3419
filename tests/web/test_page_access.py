"""Who opens which page: every GET page route of the web routers against a table of the
permission the API asks for the same thing. A page route missing from the table fails the suite,
so no page goes out without a rule; each role gets the page or the 403 page (as the API answers
it 200 or 403), and a stranger goes to the login page and back."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.main import app
from app.models.user import Role
from app.services.permissions import Permission, role_allows
from tests.conftest import bearer, create_test_user, login, tables_emptied_after_the_module
from tests.support.callers import sign_in
from tests.support.pages import page_login, page_of, product, title_of
from tests.support.sales import order_line, place_order, register_customer
from tests.support.stock import API, make_category, make_supplier, make_warehouse, receive

PUBLIC_PAGES = frozenset({"/", "/login"})
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
P = Permission
SALES_OR_OWN = (P.SALES_MANAGE, P.ORDERS_OWN)
EVERYONE = tuple(Permission)  # every role carries one of them: one's own account


@dataclass(frozen=True)
class PageRule:
    """One address of a page route: the permissions it must ask for (any of them), and an API
    route asking for the same (method, path, JSON body). Addresses may name the scene's
    {product}, {lot}, {document}, {purchase}, {order}, {user}, {customer}, {address}, {supplier},
    {warehouse} and {category}."""

    permissions: tuple[Permission, ...]
    url: str
    api: tuple[str, str, dict[str, Any] | None]

    def opens_for(self, role: Role) -> bool:
        return any(role_allows(role, permission) for permission in self.permissions)


def rule(permissions: Permission | tuple[Permission, ...], url: str, api: str) -> PageRule:
    """A rule whose API twin is ``"GET /path"`` or ``"POST /path"`` (sent an empty body)."""
    method, path = api.split(" ", 1)
    wanted = permissions if isinstance(permissions, tuple) else (permissions,)
    return PageRule(wanted, url, (method, f"{API}{path}", {} if method == "POST" else None))


# Every GET page route, with the API's permission for the same work; a new page needs its
# line here before the suite passes.
PAGE_RULES: dict[str, tuple[PageRule, ...]] = {
    "/dashboard": (rule(P.REPORTS_READ, "/dashboard", "GET /reports/stock-valuation"),),
    "/reports": (rule(P.REPORTS_READ, "/reports", "GET /reports/kpis"),),
    "/reports/{name}.csv": (
        rule(P.REPORTS_READ, "/reports/kpis.csv", "GET /reports/kpis?format=csv"),
        rule(P.REPORTS_READ, "/reports/valuation.csv", "GET /reports/stock-valuation?format=csv"),
    ),
    "/audit": (rule(P.AUDIT_READ, "/audit", "GET /audit"),),
    "/products": (rule(P.CATALOG_READ, "/products", "GET /products"),),
    "/products/new": (rule(P.CATALOG_WRITE, "/products/new", "POST /products"),),
    "/products/{product_id}": (
        rule(P.CATALOG_READ, "/products/{product}", "GET /products/{product}"),
    ),
    "/products/{product_id}/edit": (
        rule(P.CATALOG_WRITE, "/products/{product}/edit", "POST /products"),
    ),
    "/products/{product_id}/image": (
        rule(P.CATALOG_READ, "/products/{product}/image", "GET /products/{product}/image"),
    ),
    "/stock/{slug}": (
        rule(P.STOCK_MOVE, "/stock/receive", "POST /stock/receipts"),
        rule(P.STOCK_ADJUST, "/stock/adjust", "POST /stock/adjustments"),
        rule(P.STOCK_MOVE, "/stock/transfer", "POST /stock/transfers"),
        rule(P.STOCK_MOVE, "/stock/waste", "POST /stock/waste"),
    ),
    "/count": (rule(P.STOCK_MOVE, "/count", "POST /stock/counts"),),
    "/count/sheet": (rule(P.STOCK_MOVE, "/count/sheet", "POST /stock/counts"),),
    "/lots/{lot_id}": (rule(P.TRACE_READ, "/lots/{lot}", "GET /trace/lots/{lot}"),),
    "/lots/{lot_id}/trace.csv": (
        rule(P.TRACE_READ, "/lots/{lot}/trace.csv", "GET /trace/lots/{lot}?format=csv"),
    ),
    "/lots/{lot_id}/documents/{document_id}": (
        rule(
            P.STOCK_READ,
            "/lots/{lot}/documents/{document}",
            "GET /lots/{lot}/documents/{document}",
        ),
    ),
    "/alerts": (rule(P.STOCK_READ, "/alerts", "GET /alerts"),),
    "/reorder": (rule(P.PURCHASING_READ, "/reorder", "GET /reorder-suggestions"),),
    "/purchase-orders": (rule(P.PURCHASING_READ, "/purchase-orders", "GET /purchase-orders"),),
    "/purchase-orders/new": (
        rule(P.PURCHASING_WRITE, "/purchase-orders/new", "POST /purchase-orders"),
    ),
    "/purchase-orders/{order_id}": (
        rule(P.PURCHASING_READ, "/purchase-orders/{purchase}", "GET /purchase-orders/{purchase}"),
    ),
    "/purchase-orders/{order_id}/pdf": (
        rule(
            P.PURCHASING_READ,
            "/purchase-orders/{purchase}/pdf",
            "GET /purchase-orders/{purchase}/pdf",
        ),
    ),
    "/purchase-orders/{order_id}/edit": (
        rule(
            P.PURCHASING_WRITE,
            "/purchase-orders/{purchase}/edit",
            "PUT /purchase-orders/{purchase}",
        ),
    ),
    "/customers": (rule(P.CUSTOMERS_MANAGE, "/customers", "GET /customers"),),
    "/customers/{customer_id}": (
        rule(P.CUSTOMERS_MANAGE, "/customers/{customer}", "GET /customers/{customer}"),
    ),
    "/customers/{customer_id}/edit": (
        rule(P.CUSTOMERS_MANAGE, "/customers/{customer}/edit", "POST /customers"),
    ),
    "/customers/{customer_id}/addresses/{address_id}": (
        rule(
            P.CUSTOMERS_MANAGE,
            "/customers/{customer}/addresses/{address}",
            "GET /customers/{customer}",
        ),
    ),
    "/suppliers": (rule(P.CATALOG_READ, "/suppliers", "GET /suppliers"),),
    "/suppliers/new": (rule(P.CATALOG_WRITE, "/suppliers/new", "POST /suppliers"),),
    "/suppliers/{item_id}": (
        rule(P.CATALOG_READ, "/suppliers/{supplier}", "GET /suppliers/{supplier}"),
    ),
    "/warehouses": (rule(P.CATALOG_READ, "/warehouses", "GET /warehouses"),),
    "/warehouses/new": (rule(P.CATALOG_WRITE, "/warehouses/new", "POST /warehouses"),),
    "/warehouses/{item_id}": (
        rule(P.CATALOG_READ, "/warehouses/{warehouse}", "GET /warehouses/{warehouse}"),
    ),
    "/categories": (rule(P.CATALOG_READ, "/categories", "GET /categories"),),
    "/categories/new": (rule(P.CATALOG_WRITE, "/categories/new", "POST /categories"),),
    "/categories/{item_id}": (
        rule(P.CATALOG_READ, "/categories/{category}", "GET /categories/{category}"),
    ),
    "/lots": (rule(P.STOCK_READ, "/lots", "GET /lots"),),
    "/products/{product_id}/prices": (
        rule(P.CATALOG_READ, "/products/{product}/prices", "GET /products/{product}/prices"),
    ),
    "/orders": (rule(SALES_OR_OWN, "/orders", "GET /orders"),),
    "/orders/new": (rule(SALES_OR_OWN, "/orders/new", "POST /orders"),),
    "/orders/{order_id}": (rule(SALES_OR_OWN, "/orders/{order}", "GET /orders/{order}"),),
    "/orders/{order_id}/lines/{line_id}/lot": (
        rule(
            P.SALES_MANAGE,
            "/orders/{order}/lines/{order_line}/lot",
            "PUT /orders/{order}/lines/{order_line}/lot",
        ),
    ),
    "/invoices": (rule(P.SALES_MANAGE, "/invoices", "GET /invoices"),),
    "/invoices.csv": (rule(P.SALES_MANAGE, "/invoices.csv", "GET /invoices.csv"),),
    "/invoices/{invoice_id}": (
        rule(P.SALES_MANAGE, "/invoices/{invoice}", "GET /invoices/{invoice}"),
    ),
    "/invoices/{invoice_id}.pdf": (
        rule(SALES_OR_OWN, "/invoices/{invoice}.pdf", "GET /invoices/{invoice}/pdf"),
    ),
    "/credit-notes": (rule(P.SALES_MANAGE, "/credit-notes", "GET /credit-notes"),),
    "/credit-notes.csv": (rule(P.SALES_MANAGE, "/credit-notes.csv", "GET /credit-notes.csv"),),
    "/credit-notes/{credit_note_id}": (
        rule(P.SALES_MANAGE, "/credit-notes/{credit_note}", "GET /credit-notes/{credit_note}"),
    ),
    "/credit-notes/{credit_note_id}.pdf": (
        rule(
            SALES_OR_OWN,
            "/credit-notes/{credit_note}.pdf",
            "GET /credit-notes/{credit_note}/pdf",
        ),
    ),
    "/receivables": (rule(P.SALES_MANAGE, "/receivables", "GET /receivables"),),
    "/customers/{customer_id}/receivables": (
        rule(
            P.SALES_MANAGE,
            "/customers/{customer}/receivables",
            "GET /customers/{customer}/receivables",
        ),
    ),
    "/shipments/{shipment_id}/{paper}.pdf": tuple(
        rule(
            P.SALES_MANAGE,
            f"/shipments/{{shipment}}/{paper}.pdf",
            f"GET /shipments/{{shipment}}/{paper}",
        )
        for paper in ("pick-list", "delivery-note")
    ),
    "/shop": (rule(P.ORDERS_OWN, "/shop", "GET /customers/me"),),
    "/admin/users": (rule(P.USERS_MANAGE, "/admin/users", "GET /users"),),
    "/admin/users/{user_id}": (rule(P.USERS_MANAGE, "/admin/users/{user}", "GET /users/{user}"),),
    "/admin/sessions": (rule(P.SESSIONS_MANAGE, "/admin/sessions", "GET /sessions"),),
    "/profile": (rule(EVERYONE, "/profile", "GET /users/me"),),
}

RULES = [page_rule for rules in PAGE_RULES.values() for page_rule in rules]
CASES = [pytest.param(page_rule, id=page_rule.url) for page_rule in RULES]


def page_routes() -> set[str]:
    """The GET routes the page routers register, apart from the login page and the root."""
    return {
        str(route.path)
        for route in iter_route_contexts(app.routes)
        if route.endpoint is not None
        and route.endpoint.__module__.startswith("app.web.pages")
        and "GET" in (route.methods or ())
        and route.path not in PUBLIC_PAGES
    }


@dataclass(frozen=True)
class Scene:
    """What the page addresses name, and a user of each role (the customer is the one who
    owns the order)."""

    ids: dict[str, int]
    emails: dict[Role, str]


# The tests only read the scene, built once for them all.
_clean_tables = tables_emptied_after_the_module()


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    """A product with a picture, a lot with stock and a document, a purchase order, a
    category, and a self-registered customer with an order of its own."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield build_scene(client)


def build_scene(client: TestClient) -> Scene:
    """The records of the scene, made through the API."""
    admin = sign_in(client, create_test_user, Role.ADMIN)
    product_id = product("DATE-MEDJOOL")
    warehouse = make_warehouse("MAIN")
    lot = receive(client, admin.headers, product_id, warehouse, "LOT-1", "10")["lot_id"]
    image = client.put(
        f"{API}/products/{product_id}/image",
        files={"file": ("date.png", PNG, "image/png")},
        headers=admin.headers,
    )
    assert image.status_code == 200, image.text
    document = client.post(
        f"{API}/lots/{lot}/documents",
        files={"file": ("certificate.pdf", PDF, "application/pdf")},
        headers=admin.headers,
    )
    assert document.status_code == 201, document.text
    supplier = make_supplier("SUNNY")
    purchase = client.post(
        f"{API}/purchase-orders",
        json={
            "supplier_id": supplier,
            "warehouse_id": warehouse,
            "lines": [{"product_id": product_id, "quantity": "5"}],
        },
        headers=admin.headers,
    )
    assert purchase.status_code == 201, purchase.text
    shopper = register_customer(client)
    address = client.post(
        f"{API}/customers/{shopper.customer_id}/addresses",
        json={"kind": "delivery", "street": "1 Shop Row", "country": "GB"},
        headers=shopper.headers,
    )
    assert address.status_code == 201, address.text
    order = place_order(client, shopper.headers, None, [order_line(product_id, "2")])
    confirmed = client.post(f"{API}/orders/{order['id']}/confirm", headers=admin.headers)
    assert confirmed.status_code == 200, confirmed.text
    shipment = client.post(
        f"{API}/orders/{order['id']}/shipments", json={"carrier": "DPD"}, headers=admin.headers
    )
    assert shipment.status_code == 201, shipment.text
    invoice = client.post(f"{API}/shipments/{shipment.json()['id']}/invoice", headers=admin.headers)
    assert invoice.status_code == 201, invoice.text
    credited = [{"invoice_line_id": invoice.json()["lines"][0]["id"], "amount": "0.01"}]
    credit_note = client.post(
        f"{API}/invoices/{invoice.json()['id']}/credit-notes",
        json={"reason": "Bruised", "lines": credited},
        headers=admin.headers,
    )
    assert credit_note.status_code == 201, credit_note.text
    ids = {
        "product": product_id,
        "lot": lot,
        "document": document.json()["id"],
        "purchase": purchase.json()["id"],
        "order": order["id"],
        "shipment": shipment.json()["id"],
        "invoice": invoice.json()["id"],
        "credit_note": credit_note.json()["id"],
        "order_line": order["lines"][0]["id"],
        "user": shopper.user_id,
        "customer": shopper.customer_id,
        "address": address.json()["id"],
        "supplier": supplier,
        "warehouse": warehouse,
        "category": make_category("Dates"),
    }
    emails = {role: create_test_user(role=role).email for role in Role if role != Role.CUSTOMER}
    return Scene(ids, {**emails, Role.CUSTOMER: shopper.email})


def page_user(client: TestClient, scene: Scene, role: Role) -> str:
    """Log the scene's user of ``role`` in to the pages; their email."""
    email = scene.emails[role]
    page_login(client, email)
    return email


def test_every_page_route_has_a_rule() -> None:
    routes = page_routes()

    missing = sorted(routes - PAGE_RULES.keys())
    stale = sorted(PAGE_RULES.keys() - routes)

    assert not missing, f"page routes without a line in PAGE_RULES: {missing}"
    assert not stale, f"PAGE_RULES names routes that do not exist: {stale}"


def test_the_public_pages_are_the_login_page_and_the_root() -> None:
    public = {
        route.path
        for route in iter_route_contexts(app.routes)
        if route.endpoint is not None
        and route.endpoint.__module__.startswith("app.web.pages")
        and route.path in PUBLIC_PAGES
    }

    assert public == PUBLIC_PAGES


def test_the_table_gives_the_roles_the_api_gives() -> None:
    opened = {
        page_rule.url: {role for role in Role if page_rule.opens_for(role)} for page_rule in RULES
    }

    assert opened["/dashboard"] == {Role.ADMIN, Role.MANAGER}
    assert opened["/products"] == {Role.ADMIN, Role.MANAGER, Role.STAFF}
    assert opened["/stock/adjust"] == {Role.ADMIN, Role.MANAGER}
    assert opened["/admin/users"] == {Role.ADMIN}
    assert opened["/orders"] == set(Role)
    assert opened["/shop"] == {Role.CUSTOMER}
    staff_only = {url for url, roles in opened.items() if Role.CUSTOMER not in roles}
    assert staff_only == set(opened) - {
        "/orders",
        "/orders/new",
        "/orders/{order}",
        "/invoices/{invoice}.pdf",
        "/credit-notes/{credit_note}.pdf",
        "/shop",
        "/profile",
    }


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page_rule", CASES)
def test_each_role_opens_exactly_the_pages_its_permissions_allow(
    client: TestClient, scene: Scene, page_rule: PageRule, role: Role
) -> None:
    allowed = page_rule.opens_for(role)
    email = page_user(client, scene, role)

    response = client.get(page_rule.url.format(**scene.ids), follow_redirects=False)

    if allowed:
        assert response.status_code == 200, response.text[:2000]
        if response.headers["content-type"].startswith("text/html"):
            assert not title_of(page_of(response)).startswith("Permission denied")
            assert response.headers["cache-control"] == "no-store"
    else:
        page = page_of(response, 403)
        assert title_of(page) == "Permission denied · Dried Fruits Inventory"
        assert page.find("h1").text == "Permission denied"
        assert f"({role.value})" in page.find("p", role="alert").text
        assert page.find("form", action="/logout")
        assert response.headers["cache-control"] == "no-store"
    # The API answers the same user the same way for the same permission.
    method, path, body = page_rule.api
    headers = bearer(login(client, email)["access_token"])
    api = client.request(method, path.format(**scene.ids), json=body, headers=headers)
    assert api.status_code not in (401, 500), api.text
    assert (api.status_code == 403) == (not allowed), api.text


@pytest.mark.parametrize("page_rule", CASES)
def test_a_stranger_is_sent_to_log_in_and_back(
    client: TestClient, scene: Scene, page_rule: PageRule
) -> None:
    url = page_rule.url.format(**scene.ids)

    response = client.get(url, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(url, safe='')}"


@pytest.mark.parametrize("role", list(Role))
def test_the_menu_offers_only_pages_the_role_opens(
    client: TestClient, scene: Scene, role: Role
) -> None:
    page_user(client, scene, role)
    opened = [r.url for r in RULES if "{" not in r.url and r.opens_for(role)]
    home = client.get("/", follow_redirects=False).headers["location"]
    assert home in opened

    page = page_of(client.get(home, follow_redirects=False))

    menu = [link.attrs["href"] for link in page.find("nav", aria_label="Main").find_all("a")]
    assert menu
    for href in menu:
        assert href.split("?")[0] in opened, f"the menu of a {role.value} offers {href}"
    assert page.find("a", aria_current="page").attrs["href"] == home
