"""Delivery on the order pages: the staff order form and the shop offer the customer's delivery
addresses and a date (today unless changed), the order page shows both, and a wrong address or
a past date is refused beside its field with nothing written."""

from datetime import timedelta

from fastapi.testclient import TestClient

from app.core import clock
from app.core.database import SessionLocal
from app.models.sales import AddressKind
from app.models.user import Role
from app.services import customers
from tests.conftest import MakeUser
from tests.support.factories import create_stocked_product
from tests.support.pages import form_fields, logged_in, page_login, page_of
from tests.support.refusals import account, changed, fingerprint
from tests.support.sales import count_orders, make_address, make_customer


def choices(client: TestClient, path: str) -> list[str]:
    """The values the order form's delivery address list offers."""
    form = page_of(client.get(path))
    select = form.find("select", id="f-delivery_address_id")
    return [option.attrs["value"] for option in select.find_all("option")]


def test_the_staff_form_offers_the_customers_addresses_and_today(
    client: TestClient, make_user: MakeUser
) -> None:
    customer = make_customer("Oasis Foods")
    home = make_address(customer, default=True)
    dock = make_address(customer, street="9 Canal Wharf")
    make_address(customer, street="Old Yard", active=False)
    make_address(customer, AddressKind.BILLING, default=True)
    other = make_address(make_customer("Other Deli"), default=True)
    logged_in(client, make_user, Role.STAFF)

    offered = choices(client, f"/orders/new?customer_id={customer}")
    form = page_of(client.get(f"/orders/new?customer_id={customer}"))

    assert offered == ["", str(home), str(dock)]
    assert str(other) not in offered
    date_field = form.find("input", id="f-requested_delivery_date")
    assert date_field.attrs["value"] == clock.today().isoformat()


def test_a_staff_order_goes_where_and_when_it_is_asked_to(
    client: TestClient, make_user: MakeUser
) -> None:
    customer = make_customer("Oasis Foods")
    make_address(customer, default=True)
    dock = make_address(customer, street="9 Canal Wharf")
    stocked = create_stocked_product()
    logged_in(client, make_user, Role.STAFF)
    wanted = clock.today() + timedelta(days=4)

    placed = client.post(
        "/orders/new",
        data={
            **form_fields(client, "/orders"),
            "customer_id": str(customer),
            "delivery_address_id": str(dock),
            "requested_delivery_date": wanted.isoformat(),
            "lines.0.product_id": str(stocked.product_id),
            "lines.0.quantity": "1",
        },
        follow_redirects=False,
    )
    page = page_of(client.get(placed.headers["location"]))

    assert placed.status_code == 303, placed.text[:2000]
    assert "9 Canal Wharf" in page.find("dd", data_delivery_address="").text
    assert page.find("dd", data_requested_delivery="").text.strip() != ""


def test_a_past_date_or_a_wrong_address_is_refused_beside_the_field(
    client: TestClient, make_user: MakeUser
) -> None:
    customer = make_customer("Oasis Foods")
    stocked = create_stocked_product()
    theirs = make_address(make_customer("Other Deli"), default=True)
    logged_in(client, make_user, Role.STAFF)
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    line = {"lines.0.product_id": str(stocked.product_id), "lines.0.quantity": "1"}
    orders, before = count_orders(), fingerprint()

    past = client.post(
        "/orders/new",
        data={**form_fields(client, "/orders"), "customer_id": str(customer),
              "requested_delivery_date": yesterday, **line},
        follow_redirects=False,
    )  # fmt: skip
    wrong = client.post(
        "/orders/new",
        data={**form_fields(client, "/orders"), "customer_id": str(customer),
              "delivery_address_id": str(theirs), **line},
        follow_redirects=False,
    )  # fmt: skip

    message = page_of(past, 422).find("p", id="e-requested_delivery_date").text
    assert "in the past" in message
    assert (
        "not an address of this customer"
        in page_of(wrong, 422).find("p", id="e-delivery_address_id").text
    )
    assert count_orders() == orders
    assert changed(before, fingerprint()) == []


def test_the_shop_offers_the_customers_own_addresses_and_refuses_another(
    client: TestClient,
) -> None:
    shopper = account(Role.CUSTOMER)
    with SessionLocal() as db:
        own = customers.own_customer(db, shopper).id
    home = make_address(own, default=True)
    theirs = make_address(make_customer("Other Deli"), default=True)
    stocked = create_stocked_product()
    page_login(client, shopper.email)
    orders, before = count_orders(), fingerprint()

    offered = choices(client, "/shop")
    refused = client.post(
        "/orders/new",
        data={**form_fields(client, "/shop"), "delivery_address_id": str(theirs),
              "lines.0.product_id": str(stocked.product_id), "lines.0.quantity": "1"},
        follow_redirects=False,
    )  # fmt: skip
    shown = page_of(refused, 422)
    unchanged = changed(before, fingerprint())
    placed = client.post(
        "/orders/new",
        data={**form_fields(client, "/shop"), "delivery_address_id": str(home),
              "lines.0.product_id": str(stocked.product_id), "lines.0.quantity": "1"},
        follow_redirects=False,
    )  # fmt: skip

    assert offered == ["", str(home)]
    assert shown.find("p", id="e-delivery_address_id")
    assert unchanged == []
    assert placed.status_code == 303, placed.text[:2000]
    assert count_orders() == orders + 1
