"""The product page's ledger: newest first by the time each movement happened (the later
recorded first when two share a time), each row naming its lot by code, linked to the lot."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.core.formatting import moment
from app.models.user import Role
from app.services import stock
from app.services.audit import Actor
from app.services.stock import MovementContext, ReceiptLine
from tests.conftest import MakeUser
from tests.support.factories import create_product, create_warehouse
from tests.support.pages import Node, logged_in, page_of

ACTOR = Actor(user_id=None, label="ledger")


def received(product_id: int, warehouse_id: int, code: str, quantity: str, at: datetime) -> int:
    """A receipt into lot ``code`` recorded as happening ``at``; the movement's id."""
    line = ReceiptLine(product_id, warehouse_id, code, Decimal(quantity))
    with session_scope() as db:
        return stock.receive(db, MovementContext(actor=ACTOR, occurred_at=at), line).id


def ledger_rows(page: Node) -> list[Node]:
    return page.find("section", aria_labelledby="ledger").find("tbody").find_all("tr")


def test_the_ledger_is_newest_first_with_lot_codes_linked(
    client: TestClient, make_user: MakeUser
) -> None:
    product_id = create_product(sku="FIG-LEDGER")
    main = create_warehouse(code="MAIN")
    now = datetime.now(UTC).replace(microsecond=0)
    # Recorded in this order, happened in another: back-dated history, and a tie at "tie".
    tie = now - timedelta(days=3)
    first = received(product_id, main, "LOT-TODAY", "1", now)
    second = received(product_id, main, "LOT-OLD", "2", now - timedelta(days=10))
    third = received(product_id, main, "LOT-TIE-A", "3", tie)
    fourth = received(product_id, main, "LOT-TIE-B", "4", tie)
    fifth = received(product_id, main, "LOT-MID", "5", now - timedelta(days=5))
    logged_in(client, make_user, Role.MANAGER)

    rows = ledger_rows(page_of(client.get(f"/products/{product_id}")))

    assert [int(row.attrs["data-movement"]) for row in rows] == [
        first,
        fourth,  # the later recorded of the two at the same time
        third,
        fifth,
        second,
    ]
    times = [row.find("time") for row in rows]
    instants = [datetime.fromisoformat(time.attrs["datetime"]) for time in times]
    assert instants == sorted(instants, reverse=True)
    assert [time.text for time in times] == [moment(instant) for instant in instants]
    lots = [row.find_all("td")[2] for row in rows]
    assert [cell.text for cell in lots] == [
        "LOT-TODAY",
        "LOT-TIE-B",
        "LOT-TIE-A",
        "LOT-MID",
        "LOT-OLD",
    ]
    for cell in lots:
        href = cell.find("a").attrs["href"]
        assert href.startswith("/lots/")
        lot_page = page_of(client.get(href))
        assert lot_page.find("h1").text.startswith(f"Lot {cell.text}")
