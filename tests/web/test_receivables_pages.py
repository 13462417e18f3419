"""The receivables pages: every customer owing anything, most owed first, by days past due with
a totals row; a customer's bands and the invoices it still has to pay; amounts in the company's
currency and locale; plain words when nothing is owed."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.core.config import get_settings
from app.core.formatting import day, money
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.callers import UNKNOWN_ID
from tests.support.invoices import Billed, credit, invoiced_on, pay
from tests.support.pages import Node, logged_in, page_of

TERMS_DAYS = 30  # the customers' payment terms: the factories' default
ZERO = Decimal(0)


@dataclass(frozen=True)
class Shop:
    """A product stocked plenty, and two customers with 30 days' terms."""

    product: int
    souk: int
    oasis: int


@pytest.fixture
def shop(client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """The shop, pounds as the company's currency, and a staff user logged in to the pages."""
    monkeypatch.setattr(get_settings(), "CURRENCY", "GBP")
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "en_GB")
    logged_in(client, make_user, Role.STAFF)
    return Shop(
        factories.create_stocked_product(quantity="1000").product_id,
        factories.create_customer(name="Souk Traders"),
        factories.create_customer(name="Oasis Foods"),
    )


def late_by(shop: Shop, customer: int, days: int, quantity: str = "1") -> Billed:
    """An invoice of the customer ``days`` past its due date today (negative: not yet due)."""
    issued_on = clock.today() - timedelta(days=days + TERMS_DAYS)
    return invoiced_on(customer, shop.product, quantity, issued_on)


def shown(amount: Decimal) -> str:
    """An amount as a page shows it, whitespace collapsed."""
    return " ".join(money(amount).split())


def cells(row: Node) -> list[str]:
    return [cell.text for cell in row.find_all("td")]


def test_the_receivables_page_lists_customers_most_owed_first_with_totals(
    client: TestClient, shop: Shop
) -> None:
    souk_new = late_by(shop, shop.souk, -5, "1")
    souk_old = late_by(shop, shop.souk, 95, "2")
    oasis = late_by(shop, shop.oasis, 40, "9")

    page = page_of(client.get("/receivables"))

    table = page.find("table", data_receivables=None)
    rows = table.find("tbody").find_all("tr")
    assert [row.find("a").attrs["href"] for row in rows] == [
        f"/customers/{shop.oasis}/receivables",
        f"/customers/{shop.souk}/receivables",
    ]
    assert [row.find("a").text for row in rows] == ["Oasis Foods", "Souk Traders"]
    owed = [
        [ZERO, ZERO, oasis.gross, ZERO, ZERO, oasis.gross],
        [souk_new.gross, ZERO, ZERO, ZERO, souk_old.gross, souk_new.gross + souk_old.gross],
    ]
    assert [cells(row)[1:] for row in rows] == [[shown(x) for x in amounts] for amounts in owed]
    totals = table.find("tfoot").find("tr")
    assert totals.find("th").text == "All customers"
    assert cells(totals) == [
        shown(souk_new.gross),
        shown(ZERO),
        shown(oasis.gross),
        shown(ZERO),
        shown(souk_old.gross),
        shown(souk_new.gross + souk_old.gross + oasis.gross),
    ]
    assert all(cell.startswith("£") for cell in cells(totals))
    headings = [th.text for th in table.find("thead").find_all("th")]
    assert headings == [
        "Customer",
        "Not yet due",
        "1\N{EN DASH}30 days",
        "31\N{EN DASH}60 days",
        "61\N{EN DASH}90 days",
        "Over 90 days",
        "Total",
    ]
    menu = [a.attrs["href"] for a in page.find("nav", aria_label="Main").find_all("a")]
    assert menu.index("/receivables") == menu.index("/invoices") + 1


def test_the_receivables_page_says_so_when_nothing_is_owed(client: TestClient, shop: Shop) -> None:
    paid = late_by(shop, shop.souk, 10)
    pay(paid.id, paid.gross)

    page = page_of(client.get("/receivables"))

    assert not page.find_all("table", data_receivables=None)
    assert page.find("p", data_empty=None).text == (
        "Nothing is owed: no customer has an unpaid invoice."
    )


def test_a_customers_page_shows_its_bands_and_the_invoices_it_still_owes(
    client: TestClient, shop: Shop
) -> None:
    due_later = late_by(shop, shop.souk, -3, "1")
    overdue = late_by(shop, shop.souk, 45, "4")
    paid_off = late_by(shop, shop.souk, 20, "2")
    late_by(shop, shop.oasis, 70, "3")
    pay(overdue.id, "5.00")
    pay(paid_off.id, paid_off.gross)
    credited = credit(due_later.id, "1.00")

    page = page_of(client.get(f"/customers/{shop.souk}/receivables"))

    assert page.find("h1").find("a").text == "Souk Traders"
    bands = {dd.attrs["data-band"]: dd.text for dd in page.find_all("dd", data_band=None)}
    left = overdue.gross - Decimal("5.00")
    assert bands == {
        "current": shown(due_later.gross - credited),
        "1-30": shown(ZERO),
        "31-60": shown(left),
        "61-90": shown(ZERO),
        "90+": shown(ZERO),
        "total": shown(due_later.gross - credited + left),
    }
    rows = page.find("table", data_unpaid=None).find("tbody").find_all("tr")
    today = clock.today()
    assert [row.find("a").attrs["href"] for row in rows] == [
        f"/invoices/{overdue.id}",
        f"/invoices/{due_later.id}",
    ]
    assert [cells(row) for row in rows] == [
        [
            overdue.number,
            day(today - timedelta(days=45 + TERMS_DAYS)),
            day(today - timedelta(days=45)),
            "45",
            shown(overdue.gross),
            shown(Decimal("5.00")),
            shown(ZERO),
            shown(left),
            "overdue",
        ],
        [
            due_later.number,
            day(today - timedelta(days=TERMS_DAYS - 3)),
            day(today + timedelta(days=3)),
            "0",
            shown(due_later.gross),
            shown(ZERO),
            shown(credited),
            shown(due_later.gross - credited),
            "open",
        ],
    ]


def test_a_customer_owing_nothing_is_told_in_plain_words(client: TestClient, shop: Shop) -> None:
    late_by(shop, shop.oasis, 5)

    page = page_of(client.get(f"/customers/{shop.souk}/receivables"))

    assert not page.find_all("table", data_unpaid=None)
    assert page.find("p", data_empty=None).text == (
        "Nothing is owed: Souk Traders has no unpaid invoice."
    )


def test_the_customer_page_links_to_its_receivables(client: TestClient, shop: Shop) -> None:
    page = page_of(client.get(f"/customers/{shop.souk}"))

    links = [a.attrs["href"] for a in page.find_all("a")]
    assert f"/customers/{shop.souk}/receivables" in links


def test_an_unknown_customer_has_no_receivables_page(client: TestClient, shop: Shop) -> None:
    page = page_of(client.get(f"/customers/{UNKNOWN_ID}/receivables"), 404)

    assert "This customer does not exist" in page.find("main").text
