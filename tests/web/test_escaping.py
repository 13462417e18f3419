"""Text from the database, the address and the forms is shown as text: product SKUs, names and
varieties, category names (in the list's filter and in a dashboard chart's labels), the search
box, the login form's email and ``next``."""

import pytest
from fastapi.testclient import TestClient

from app.core.formatting import quantity
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.pages import (
    category,
    chart_texts,
    charts_of,
    hidden_value,
    logged_in,
    login_form,
    page_of,
    parse,
    post_login,
    raw_product,
    tooltips,
)
from tests.support.stock import make_warehouse, receive

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover="x'
SKU = SCRIPT + ATTRIBUTE  # 40 characters, the column's length
NAME = f"Dates {SCRIPT} {ATTRIBUTE} & more"
VARIETY = f"Medjool {SCRIPT}{ATTRIBUTE}"
CATEGORY = f"<b>Figs</b> {SCRIPT} {ATTRIBUTE}"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_ATTRIBUTE = "&#34;onmouseover=&#34;x"


def assert_no_raw_markup(html: str) -> None:
    """None of the planted markup reached the page as markup: the only scripts are the site's
    own files, no attribute was broken out of, no tag slipped in."""
    for script in parse(html).find_all("script"):
        assert script.attrs.get("src", "").startswith("/static/"), script
        assert script.text == ""
    assert "<script>" not in html.lower()
    assert ATTRIBUTE not in html
    assert "<b>" not in html


@pytest.fixture
def planted(client: TestClient, make_user: MakeUser) -> int:
    """A product with markup in its SKU, name and variety, in a category with markup in its
    name, holding stock; its id."""
    admin: SignedIn = sign_in(client, make_user, Role.ADMIN)
    product_id = raw_product(SKU, NAME, VARIETY, category_id=category(CATEGORY))
    receive(client, admin.headers, product_id, make_warehouse("MAIN"), "LOT-1", "12")
    return product_id


def test_the_product_list_shows_markup_as_text(
    client: TestClient, make_user: MakeUser, planted: int
) -> None:
    logged_in(client, make_user, Role.STAFF)

    response = client.get("/products")

    page = page_of(response)
    assert_no_raw_markup(response.text)
    assert ESCAPED_SCRIPT in response.text
    assert ESCAPED_ATTRIBUTE in response.text
    cells = [cell.text for cell in page.find("tbody").find("tr").find_all("td")]
    assert cells[:2] == [SKU, " ".join(NAME.split())]
    options = [option.text for option in page.find("select", name="category_id").find_all("option")]
    assert options == ["All", " ".join(CATEGORY.split())]


def test_a_search_by_variety_finds_it_and_echoes_the_search_as_text(
    client: TestClient, make_user: MakeUser, planted: int
) -> None:
    logged_in(client, make_user, Role.STAFF)

    found = client.get("/products", params={"q": "medjool <script>"})
    echoed = client.get("/products", params={"q": f'">{SCRIPT}'})

    page = page_of(found)
    assert [row.find_all("td")[0].text for row in page.find("tbody").find_all("tr")] == [SKU]
    assert_no_raw_markup(found.text)
    assert page.find("input", name="q").attrs["value"] == "medjool <script>"
    assert_no_raw_markup(echoed.text)
    assert page_of(echoed).find("input", name="q").attrs["value"] == f'">{SCRIPT}'


def test_a_category_name_is_text_in_the_dashboards_chart(
    client: TestClient, make_user: MakeUser, planted: int
) -> None:
    logged_in(client, make_user, Role.MANAGER)

    response = client.get("/dashboard")

    page_of(response)
    assert_no_raw_markup(response.text)
    assert "&lt;b&gt;Figs&lt;/b&gt;" in response.text
    stock_chart = charts_of(response.text)[2]
    assert chart_texts(stock_chart, "chart-title") == ["Stock on hand by category"]
    assert CATEGORY in chart_texts(stock_chart, "tick")
    assert tooltips(stock_chart, "rect") == [f"{CATEGORY}: {quantity(12, 'kg')}"]


def test_the_login_form_shows_a_typed_email_as_text(client: TestClient) -> None:
    email = f'">{SCRIPT}@example.com'

    response = post_login(client, email, "whatever it is")

    page = page_of(response, 401)
    assert_no_raw_markup(response.text)
    assert page.find("input", name="email").attrs["value"] == email


def test_the_login_form_keeps_next_as_text(client: TestClient) -> None:
    next_path = '/products?q="><script>alert(1)</script>'

    response, _ = login_form(client, next_path)

    page = page_of(response)
    assert_no_raw_markup(response.text)
    assert hidden_value(page, "next") == next_path
