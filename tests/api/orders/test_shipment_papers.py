"""A shipment's papers as PDFs, read the way a person's reader reads them: the pick list names
every lot to pick, warehouse by warehouse and first to expire first, with its best-before,
quantity and net weight; the delivery note names where the goods go, each lot with its origin,
organic status and weight, and the totals; both carry the numbers and page on every page."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.core.formatting import country, day, quantity
from app.models.catalog import UnitOfMeasure
from app.services import stock
from app.services.audit import Actor
from app.services.stock import MovementContext
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.factories import create_lot, create_product, create_warehouse
from tests.support.pdf import pdf_pages, plain
from tests.support.problems import assert_problem
from tests.support.sales import CUSTOMERS, Json, advance, dec, order_line, place_order
from tests.support.shipments import (
    SHIPMENTS,
    make_partial_customer,
    pick_all,
    plan_pick,
    shipment_action,
)

FIGS_WEIGHT = Decimal("0.25")
ADDRESS = {
    "kind": "delivery",
    "recipient": "Goods In, Gate 4",
    "street": "12 Harbour Lane",
    "postal_code": "20457",
    "city": "Hamburg",
    "country": "DE",
    "is_default": True,
}


@dataclass(frozen=True)
class Papers:
    """A shipment to pick of a customer delivered to Hamburg: line 1 is 5 kg of organic dates
    from Türkiye (3.5 from D-EARLY in SOUTH, then 1.5 from D-LATE in NORTH), line 2 is 4 packs
    of 0.25 kg of figs from Iran (F-1 in NORTH, expiring before D-LATE)."""

    order: Json
    shipment: Json
    dates_sku: str
    figs_sku: str

    def line(self, lot_code: str) -> Json:
        """The shipment's line picked from ``lot_code``."""
        return next(line for line in self.shipment["lines"] if line["lot_code"] == lot_code)


@pytest.fixture
def papers(client: TestClient, admin: SignedIn, staff: SignedIn) -> Papers:
    """An order confirmed and its whole shipment planned for picking."""
    dates_sku, figs_sku = "DATE-DEGLET", "FIG-250G"
    dates = create_product(sku=dates_sku, origin_country="TR", is_organic=True)
    figs = create_product(
        sku=figs_sku,
        unit=UnitOfMeasure.PACK,
        net_weight_kg=FIGS_WEIGHT,
        origin_country="IR",
        is_organic=False,
    )
    north = create_warehouse(code="NORTH")
    south = create_warehouse(code="SOUTH")
    today = date.today()
    create_lot(
        product_id=dates,
        warehouse_id=north,
        quantity="10",
        lot_code="D-LATE",
        best_before=today + timedelta(days=100),
    )
    create_lot(
        product_id=dates,
        warehouse_id=south,
        quantity="3.5",
        lot_code="D-EARLY",
        best_before=today + timedelta(days=20),
    )
    create_lot(product_id=figs, warehouse_id=north, quantity="6", lot_code="F-1",
               best_before=today + timedelta(days=50))  # fmt: skip
    customer = make_partial_customer(client, admin.headers, name="Hanse Feinkost")
    address = client.post(f"{CUSTOMERS}/{customer}/addresses", json=ADDRESS, headers=admin.headers)
    assert address.status_code == 201, address.text
    order = place_order(
        client, staff.headers, customer, [order_line(dates, "5"), order_line(figs, "4")]
    )
    order = advance(client, staff.headers, order["id"], "confirm")
    shipment = plan_pick(client, staff.headers, order["id"])
    return Papers(order, shipment, dates_sku, figs_sku)


def printed(client: TestClient, caller: SignedIn, shipment: Json, paper: str) -> list[str]:
    """The pages of one of a shipment's papers (pick-list, delivery-note), fetched as
    ``caller``."""
    response = client.get(f"{SHIPMENTS}/{shipment['id']}/{paper}", headers=caller.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'inline; filename="{shipment["number"]}-{paper}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    return pdf_pages(response.content)


def best_before(line: Json) -> str:
    """A shipment line's best-before as the company's locale prints it."""
    return plain(day(date.fromisoformat(line["best_before"])))


def kilograms(value: Decimal) -> str:
    """A weight as the papers print it."""
    return plain(quantity(value, "kg"))


def positions(page: str, *texts: str) -> list[int]:
    """Where each of ``texts`` first appears on ``page`` (each must appear)."""
    found = [page.find(text) for text in texts]
    assert -1 not in found, (texts, found, page)
    return found


# =========================================================================== the pick list


def test_the_pick_list_names_every_lot_warehouse_by_warehouse_first_to_expire_first(
    client: TestClient, staff: SignedIn, papers: Papers
) -> None:
    [page] = printed(client, staff, papers.shipment, "pick-list")

    assert f"Pick list\n{papers.shipment['number']}" in page
    assert papers.shipment["number"].startswith("SHP-")
    assert papers.order["number"].startswith("SO-")
    assert papers.order["number"] in page
    assert "Hanse Feinkost" in page
    rows = {
        "D-EARLY": (papers.dates_sku, UnitOfMeasure.KG, Decimal("3.5"), Decimal("3.5")),
        "D-LATE": (papers.dates_sku, UnitOfMeasure.KG, Decimal("1.5"), Decimal("1.5")),
        "F-1": (papers.figs_sku, UnitOfMeasure.PACK, Decimal(4), 4 * FIGS_WEIGHT),
    }
    for lot_code, (sku, unit, amount, net) in rows.items():
        line = papers.line(lot_code)
        assert dec(line["quantity"]) == amount
        start = page.index(lot_code)
        row = page[page.rindex(sku, 0, start) : start + 80]
        assert best_before(line) in row, row
        assert plain(quantity(amount, unit.value)) in row, row
        assert kilograms(net) in row, row
    # NORTH's lots in best-before order (figs before the later dates, though line 2), then
    # SOUTH's; each lot listed once.
    north, figs, late, south, early = positions(
        page, "Warehouse NORTH", "F-1", "D-LATE", "Warehouse SOUTH", "D-EARLY"
    )
    assert north < figs < late < south < early
    assert [page.count(code) for code in rows] == [1, 1, 1]
    assert "Page 1 of 1" in page
    assert "Cancelled" not in page


def test_a_cancelled_pick_list_says_so(client: TestClient, staff: SignedIn, papers: Papers) -> None:
    cancelled = shipment_action(client, staff.headers, papers.shipment["id"], "cancel")
    assert cancelled.status_code == 200, cancelled.text

    for paper in ("pick-list", "delivery-note"):
        [page] = printed(client, staff, papers.shipment, paper)
        assert "STATUS\nCancelled" in page, page


# =========================================================================== the delivery note


def test_the_delivery_note_names_the_address_each_lot_and_the_totals(
    client: TestClient, staff: SignedIn, papers: Papers
) -> None:
    [before] = printed(client, staff, papers.shipment, "delivery-note")
    assert "SHIPPED\nnot yet" in before
    shipment = pick_all(client, staff.headers, papers.shipment)
    sent = shipment_action(client, staff.headers, shipment["id"], "dispatch")
    assert sent.status_code == 200, sent.text

    [page] = printed(client, staff, sent.json(), "delivery-note")

    assert f"Delivery note\n{papers.shipment['number']}" in page
    assert f"ORDER\n{papers.order['number']}" in page
    assert f"SHIPMENT\n{papers.shipment['number']}" in page
    shipped_on = plain(day(datetime.fromisoformat(sent.json()["shipped_at"])))
    assert f"SHIPPED\n{shipped_on}" in page
    address = ["Hanse Feinkost", "Goods In, Gate 4", "12 Harbour Lane", "20457 Hamburg"]
    assert "\n".join(["DELIVER TO", *address, country("DE")]) in page, page
    assert country("DE") == "Germany"
    # Lines in line order: the dates from both their lots, then the figs.
    early, late, figs = positions(page, "D-EARLY", "D-LATE", "F-1")
    assert early < late < figs
    expected = {
        "D-EARLY": (country("TR"), "Organic", "—", Decimal("3.5")),
        "D-LATE": (country("TR"), "Organic", "—", Decimal("1.5")),
        "F-1": (country("IR"), "No", "4", 4 * FIGS_WEIGHT),
    }
    for lot_code, (origin, organic, packs, net) in expected.items():
        line = papers.line(lot_code)
        start = page.index(lot_code)
        row = page[start : start + 80]
        assert plain(f"{best_before(line)} {origin} {organic} {packs} {kilograms(net)}") in row, row
    total_kg = Decimal("3.5") + Decimal("1.5") + 4 * FIGS_WEIGHT
    assert plain(f"Total 4 {kilograms(total_kg)}") in page, page
    assert "Page 1 of 1" in page


# =========================================================================== long and missing


def test_a_long_shipment_carries_its_number_and_page_on_every_page(
    client: TestClient, admin: SignedIn, staff: SignedIn
) -> None:
    product = create_product(sku="DATE-LOOSE")
    warehouse = create_warehouse(code="BULK")
    today = date.today()
    codes = [f"L-{n:03d}" for n in range(70)]
    for n, code in enumerate(codes):
        create_lot(product_id=product, warehouse_id=warehouse, quantity="1", lot_code=code,
                   best_before=today + timedelta(days=30 + n))  # fmt: skip
    customer = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, customer, [order_line(product, str(len(codes)))])
    order = advance(client, staff.headers, order["id"], "confirm")
    shipment = plan_pick(client, staff.headers, order["id"])
    assert [line["lot_code"] for line in shipment["lines"]] == codes

    for paper in ("pick-list", "delivery-note"):
        pages = printed(client, staff, shipment, paper)

        assert len(pages) >= 2, paper
        for number, page in enumerate(pages, start=1):
            assert shipment["number"] in page, (paper, number)
            assert f"Page {number} of {len(pages)}" in page, (paper, number)
        text = "\n".join(pages)
        assert [text.count(code) for code in codes] == [1] * len(codes), paper
        assert positions(text, *codes) == sorted(positions(text, *codes)), paper


def test_the_papers_of_an_unknown_shipment_are_not_found(
    client: TestClient, staff: SignedIn
) -> None:
    for paper in ("pick-list", "delivery-note"):
        assert_problem(client.get(f"{SHIPMENTS}/{UNKNOWN_ID}/{paper}", headers=staff.headers), 404)


def test_the_delivery_note_shows_a_lot_once_whichever_warehouses_it_left(
    client: TestClient, admin: SignedIn, staff: SignedIn
) -> None:
    """A lot split over two warehouses is one line for the customer, with its whole weight;
    the pick list keeps one line per warehouse for the picker."""
    dates = create_product(sku="DATE-SPLIT", price="8.00")
    main, spare = create_warehouse(code="MAIN"), create_warehouse(code="SPARE")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="D-SPLIT", quantity="10")
    with session_scope() as db:
        context = MovementContext(actor=Actor(user_id=None, label="papers-tests"))
        stock.transfer(
            db, context, product_id=dates, lot_id=lot, from_warehouse_id=main,
            to_warehouse_id=spare, quantity=Decimal(4),
        )  # fmt: skip
    customer = client.post(CUSTOMERS, json={"name": "Split Foods"}, headers=admin.headers)
    order = place_order(client, staff.headers, customer.json()["id"], [order_line(dates, "10")])
    shipped = advance(client, staff.headers, order["id"], "confirm", "ship")
    [shipment] = shipped["shipments"]

    [note] = printed(client, staff, shipment, "delivery-note")
    [picks] = printed(client, staff, shipment, "pick-list")

    assert len(shipment["lines"]) == 2
    assert note.count("D-SPLIT") == 1
    assert plain(quantity(Decimal(10), "kg")) in note
    assert picks.count("D-SPLIT") == 2
