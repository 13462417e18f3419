"""The lots index: found by the whole lot code or its start, in any case, exact matches first;
each row with its product, what each warehouse holds, best-before and status, linking the lot."""

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.factories import create_lot
from tests.support.pages import Node, logged_in, page_of
from tests.support.stock import make_product, make_warehouse


def rows(page: Node) -> list[list[str]]:
    """The lots listed, each as its cells' texts."""
    listed = []
    for row in page.find("tbody").find_all("tr"):
        cells = [cell.text for cell in row.find_all("td")]
        if len(cells) > 1:
            listed.append(cells)
    return listed


def codes(client: TestClient, q: str) -> list[str]:
    return [cells[0] for cells in rows(page_of(client.get("/lots", params={"q": q})))]


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.STAFF)


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.STAFF, 200), (Role.CUSTOMER, 403)],
)
def test_the_index_opens_for_the_roles_that_read_stock(
    client: TestClient, make_user: MakeUser, role: Role, status: int
) -> None:
    logged_in(client, make_user, role)

    assert client.get("/lots").status_code == status


def test_a_lot_is_found_by_its_code_or_its_start_in_any_case(
    client: TestClient, staff: None
) -> None:
    dates, figs = make_product("DATE"), make_product("FIG")
    main = make_warehouse("MAIN")
    for product, code in [
        (dates, "TR-2024-0117"),
        (dates, "TR-2024-01"),
        (figs, "tr-2024-0118"),
        (figs, "XTR-2024-01"),
    ]:
        create_lot(product_id=product, warehouse_id=main, lot_code=code, quantity="5")

    assert codes(client, "TR-2024-01") == ["TR-2024-01", "TR-2024-0117", "tr-2024-0118"]
    assert codes(client, "tr-2024-0117") == ["TR-2024-0117"]
    assert codes(client, "2024") == []
    assert codes(client, "X") == ["XTR-2024-01"]
    assert len(codes(client, "")) == 4


def test_a_row_shows_product_holdings_expiry_status_and_links_the_lot(
    client: TestClient, staff: None
) -> None:
    dates = make_product("DATE")
    main, cold = make_warehouse("MAIN"), make_warehouse("COLD")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="LOT-A", quantity="12.5")
    create_lot(product_id=dates, warehouse_id=cold, lot_code="LOT-A", quantity="3")

    page = page_of(client.get("/lots", params={"q": "lot-a"}))

    [cells] = rows(page)
    assert cells[0] == "LOT-A"
    assert cells[1].startswith("DATE")
    assert "COLD: 3 kg" in cells[2]
    assert "MAIN: 12.5 kg" in cells[2]
    assert cells[4] == "available"
    assert page.find("tbody").find("a", href=f"/lots/{lot}").text == "LOT-A"
    assert client.get(f"/lots/{lot}").status_code == 200


def test_a_search_that_finds_nothing_says_so(client: TestClient, staff: None) -> None:
    page = page_of(client.get("/lots", params={"q": "NOPE"}))

    assert rows(page) == []
    assert "NOPE" in page.find("tbody").text
