"""Customer addresses and terms through the API: billing and delivery addresses with one active
default of each kind (kept by the service and by the database), retired but never deleted,
audited, sent twice applied once, refusals writing nothing, and a customer user keeping its
own."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from app.core.database import SessionLocal
from app.models.sales import AddressKind, CustomerAddress
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    CUSTOMERS,
    IDEMPOTENCY_KEY,
    REPLAYED,
    address_rows,
    make_address,
    make_customer,
    register_customer,
)

DOCK = {"kind": "delivery", "street": "Unit 4, Canal Wharf\nGoods in", "country": "gb"}


def addresses_of(customer_id: int) -> str:
    return f"{CUSTOMERS}/{customer_id}/addresses"


def add(client: TestClient, headers: dict[str, str], customer_id: int, **values: Any) -> Any:
    """Add an address through the API; the address."""
    response = client.post(addresses_of(customer_id), json={**DOCK, **values}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def defaults(client: TestClient, headers: dict[str, str], customer_id: int) -> dict[str, int]:
    """The id of the customer's default address of each kind, as the API lists them."""
    listed = client.get(addresses_of(customer_id), headers=headers).json()
    return {item["kind"]: item["id"] for item in listed if item["is_default"]}


def test_staff_add_list_and_edit_addresses(client: TestClient, staff: SignedIn) -> None:
    customer = make_customer()

    billing = add(
        client,
        staff.headers,
        customer,
        kind="billing",
        label=" Head office ",
        recipient="Accounts",
        street="1 High Street",
        postal_code="LS1 4AB",
        city="Leeds",
    )
    dock = add(client, staff.headers, customer)
    edited = client.patch(
        f"{addresses_of(customer)}/{dock['id']}",
        json={"label": "Dock", "city": "Hull", "country": "GB"},
        headers=staff.headers,
    )
    record = client.get(f"{CUSTOMERS}/{customer}", headers=staff.headers).json()

    assert billing["label"] == "Head office"
    assert (billing["postal_code"], billing["city"], billing["country"]) == (
        "LS1 4AB",
        "Leeds",
        "GB",
    )
    assert dock["street"] == "Unit 4, Canal Wharf\nGoods in"  # lines kept
    assert dock["country"] == "GB"  # upper-cased
    assert (billing["is_default"], dock["is_default"]) == (True, True)  # first of each kind
    assert edited.status_code == 200, edited.text
    assert (edited.json()["label"], edited.json()["city"]) == ("Dock", "Hull")
    assert [a["id"] for a in record["addresses"]] == [billing["id"], dock["id"]]
    [added] = audit_rows("customer.address_added", customer)[1:]
    assert added.details["address_id"] == dock["id"]
    [changed] = audit_rows("customer.address_updated", customer)
    assert changed.details["changes"]["city"] == {"before": "", "after": "Hull"}


def test_making_an_address_the_default_unsets_the_other(
    client: TestClient, staff: SignedIn
) -> None:
    customer = make_customer()
    first = add(client, staff.headers, customer)
    second = add(client, staff.headers, customer, street="2 Second Street")
    billing = add(client, staff.headers, customer, kind="billing", street="1 High Street")
    assert defaults(client, staff.headers, customer) == {
        "delivery": first["id"],
        "billing": billing["id"],
    }

    switched = client.patch(
        f"{addresses_of(customer)}/{second['id']}", json={"is_default": True}, headers=staff.headers
    )
    third = add(client, staff.headers, customer, street="3 Third Street", is_default=True)

    assert switched.json()["is_default"] is True
    assert defaults(client, staff.headers, customer) == {
        "delivery": third["id"],
        "billing": billing["id"],
    }


def test_deactivating_an_address_keeps_it_and_takes_its_default_away(
    client: TestClient, staff: SignedIn
) -> None:
    customer = make_customer()
    dock = add(client, staff.headers, customer)

    retired = client.patch(
        f"{addresses_of(customer)}/{dock['id']}", json={"is_active": False}, headers=staff.headers
    )
    listed = client.get(addresses_of(customer), headers=staff.headers).json()

    assert (retired.json()["is_active"], retired.json()["is_default"]) == (False, False)
    assert [a["id"] for a in listed] == [dock["id"]]


def test_the_database_holds_one_active_default_per_kind() -> None:
    customer = make_customer()
    make_address(customer, default=True)
    make_address(customer, AddressKind.BILLING, default=True)  # another kind: allowed
    make_address(customer, street="Old", active=False)

    with SessionLocal() as db:
        db.add(
            CustomerAddress(
                customer_id=customer,
                kind=AddressKind.DELIVERY,
                street="Second default",
                country="GB",
                is_default=True,
                is_active=True,
            )
        )
        with pytest.raises(IntegrityError):
            db.flush()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**DOCK, "country": "ZZ"}, "country", id="unknown country"),
        pytest.param({**DOCK, "country": "GBR"}, "country", id="alpha-3 country"),
        pytest.param({**DOCK, "street": "   "}, "street", id="blank street"),
        pytest.param({**DOCK, "kind": "shipping"}, "kind", id="unknown kind"),
        pytest.param({**DOCK, "postal_code": "LS1\x004AB"}, "postal_code", id="control character"),
    ],
)
def test_a_refused_address_writes_nothing(
    client: TestClient, staff: SignedIn, body: dict[str, Any], field: str
) -> None:
    customer = make_customer()
    make_address(customer, default=True)
    before = address_rows()

    response = client.post(addresses_of(customer), json=body, headers=staff.headers)

    assert_problem(response, 422, "validation-error")
    assert field in response.text
    assert address_rows() == before


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        pytest.param(
            {"is_active": False, "is_default": True}, 422, "invalid-request", id="retired default"
        ),
        pytest.param({"country": "XX"}, 422, "validation-error", id="unknown country"),
    ],
)
def test_a_refused_address_change_writes_nothing(
    client: TestClient, staff: SignedIn, change: dict[str, Any], status: int, slug: str
) -> None:
    customer = make_customer()
    address = make_address(customer, default=True)
    before = address_rows()
    audited = len(audit_rows("customer.address_updated"))

    response = client.patch(
        f"{addresses_of(customer)}/{address}", json=change, headers=staff.headers
    )

    assert_problem(response, status, slug)
    assert address_rows() == before
    assert len(audit_rows("customer.address_updated")) == audited


def test_another_customers_address_answers_as_an_unknown_one(
    client: TestClient, staff: SignedIn
) -> None:
    mine, theirs = make_customer("Mine"), make_customer("Theirs")
    their_address = make_address(theirs, default=True)
    before = address_rows()

    response = client.patch(
        f"{addresses_of(mine)}/{their_address}", json={"label": "Mine"}, headers=staff.headers
    )
    unknown = client.patch(
        f"{addresses_of(mine)}/{UNKNOWN_ID}", json={"label": "Mine"}, headers=staff.headers
    )

    assert_problem(response, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert address_rows() == before


def test_an_address_sent_twice_is_added_once(client: TestClient, staff: SignedIn) -> None:
    customer = make_customer()
    headers = {**staff.headers, IDEMPOTENCY_KEY: f"address-{uuid.uuid4().hex}"}

    first = client.post(addresses_of(customer), json=DOCK, headers=headers)
    again = client.post(addresses_of(customer), json=DOCK, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    assert [row[0] for row in address_rows() if row[1] == customer] == [first.json()["id"]]
    assert len(audit_rows("customer.address_added", customer)) == 1


def test_a_customer_user_keeps_its_own_addresses(client: TestClient) -> None:
    shopper = register_customer(client, "Corner Shop")

    dock = add(client, shopper.headers, shopper.customer_id, label="Back door")
    changed = client.patch(
        f"{addresses_of(shopper.customer_id)}/{dock['id']}",
        json={"recipient": "Sam"},
        headers=shopper.headers,
    )
    own = client.get(f"{CUSTOMERS}/me", headers=shopper.headers).json()

    assert changed.status_code == 200, changed.text
    assert [(a["id"], a["recipient"]) for a in own["addresses"]] == [(dock["id"], "Sam")]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        pytest.param({"payment_terms_days": 366}, "payment_terms_days", id="terms beyond a year"),
        pytest.param({"payment_terms_days": -1}, "payment_terms_days", id="negative terms"),
        pytest.param({"vat_number": "GB" + "1" * 19}, "vat_number", id="long VAT number"),
        pytest.param({"vat_number": "GB 123"}, "vat_number", id="VAT number with a space"),
        pytest.param({"vat_treatment": "exempt"}, "vat_treatment", id="unknown VAT treatment"),
    ],
)
def test_refused_terms_write_nothing(
    client: TestClient, staff: SignedIn, values: dict[str, Any], field: str
) -> None:
    customer = make_customer()
    before = client.get(f"{CUSTOMERS}/{customer}", headers=staff.headers).json()

    created = client.post(CUSTOMERS, json={"name": "Terms Deli", **values}, headers=staff.headers)
    changed = client.patch(f"{CUSTOMERS}/{customer}", json=values, headers=staff.headers)

    assert_problem(created, 422, "validation-error")
    assert_problem(changed, 422, "validation-error")
    assert field in changed.text
    assert client.get(f"{CUSTOMERS}/{customer}", headers=staff.headers).json() == before


def test_terms_default_and_change(client: TestClient, staff: SignedIn) -> None:
    created = client.post(CUSTOMERS, json={"name": "Terms Deli"}, headers=staff.headers).json()

    changed = client.patch(
        f"{CUSTOMERS}/{created['id']}",
        json={
            "payment_terms_days": 0,
            "vat_number": " de123456789",
            "vat_treatment": "reverse_charge",
        },
        headers=staff.headers,
    ).json()

    assert (created["payment_terms_days"], created["partial_delivery"]) == (30, False)
    assert (created["vat_number"], created["vat_treatment"]) == ("", "standard")
    assert changed["payment_terms_days"] == 0
    assert (changed["vat_number"], changed["vat_treatment"]) == ("DE123456789", "reverse_charge")
    [entry] = audit_rows("customer.updated", created["id"])
    assert entry.details["changes"]["payment_terms_days"] == {"before": 30, "after": 0}
