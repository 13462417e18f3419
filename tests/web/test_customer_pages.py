"""The customer pages: the list with its search and filter, a customer's page with its orders,
returns and notes (never shown to a customer login), the edit form, (de)activation."""

import pytest
from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.sales import OrderStatus, PriceTier
from app.models.user import Role
from app.services import customers
from tests.conftest import MakeUser
from tests.support.factories import create_order, create_stocked_product
from tests.support.pages import form_fields, logged_in, page_login, page_of
from tests.support.refusals import account, changed, fingerprint
from tests.support.sales import make_customer

NOTE = "Pays late; call Ahmed before shipping"


def stored(customer_id: int) -> dict[str, object]:
    """A customer's stored fields."""
    with SessionLocal() as db:
        customer = customers.get_customer(db, customer_id)
        return {
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "price_tier": customer.price_tier,
            "min_shelf_life_days": customer.min_shelf_life_days,
            "notes": customer.notes,
            "is_active": customer.is_active,
        }


def with_note(customer_id: int) -> None:
    with SessionLocal() as db:
        customer = customers.get_customer(db, customer_id)
        customer.notes = NOTE
        db.commit()


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """A staff user logged in to the pages; the hidden fields of their forms."""
    logged_in(client, make_user, Role.STAFF)
    return form_fields(client, "/customers")


def listed(client: TestClient, **params: str) -> list[str]:
    page = page_of(client.get("/customers", params=params))
    rows = page.find("tbody").find_all("tr")
    return [row.find_all("a")[0].text for row in rows if row.find_all("a")]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.STAFF])
def test_the_sales_team_opens_the_customer_pages(
    client: TestClient, make_user: MakeUser, role: Role
) -> None:
    customer = make_customer("Oasis Foods")
    logged_in(client, make_user, role)

    for path in ("/customers", f"/customers/{customer}", f"/customers/{customer}/edit"):
        assert client.get(path).status_code == 200, path
    form = page_of(client.get(f"/customers/{customer}/edit"))
    assert form.find("input", id="f-name").attrs["value"] == "Oasis Foods"
    assert form.find("input", id="f-min_shelf_life_days").attrs["value"] == "0"


def test_a_customer_login_gets_no_customer_page_and_never_sees_notes(
    client: TestClient,
) -> None:
    shopper = account(Role.CUSTOMER)
    with SessionLocal() as db:
        own = customers.own_customer(db, shopper).id
    with_note(own)
    page_login(client, shopper.email)

    for path in ("/customers", f"/customers/{own}", f"/customers/{own}/edit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert NOTE not in response.text
    for path in ("/shop", "/orders"):
        response = client.get(path)
        assert response.status_code == 200
        assert NOTE not in response.text


def test_the_list_searches_and_filters(client: TestClient, staff: dict[str, str]) -> None:
    make_customer("Oasis Foods")
    make_customer("Souk Traders", active=False)

    assert listed(client) == ["Oasis Foods", "Souk Traders"]
    assert listed(client, q="souk") == ["Souk Traders"]
    assert listed(client, show="active") == ["Oasis Foods"]
    assert listed(client, show="inactive") == ["Souk Traders"]


def test_a_customer_page_shows_details_notes_orders_and_returns(
    client: TestClient, staff: dict[str, str]
) -> None:
    customer = make_customer("Oasis Foods")
    with_note(customer)
    stocked = create_stocked_product()
    order = create_order(
        customer_id=customer, lines=[(stocked.product_id, "2")], status=OrderStatus.SHIPPED
    )
    other = create_order(lines=[(stocked.product_id, "1")])

    page = page_of(client.get(f"/customers/{customer}"))

    assert page.find("h1").text.startswith("Oasis Foods")
    assert NOTE in page.find("p", class_="customer-notes").text
    links = {node.attrs["href"] for node in page.find_all("a")}
    assert f"/orders/{order.id}" in links
    assert f"/orders/{other.id}" not in links
    returned = client.post(
        f"/orders/{order.id}/return",
        data={
            **form_fields(client, "/customers"),
            "reason": "damaged",
            "lines.0.line_id": str(order.line_ids[0]),
            "lines.0.quantity": "1",
            "lines.0.disposition": "restock",
        },
        follow_redirects=False,
    )
    assert returned.status_code == 303, returned.text[:2000]
    page = page_of(client.get(f"/customers/{customer}"))
    returns = page.find("section", aria_labelledby="returns").find("tbody").text
    assert "damaged" in returns
    assert f"/lots/{stocked.lot_id}" in {node.attrs["href"] for node in page.find_all("a")}


def test_the_edit_form_saves_the_changes(client: TestClient, staff: dict[str, str]) -> None:
    customer = make_customer("Oasis Foods")
    data = {
        **staff,
        "name": "Oasis Foods Ltd",
        "customer_type": "wholesale",
        "price_tier": "distributor",
        "email": "Buyer@Oasis.example",
        "phone": "+90 212 555 0101",
        "min_shelf_life_days": "60",
        "notes": NOTE,
    }

    response = client.post(f"/customers/{customer}/edit", data=data, follow_redirects=False)

    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"/customers/{customer}?done=saved"
    after = stored(customer)
    assert after["name"] == "Oasis Foods Ltd"
    assert after["price_tier"] == PriceTier.DISTRIBUTOR
    assert after["email"] == "buyer@oasis.example"
    assert after["min_shelf_life_days"] == 60
    assert after["notes"] == NOTE


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "Oasis", "email": "not an email"}, "email", "email"),
        ({"name": ""}, "name", "name"),
        ({"name": "Oasis", "min_shelf_life_days": "-3"}, "min_shelf_life_days", "0"),
        ({"name": "Oasis", "price_tier": "gold"}, "price_tier", "retail"),
    ],
)
def test_a_refused_edit_changes_nothing_and_says_why_beside_the_field(
    client: TestClient, staff: dict[str, str], fields: dict[str, str], field: str, message: str
) -> None:
    customer = make_customer("Oasis Foods")
    before = fingerprint()

    response = client.post(
        f"/customers/{customer}/edit", data={**staff, **fields}, follow_redirects=False
    )

    page = page_of(response, 422)
    assert message in page.find("p", id=f"e-{field}").text
    assert changed(before, fingerprint()) == []


def test_deactivate_and_activate_again(client: TestClient, staff: dict[str, str]) -> None:
    customer = make_customer("Oasis Foods")
    page = page_of(client.get(f"/customers/{customer}"))
    assert page.find("form", action=f"/customers/{customer}/deactivate")

    off = client.post(f"/customers/{customer}/deactivate", data=staff, follow_redirects=False)
    assert off.status_code == 303
    assert stored(customer)["is_active"] is False
    page = page_of(client.get(f"/customers/{customer}"))
    assert page.find("form", action=f"/customers/{customer}/activate")

    on = client.post(
        f"/customers/{customer}/activate",
        data=form_fields(client, "/customers"),
        follow_redirects=False,
    )
    assert on.status_code == 303
    assert stored(customer)["is_active"] is True


def test_an_edit_sent_twice_applies_once(client: TestClient, staff: dict[str, str]) -> None:
    customer = make_customer("Oasis Foods")
    data = {**staff, "name": "Oasis Foods Ltd", "customer_type": "retail"}
    first = client.post(f"/customers/{customer}/edit", data=data, follow_redirects=False)
    applied = fingerprint()

    again = client.post(f"/customers/{customer}/edit", data=data, follow_redirects=False)

    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert changed(applied, fingerprint()) == []


def test_the_create_form_adds_a_customer(client: TestClient, staff: dict[str, str]) -> None:
    data = {**staff, "name": "Oasis Foods", "customer_type": "wholesale"}

    response = client.post("/customers", data=data, follow_redirects=False)

    assert response.status_code == 303, response.text[:2000]
    assert listed(client) == ["Oasis Foods"]
    customer = int(response.headers["location"].rsplit("=", 1)[1])
    assert stored(customer)["price_tier"] == PriceTier.WHOLESALE
