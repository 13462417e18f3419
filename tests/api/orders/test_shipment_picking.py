"""Shipments picked before they leave: a pick list fixes the lots FEFO from what the order holds,
each line is confirmed from the lot it names, and only then do exactly those lots leave; a
pick list can be given up, and the order's stock stays reserved for it."""

import uuid
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import SPOILERS, Shop, levels
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.sales import (
    REPLAYED,
    Json,
    active_reserved_total,
    dec,
    order_action,
    order_status,
    read_order,
    reservations_of,
)
from tests.support.shipments import (
    SHIPMENTS,
    HeldOrder,
    fulfilment,
    held_order,
    pick,
    pick_all,
    plan_pick,
    read_shipment,
    ship_part,
    shipment_action,
    shipment_line,
    shipped_lots,
)
from tests.support.stock import assert_projection_matches_ledger, get_movements

Held = HeldOrder


@pytest.fixture
def held(client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop) -> Held:
    """A partial customer's order, confirmed with every line reserved."""
    held = held_order(client, admin.headers, staff.headers, shop, ("PACKS", "10"), "4")
    assert [fulfilment(line) for line in held.order["lines"]] == [(10, 0, 0, 0), (4, 0, 0, 0)]
    return held


def all_levels(
    client: TestClient, headers: dict[str, str], held: Held
) -> list[tuple[Decimal, Decimal]]:
    """(on_hand, reserved) of EARLY in the spare warehouse, then LATE and PACKS in main."""
    return levels(client, headers, held.shop.spare, held.early) + levels(
        client, headers, held.shop.main, held.late, held.packs
    )


BEFORE_SHIPPING = [(4, 4), (10, 6), (10, 4)]


def issues(client: TestClient, headers: dict[str, str], number: str) -> list[tuple[int, Decimal]]:
    """(lot, quantity) of each issue row the ledger holds under an order number, sorted."""
    rows = get_movements(client, headers, reference=number, kind="issue")
    return sorted((m["lot_id"], dec(m["quantity"])) for m in rows)


def planned(client: TestClient, staff: SignedIn, held: Held) -> Json:
    """A pick list for 6 kg of dates: 4 from EARLY, then 2 from LATE."""
    return plan_pick(client, staff.headers, held.id, [shipment_line(held.dates_line, "6")])


# =========================================================================== planning


def test_a_pick_list_fixes_its_lots_fefo_and_moves_no_stock(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    reserved_before = reservations_of(held.number)

    shipment = plan_pick(
        client,
        staff.headers,
        held.id,
        [shipment_line(held.packs_line, "3"), shipment_line(held.dates_line, "6")],
    )

    assert shipment["status"] == "picking"
    assert (shipment["order_id"], shipment["order_number"]) == (held.id, held.number)
    assert shipment["shipped_at"] is None
    assert sorted(shipped_lots(shipment)) == sorted(
        [
            (held.dates_line, held.early, Decimal(4)),
            (held.dates_line, held.late, Decimal(2)),
            (held.packs_line, held.packs, Decimal(3)),
        ]
    )
    by_lot = {line["lot_id"]: line for line in shipment["lines"]}
    assert [by_lot[lot]["lot_code"] for lot in (held.early, held.late, held.packs)] == [
        "EARLY",
        "LATE",
        "PACKS",
    ]
    assert [by_lot[lot]["warehouse_id"] for lot in (held.early, held.late, held.packs)] == [
        held.shop.spare,
        held.shop.main,
        held.shop.main,
    ]
    assert all(line["picked_at"] is None for line in shipment["lines"])
    assert all(line["movement_id"] is None for line in shipment["lines"])
    assert get_movements(client, admin.headers, reference=held.number) == []
    assert all_levels(client, admin.headers, held) == BEFORE_SHIPPING
    assert reservations_of(held.number) == reserved_before
    order = read_order(client, staff.headers, held.id)
    assert order["status"] == "confirmed"
    assert [fulfilment(line) for line in order["lines"]] == [(10, 0, 0, 0), (4, 0, 0, 0)]
    stored = read_shipment(client, staff.headers, shipment["id"])
    assert shipped_lots(stored) == shipped_lots(shipment)
    assert {**stored, "lines": []} == {**shipment, "lines": []}
    assert_projection_matches_ledger()


def test_a_new_pick_list_reads_back_as_it_was_answered(
    client: TestClient, staff: SignedIn, held: Held
) -> None:
    shipment = plan_pick(client, staff.headers, held.id, [shipment_line(held.packs_line, "3")])

    assert read_shipment(client, staff.headers, shipment["id"]) == shipment


def test_a_second_pick_list_cannot_take_what_the_first_has_planned(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    first = planned(client, staff, held)
    before = fingerprint()

    refused = ship_part(
        client, staff.headers, held.id, [shipment_line(held.dates_line, "5")], pick_first=True
    )

    problem = assert_problem(refused, 422, "invalid-request", "lines[0].quantity")
    assert "not yet on a pick list" in problem["detail"]
    assert changed(before, fingerprint()) == []
    second = plan_pick(client, staff.headers, held.id)
    assert sorted(shipped_lots(second)) == sorted(
        [(held.dates_line, held.late, Decimal(4)), (held.packs_line, held.packs, Decimal(4))]
    )
    assert second["number"] != first["number"]
    nothing_left = ship_part(client, staff.headers, held.id, pick_first=True)
    assert_problem(nothing_left, 409, "conflict")
    assert get_movements(client, admin.headers, reference=held.number) == []


# =========================================================================== picking


def test_each_line_is_picked_from_its_lot_whatever_the_case_it_is_typed_in(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    shipment = planned(client, staff, held)
    early_line, late_line = shipment["lines"]
    assert (early_line["lot_id"], late_line["lot_id"]) == (held.early, held.late)

    first = pick(client, staff.headers, shipment["id"], early_line["id"], " early ")

    assert first.status_code == 200, first.text
    assert [line["picked_at"] is not None for line in first.json()["lines"]] == [True, False]
    assert first.json()["status"] == "picking"
    second = pick(client, staff.headers, shipment["id"], late_line["id"], "Late")
    assert second.status_code == 200, second.text
    assert all(line["picked_at"] is not None for line in second.json()["lines"])
    assert read_shipment(client, staff.headers, shipment["id"]) == second.json()
    again = pick(client, staff.headers, shipment["id"], late_line["id"], "LATE")
    assert again.status_code == 200, again.text
    assert again.json() == second.json()
    entries = audit_rows("shipment.picked", shipment["id"])
    assert [(e.actor_id, e.details["lot_code"]) for e in entries] == [
        (staff.user.id, "EARLY"),
        (staff.user.id, "LATE"),
    ]
    assert get_movements(client, admin.headers, reference=held.number) == []
    assert all_levels(client, admin.headers, held) == BEFORE_SHIPPING


@pytest.mark.parametrize(
    ("lot_code", "line", "field"),
    [
        ("LATE", "early", "lot_code"),
        ("PACKS", "early", "lot_code"),
        ("EARLY-2", "early", "lot_code"),
        ("EARLY", "unknown", "line_id"),
        ("EARLY", "of-another-shipment", "line_id"),
    ],
    ids=["another-lot-of-the-line", "another-products-lot", "unknown-lot", "unknown-line",
         "line-of-another-shipment"],
)  # fmt: skip
def test_a_wrong_pick_is_refused_and_writes_nothing(
    client: TestClient, staff: SignedIn, held: Held, lot_code: str, line: str, field: str
) -> None:
    shipment = planned(client, staff, held)
    other = plan_pick(client, staff.headers, held.id, [shipment_line(held.packs_line, "1")])
    line_id = {
        "early": shipment["lines"][0]["id"],
        "unknown": UNKNOWN_ID,
        "of-another-shipment": other["lines"][0]["id"],
    }[line]
    before = fingerprint()

    response = pick(client, staff.headers, shipment["id"], line_id, lot_code)

    problem = assert_problem(response, 422, "invalid-request", field)
    if field == "lot_code":
        assert "EARLY" in problem["detail"]
    assert changed(before, fingerprint()) == []
    stored = read_shipment(client, staff.headers, shipment["id"])
    assert shipped_lots(stored) == shipped_lots(shipment)
    assert {**stored, "lines": []} == {**shipment, "lines": []}


def test_picking_an_unknown_shipment_is_not_found(client: TestClient, staff: SignedIn) -> None:
    assert_problem(pick(client, staff.headers, UNKNOWN_ID, 1, "EARLY"), 404)
    assert_problem(shipment_action(client, staff.headers, UNKNOWN_ID, "dispatch"), 404)
    assert_problem(client.get(f"{SHIPMENTS}/{UNKNOWN_ID}", headers=staff.headers), 404)


# =========================================================================== dispatching


def test_a_shipment_not_fully_picked_cannot_leave(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    shipment = planned(client, staff, held)
    early_line = shipment["lines"][0]
    assert pick(client, staff.headers, shipment["id"], early_line["id"], "EARLY").status_code == 200
    before = fingerprint()

    response = shipment_action(client, staff.headers, shipment["id"], "dispatch")

    problem = assert_problem(response, 409, "conflict")
    assert "from lot LATE" in problem["detail"]
    assert "EARLY" not in problem["detail"]
    assert changed(before, fingerprint()) == []
    assert read_shipment(client, staff.headers, shipment["id"])["status"] == "picking"
    assert get_movements(client, admin.headers, reference=held.number) == []


def test_a_picked_shipment_issues_exactly_its_lots(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    shipment = pick_all(client, staff.headers, planned(client, staff, held))

    response = shipment_action(client, staff.headers, shipment["id"], "dispatch")

    assert response.status_code == 200, response.text
    sent = response.json()
    assert sent["status"] == "shipped"
    assert sent["shipped_at"] is not None
    assert shipped_lots(sent) == shipped_lots(shipment)
    movements = get_movements(client, admin.headers, reference=held.number)
    assert sorted(
        (m["kind"], m["lot_id"], m["warehouse_id"], dec(m["quantity"])) for m in movements
    ) == sorted(
        [
            ("issue", held.early, held.shop.spare, Decimal(-4)),
            ("issue", held.late, held.shop.main, Decimal(-2)),
        ]
    )
    by_lot = {m["lot_id"]: m["id"] for m in movements}
    assert [line["movement_id"] for line in sent["lines"]] == [
        by_lot[line["lot_id"]] for line in sent["lines"]
    ]
    order = read_order(client, staff.headers, held.id)
    assert order["status"] == "partially_shipped"
    assert [fulfilment(line) for line in order["lines"]] == [(4, 6, 0, 0), (4, 0, 0, 0)]
    assert all_levels(client, admin.headers, held) == [(0, 0), (8, 4), (10, 4)]
    [entry] = audit_rows("order.shipped", held.id)
    assert entry.details["shipment"] == sent["number"]
    assert sorted(entry.details["movement_ids"]) == sorted(by_lot.values())
    assert_projection_matches_ledger()

    rest = pick_all(client, staff.headers, plan_pick(client, staff.headers, held.id))
    last = shipment_action(client, staff.headers, rest["id"], "dispatch")

    assert last.status_code == 200, last.text
    assert order_status(held.id) == "shipped"
    assert issues(client, admin.headers, held.number) == sorted(
        [
            (held.early, Decimal(-4)),
            (held.late, Decimal(-2)),
            (held.late, Decimal(-4)),
            (held.packs, Decimal(-4)),
        ]
    )
    assert all_levels(client, admin.headers, held) == [(0, 0), (4, 0), (6, 0)]
    assert active_reserved_total() == 0
    assert_projection_matches_ledger()


@pytest.mark.parametrize("spoiler", ["quarantined", "recalled"])
def test_a_lot_spoiled_after_planning_stops_the_dispatch(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held, spoiler: str
) -> None:
    shipment = pick_all(client, staff.headers, planned(client, staff, held))
    SPOILERS[spoiler](client, admin.headers, held.early)
    before = fingerprint()

    response = shipment_action(client, staff.headers, shipment["id"], "dispatch")

    assert_problem(response, 409)
    assert changed(before, fingerprint()) == []
    assert get_movements(client, admin.headers, reference=held.number) == []
    assert read_shipment(client, staff.headers, shipment["id"])["status"] == "picking"


# =========================================================================== giving up


def test_a_cancelled_pick_list_leaves_the_stock_reserved_for_the_order(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    shipment = planned(client, staff, held)
    pick(client, staff.headers, shipment["id"], shipment["lines"][0]["id"], "EARLY")
    reserved_before = reservations_of(held.number)

    response = client.post(
        f"{SHIPMENTS}/{shipment['id']}/cancel",
        json={"reason": "Van broke down"},
        headers=staff.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert reservations_of(held.number) == reserved_before
    assert all_levels(client, admin.headers, held) == BEFORE_SHIPPING
    assert get_movements(client, admin.headers, reference=held.number) == []
    assert order_status(held.id) == "confirmed"
    [entry] = audit_rows("shipment.cancelled", shipment["id"])
    assert (entry.actor_id, entry.details["reason"]) == (staff.user.id, "Van broke down")
    again = plan_pick(client, staff.headers, held.id, [shipment_line(held.dates_line, "10")])
    assert shipped_lots(again) == [
        (held.dates_line, held.early, Decimal(4)),
        (held.dates_line, held.late, Decimal(6)),
    ]


def test_cancelling_the_order_cancels_its_pick_lists(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    first = planned(client, staff, held)
    second = plan_pick(client, staff.headers, held.id, [shipment_line(held.packs_line, "4")])

    response = order_action(client, staff.headers, held.id, "cancel", {"reason": "Shop closed"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    for shipment in (first, second):
        after = read_shipment(client, staff.headers, shipment["id"])
        assert (after["status"], after["shipped_at"]) == ("cancelled", None)
        assert after["cancelled_at"] is not None
    assert active_reserved_total() == 0
    assert all_levels(client, admin.headers, held) == [(4, 0), (10, 0), (10, 0)]
    assert get_movements(client, admin.headers, reference=held.number) == []
    [entry] = audit_rows("order.cancelled", held.id)
    assert entry.details["shipments_cancelled"]
    assert_problem(shipment_action(client, staff.headers, first["id"], "dispatch"), 409)


@pytest.mark.parametrize("action", ["pick", "dispatch", "cancel"])
@pytest.mark.parametrize("state", ["shipped", "cancelled"])
def test_a_shipment_no_longer_picking_refuses_every_step(
    client: TestClient, staff: SignedIn, held: Held, state: str, action: str
) -> None:
    shipment = pick_all(client, staff.headers, planned(client, staff, held))
    done = shipment_action(
        client, staff.headers, shipment["id"], "dispatch" if state == "shipped" else "cancel"
    )
    assert done.status_code == 200, done.text
    before = fingerprint()

    if action == "pick":
        line = shipment["lines"][0]
        response = pick(client, staff.headers, shipment["id"], line["id"], line["lot_code"])
    else:
        response = shipment_action(client, staff.headers, shipment["id"], action)

    problem = assert_problem(response, 409, "shipment-state")
    assert f"is {state}" in problem["detail"]
    assert changed(before, fingerprint()) == []
    assert read_shipment(client, staff.headers, shipment["id"]) == done.json()


def test_a_shipment_that_left_at_once_cannot_be_picked(
    client: TestClient, staff: SignedIn, held: Held
) -> None:
    shipped = ship_part(client, staff.headers, held.id, [shipment_line(held.packs_line, "1")])
    assert shipped.json()["status"] == "shipped"
    line = shipped.json()["lines"][0]
    before = fingerprint()

    response = pick(client, staff.headers, shipped.json()["id"], line["id"], "PACKS")

    assert_problem(response, 409, "shipment-state")
    assert changed(before, fingerprint()) == []


# =========================================================================== sent twice


def test_one_idempotency_key_picks_once_and_dispatches_once(
    client: TestClient, admin: SignedIn, staff: SignedIn, held: Held
) -> None:
    shipment = planned(client, staff, held)
    early_line, late_line = shipment["lines"]
    key = f"pick-{uuid.uuid4().hex}"

    first = pick(client, staff.headers, shipment["id"], early_line["id"], "EARLY", key=key)
    again = pick(client, staff.headers, shipment["id"], early_line["id"], "EARLY", key=key)

    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.headers.get(REPLAYED) == "true"
    assert again.json() == first.json()
    assert len(audit_rows("shipment.picked", shipment["id"])) == 1
    other_body = pick(client, staff.headers, shipment["id"], late_line["id"], "LATE", key=key)
    assert_problem(other_body, 422)
    assert read_shipment(client, staff.headers, shipment["id"]) == first.json()

    pick(client, staff.headers, shipment["id"], late_line["id"], "LATE")
    key = f"dispatch-{uuid.uuid4().hex}"
    sent = shipment_action(client, staff.headers, shipment["id"], "dispatch", key=key)
    resent = shipment_action(client, staff.headers, shipment["id"], "dispatch", key=key)

    assert (sent.status_code, resent.status_code) == (200, 200), resent.text
    assert resent.headers.get(REPLAYED) == "true"
    assert resent.json() == sent.json()
    assert issues(client, admin.headers, held.number) == sorted(
        [(held.early, Decimal(-4)), (held.late, Decimal(-2))]
    )
    assert len(audit_rows("order.shipped", held.id)) == 1
    unkeyed = shipment_action(client, staff.headers, shipment["id"], "dispatch")
    assert_problem(unkeyed, 409, "shipment-state")
    assert_projection_matches_ledger()
