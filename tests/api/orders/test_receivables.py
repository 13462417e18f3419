"""Receivables: what each customer still owes on its invoices (gross less payments), by days
past the due date: not yet due (current), 1-30, 31-60, 61-90 and over 90; for one customer and
for all of them, most owed first, with the total of each band. Sales staff only."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.core.database import session_scope
from app.models.user import Role
from app.services import payments
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.invoices import Billed, credit, invoiced_on, pay
from tests.support.problems import assert_problem
from tests.support.queries import statements
from tests.support.sales import dec
from tests.support.stock import API

RECEIVABLES = f"{API}/receivables"
BANDS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
TERMS_DAYS = 30  # the customers' payment terms: the factories' default
ZERO = Decimal(0)


@dataclass(frozen=True)
class Shop:
    """A product stocked plenty, and three customers with 30 days' terms."""

    product: int
    souk: int
    oasis: int
    corner: int


@pytest.fixture
def shop() -> Shop:
    product = factories.create_stocked_product(quantity="1000").product_id
    return Shop(
        product,
        factories.create_customer(name="Souk Traders"),
        factories.create_customer(name="Oasis Foods"),
        factories.create_customer(name="Corner Shop"),
    )


def late_by(shop: Shop, customer: int, days: int, quantity: str = "1") -> Billed:
    """An invoice of the customer that is ``days`` past its due date today (negative: due in
    so many days)."""
    issued_on = clock.today() - timedelta(days=days + TERMS_DAYS)
    return invoiced_on(customer, shop.product, quantity, issued_on)


def customer_receivables(client: TestClient, headers: dict[str, str], customer: int) -> Any:
    response = client.get(f"{API}/customers/{customer}/receivables", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def all_receivables(client: TestClient, headers: dict[str, str]) -> Any:
    response = client.get(RECEIVABLES, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def bands_of(row: dict[str, Any]) -> dict[str, Decimal]:
    """The bands and total of an ageing as the API shows it, as numbers."""
    return {name: dec(row[name]) for name in (*BANDS, "total")}


def expected(**amounts: Decimal) -> dict[str, Decimal]:
    """Bands with ``amounts`` (the others nothing) and their total."""
    bands = {name: amounts.get(name, ZERO) for name in BANDS}
    return {**bands, "total": sum(bands.values(), ZERO)}


def test_each_invoice_falls_in_the_band_of_its_days_past_due(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    # Each invoice bills another quantity, so each has its own amount.
    ages = (-30, 0, 1, 30, 31, 60, 61, 90, 91)
    billed = {days: late_by(shop, shop.souk, days, str(n)) for n, days in enumerate(ages, 1)}

    found = customer_receivables(client, staff.headers, shop.souk)

    gross = {days: invoice.gross for days, invoice in billed.items()}
    assert bands_of(found) == expected(
        current=gross[-30] + gross[0],
        days_1_30=gross[1] + gross[30],
        days_31_60=gross[31] + gross[60],
        days_61_90=gross[61] + gross[90],
        days_over_90=gross[91],
    )
    assert found["customer_id"] == shop.souk
    assert found["customer_name"] == "Souk Traders"
    [listed] = all_receivables(client, staff.headers)["customers"]
    assert listed == found


def test_payments_lower_what_is_owed_and_paid_invoices_owe_nothing(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    part_paid = late_by(shop, shop.souk, 45, "5")
    paid = late_by(shop, shop.souk, 10, "2")
    paid_off = late_by(shop, shop.corner, 100, "3")
    pay(part_paid.id, "7.50")
    pay(paid.id, paid.gross)
    pay(paid_off.id, "1.00")
    pay(paid_off.id, paid_off.gross - 1)

    souk = customer_receivables(client, staff.headers, shop.souk)
    corner = customer_receivables(client, staff.headers, shop.corner)
    report = all_receivables(client, staff.headers)

    assert bands_of(souk) == expected(days_31_60=part_paid.gross - Decimal("7.50"))
    assert bands_of(corner) == expected()
    assert [row["customer_id"] for row in report["customers"]] == [shop.souk]
    assert bands_of(report["totals"]) == bands_of(souk)


def test_credit_notes_lower_what_is_owed_and_a_credited_invoice_owes_nothing(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    part_credited = late_by(shop, shop.souk, 20, "5")
    credited = late_by(shop, shop.souk, 70, "2")
    credited_gross = credit(part_credited.id, "10.00")
    credit(credited.id, quantity="2")

    souk = customer_receivables(client, staff.headers, shop.souk)

    assert credited_gross > 0
    assert bands_of(souk) == expected(days_1_30=part_credited.gross - credited_gross)


def test_customers_are_listed_most_owed_first_with_each_bands_total(
    client: TestClient, manager: SignedIn, shop: Shop
) -> None:
    souk_current = late_by(shop, shop.souk, -10, "1")
    souk_late = late_by(shop, shop.souk, 120, "2")
    oasis_late = late_by(shop, shop.oasis, 15, "9")
    corner_current = late_by(shop, shop.corner, 0, "5")

    report = all_receivables(client, manager.headers)

    assert report["on"] == clock.today().isoformat()
    rows = report["customers"]
    assert [(row["customer_id"], row["customer_name"]) for row in rows] == [
        (shop.oasis, "Oasis Foods"),
        (shop.corner, "Corner Shop"),
        (shop.souk, "Souk Traders"),
    ]
    assert [bands_of(row) for row in rows] == [
        expected(days_1_30=oasis_late.gross),
        expected(current=corner_current.gross),
        expected(current=souk_current.gross, days_over_90=souk_late.gross),
    ]
    assert bands_of(report["totals"]) == expected(
        current=souk_current.gross + corner_current.gross,
        days_1_30=oasis_late.gross,
        days_over_90=souk_late.gross,
    )


def test_nothing_owed_is_an_empty_list_with_zero_totals(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    paid = late_by(shop, shop.souk, 5)
    pay(paid.id, paid.gross)

    report = all_receivables(client, staff.headers)

    assert report["customers"] == []
    assert bands_of(report["totals"]) == expected()


def test_invoices_move_to_older_bands_as_the_days_pass(shop: Shop) -> None:
    invoice = late_by(shop, shop.souk, 0)
    today = clock.today()
    days = {"current": 0, "1-30": 1, "31-60": 31, "61-90": 61, "90+": 91}

    with session_scope() as db:
        aged = {
            band: payments.receivables(db, shop.souk, today + timedelta(days=later)).bands
            for band, later in days.items()
        }
        report = payments.receivables_by_customer(db, today + timedelta(days=31))

    for band, bands in aged.items():
        assert bands == {name: invoice.gross if name == band else ZERO for name in bands}
    assert report.on == today + timedelta(days=31)
    assert report.bands["31-60"] == invoice.gross
    assert report.total == invoice.gross


def test_all_customers_are_aged_in_two_queries_however_many_owe(shop: Shop) -> None:
    for customer in (shop.souk, shop.oasis, shop.corner):
        for days in (5, 50):
            late_by(shop, customer, days)

    with session_scope() as db, statements() as sent:
        report = payments.receivables_by_customer(db)

    assert len(report.customers) == 3
    assert all(len(ageing.invoices) == 2 for ageing in report.customers)
    # what each invoice owes, then the customers' names
    assert len(sent) == 2, sent


def test_only_sales_staff_see_receivables(
    client: TestClient, make_user: MakeUser, staff: SignedIn, shop: Shop
) -> None:
    late_by(shop, shop.souk, 40)
    shopper = sign_in(client, make_user, Role.CUSTOMER)

    for path in (RECEIVABLES, f"{API}/customers/{shop.souk}/receivables"):
        assert_problem(client.get(path, headers=shopper.headers), 403)
        assert_problem(client.get(path), 401)
        assert client.get(path, headers=staff.headers).status_code == 200


def test_an_unknown_customer_has_no_receivables(client: TestClient, staff: SignedIn) -> None:
    response = client.get(f"{API}/customers/{UNKNOWN_ID}/receivables", headers=staff.headers)

    assert_problem(response, 404)
    assert str(UNKNOWN_ID) in response.json()["detail"]


def test_a_customer_owing_nothing_has_every_band_at_zero(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    late_by(shop, shop.oasis, 20)

    found = customer_receivables(client, staff.headers, shop.souk)

    assert found["customer_name"] == "Souk Traders"
    assert bands_of(found) == expected()
