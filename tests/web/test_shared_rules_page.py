"""Rules the pages share with the API, through the pages: whom an order is for, the reason of
a status change, a document's description, a product without a picture (the API's side is
tests/api/test_shared_rules.py and tests/api/test_lots.py). A refusal is shown in the API's
words less its ids and option names, and leaves every table as it was."""

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.purchasing import PurchaseStatus
from app.models.user import Role, User
from tests.support.audit import audit_rows
from tests.support.factories import create_lot, create_order, create_purchase_order
from tests.support.pages import CONFIRMED, form_fields, page_login, page_of
from tests.support.refusals import Sent, account, changed, fingerprint, lines_of
from tests.support.sales import make_customer
from tests.support.stock import make_product, make_warehouse

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def signed_in(client: TestClient, role: Role) -> tuple[User, dict[str, str]]:
    """A new user of ``role`` logged in to the pages, and the hidden fields of its forms."""
    user = account(role)
    page_login(client, user.email)
    return user, form_fields(client, "/orders")


def send(client: TestClient, sent: Sent, hidden: dict[str, str]) -> Response:
    """POST the form with its hidden fields, not following a redirect."""
    return client.post(sent.url, data={**hidden, **sent.data}, follow_redirects=False)


def refusal(response: Response, status: int) -> tuple[list[str], list[str]]:
    """The alerts of the refused form's page, and the messages beside its fields."""
    page = page_of(response, status)
    alerts = [node.text for node in page.find_all(role="alert")]
    beside = [node.text for node in page.find_all("p", class_="field-error")]
    return alerts, beside


def test_an_order_without_a_customer_is_refused_as_the_api_refuses_it(
    client: TestClient,
) -> None:
    _, hidden = signed_in(client, Role.STAFF)
    lines = lines_of(("product_id", "quantity"), [(make_product("DATE"), "2")])
    before = fingerprint()

    response = send(client, Sent("/orders/new", {"customer_id": "", **lines}), hidden)

    alerts, beside = refusal(response, 422)
    assert alerts == ["Choose the customer."]
    assert beside == ["Choose the customer."]
    assert changed(before, fingerprint()) == []


def test_a_customer_naming_another_customer_is_refused_as_the_api_refuses_it(
    client: TestClient,
) -> None:
    _, hidden = signed_in(client, Role.CUSTOMER)
    other = make_customer("Oasis Foods")
    lines = lines_of(("product_id", "quantity"), [(make_product("DATE"), "2")])
    before = fingerprint()

    response = send(client, Sent("/orders/new", {"customer_id": str(other), **lines}), hidden)

    alerts, _ = refusal(response, 404)
    assert alerts == ["This customer does not exist, or you cannot see it."]
    assert changed(before, fingerprint()) == []


def test_a_cancel_reason_with_a_control_character_is_refused(client: TestClient) -> None:
    _, hidden = signed_in(client, Role.STAFF)
    order = create_order(customer_id=make_customer(), lines=[(make_product("DATE"), "2")]).id
    before = fingerprint()

    response = send(client, Sent(f"/orders/{order}/cancel", {"reason": "Late\x07"}), hidden)

    alerts, beside = refusal(response, 422)
    assert alerts == ["Please correct the fields marked below."]
    assert beside == ["The reason holds invisible control characters; remove them."]
    assert changed(before, fingerprint()) == []


def test_a_cancel_reason_longer_than_the_api_takes_is_refused(client: TestClient) -> None:
    _, hidden = signed_in(client, Role.STAFF)
    order = create_order(customer_id=make_customer(), lines=[(make_product("DATE"), "2")]).id
    before = fingerprint()

    response = send(client, Sent(f"/orders/{order}/cancel", {"reason": "x" * 2001}), hidden)

    _, beside = refusal(response, 422)
    assert beside == ["The reason can be at most 2,000 characters long."]
    assert changed(before, fingerprint()) == []


def test_a_long_cancel_reason_is_kept_whole(client: TestClient) -> None:
    _, hidden = signed_in(client, Role.STAFF)
    order = create_order(customer_id=make_customer(), lines=[(make_product("DATE"), "2")]).id

    response = send(
        client, Sent(f"/orders/{order}/cancel", {"reason": "y" * 600, **CONFIRMED}), hidden
    )

    assert response.status_code == 303, response.text[:2000]
    [entry] = audit_rows("order.cancelled", order)
    assert entry.details["reason"] == "y" * 600


def test_a_purchase_cancel_reason_with_a_control_character_is_refused(
    client: TestClient,
) -> None:
    _, hidden = signed_in(client, Role.MANAGER)
    order = create_purchase_order(
        lines=[(make_product("DATE"), "5")], status=PurchaseStatus.ORDERED
    ).id
    before = fingerprint()

    response = send(
        client, Sent(f"/purchase-orders/{order}/cancel", {"reason": "Late\x07"}), hidden
    )

    alerts, beside = refusal(response, 422)
    assert alerts == ["Please correct the fields marked below."]
    assert beside == ["The reason holds invisible control characters; remove them."]
    assert changed(before, fingerprint()) == []


def test_a_product_without_a_picture_is_a_404_in_the_apis_words(client: TestClient) -> None:
    signed_in(client, Role.STAFF)
    dates = make_product("DATE")

    response = client.get(f"/products/{dates}/image")

    page = page_of(response, 404)
    assert "This product has no image." in page.text
    assert str(dates) not in page.find("main").text


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("Lab\x07", "The description must not contain control characters."),
        ("x" * 301, "The description can be at most 300 characters long."),
    ],
)
def test_a_document_description_the_api_refuses_is_refused(
    client: TestClient, description: str, message: str
) -> None:
    _, hidden = signed_in(client, Role.STAFF)
    lot = create_lot(
        product_id=make_product("DATE"),
        warehouse_id=make_warehouse("MAIN"),
        lot_code="LOT-1",
        quantity="10",
    )
    before = fingerprint()

    response = client.post(
        f"/lots/{lot}/documents",
        data={**hidden, "description": description},
        files={"document": ("certificate.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )

    assert message in page_of(response, 422).text
    assert changed(before, fingerprint()) == []
