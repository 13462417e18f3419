"""Invoices: a shipment that has left is billed once, under the next gapless number of the
year, at its order's prices with VAT per line to the cent (the category's rate or the default,
none for a zero-rated or reverse-charge customer), due after the customer's payment terms;
refusals write nothing and take no number; issued invoices are listed, exported line by line
for the accountant, and never changed."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.core.config import get_settings
from app.core.database import session_scope
from app.core.formatting import country
from app.models.user import Role
from app.schemas.billing import InvoiceCsvRow
from app.services import invoicing
from tests.conftest import MakeUser
from tests.support import factories
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.invoices import (
    INVOICE_ACTOR,
    INVOICES,
    INVOICES_CSV,
    add_billing_address,
    as_issued,
    expected_line,
    invoice_counter,
    invoice_number,
    issue,
    issued,
    line_sums,
    list_invoices,
    make_billed_customer,
    make_stocked_product,
    make_vat_category,
    ship_order,
    shipment_of,
    stored_invoice_lines,
    stored_invoices,
    to_cent,
    totals,
)
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.sales import REPLAYED, order_line, place_order, register_customer
from tests.support.shipments import ship_part, shipment_action

ZERO = Decimal(0)
TERMS_DAYS = 14


@dataclass(frozen=True)
class Catalog:
    """MAIN holds DATES (no category: the default rate) in two lots, D-EARLY (2 kg, first
    to expire) and D-LATE; NUTS (category at 7%) and FIGS (category without a rate) in lots
    of their own; a standard customer with 14 days' terms and a VAT number, and an exporter
    billed under the reverse charge."""

    main: int
    dates: int
    nuts: int
    figs: int
    customer: int
    exporter: int


@pytest.fixture
def shelf(client: TestClient, staff: SignedIn) -> Catalog:
    """The catalog, stocked, and the customer."""
    main = factories.create_warehouse(code="MAIN")
    dates = factories.create_product(sku="DATES")
    for code, quantity, days in (("D-EARLY", "2", 30), ("D-LATE", "50", 120)):
        factories.create_lot(
            product_id=dates,
            warehouse_id=main,
            quantity=quantity,
            lot_code=code,
            best_before=date.today() + timedelta(days=days),
        )
    nuts = make_stocked_product("NUTS", main, category_id=make_vat_category("Nuts", "7"))
    figs = make_stocked_product("FIGS", main, category_id=make_vat_category("Figs", None))
    customer = make_billed_customer(
        client,
        staff.headers,
        "Souk Traders",
        payment_terms_days=TERMS_DAYS,
        vat_number="gb123456789",
    )
    exporter = make_billed_customer(
        client,
        staff.headers,
        "Hamburg Imports",
        vat_number="DE987654321",
        vat_treatment="reverse_charge",
    )
    return Catalog(main, dates, nuts, figs, customer, exporter)


def shipped(client: TestClient, staff: SignedIn, shelf: Catalog, quantity: str = "1") -> int:
    """A shipment of ``quantity`` kg of figs at 4.00 to the exporter; its id."""
    order = ship_order(client, staff.headers, shelf.exporter, [(shelf.figs, quantity, "4.00")])
    return shipment_of(order)


# =========================================================================== issuing


def test_an_invoice_bills_the_shipment_at_the_order_prices_with_the_customers_details(
    client: TestClient, staff: SignedIn, shelf: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "COMPANY_VAT_NUMBER", "DE123456789")
    add_billing_address(client, staff.headers, shelf.customer, street="9 Old Lane")
    add_billing_address(
        client,
        staff.headers,
        shelf.customer,
        recipient="Accounts",
        street="7 Quay Street",
        postal_code="BS1 4DJ",
        city="Bristol",
        is_default=True,
    )
    # dates by default rate (20%), nuts at their category's 7%, figs: category without a rate
    order = ship_order(
        client,
        staff.headers,
        shelf.customer,
        [(shelf.dates, "2.5", "12.35"), (shelf.nuts, "1.5", "1.00"), (shelf.figs, "3", "4.10")],
    )
    today = clock.today()

    response = issue(client, staff.headers, shipment_of(order))

    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["number"] == invoice_number(1)
    assert (invoice["shipment_id"], invoice["order_id"], invoice["customer_id"]) == (
        shipment_of(order),
        order["id"],
        shelf.customer,
    )
    assert (invoice["issue_date"], invoice["due_date"]) == (
        today.isoformat(),
        (today + timedelta(days=TERMS_DAYS)).isoformat(),
    )
    assert (invoice["currency"], invoice["customer_name"]) == ("EUR", "Souk Traders")
    assert (
        invoice["billing_address"] == f"Accounts\n7 Quay Street\nBS1 4DJ Bristol\n{country('GB')}"
    )
    assert invoice["customer_vat_number"] == "GB123456789"
    assert (invoice["vat_treatment"], invoice["vat_note"]) == ("standard", "")
    assert invoice["company_name"] == get_settings().COMPANY_NAME
    assert invoice["company_vat_number"] == "DE123456789"
    assert [
        (
            line["line_no"],
            line["order_line_id"],
            line["sku"],
            line["lots"],
            Decimal(line["quantity"]),
            line["unit"],
            Decimal(line["unit_price"]),
        )
        for line in invoice["lines"]
    ] == [
        (
            1,
            order["lines"][0]["id"],
            "DATES",
            "D-EARLY, D-LATE",
            Decimal("2.5"),
            "kg",
            Decimal("12.35"),
        ),
        (2, order["lines"][1]["id"], "NUTS", "L-NUTS", Decimal("1.5"), "kg", Decimal("1.00")),
        (3, order["lines"][2]["id"], "FIGS", "L-FIGS", Decimal(3), "kg", Decimal("4.10")),
    ]
    assert [line["description"] for line in invoice["lines"]] == [
        "Product DATES",
        "Product NUTS",
        "Product FIGS",
    ]
    # 2.5 x 12.35 = 30.875 -> 30.88, VAT 6.176 -> 6.18; 1.50 at 7% = 0.105 -> 0.11 (half up)
    wanted = [
        expected_line("2.5", "12.35", "20"),
        expected_line("1.5", "1.00", "7"),
        expected_line("3", "4.10", "20"),
    ]
    assert [(w.net, w.vat) for w in wanted] == [
        (Decimal("30.88"), Decimal("6.18")),
        (Decimal("1.50"), Decimal("0.11")),
        (Decimal("12.30"), Decimal("2.46")),
    ]
    assert line_sums(invoice) == [
        (w.net, rate, w.vat, w.gross)
        for w, rate in zip(wanted, (Decimal(20), Decimal(7), Decimal(20)), strict=True)
    ]
    assert totals(invoice) == (
        sum(w.net for w in wanted),
        sum(w.vat for w in wanted),
        sum(w.gross for w in wanted),
    )
    assert totals(invoice) == (Decimal("44.68"), Decimal("8.75"), Decimal("53.43"))
    assert Decimal(order["total"]) == Decimal("44.68")
    read = client.get(f"{INVOICES}/{invoice['id']}", headers=staff.headers)
    assert read.status_code == 200, read.text
    assert as_issued(read.json()) == as_issued(invoice)
    [entry] = audit_rows("invoice.issued", invoice["id"])
    assert entry.actor_id == staff.user.id
    assert (entry.details["number"], entry.details["order"]) == (invoice_number(1), order["number"])


def test_each_invoice_takes_the_next_number_of_the_year(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    first, second, third = (shipped(client, staff, shelf) for _ in range(3))

    numbers = [issued(client, staff.headers, s)["number"] for s in (second, first, third)]

    assert numbers == [invoice_number(1), invoice_number(2), invoice_number(3)]
    assert [(n, s) for n, s, _ in stored_invoices()] == [
        (invoice_number(1), second),
        (invoice_number(2), first),
        (invoice_number(3), third),
    ]


def test_a_delivered_shipment_is_invoiced_too(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    order = ship_order(client, staff.headers, shelf.exporter, [(shelf.figs, "2", "4.00")])
    delivered = client.post(f"/api/v1/orders/{order['id']}/deliver", headers=staff.headers)
    assert delivered.status_code == 200, delivered.text

    invoice = issued(client, staff.headers, shipment_of(order))

    assert totals(invoice) == (Decimal("8.00"), ZERO, Decimal("8.00"))


def test_vat_is_the_categorys_rate_or_the_default_the_settings_name(
    client: TestClient, staff: SignedIn, shelf: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "DEFAULT_VAT_RATE", Decimal("19"))
    free = make_stocked_product("BREAD", shelf.main, category_id=make_vat_category("Untaxed", "0"))
    order = ship_order(
        client,
        staff.headers,
        shelf.customer,
        [
            (shelf.dates, "1", "10.00"),
            (shelf.nuts, "1", "10.00"),
            (shelf.figs, "1", "10.00"),
            (free, "1", "10.00"),
        ],
    )

    invoice = issued(client, staff.headers, shipment_of(order))

    assert [(rate, vat) for _, rate, vat, _ in line_sums(invoice)] == [
        (Decimal(19), Decimal("1.90")),
        (Decimal(7), Decimal("0.70")),
        (Decimal(19), Decimal("1.90")),
        (ZERO, ZERO),
    ]
    assert totals(invoice) == (Decimal("40.00"), Decimal("4.50"), Decimal("44.50"))


@pytest.mark.parametrize(
    ("treatment", "phrases"),
    [
        ("zero_rated", ("Zero-rated supply", "Article 138")),
        ("reverse_charge", ("Reverse charge", "accounted for by the recipient", "Article 196")),
    ],
)
def test_a_customer_without_vat_is_billed_none_and_told_why(
    client: TestClient, staff: SignedIn, shelf: Catalog, treatment: str, phrases: tuple[str, ...]
) -> None:
    customer = make_billed_customer(
        client, staff.headers, "Hamburg Imports", vat_number="DE987654321", vat_treatment=treatment
    )
    order = ship_order(
        client, staff.headers, customer, [(shelf.dates, "2.5", "12.35"), (shelf.nuts, "3", "1.99")]
    )

    invoice = issued(client, staff.headers, shipment_of(order))

    assert invoice["vat_treatment"] == treatment
    assert all(phrase in invoice["vat_note"] for phrase in phrases), invoice["vat_note"]
    assert invoice["customer_vat_number"] == "DE987654321"
    assert line_sums(invoice) == [
        (Decimal("30.88"), ZERO, ZERO, Decimal("30.88")),
        (Decimal("5.97"), ZERO, ZERO, Decimal("5.97")),
    ]
    assert totals(invoice) == (Decimal("36.85"), ZERO, Decimal("36.85"))
    # the due date follows the default terms (30 days) of a customer who names none
    issued_on = date.fromisoformat(invoice["issue_date"])
    assert date.fromisoformat(invoice["due_date"]) == issued_on + timedelta(days=30)


def test_vat_is_rounded_half_up_on_each_line_not_on_the_total(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    """Three lines of 0.335 kg at 3.00: each net 1.005 -> 1.01 and VAT 0.202 -> 0.20, so the
    VAT is 0.60 where 20% of the net total (3.03) would be 0.61."""
    products = [make_stocked_product(sku, shelf.main) for sku in ("PECANS", "PRUNES", "RAISINS")]
    order = ship_order(
        client, staff.headers, shelf.customer, [(p, "0.335", "3.00") for p in products]
    )

    invoice = issued(client, staff.headers, shipment_of(order))

    assert (
        line_sums(invoice) == [(Decimal("1.01"), Decimal(20), Decimal("0.20"), Decimal("1.21"))] * 3
    )
    assert totals(invoice) == (Decimal("3.03"), Decimal("0.60"), Decimal("3.63"))
    assert to_cent(Decimal("3.03") * Decimal("0.2")) == Decimal("0.61")  # rounded once: not so


def test_the_answer_to_issuing_is_the_invoice_as_read_back(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    invoice = issued(client, staff.headers, shipped(client, staff, shelf))

    read = client.get(f"{INVOICES}/{invoice['id']}", headers=staff.headers)

    assert read.status_code == 200, read.text
    assert as_issued(read.json()) == as_issued(invoice)
    assert read.json() == invoice


# =========================================================================== refusals


def test_a_shipment_is_invoiced_once_and_a_refusal_takes_no_number(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    first, second = shipped(client, staff, shelf), shipped(client, staff, shelf)
    invoice = issued(client, staff.headers, first)
    before = fingerprint()

    again = issue(client, staff.headers, first)

    problem = assert_problem(again, 409, "conflict")
    assert invoice["number"] in problem["detail"]
    assert changed(before, fingerprint()) == []
    assert invoice_counter() == 1
    assert issued(client, staff.headers, second)["number"] == invoice_number(2)
    assert [n for n, _, _ in stored_invoices()] == [invoice_number(1), invoice_number(2)]


def test_a_shipment_that_has_not_left_is_not_invoiced(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    picking_order = place_order(
        client, staff.headers, shelf.customer, [order_line(shelf.figs, "1", "4.00")]
    )
    client.post(f"/api/v1/orders/{picking_order['id']}/confirm", headers=staff.headers)
    planned = ship_part(client, staff.headers, picking_order["id"], pick_first=True)
    assert planned.status_code == 201, planned.text
    assert planned.json()["status"] == "picking"
    cancelled_order = place_order(
        client, staff.headers, shelf.customer, [order_line(shelf.nuts, "1", "4.00")]
    )
    client.post(f"/api/v1/orders/{cancelled_order['id']}/confirm", headers=staff.headers)
    dropped = ship_part(client, staff.headers, cancelled_order["id"], pick_first=True)
    cancelled = shipment_action(client, staff.headers, dropped.json()["id"], "cancel")
    assert cancelled.status_code == 200, cancelled.text
    before = fingerprint()

    for shipment_id in (planned.json()["id"], dropped.json()["id"]):
        assert_problem(issue(client, staff.headers, shipment_id), 409, "conflict")

    assert changed(before, fingerprint()) == []
    assert invoice_counter() is None
    assert issued(client, staff.headers, shipped(client, staff, shelf))["number"] == (
        invoice_number(1)
    )


def test_an_unknown_shipment_is_not_found(client: TestClient, staff: SignedIn) -> None:
    before = fingerprint()

    assert_problem(issue(client, staff.headers, UNKNOWN_ID), 404, "not-found")

    assert changed(before, fingerprint()) == []


def test_a_retry_with_the_same_idempotency_key_issues_one_invoice(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    shipment_id = shipped(client, staff, shelf)

    first = issue(client, staff.headers, shipment_id, key="invoice-retry-1")
    retry = issue(client, staff.headers, shipment_id, key="invoice-retry-1")

    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert retry.headers.get(REPLAYED) == "true"
    assert REPLAYED not in first.headers
    assert retry.json() == first.json()
    assert [n for n, _, _ in stored_invoices()] == [invoice_number(1)]
    assert stored_invoice_lines() == 1
    assert len(audit_rows("invoice.issued")) == 1
    assert invoice_counter() == 1
    # a new key for the invoiced shipment is refused like any second attempt
    assert_problem(issue(client, staff.headers, shipment_id, key="invoice-retry-2"), 409)


def test_only_sales_staff_issue_and_read_invoices(
    client: TestClient, staff: SignedIn, shelf: Catalog, make_user: MakeUser
) -> None:
    shipment_id = shipped(client, staff, shelf)
    customer = sign_in(client, make_user, Role.CUSTOMER)
    shopper = register_customer(client)
    before = fingerprint()

    assert_problem(issue(client, customer.headers, shipment_id), 403)
    assert_problem(issue(client, {}, shipment_id), 401)
    for url in (INVOICES, INVOICES_CSV, f"{INVOICES}/1"):
        assert_problem(client.get(url, headers=customer.headers), 403)
    # a customer prints its own invoices only: another customer's is not there for it
    assert_problem(client.get(f"{INVOICES}/1/pdf", headers=shopper.headers), 404)

    assert changed(before, fingerprint()) == []


# =========================================================================== reading


def test_invoices_are_listed_newest_first_and_filtered(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    other = make_billed_customer(client, staff.headers, "Corner Shop", vat_treatment="zero_rated")
    mine = [shipped(client, staff, shelf, "1"), shipped(client, staff, shelf, "2")]
    theirs = shipment_of(ship_order(client, staff.headers, other, [(shelf.figs, "3", "4.00")]))
    today = clock.today()
    earlier = today - timedelta(days=40)
    # the first one issued 40 days ago, through the service (the API issues today)
    with session_scope() as db:
        invoicing.invoice_shipment(
            db,
            INVOICE_ACTOR,
            mine[0],
            at=clock.utcnow() - timedelta(days=40),
        )
    issued(client, staff.headers, theirs)
    issued(client, staff.headers, mine[1])

    def ids(**params: object) -> tuple[int, list[int]]:
        page = list_invoices(client, staff.headers, **params)
        return page["total"], [item["shipment_id"] for item in page["items"]]

    assert ids() == (3, [mine[1], theirs, mine[0]])
    assert ids(customer_id=shelf.exporter) == (2, [mine[1], mine[0]])
    assert ids(customer_id=other) == (1, [theirs])
    assert ids(since=today.isoformat()) == (2, [mine[1], theirs])
    assert ids(until=today.isoformat()) == (1, [mine[0]])  # until is exclusive
    assert ids(since=earlier.isoformat(), until=(earlier + timedelta(days=1)).isoformat()) == (
        1,
        [mine[0]],
    )
    assert ids(since=(today + timedelta(days=1)).isoformat()) == (0, [])
    assert ids(customer_id=other, until=today.isoformat()) == (0, [])
    assert ids(customer_id=UNKNOWN_ID) == (0, [])
    page = list_invoices(client, staff.headers, limit=1, offset=1)
    assert (page["total"], [item["shipment_id"] for item in page["items"]]) == (3, [theirs])
    [summary] = list_invoices(client, staff.headers, customer_id=other)["items"]
    assert totals(summary) == (Decimal("12.00"), ZERO, Decimal("12.00"))
    assert (summary["customer_name"], summary["due_date"]) == (
        "Corner Shop",
        (today + timedelta(days=30)).isoformat(),
    )
    assert_problem(client.get(f"{INVOICES}/{UNKNOWN_ID}", headers=staff.headers), 404)


def test_the_csv_has_one_row_per_line_with_net_rate_vat_and_gross(
    client: TestClient, staff: SignedIn, shelf: Catalog
) -> None:
    other = shelf.exporter
    first = issued(
        client,
        staff.headers,
        shipment_of(
            ship_order(
                client,
                staff.headers,
                shelf.customer,
                [(shelf.dates, "2.5", "12.35"), (shelf.nuts, "1.5", "1.00")],
            )
        ),
    )
    second = issued(
        client,
        staff.headers,
        shipment_of(ship_order(client, staff.headers, other, [(shelf.figs, "3", "4.10")])),
    )

    response = client.get(INVOICES_CSV, headers=staff.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="invoices.csv"'
    reader = csv.reader(io.StringIO(response.text.lstrip("\ufeff")))
    header, *rows = list(reader)
    assert header == list(InvoiceCsvRow.model_fields)
    assert {"net", "vat_rate", "vat", "gross"} <= set(header)
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    assert [
        (
            c["invoice"],
            c["line_no"],
            c["sku"],
            c["customer"],
            c["vat_treatment"],
            Decimal(c["quantity"]),
            Decimal(c["unit_price"]),
            Decimal(c["net"]),
            Decimal(c["vat_rate"]),
            Decimal(c["vat"]),
            Decimal(c["gross"]),
        )
        for c in cells
    ] == [
        (
            first["number"],
            "1",
            "DATES",
            "Souk Traders",
            "standard",
            Decimal("2.5"),
            Decimal("12.35"),
            Decimal("30.88"),
            Decimal(20),
            Decimal("6.18"),
            Decimal("37.06"),
        ),
        (
            first["number"],
            "2",
            "NUTS",
            "Souk Traders",
            "standard",
            Decimal("1.5"),
            Decimal("1.00"),
            Decimal("1.50"),
            Decimal(7),
            Decimal("0.11"),
            Decimal("1.61"),
        ),
        (
            second["number"],
            "1",
            "FIGS",
            "Hamburg Imports",
            "reverse_charge",
            Decimal(3),
            Decimal("4.10"),
            Decimal("12.30"),
            ZERO,
            ZERO,
            Decimal("12.30"),
        ),
    ]
    assert {c["currency"] for c in cells} == {"EUR"}
    assert [c["customer_vat_number"] for c in cells] == ["GB123456789"] * 2 + ["DE987654321"]
    assert {c["issue_date"] for c in cells} == {clock.today().isoformat()}
    # the lines of an invoice add up to its totals
    assert sum(Decimal(c["gross"]) for c in cells[:2]) == Decimal(first["gross_total"])
    filtered = client.get(INVOICES_CSV, params={"customer_id": other}, headers=staff.headers)
    assert [
        row[0] for row in list(csv.reader(io.StringIO(filtered.text.lstrip("\ufeff"))))[1:]
    ] == [second["number"]]
    future = (clock.today() + timedelta(days=1)).isoformat()
    empty = client.get(INVOICES_CSV, params={"since": future}, headers=staff.headers)
    assert list(csv.reader(io.StringIO(empty.text.lstrip("\ufeff")))) == [header]


# =========================================================================== immutability


def test_an_issued_invoice_is_never_changed_or_deleted(
    client: TestClient, admin: SignedIn, staff: SignedIn, shelf: Catalog
) -> None:
    invoice = issued(client, staff.headers, shipped(client, staff, shelf))
    url = f"{INVOICES}/{invoice['id']}"
    before = fingerprint()

    answers = {
        (method, path): client.request(
            method, path, json={"gross_total": "0.00", "lines": []}, headers=admin.headers
        ).status_code
        for method in ("PUT", "PATCH", "DELETE")
        for path in (url, INVOICES, f"{url}/pdf")
    }
    answers[("POST", url)] = client.post(url, json={}, headers=admin.headers).status_code

    assert answers == dict.fromkeys(answers, 405)
    assert changed(before, fingerprint()) == []
    assert as_issued(client.get(url, headers=staff.headers).json()) == as_issued(invoice)
