"""The lot-trace and report CSV downloads, from the API and from the pages, hold no cell that a
spreadsheet would run as a formula: text hidden behind a blank, a line break, a fullwidth sign
or a separator that some spreadsheets split on is guarded too, and negative numbers stay
numbers."""

import csv
import io

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import update

from app.core.database import SessionLocal
from app.models.catalog import Product
from app.models.user import Role
from app.schemas.reports import ValuationRow
from app.schemas.trace import TraceEvent
from tests.conftest import MakeUser
from tests.support.callers import SignedIn
from tests.support.csv_cells import dangerous, is_number
from tests.support.pages import browser, logged_in
from tests.support.stock import ADJUSTMENTS, API, World, make_product, receive

HYPERLINK = '=HYPERLINK("http://evil.example","x")'
# What the penetration test slipped past the guard, and what each must come out as.
HOSTILE = {
    "after-a-space": (" " + HYPERLINK, "' " + HYPERLINK),
    "after-a-line-break": ("\n" + HYPERLINK, "\n'" + HYPERLINK),
    "fullwidth": ("\uff1dHYPERLINK(1)", "'\uff1dHYPERLINK(1)"),
    "after-a-semicolon": ("a;" + HYPERLINK, "a;'" + HYPERLINK),
}


@pytest.fixture
def pages(client: TestClient, make_user: MakeUser) -> TestClient:
    """A browser logged in to the pages as a manager (reports and traces)."""
    page_client = browser()
    logged_in(page_client, make_user, Role.MANAGER)
    return page_client


def rows_of(response: Response, columns: list[str]) -> list[dict[str, str]]:
    """The rows of a CSV download, after checking that no cell of it is a formula whatever
    delimiter a spreadsheet splits on (negative numbers aside)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    for delimiter in (",", ";", "\t", "|"):
        for row in csv.reader(io.StringIO(response.text, newline=""), delimiter=delimiter):
            for cell in row:
                assert dangerous(cell) == [] or is_number(cell.strip()), (delimiter, cell)
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert reader.fieldnames == columns
    return list(reader)


def test_lot_trace_csv_guards_hidden_formulas(
    client: TestClient, admin: SignedIn, world: World, pages: TestClient
) -> None:
    h = admin.headers
    lot = receive(client, h, world.kg_product, world.main, "L-CSV", "10")["lot_id"]
    for reason, _ in HOSTILE.values():
        body = {
            "product_id": world.kg_product,
            "lot_id": lot,
            "warehouse_id": world.main,
            "quantity": "-0.5",
            "reason": reason,
        }
        response = client.post(ADJUSTMENTS, json=body, headers=h)
        assert response.status_code == 201, response.text

    columns = list(TraceEvent.__annotations__)
    for response in (
        client.get(f"{API}/trace/lots/{lot}", params={"format": "csv"}, headers=h),
        pages.get(f"/lots/{lot}/trace.csv"),
    ):
        rows = [row for row in rows_of(response, columns) if row["kind"] == "adjustment"]
        assert [row["reason"] for row in rows] == [cell for _, cell in HOSTILE.values()]
        assert {row["quantity"] for row in rows} == {"-0.500"}  # numbers, not guarded


def test_report_csv_guards_hidden_formulas(
    client: TestClient, admin: SignedIn, world: World, pages: TestClient
) -> None:
    """Product names as stored (an import or an older release may have kept them untrimmed)
    in the stock valuation."""
    names = {}
    for index, (name, cell) in enumerate(HOSTILE.values()):
        sku = f"EVIL-{index}"
        product = make_product(sku)
        with SessionLocal() as db:
            db.execute(update(Product).where(Product.id == product).values(name=name))
            db.commit()
        receive(client, admin.headers, product, world.main, f"L-EVIL-{index}", "1")
        names[sku] = cell

    columns = list(ValuationRow.model_fields)
    for response in (
        client.get(
            f"{API}/reports/stock-valuation", params={"format": "csv"}, headers=admin.headers
        ),
        pages.get("/reports/valuation.csv"),
    ):
        rows = rows_of(response, columns)
        assert {row["sku"]: row["name"] for row in rows if row["sku"] in names} == names
