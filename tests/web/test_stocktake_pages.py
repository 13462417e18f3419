"""Stocktake: a refused count marks the box that is wrong and keeps what was typed, a blind count
hides the book quantities and books the same, and a count sheet prints the lots to count."""

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.pages import Node, form_fields, logged_in, page_of
from tests.support.stock import Shelves, level_rows, make_shelves, snapshot


@pytest.fixture
def shelves() -> Shelves:
    return make_shelves()


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)


def count(client: TestClient, values: dict[str, object]) -> Response:
    data = {**form_fields(client), **{name: str(value) for name, value in values.items()}}
    return client.post("/count", data=data, follow_redirects=False)


def rows_of(table: Node) -> list[list[str]]:
    return [
        [cell.text for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")
    ]


def headers_of(table: Node) -> list[str]:
    return [cell.text for cell in table.find("thead").find_all("th")]


def box(page: Node, lot: int) -> Node:
    return page.find("input", name=f"lot_{lot}")


def on_hand(shelves: Shelves, lot: int) -> Decimal:
    return level_rows()[(shelves.product, shelves.main, lot)][0]


# --------------------------------------------------------------------------- refused counts


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "The counted quantity cannot be less than 0."),
        ("lots", "Enter a number, e.g. 12.5"),
    ],
)
def test_a_refused_count_marks_the_box_and_keeps_what_was_typed(
    client: TestClient, staff: None, shelves: Shelves, typed: str, message: str
) -> None:
    before = snapshot()
    sent = {
        "warehouse_id": shelves.main,
        f"lot_{shelves.early}": typed,
        f"lot_{shelves.late}": "39",
        "reference": "CS-7",
    }

    page = page_of(count(client, sent), 422)

    wrong, right = box(page, shelves.early), box(page, shelves.late)
    assert wrong.attrs["aria-invalid"] == "true"
    assert wrong.attrs["aria-describedby"] == f"e-lot_{shelves.early}"
    assert page.find("p", id=f"e-lot_{shelves.early}").text == message
    assert "aria-invalid" not in right.attrs
    assert (wrong.attrs["value"], right.attrs["value"]) == (typed, "39")
    assert page.find("input", name="reference").attrs["value"] == "CS-7"
    assert snapshot() == before


def test_a_count_below_the_reservations_is_marked_beside_its_lot(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    before = snapshot()
    sent = {"warehouse_id": shelves.main, f"lot_{shelves.early}": "1", f"lot_{shelves.late}": "39"}

    page = page_of(count(client, sent), 409)

    wrong = box(page, shelves.early)
    assert wrong.attrs["aria-invalid"] == "true"
    beside = page.find("p", id=f"e-lot_{shelves.early}").text
    assert beside.startswith("Lot EARLY-1 has 2")
    assert "reserved, more than the 1 counted" in beside
    assert page.find("p", role="alert").text == beside
    assert "aria-invalid" not in box(page, shelves.late).attrs
    assert box(page, shelves.late).attrs["value"] == "39"
    assert snapshot() == before


# --------------------------------------------------------------------------- blind count


def test_a_blind_count_hides_the_book_quantities(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    open_page = page_of(client.get("/count", params={"warehouse_id": shelves.main}))
    blind_page = page_of(client.get("/count", params={"warehouse_id": shelves.main, "blind": 1}))

    opened, blind = open_page.find("table"), blind_page.find("table")
    assert "Book quantity" in headers_of(opened)
    assert [row[3] for row in rows_of(opened)] == ["10 kg", "40 kg"]
    assert headers_of(blind) == ["Product", "Lot", "Best before", "Counted"]
    assert [[*row[:3], str(len(row))] for row in rows_of(blind)] == [
        ["DATE · Product DATE", "EARLY-1", shelves.shown("EARLY"), "4"],
        ["DATE · Product DATE", "LATE-1", shelves.shown("LATE"), "4"],
    ]
    assert " kg" not in " ".join(" ".join(row[:3]) for row in rows_of(blind))
    booking = blind_page.find("form", method="post", action="/count")
    assert booking.find("input", name="blind").attrs == {
        "type": "hidden",
        "name": "blind",
        "value": "1",
    }
    toggle = blind_page.find("a", href=f"/count?warehouse_id={shelves.main}")
    assert toggle.text == "Show book quantities"
    assert open_page.find("a", href=f"/count?warehouse_id={shelves.main}&blind=1")


def test_a_blind_count_books_like_an_open_one_and_stays_blind(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    sent = {"warehouse_id": shelves.main, "blind": "1", f"lot_{shelves.late}": "38"}

    response = count(client, sent)

    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"/count?warehouse_id={shelves.main}&booked=1&blind=1"
    assert on_hand(shelves, shelves.late) == Decimal(38)
    page = page_of(client.get(response.headers["location"]))
    assert "Book quantity" not in headers_of(page.find("table"))


def test_a_refused_blind_count_stays_blind(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    sent = {"warehouse_id": shelves.main, "blind": "1", f"lot_{shelves.late}": "-1"}

    page = page_of(count(client, sent), 422)

    assert "Book quantity" not in headers_of(page.find("table"))
    assert "40 kg" not in page.find("table").text


# --------------------------------------------------------------------------- count sheet


def test_the_stocktake_links_its_count_sheet(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    page = page_of(client.get("/count", params={"warehouse_id": shelves.main, "blind": 1}))

    link = page.find("a", href=f"/count/sheet?warehouse_id={shelves.main}&blind=1")
    assert link.text == "Print a count sheet"
    assert page_of(client.get("/count")).find("a", href="/count/sheet").text == (
        "Print a count sheet of every warehouse"
    )


def test_the_count_sheet_lists_the_lots_of_each_warehouse_with_an_empty_column(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    page = page_of(client.get("/count/sheet"))

    sections = page.find_all("section", class_="sheet")
    assert [section.find("h2").text for section in sections] == [
        "COLD · Warehouse COLD",
        "MAIN · Warehouse MAIN",
    ]
    cold, main = (section.find("table") for section in sections)
    assert headers_of(main) == [
        "Product",
        "Lot",
        "Best before",
        "Unit",
        "Book quantity",
        "Counted",
    ]
    assert rows_of(cold) == [
        ["DATE · Product DATE", "LATE-1", shelves.shown("LATE"), "kg", "5", ""]
    ]
    assert rows_of(main) == [
        ["DATE · Product DATE", "EARLY-1", shelves.shown("EARLY"), "kg", "10", ""],
        ["DATE · Product DATE", "LATE-1", shelves.shown("LATE"), "kg", "40", ""],
    ]


def test_a_blind_count_sheet_of_one_warehouse_has_no_book_quantities(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    page = page_of(client.get("/count/sheet", params={"warehouse_id": shelves.main, "blind": 1}))

    [section] = page.find_all("section", class_="sheet")
    table = section.find("table")
    assert headers_of(table) == ["Product", "Lot", "Best before", "Unit", "Counted"]
    assert rows_of(table) == [
        ["DATE · Product DATE", "EARLY-1", shelves.shown("EARLY"), "kg", ""],
        ["DATE · Product DATE", "LATE-1", shelves.shown("LATE"), "kg", ""],
    ]


def test_the_count_sheet_prints_on_a4_without_the_page_around_it(
    client: TestClient, staff: None, shelves: Shelves
) -> None:
    page = page_of(client.get("/count/sheet"))
    stylesheet = client.get("/static/css/app.css").text

    assert "no-print" in page.find("form", action="/count/sheet").attrs["class"].split()
    printing = stylesheet[stylesheet.index("@media print") :]
    assert "size: A4" in printing
    hidden = re.search(r"\n\s*([^{}]*)\{\s*display: none", printing)
    assert hidden is not None
    assert {"header.topbar", ".no-print"} <= {part.strip() for part in hidden.group(1).split(",")}
