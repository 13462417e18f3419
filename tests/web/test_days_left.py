"""Days left read as words, by one helper, on every page that shows them: "expires in 3 days",
"expires today", "expired 6 days ago", never a negative count."""

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from app.models.inventory import LotStatus
from app.models.user import Role
from app.services.expiry import days_left_text
from tests.conftest import MakeUser
from tests.support.factories import create_lot, create_product, create_warehouse
from tests.support.pages import Node, logged_in, page_of


@pytest.mark.parametrize(
    ("days", "status", "words"),
    [
        (3, LotStatus.AVAILABLE, "expires in 3 days"),
        (1, LotStatus.AVAILABLE, "expires tomorrow"),
        (0, LotStatus.AVAILABLE, "expires today"),
        (-1, LotStatus.AVAILABLE, "expired yesterday"),
        (-6, LotStatus.AVAILABLE, "expired 6 days ago"),
        (-6, LotStatus.EXPIRED, "expired 6 days ago"),
        (0, LotStatus.EXPIRED, "marked expired"),
        (12, LotStatus.EXPIRED, "marked expired"),
        (12, LotStatus.QUARANTINE, "expires in 12 days"),
    ],
)
def test_days_left_in_words(days: int, status: LotStatus, words: str) -> None:
    assert days_left_text(days, status) == words


def days_left_cells(page: Node) -> dict[str, str]:
    """The words beside each days-left count a page shows, by that count."""
    return {node.attrs["data-days-left"]: node.text for node in page.find_all(data_days_left=None)}


def test_every_page_says_it_in_the_same_words(client: TestClient, make_user: MakeUser) -> None:
    product_id = create_product(sku="FIG-DAYS")
    main = create_warehouse(code="MAIN")
    today = date.today()
    lots = {}
    for code, days in (("PAST", -6), ("TODAY", 0), ("SOON", 3)):
        best_before = today + timedelta(days=days)
        lots[days] = create_lot(
            product_id=product_id,
            warehouse_id=main,
            quantity="5",
            lot_code=code,
            best_before=best_before,
            received_date=best_before - timedelta(days=30),
        )
    logged_in(client, make_user, Role.ADMIN)
    expected = {"-6": "expired 6 days ago", "0": "expires today", "3": "expires in 3 days"}

    for path in ("/alerts", "/reports"):
        page = page_of(client.get(path))
        assert days_left_cells(page) == expected, path
        assert "Days left" not in page.text
    for days, lot_id in lots.items():
        page = page_of(client.get(f"/lots/{lot_id}"))
        assert days_left_cells(page) == {str(days): f"({expected[str(days)]})"}
    assert (
        "-6" not in page_of(client.get("/alerts")).find("section", aria_labelledby="expired").text
    )
