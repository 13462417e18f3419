"""Who may do what with purchase orders: managers write, staff read and receive, customers
and anonymous callers are refused."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.user import Role
from tests.api.purchasing.calls import (
    PURCHASES,
    SUGGESTED_ORDER,
    SUGGESTIONS,
    arrival,
    assert_refused,
    cancel_po,
    create_po,
    deliver,
    delivery_body,
    get_po,
    list_ids,
    ok,
    ok_list,
    ordered_po,
    po_body,
    po_line,
    send_po,
)
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.stock import (
    World,
)

# --------------------------------------------------------------------------- roles


def test_manager_drafts_edits_sends_and_cancels(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    patch = {"notes": "checked"}
    assert (
        ok(client.patch(f"{PURCHASES}/{order['id']}", json=patch, headers=manager.headers))["notes"]
        == "checked"
    )
    assert send_po(client, manager.headers, order["id"])["status"] == "ordered"
    assert ok(cancel_po(client, manager.headers, order["id"]))["status"] == "cancelled"


def test_staff_reads_and_receives_but_cannot_write(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    draft = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    order = ordered_po(client, manager.headers, world, "4")
    refused: list[Callable[[], Response]] = [
        lambda: client.post(
            PURCHASES,
            json=po_body(world.supplier, world.main, po_line(world.kg_product, "1")),
            headers=staff.headers,
        ),
        lambda: client.patch(
            f"{PURCHASES}/{draft['id']}", json={"notes": "x"}, headers=staff.headers
        ),
        lambda: client.post(f"{PURCHASES}/{draft['id']}/send", headers=staff.headers),
        lambda: cancel_po(client, staff.headers, order["id"]),
        lambda: client.post(
            SUGGESTED_ORDER,
            json={"supplier_id": world.supplier, "warehouse_id": world.main},
            headers=staff.headers,
        ),
    ]
    for call in refused:
        assert_refused(call, 403, "permission-denied")

    assert set(list_ids(client, staff.headers)) == {draft["id"], order["id"]}
    assert get_po(client, staff.headers, order["id"])["number"] == order["number"]
    assert ok_list(client.get(SUGGESTIONS, headers=staff.headers)) == []
    received = deliver(
        client, staff.headers, order["id"], arrival(order["lines"][0]["id"], "4", "STAFF-1")
    )
    assert received["status"] == "received"
    assert (
        len(ok_list(client.get(f"{PURCHASES}/{order['id']}/receipts", headers=staff.headers))) == 1
    )


def test_customers_are_refused_everywhere(
    client: TestClient, make_user: MakeUser, manager: SignedIn, world: World
) -> None:
    customer = sign_in(client, make_user, Role.CUSTOMER)
    order = ordered_po(client, manager.headers, world, "4")
    line_id = order["lines"][0]["id"]
    path = f"{PURCHASES}/{order['id']}"
    calls: list[Callable[[], Response]] = [
        lambda: client.get(PURCHASES, headers=customer.headers),
        lambda: client.get(path, headers=customer.headers),
        lambda: client.get(f"{path}/receipts", headers=customer.headers),
        lambda: client.post(
            PURCHASES,
            json=po_body(world.supplier, world.main, po_line(world.kg_product, "1")),
            headers=customer.headers,
        ),
        lambda: client.patch(path, json={"notes": "x"}, headers=customer.headers),
        lambda: client.post(f"{path}/send", headers=customer.headers),
        lambda: cancel_po(client, customer.headers, order["id"]),
        lambda: client.post(
            f"{path}/receipts",
            json=delivery_body(arrival(line_id, "1", "CUST-1")),
            headers=customer.headers,
        ),
        lambda: client.get(SUGGESTIONS, headers=customer.headers),
        lambda: client.post(
            SUGGESTED_ORDER,
            json={"supplier_id": world.supplier, "warehouse_id": world.main},
            headers=customer.headers,
        ),
    ]
    for call in calls:
        assert_refused(call, 403, "permission-denied")


def test_anonymous_callers_are_refused(client: TestClient, manager: SignedIn, world: World) -> None:
    order = ordered_po(client, manager.headers, world, "4")
    assert_refused(lambda: client.get(PURCHASES), 401)
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts",
            json=delivery_body(arrival(order["lines"][0]["id"], "1", "ANON-1")),
        ),
        401,
    )
    assert_refused(lambda: client.get(SUGGESTIONS), 401)
