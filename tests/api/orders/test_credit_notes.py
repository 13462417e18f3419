"""Credit notes: goods returned after invoicing are credited against the invoice their lot
was billed on, a correction by hand credits a quantity or an amount with its reason, never
more than a line billed, under a gapless number of their own; the invoice then owes less."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.core.formatting import money
from app.schemas.billing import CreditNoteCsvRow
from tests.support import factories
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.invoices import (
    INVOICES,
    expected_line,
    issued,
    make_billed_customer,
    make_vat_category,
    ship_order,
    shipment_of,
)
from tests.support.pdf import pdf_pages, plain
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.sales import (
    IDEMPOTENCY_KEY,
    REPLAYED,
    Json,
    advance,
    dec,
    order_line,
    place_order,
    register_customer,
    return_goods,
    return_line,
    stock_lot,
)
from tests.support.shipments import make_partial_customer, ship_part, shipment_line
from tests.support.stock import API

CREDIT_NOTES = f"{API}/credit-notes"
ZERO = Decimal(0)
PRICE = "1.99"
RATE = "7"


@dataclass(frozen=True)
class Billed:
    """An order of 2.5 kg of NUTS (7% VAT) at 1.99 shipped and invoiced: 4.98 net, 0.35 VAT."""

    order: Json
    invoice: Json

    @property
    def line(self) -> Json:
        """The invoice's only line."""
        return dict(self.invoice["lines"][0])


@dataclass(frozen=True)
class Shelf:
    """MAIN holding NUTS (a category at 7%) in lot N-1, and a customer with 30 days' terms."""

    main: int
    nuts: int
    lot: int
    customer: int


@pytest.fixture
def shelf(client: TestClient, admin: SignedIn, staff: SignedIn) -> Shelf:
    """The stocked catalog and the customer."""
    main = factories.create_warehouse(code="MAIN")
    nuts = factories.create_product(sku="NUTS", category_id=make_vat_category("Nuts", RATE))
    lot = stock_lot(client, admin.headers, nuts, main, "N-1", "40", days=120)
    customer = make_billed_customer(client, staff.headers, payment_terms_days=30)
    return Shelf(main, nuts, lot, customer)


@pytest.fixture
def billed(client: TestClient, staff: SignedIn, shelf: Shelf) -> Billed:
    """The order shipped and invoiced."""
    order = ship_order(client, staff.headers, shelf.customer, [(shelf.nuts, "2.5", PRICE)])
    return Billed(order, issued(client, staff.headers, shipment_of(order)))


def credit(
    client: TestClient,
    headers: dict[str, str],
    invoice_id: int,
    lines: list[Json],
    reason: str = "Price agreed lower",
    key: str | None = None,
) -> tuple[int, Json]:
    """POST /invoices/{id}/credit-notes; the status and the body."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    response = client.post(
        f"{INVOICES}/{invoice_id}/credit-notes",
        json={"reason": reason, "lines": lines},
        headers={**headers, **extra},
    )
    return response.status_code, dict(response.json())


def read_invoice(client: TestClient, headers: dict[str, str], invoice_id: int) -> Json:
    """GET /invoices/{id}, answered 200."""
    response = client.get(f"{INVOICES}/{invoice_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def note_number(sequence: int) -> str:
    """The number of the ``sequence``-th credit note of the company's current year."""
    return f"CN-{clock.today().year}-{sequence:06d}"


def sums(note: Json) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) totals of a credit note."""
    return dec(note["net_total"]), dec(note["vat_total"]), dec(note["gross_total"])


# =========================================================================== from returns


def test_goods_returned_after_invoicing_are_credited_against_the_invoice(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    line_id = billed.order["lines"][0]["id"]
    response = return_goods(client, staff.headers, billed.order["id"], [return_line(line_id, "1")])

    assert response.status_code == 201, response.text
    [note] = response.json()["credit_notes"]
    assert note["number"] == note_number(1)
    assert (note["invoice_id"], note["invoice_number"]) == (
        billed.invoice["id"],
        billed.invoice["number"],
    )
    assert (note["kind"], note["reason"]) == ("return", "damaged in transit")
    wanted = expected_line("1", PRICE, RATE)
    assert sums(note) == (wanted.net, wanted.vat, wanted.gross)
    invoice = read_invoice(client, staff.headers, billed.invoice["id"])
    assert dec(invoice["credited"]) == wanted.gross
    assert dec(invoice["outstanding"]) == dec(billed.invoice["gross_total"]) - wanted.gross
    assert [entry["number"] for entry in invoice["credit_notes"]] == [note["number"]]
    full = client.get(f"{CREDIT_NOTES}/{note['id']}", headers=staff.headers).json()
    [credited] = full["lines"]
    assert (credited["invoice_line_id"], dec(credited["quantity"])) == (billed.line["id"], 1)
    assert credited["return_id"] == response.json()["returns"][0]["id"]


def test_a_line_returned_in_parts_is_credited_exactly_what_it_billed(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    line_id = billed.order["lines"][0]["id"]
    notes = []
    for quantity in ("1.25", "1.25"):
        response = return_goods(
            client, staff.headers, billed.order["id"], [return_line(line_id, quantity)]
        )
        assert response.status_code == 201, response.text
        notes.extend(response.json()["credit_notes"])

    assert [note["number"] for note in notes] == [note_number(1), note_number(2)]
    net = sum((dec(note["net_total"]) for note in notes), ZERO)
    vat = sum((dec(note["vat_total"]) for note in notes), ZERO)
    assert (
        (net, vat)
        == (dec(billed.line["net"]), dec(billed.line["vat"]))
        == (
            Decimal("4.98"),
            Decimal("0.35"),
        )
    )
    invoice = read_invoice(client, staff.headers, billed.invoice["id"])
    assert (dec(invoice["outstanding"]), invoice["status"]) == (ZERO, "credited")


def test_goods_returned_before_invoicing_get_no_credit_note(
    client: TestClient, staff: SignedIn, shelf: Shelf
) -> None:
    order = ship_order(client, staff.headers, shelf.customer, [(shelf.nuts, "2", PRICE)])
    line_id = order["lines"][0]["id"]
    response = return_goods(client, staff.headers, order["id"], [return_line(line_id, "1")])

    assert response.status_code == 201, response.text
    assert response.json()["credit_notes"] == []
    assert client.get(CREDIT_NOTES, headers=staff.headers).json()["total"] == 0


def test_a_return_is_credited_on_the_invoice_of_the_shipment_that_carried_its_lot(
    client: TestClient, admin: SignedIn, staff: SignedIn, shelf: Shelf
) -> None:
    later = stock_lot(client, admin.headers, shelf.nuts, shelf.main, "N-2", "40", days=200)
    customer = make_partial_customer(client, staff.headers, "Split Buyer")
    order = place_order(client, staff.headers, customer, [order_line(shelf.nuts, "60", "2.00")])
    line_id = order["lines"][0]["id"]
    assert client.post(f"{API}/orders/{order['id']}/confirm", headers=staff.headers).is_success
    invoices = []
    for quantity in ("40", "20"):
        response = ship_part(client, staff.headers, order["id"], [shipment_line(line_id, quantity)])
        assert response.status_code == 201, response.text
        invoices.append(issued(client, staff.headers, response.json()["id"]))
    assert [invoice["lines"][0]["lots"] for invoice in invoices] == ["N-1", "N-2"]

    back = [return_line(line_id, "3", lot_id=shelf.lot), return_line(line_id, "2", lot_id=later)]
    response = return_goods(client, staff.headers, order["id"], back)

    assert response.status_code == 201, response.text
    notes = response.json()["credit_notes"]
    assert [(note["invoice_number"], dec(note["net_total"])) for note in notes] == [
        (invoices[1]["number"], Decimal("4.00")),
        (invoices[0]["number"], Decimal("6.00")),
    ]


# =========================================================================== by hand


def test_a_credit_note_by_hand_credits_a_quantity_or_an_amount_with_its_reason(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    line = billed.line
    status, note = credit(
        client,
        staff.headers,
        billed.invoice["id"],
        [{"invoice_line_id": line["id"], "quantity": "0.5"}],
        reason="Short weight",
    )
    assert status == 201, note
    wanted = expected_line("0.5", PRICE, RATE)
    assert (note["number"], note["kind"], note["reason"]) == (
        note_number(1),
        "adjustment",
        "Short weight",
    )
    assert sums(note) == (wanted.net, wanted.vat, wanted.gross)

    status, second = credit(
        client,
        staff.headers,
        billed.invoice["id"],
        [{"invoice_line_id": line["id"], "amount": "1"}],
    )
    assert status == 201, second
    assert sums(second) == (Decimal("1.00"), Decimal("0.07"), Decimal("1.07"))
    assert second["lines"][0]["quantity"] is None
    invoice = read_invoice(client, staff.headers, billed.invoice["id"])
    credited = wanted.gross + Decimal("1.07")
    assert dec(invoice["credited"]) == credited
    assert dec(invoice["outstanding"]) == dec(invoice["gross_total"]) - credited
    [entry] = audit_rows("credit_note.issued", entity_id=second["id"])
    assert entry.details["invoice"] == billed.invoice["number"]


def test_crediting_what_is_left_leaves_nothing_to_pay(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    line = billed.line
    status, _ = credit(
        client,
        staff.headers,
        billed.invoice["id"],
        [{"invoice_line_id": line["id"], "amount": "4.98"}],
    )
    assert status == 201

    invoice = read_invoice(client, staff.headers, billed.invoice["id"])
    assert (dec(invoice["credited"]), dec(invoice["outstanding"])) == (Decimal("5.33"), ZERO)
    assert invoice["status"] == "credited"
    payment = client.post(
        f"{INVOICES}/{billed.invoice['id']}/payments",
        json={"paid_on": date.today().isoformat(), "amount": "0.01"},
        headers=staff.headers,
    )
    assert_problem(payment, 409, "conflict")


@pytest.mark.parametrize(
    ("reason", "lines", "status", "words"),
    [
        ("", [{"line": "own", "amount": "1"}], 422, "reason"),
        ("Wrong", [], 422, "lines"),
        ("Wrong", [{"line": "own", "amount": "1", "quantity": "1"}], 422, "either"),
        ("Wrong", [{"line": "own"}], 422, "either"),
        ("Wrong", [{"line": "own", "amount": "-1"}], 422, "amount"),
        ("Wrong", [{"line": "other", "amount": "1"}], 422, "has no line"),
        ("Wrong", [{"line": "own", "quantity": "0.001"}], 422, "less than a cent"),
        ("Wrong", [{"line": "own", "quantity": "2.501"}], 409, "left to credit"),
        ("Wrong", [{"line": "own", "amount": "4.99"}], 409, "left to credit"),
        ("Wrong", [{"line": "own", "amount": "3"}, {"line": "own", "amount": "2"}], 409, "left"),
    ],
    ids=[
        "no-reason",
        "no-lines",
        "both",
        "neither",
        "negative",
        "other-invoice",
        "worth-nothing",
        "too-much-quantity",
        "too-much-amount",
        "too-much-in-two-lines",
    ],
)
def test_a_refused_credit_note_writes_nothing_and_takes_no_number(
    client: TestClient,
    staff: SignedIn,
    shelf: Shelf,
    billed: Billed,
    reason: str,
    lines: list[Json],
    status: int,
    words: str,
) -> None:
    other = ship_order(client, staff.headers, shelf.customer, [(shelf.nuts, "1", PRICE)])
    other_invoice = issued(client, staff.headers, shipment_of(other))
    ids = {"own": billed.line["id"], "other": other_invoice["lines"][0]["id"]}
    body = [
        {"invoice_line_id": ids[line["line"]]} | {k: v for k, v in line.items() if k != "line"}
        for line in lines
    ]
    before = fingerprint()

    code, problem = credit(client, staff.headers, billed.invoice["id"], body, reason=reason)

    assert code == status, problem
    assert words in str(problem).lower() or words in str(problem)
    assert changed(before, fingerprint()) == []
    status_after, note = credit(
        client,
        staff.headers,
        billed.invoice["id"],
        [{"invoice_line_id": ids["own"], "amount": "1"}],
    )
    assert (status_after, note["number"]) == (201, note_number(1))


def test_an_unknown_invoice_or_credit_note_is_a_404(client: TestClient, staff: SignedIn) -> None:
    code, problem = credit(
        client, staff.headers, UNKNOWN_ID, [{"invoice_line_id": 1, "amount": "1"}]
    )
    assert (code, problem["type"].rsplit(":", 1)[-1]) == (404, "not-found")
    for path in (f"{CREDIT_NOTES}/{UNKNOWN_ID}", f"{CREDIT_NOTES}/{UNKNOWN_ID}/pdf"):
        assert_problem(client.get(path, headers=staff.headers), 404, "not-found")


def test_a_credit_note_sent_twice_is_issued_once(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    lines = [{"invoice_line_id": billed.line["id"], "amount": "1"}]
    first = client.post(
        f"{INVOICES}/{billed.invoice['id']}/credit-notes",
        json={"reason": "Bruised", "lines": lines},
        headers={**staff.headers, IDEMPOTENCY_KEY: "credit-once"},
    )
    again = client.post(
        f"{INVOICES}/{billed.invoice['id']}/credit-notes",
        json={"reason": "Bruised", "lines": lines},
        headers={**staff.headers, IDEMPOTENCY_KEY: "credit-once"},
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get(REPLAYED) == "true"
    assert again.json() == first.json()
    assert client.get(CREDIT_NOTES, headers=staff.headers).json()["total"] == 1


# =========================================================================== reading


def test_credit_notes_are_listed_found_and_printed(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    lines = [{"invoice_line_id": billed.line["id"], "quantity": "1"}]
    _, first = credit(client, staff.headers, billed.invoice["id"], lines, reason="Bruised figs")
    _, second = credit(client, staff.headers, billed.invoice["id"], lines, reason="Torn bag")

    page = client.get(CREDIT_NOTES, headers=staff.headers).json()
    assert [item["number"] for item in page["items"]] == [second["number"], first["number"]]
    for params, found in (
        ({"invoice_id": billed.invoice["id"]}, 2),
        ({"invoice_id": UNKNOWN_ID}, 0),
        ({"customer_id": billed.invoice["customer_id"]}, 2),
        ({"since": (date.today() + timedelta(days=1)).isoformat()}, 0),
    ):
        listed = client.get(CREDIT_NOTES, params=params, headers=staff.headers).json()
        assert listed["total"] == found, params

    response = client.get(f"{CREDIT_NOTES}/{first['id']}/pdf", headers=staff.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    [page] = pdf_pages(response.content)
    text = page.replace("\ufffe", "-").replace("\n", " ")
    for words in (
        "Credit note",
        first["number"],
        billed.invoice["number"],
        "Bruised figs",
        "NUTS",
        "Total credited",
        plain(money(Decimal("2.13"), "EUR")),
        "VAT 7%",
    ):
        assert words in text, words


def test_the_csv_has_one_row_per_credited_line_with_its_invoice(
    client: TestClient, staff: SignedIn, billed: Billed
) -> None:
    line = billed.line["id"]
    credit(client, staff.headers, billed.invoice["id"], [{"invoice_line_id": line, "amount": "1"}])
    back = [return_line(billed.order["lines"][0]["id"], "1")]
    assert return_goods(client, staff.headers, billed.order["id"], back).status_code == 201

    response = client.get(f"{CREDIT_NOTES}.csv", headers=staff.headers)

    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="credit-notes.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert list(rows[0]) == list(CreditNoteCsvRow.model_fields)
    assert [
        (row["credit_note"], row["invoice"], row["kind"], row["quantity"], row["net"], row["vat"])
        for row in rows
    ] == [
        (note_number(1), billed.invoice["number"], "adjustment", "", "1.00", "0.07"),
        (note_number(2), billed.invoice["number"], "return", "1.000", "1.99", "0.14"),
    ]
    later = (date.today() + timedelta(days=1)).isoformat()
    empty = client.get(f"{CREDIT_NOTES}.csv", params={"since": later}, headers=staff.headers)
    assert empty.text.lstrip("\ufeff").strip() == ",".join(CreditNoteCsvRow.model_fields)


def test_a_customer_prints_its_own_invoices_and_credit_notes_only(
    client: TestClient, staff: SignedIn, shelf: Shelf
) -> None:
    papers = []
    for name in ("Corner Shop", "Rival Shop"):
        shopper = register_customer(client, name)
        order = place_order(client, shopper.headers, None, [order_line(shelf.nuts, "1")])
        order = advance(client, staff.headers, order["id"], "confirm", "ship")
        invoice = issued(client, staff.headers, shipment_of(order))
        lines = [{"invoice_line_id": invoice["lines"][0]["id"], "amount": "0.50"}]
        _, note = credit(client, staff.headers, invoice["id"], lines)
        papers.append(
            (shopper, f"{INVOICES}/{invoice['id']}/pdf", f"{CREDIT_NOTES}/{note['id']}/pdf")
        )

    (own, *mine), (rival, *theirs) = papers
    for path in mine:
        response = client.get(path, headers=own.headers)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
    for path in theirs:
        assert_problem(client.get(path, headers=own.headers), 404, "not-found")
    for path in (f"{INVOICES}/{theirs[0].split('/')[-2]}", CREDIT_NOTES):
        assert client.get(path, headers=rival.headers).status_code == 403
