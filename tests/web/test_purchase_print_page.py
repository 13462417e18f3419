"""The purchase order page offers the order printed for the supplier: the same PDF the API
serves, to whoever may read purchase orders."""

from fastapi.testclient import TestClient

from app.models.purchasing import PurchaseStatus
from app.models.user import Role
from tests.support.factories import create_purchase_order
from tests.support.pages import page_login, page_of
from tests.support.pdf import pdf_pages
from tests.support.refusals import account
from tests.support.stock import make_product


def test_the_order_page_links_its_pdf_which_names_the_order(client: TestClient) -> None:
    page_login(client, account(Role.STAFF).email)
    order = create_purchase_order(
        lines=[(make_product("FIG"), "12")], status=PurchaseStatus.ORDERED
    )
    detail = page_of(client.get(f"/purchase-orders/{order.id}"))
    number = detail.find("h1").text.split()[0]

    link = detail.find("a", data_print=None)
    response = client.get(link.attrs["href"])

    assert link.attrs["href"] == f"/purchase-orders/{order.id}/pdf"
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    [text] = pdf_pages(response.content)
    assert f"Purchase order\n{number}" in text
    assert "FIG" in text
