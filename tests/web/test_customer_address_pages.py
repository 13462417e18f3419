"""The customer pages' terms and addresses: the forms save them, the customer's page shows
them, an address is added, edited, made the default and retired there, and a refused form
changes nothing and says why beside the field."""

import pytest
from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.sales import AddressKind, VatTreatment
from app.models.user import Role
from app.services import customers
from tests.conftest import MakeUser
from tests.support.pages import form_fields, logged_in, page_of
from tests.support.refusals import changed, fingerprint
from tests.support.sales import address_rows, make_address, make_customer

NEW_DOCK = {"kind": "delivery", "label": "Dock", "street": "Unit 4\nCanal Wharf", "country": "gb"}


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> None:
    """A staff user logged in to the pages."""
    logged_in(client, make_user, Role.STAFF)


def hidden(client: TestClient) -> dict[str, str]:
    """Fresh hidden fields (a new form key) for one more form."""
    return form_fields(client, "/customers")


def terms(customer_id: int) -> tuple[object, ...]:
    with SessionLocal() as db:
        customer = customers.get_customer(db, customer_id)
        return (
            customer.payment_terms_days,
            customer.partial_delivery,
            customer.vat_number,
            customer.vat_treatment,
        )


def test_the_edit_form_saves_the_terms_and_the_page_shows_them(
    client: TestClient, staff: None
) -> None:
    customer = make_customer("Oasis Foods")
    data = {
        "name": "Oasis Foods",
        "customer_type": "wholesale",
        "price_tier": "wholesale",
        "payment_terms_days": "60",
        "partial_delivery": "true",
        "vat_number": " fr40303265045",
        "vat_treatment": "reverse_charge",
    }

    saved = client.post(
        f"/customers/{customer}/edit", data={**hidden(client), **data}, follow_redirects=False
    )
    form = page_of(client.get(f"/customers/{customer}/edit"))
    facts = page_of(client.get(f"/customers/{customer}")).find("dl", class_="facts").text
    unticked = {key: value for key, value in data.items() if key != "partial_delivery"}
    again = client.post(
        f"/customers/{customer}/edit", data={**hidden(client), **unticked}, follow_redirects=False
    )

    assert saved.status_code == 303, saved.text[:2000]
    assert terms(customer) == (60, False, "FR40303265045", VatTreatment.REVERSE_CHARGE)
    assert "checked" in form.find("input", id="f-partial_delivery").attrs
    assert form.find("input", id="f-vat_number").attrs["value"] == "FR40303265045"
    assert "60 days" in facts
    assert "backorders the rest" in facts
    assert "reverse charge" in facts
    assert again.status_code == 303


def test_the_create_form_takes_the_terms(client: TestClient, staff: None) -> None:
    data = {"name": "Souk Traders", "payment_terms_days": "14", "vat_treatment": "zero_rated"}

    response = client.post("/customers", data={**hidden(client), **data}, follow_redirects=False)

    customer = int(response.headers["location"].rsplit("=", 1)[1])
    assert terms(customer) == (14, False, "", VatTreatment.ZERO_RATED)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"payment_terms_days": "400"}, "payment_terms_days", "365"),
        ({"vat_number": "GB-123"}, "vat_number", "expected form"),
        ({"vat_treatment": "exempt"}, "vat_treatment", "standard"),
    ],
)
def test_refused_terms_change_nothing_and_say_why_beside_the_field(
    client: TestClient, staff: None, fields: dict[str, str], field: str, message: str
) -> None:
    customer = make_customer("Oasis Foods")
    before = fingerprint()

    response = client.post(
        f"/customers/{customer}/edit",
        data={**hidden(client), "name": "Oasis Foods", **fields},
        follow_redirects=False,
    )

    page = page_of(response, 422)
    assert message in page.find("p", id=f"e-{field}").text
    assert changed(before, fingerprint()) == []


def test_an_address_is_added_listed_edited_and_made_the_default(
    client: TestClient, staff: None
) -> None:
    customer = make_customer("Oasis Foods")
    first = make_address(customer, default=True, street="1 Shop Row")

    added = client.post(
        f"/customers/{customer}/addresses",
        data={**hidden(client), **NEW_DOCK},
        follow_redirects=False,
    )
    [dock] = [row[0] for row in address_rows() if row[1] == customer and row[0] != first]
    edit_form = page_of(client.get(f"/customers/{customer}/addresses/{dock}"))
    edited = client.post(
        f"/customers/{customer}/addresses/{dock}",
        data={**hidden(client), "action": "save", "street": "Unit 5\nCanal Wharf", "city": "Hull",
              "country": "GB"},
        follow_redirects=False,
    )  # fmt: skip
    switched = client.post(
        f"/customers/{customer}/addresses/{dock}",
        data={**hidden(client), "action": "default"},
        follow_redirects=False,
    )
    page = page_of(client.get(f"/customers/{customer}"))

    assert added.status_code == 303, added.text[:2000]
    assert edit_form.find("textarea", id="f-street").text.split() == ["Unit", "4", "Canal", "Wharf"]
    assert edited.status_code == switched.status_code == 303
    rows = {row[0]: row for row in address_rows() if row[1] == customer}
    assert rows[dock][3:] == ("Unit 5\nCanal Wharf", True, True)
    assert rows[first][4:] == (False, True)
    shown = page.find("tr", data_address=str(dock)).text
    assert "Unit 5, Canal Wharf" in shown
    assert "Hull" in shown
    assert "default delivery" in shown


def test_an_address_is_retired_and_taken_up_again(client: TestClient, staff: None) -> None:
    customer = make_customer("Oasis Foods")
    dock = make_address(customer, default=True)

    retired = client.post(
        f"/customers/{customer}/addresses/{dock}",
        data={**hidden(client), "action": "deactivate"},
        follow_redirects=False,
    )
    after_retiring = [row[4:] for row in address_rows() if row[0] == dock]
    again = client.post(
        f"/customers/{customer}/addresses/{dock}",
        data={**hidden(client), "action": "activate"},
        follow_redirects=False,
    )

    assert retired.status_code == again.status_code == 303
    assert after_retiring == [(False, False)]
    assert [row[4:] for row in address_rows() if row[0] == dock] == [(False, True)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"country": "ZZ"}, "country", "country"),
        ({"street": " "}, "street", "street"),
        ({"postal_code": "LS1/4AB"}, "postal_code", "expected form"),
    ],
)
def test_a_refused_address_changes_nothing_and_says_why_beside_the_field(
    client: TestClient, staff: None, fields: dict[str, str], field: str, message: str
) -> None:
    customer = make_customer("Oasis Foods")
    dock = make_address(customer, default=True)
    before = fingerprint()

    added = client.post(
        f"/customers/{customer}/addresses",
        data={**hidden(client), **NEW_DOCK, **fields},
        follow_redirects=False,
    )
    edited = client.post(
        f"/customers/{customer}/addresses/{dock}",
        data={**hidden(client), **NEW_DOCK, "action": "save", **fields},
        follow_redirects=False,
    )

    for response in (added, edited):
        page = page_of(response, 422)
        assert message.lower() in page.find("p", id=f"e-{field}").text.lower()
    assert changed(before, fingerprint()) == []


def test_another_customers_address_is_not_found_from_a_customers_page(
    client: TestClient, staff: None
) -> None:
    mine, theirs = make_customer("Mine"), make_customer("Theirs")
    their_dock = make_address(theirs, AddressKind.DELIVERY, default=True)
    before = fingerprint()

    shown = client.get(f"/customers/{mine}/addresses/{their_dock}")
    switched = client.post(
        f"/customers/{mine}/addresses/{their_dock}",
        data={**hidden(client), "action": "deactivate"},
        follow_redirects=False,
    )

    assert shown.status_code == switched.status_code == 404
    assert changed(before, fingerprint()) == []
