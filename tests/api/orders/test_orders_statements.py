"""What placing and confirming an order costs the database: the products read once to place
one, the order read once to confirm it, and no shipments looked for on an order that cannot
have any yet."""

from fastapi.testclient import TestClient

from tests.api.orders.scenes import Stocked
from tests.support.callers import SignedIn
from tests.support.queries import statements
from tests.support.sales import ORDERS, Json, order_body, order_line

ORDER_READS = "FROM sales_orders"
SHIPMENT_READS = "FROM shipments"


def _sent(client: TestClient, headers: dict[str, str], path: str, body: Json | None) -> list[str]:
    with statements() as sent:
        response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return sent


def _mentioning(sent: list[str], words: str) -> list[str]:
    return [statement for statement in sent if words in " ".join(statement.split())]


def test_placing_reads_the_products_once_however_many_lines(
    client: TestClient, manager: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    two = [order_line(shop.dates, "1"), order_line(shop.apricots, "1")]
    four = [*two, order_line(shop.dates, "2"), order_line(shop.apricots, "2")]

    placed = [
        _sent(client, manager.headers, ORDERS, order_body(shop.customer, lines))
        for lines in (two, four)
    ]

    for sent in placed:
        assert len(_mentioning(sent, "FROM products")) == 1, sent
        assert _mentioning(sent, SHIPMENT_READS) == [], sent


def test_confirming_reads_the_order_once_and_no_shipments(
    client: TestClient, manager: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    lines = [order_line(shop.dates, "1"), order_line(shop.apricots, "1")]
    placed = client.post(ORDERS, json=order_body(shop.customer, lines), headers=manager.headers)
    order = placed.json()

    sent = _sent(client, manager.headers, f"{ORDERS}/{order['id']}/confirm", None)

    assert len(_mentioning(sent, ORDER_READS)) == 1, sent
    assert _mentioning(sent, SHIPMENT_READS) == [], sent
    confirmed = client.get(f"{ORDERS}/{order['id']}", headers=manager.headers).json()
    assert confirmed["status"] == "confirmed"
    assert [len(line["allocations"]) for line in confirmed["lines"]] == [1, 1]
    assert confirmed["shipments"] == []
