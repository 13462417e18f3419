"""What placing and confirming an order costs the database, on the engine and on the async
path: the products read once, one statement more for each line placed, none or two for each
share a confirmation takes, and no shipments looked for on an order that cannot have any yet;
on PostgreSQL, as many round trips whatever the number of lines."""

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import Stocked
from tests.support.callers import SignedIn
from tests.support.queries import round_trips, statements
from tests.support.sales import ORDERS, Json, order_body, order_line

ORDER_READS = "FROM sales_orders"
SHIPMENT_READS = "FROM shipments"


def _sent(client: TestClient, headers: dict[str, str], path: str, body: Json | None) -> list[str]:
    with statements() as sent:
        response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return sent


def _two_and_four_lines(stocked: Stocked) -> tuple[list[Json], list[Json]]:
    """Two lines (dates and apricots), and the same two again with two more of each."""
    shop = stocked.shop
    two = [order_line(shop.dates, "1"), order_line(shop.apricots, "1")]
    return two, [*two, order_line(shop.dates, "2"), order_line(shop.apricots, "2")]


def _mentioning(sent: list[str], words: str) -> list[str]:
    return [statement for statement in sent if words in " ".join(statement.split())]


def test_placing_sends_one_statement_more_per_line_and_no_more(
    client: TestClient, manager: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    two, four = _two_and_four_lines(stocked)

    placed = [
        _sent(client, manager.headers, ORDERS, order_body(shop.customer, lines))
        for lines in (two, four)
    ]

    for sent, lines in zip(placed, (two, four), strict=True):
        assert len(_mentioning(sent, "FROM products")) == 1, sent
        assert len(_mentioning(sent, "INSERT INTO sales_order_lines")) == len(lines), sent
        assert _mentioning(sent, "FROM sales_order_lines") == [], sent  # the insert returns them
        assert _mentioning(sent, SHIPMENT_READS) == [], sent
    assert len(placed[1]) - len(placed[0]) == len(four) - len(two)


def test_confirming_sends_at_most_two_statements_more_per_share(
    client: TestClient, manager: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    two, four = _two_and_four_lines(stocked)
    confirming = []
    for lines in (two, four):
        placed = client.post(ORDERS, json=order_body(shop.customer, lines), headers=manager.headers)
        order = placed.json()
        sent = _sent(client, manager.headers, f"{ORDERS}/{order['id']}/confirm", None)
        confirming.append(sent)
        confirmed = client.get(f"{ORDERS}/{order['id']}", headers=manager.headers).json()
        assert confirmed["status"] == "confirmed"
        assert [len(line["allocations"]) for line in confirmed["lines"]] == [1] * len(lines)

    for sent, lines in zip(confirming, (two, four), strict=True):
        assert len(_mentioning(sent, "UPDATE sales_orders")) == 1, sent
        assert _mentioning(sent, ORDER_READS) == [], sent
        assert _mentioning(sent, SHIPMENT_READS) == [], sent
        # a share each: the engine sends a list of rows as one executemany, the async path
        # each row, prepared
        assert len(_mentioning(sent, "UPDATE stock_levels")) in (1, len(lines)), sent
        assert len(_mentioning(sent, "INSERT INTO reservations")) in (1, len(lines)), sent
    more_shares = len(four) - len(two)  # none more on the engine, a reservation and a take
    assert len(confirming[1]) - len(confirming[0]) in (0, 2 * more_shares)


@pytest.mark.postgres
def test_placing_and_confirming_take_as_many_round_trips_for_four_lines_as_for_two(
    client: TestClient, manager: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    two, four = _two_and_four_lines(stocked)
    for _ in range(2):  # each statement prepared on the connections first
        warm = client.post(ORDERS, json=order_body(shop.customer, two), headers=manager.headers)
        client.post(f"{ORDERS}/{warm.json()['id']}/confirm", headers=manager.headers)

    trips = []
    for lines in (two, four):
        with round_trips() as placing:
            placed = client.post(
                ORDERS, json=order_body(shop.customer, lines), headers=manager.headers
            )
        with round_trips() as confirming:
            path = f"{ORDERS}/{placed.json()['id']}/confirm"
            confirmed = client.post(path, headers=manager.headers)
        assert confirmed.status_code == 200, confirmed.text
        trips.append((len(placing), len(confirming)))

    assert trips[0] == trips[1], trips
    placing_trips, confirming_trips = trips[0]
    # the caller's session, then: the customer (with the BEGIN), the products, the order,
    # its number and lines, the audit entry with the COMMIT
    assert placing_trips <= 6, trips
    # the caller's session, then: the order claimed (with the BEGIN), its lines, the levels,
    # the reservations, the audit entry and the shares taken with the COMMIT
    assert confirming_trips <= 5, trips
