"""Sales orders confirmed, shipped, cancelled, changed and returned at the same time, on the
run's database.

Each thread works in its own unit of work (``session_scope``) or through its own TestClient.
FEFO confirmation must hand out exactly the stock there is, earliest lots first, all of an
order or none of it; shipping must issue exactly what was reserved; one order can make each
transition once. Where a check of the order's state and the write it guards are not one
atomic step, a second request is let in between them to show what it can do.
"""

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope
from app.main import app
from app.models.inventory import (
    Lot,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.models.sales import ReturnDisposition, SalesOrder, SalesOrderLine, SalesReturn
from app.models.user import Role
from app.services import orders, returns, shipments
from app.services.audit import Actor
from app.services.orders import OrderStateError
from app.services.returns import ReturnLine
from app.services.stock import InsufficientStockError
from tests.conftest import MakeUser
from tests.integration.races import receive
from tests.support.callers import sign_in
from tests.support.factories import create_order
from tests.support.sales import (
    ORDERS,
    make_customer,
    make_priced_product,
    metric,
    order_action,
    order_line,
    place_order,
    register_customer,
)
from tests.support.stock import make_warehouse

ACTOR = Actor(user_id=None, label="order concurrency tests")
WORKERS = 16
OK = "ok"
SHORT = "insufficient"
WRONG_STATE = "order-state"
# How long a request let in between waits for the other before going on (only reached when
# the other is blocked by a lock the first one holds, i.e. when the race is closed).
HANDOFF_TIMEOUT = 10.0

Task = Callable[[], object]


# -- setup ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lots:
    """One product stocked in three lots with different best-before dates, two warehouses."""

    product: int
    customer: int
    early: int
    mid: int
    late: int
    north: int
    south: int

    @property
    def fefo(self) -> list[int]:
        return [self.early, self.mid, self.late]


def make_lots(early: int = 30, mid: int = 30, late: int = 40) -> Lots:
    """Stock ``early`` + ``mid`` + ``late`` kg, received latest-first, over two warehouses."""
    product = make_priced_product(f"RACE-{uuid.uuid4().hex[:8]}", "7.00")
    north = make_warehouse(f"N-{uuid.uuid4().hex[:8]}")
    south = make_warehouse(f"S-{uuid.uuid4().hex[:8]}")
    late_lot = receive(product, north, "LATE", late, days=90)
    mid_lot = receive(product, south, "MID", mid, days=60)
    early_lot = receive(product, north, "EARLY", early, days=30)
    return Lots(product, make_customer(), early_lot, mid_lot, late_lot, north, south)


# -- running many units of work at once -------------------------------------------------------


def attempt(task: Task) -> str:
    """OK, SHORT, WRONG_STATE, or a description of any other exception."""
    try:
        task()
    except InsufficientStockError:
        return SHORT
    except OrderStateError:
        return WRONG_STATE
    except Exception as exc:  # anything else is a failure the test reports
        return f"{type(exc).__name__}: {exc}"
    return OK


def run_concurrently(tasks: list[Task]) -> list[str]:
    """Run ``tasks`` on WORKERS threads, released together; their outcomes in task order."""
    start = threading.Event()

    def gated(task: Task) -> str:
        start.wait()
        return attempt(task)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(gated, task) for task in tasks]
        start.set()
        return [future.result() for future in futures]


def assert_only(outcomes: list[str], *allowed: str) -> None:
    """No outcome but the ``allowed`` ones; else a summary of what went wrong."""
    unexpected = [outcome for outcome in outcomes if outcome not in allowed]
    kinds = Counter(outcome.split("\n")[0][:160] for outcome in unexpected)
    assert not unexpected, f"{len(unexpected)} of {len(outcomes)} failed otherwise: {kinds}"


def transition(order_id: int, action: str) -> Task:
    """Run one order transition in its own unit of work."""

    def task() -> None:
        with session_scope() as db:
            order = orders.get_order(db, order_id)
            step = shipments.ship if action == "ship" else getattr(orders, action)
            step(db, ACTOR, order)

    return task


# -- reading back -----------------------------------------------------------------------------


def level(product_id: int, lot_id: int) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) of a lot, over its warehouses."""
    with session_scope() as db:
        on_hand, reserved = db.execute(
            select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved)).where(
                StockLevel.product_id == product_id, StockLevel.lot_id == lot_id
            )
        ).one()
        return Decimal(on_hand or 0), Decimal(reserved or 0)


def held_by_order(order_id: int) -> list[tuple[int, Decimal, str]]:
    """(lot_id, quantity, status) of every reservation of an order, in pick order."""
    with session_scope() as db:
        order = orders.get_order(db, order_id)
        found = orders.allocations(db, order)
        return [(r.lot_id, r.quantity, r.status) for line in found.values() for r in line]


def statuses(order_ids: list[int]) -> list[str]:
    """The status of each order, in the order given."""
    with session_scope() as db:
        rows = dict(
            db.execute(
                select(SalesOrder.id, SalesOrder.status).where(SalesOrder.id.in_(order_ids))
            ).all()
        )
        return [rows[order_id] for order_id in order_ids]


def reservation_totals(product_id: int) -> dict[str, Decimal]:
    """Total quantity of the product's reservations, per reservation status."""
    with session_scope() as db:
        rows = db.execute(
            select(Reservation.status, func.sum(Reservation.quantity))
            .where(Reservation.product_id == product_id)
            .group_by(Reservation.status)
        ).all()
        return {status: Decimal(total) for status, total in rows}


def assert_ledger_matches_levels(product_id: int) -> None:
    """Per lot and warehouse: the ledger sums to on-hand, 0 <= reserved <= on-hand, and
    reserved equals what active reservations hold."""
    with session_scope() as db:
        ledger = {
            (w, lot): Decimal(total)
            for w, lot, total in db.execute(
                select(
                    StockMovement.warehouse_id,
                    StockMovement.lot_id,
                    func.sum(StockMovement.quantity),
                )
                .where(StockMovement.product_id == product_id)
                .group_by(StockMovement.warehouse_id, StockMovement.lot_id)
            ).all()
        }
        active = {
            (w, lot): Decimal(total)
            for w, lot, total in db.execute(
                select(Reservation.warehouse_id, Reservation.lot_id, func.sum(Reservation.quantity))
                .where(
                    Reservation.product_id == product_id,
                    Reservation.status == ReservationStatus.ACTIVE.value,
                )
                .group_by(Reservation.warehouse_id, Reservation.lot_id)
            ).all()
        }
        levels = db.scalars(select(StockLevel).where(StockLevel.product_id == product_id)).all()
        assert {(row.warehouse_id, row.lot_id) for row in levels} == set(ledger)
        for row in levels:
            key = (row.warehouse_id, row.lot_id)
            assert row.on_hand == ledger[key], (key, row.on_hand, ledger[key])
            assert 0 <= row.reserved <= row.on_hand, (key, row.on_hand, row.reserved)
            assert row.reserved == active.get(key, Decimal(0)), (key, row.reserved)


def issued(product_id: int) -> tuple[int, Decimal]:
    """How many issue rows the ledger holds for the product, and their total."""
    with session_scope() as db:
        count, total = db.execute(
            select(func.count(), func.sum(StockMovement.quantity)).where(
                StockMovement.product_id == product_id,
                StockMovement.kind == MovementKind.ISSUE.value,
            )
        ).one()
        return int(count), Decimal(total or 0)


def best_before_rank(lot_ids: list[int]) -> dict[int, int]:
    """Each lot's place in FEFO order (0 is the earliest)."""
    with session_scope() as db:
        rows = db.execute(
            select(Lot.id).where(Lot.id.in_(lot_ids)).order_by(Lot.best_before, Lot.id)
        ).all()
        return {lot_id: rank for rank, (lot_id,) in enumerate(rows)}


# -- many orders confirming against the same lots ---------------------------------------------


def test_thirty_orders_confirm_against_one_hundred_kg_then_ship_together() -> None:
    """30 orders of 4 kg, 100 kg in three lots: 25 confirm, 5 are short; then all 25 ship."""
    lots = make_lots(30, 30, 40)
    order_ids = [
        create_order(customer_id=lots.customer, lines=[(lots.product, "4")]).id for _ in range(30)
    ]

    outcomes = run_concurrently([transition(order_id, "confirm") for order_id in order_ids])

    assert_only(outcomes, OK, SHORT)
    assert Counter(outcomes) == {OK: 25, SHORT: 5}
    confirmed = [o for o, outcome in zip(order_ids, outcomes, strict=True) if outcome == OK]
    short = [o for o, outcome in zip(order_ids, outcomes, strict=True) if outcome == SHORT]
    assert statuses(confirmed) == ["confirmed"] * 25
    assert statuses(short) == ["pending"] * 5
    assert all(held_by_order(order_id) == [] for order_id in short)
    rank = best_before_rank(lots.fefo)
    for order_id in confirmed:
        held = held_by_order(order_id)
        assert sum(quantity for _, quantity, _ in held) == 4
        assert {status for _, _, status in held} == {ReservationStatus.ACTIVE.value}
        # One order's picks are lots in FEFO order, each used up before the next is touched.
        ranks = [rank[lot_id] for lot_id, _, _ in held]
        assert ranks == sorted(ranks)
        assert all(later == earlier + 1 for earlier, later in itertools.pairwise(ranks))
    assert [level(lots.product, lot) for lot in lots.fefo] == [(30, 30), (30, 30), (40, 40)]
    assert reservation_totals(lots.product) == {ReservationStatus.ACTIVE.value: Decimal(100)}
    assert_ledger_matches_levels(lots.product)

    shipped = run_concurrently([transition(order_id, "ship") for order_id in confirmed])

    assert_only(shipped, OK)
    assert statuses(confirmed) == ["shipped"] * 25
    assert [level(lots.product, lot) for lot in lots.fefo] == [(0, 0), (0, 0), (0, 0)]
    assert reservation_totals(lots.product) == {ReservationStatus.ISSUED.value: Decimal(100)}
    issue_rows, issued_total = issued(lots.product)
    assert issued_total == -100
    assert issue_rows == sum(len(held_by_order(order_id)) for order_id in confirmed)
    assert_ledger_matches_levels(lots.product)


def test_concurrent_confirmations_use_up_the_earliest_lots_first() -> None:
    """60 kg asked of 100: the two earliest lots (30 + 30) are taken, the latest is not."""
    lots = make_lots(30, 30, 40)
    order_ids = [
        create_order(customer_id=lots.customer, lines=[(lots.product, "4")]).id for _ in range(15)
    ]

    outcomes = run_concurrently([transition(order_id, "confirm") for order_id in order_ids])

    assert_only(outcomes, OK)
    assert [level(lots.product, lot) for lot in lots.fefo] == [(30, 30), (30, 30), (40, 0)]
    assert_ledger_matches_levels(lots.product)


def test_concurrent_multi_line_orders_are_all_or_nothing() -> None:
    """Each order wants 3 kg of each of two products; one product runs out first. No order
    keeps a reservation for one line without the other."""
    dates = make_lots(10, 10, 10)  # 30 kg: ten orders
    figs = make_priced_product(f"FIG-{uuid.uuid4().hex[:8]}")
    receive(figs, dates.north, "FIG-1", 21, days=60)  # 21 kg: seven orders
    order_ids = [
        create_order(customer_id=dates.customer, lines=[(dates.product, "3"), (figs, "3")]).id
        for _ in range(12)
    ]

    outcomes = run_concurrently([transition(order_id, "confirm") for order_id in order_ids])

    assert_only(outcomes, OK, SHORT)
    assert Counter(outcomes) == {OK: 7, SHORT: 5}
    for order_id, outcome in zip(order_ids, outcomes, strict=True):
        held = sum(quantity for _, quantity, _ in held_by_order(order_id))
        assert held == (6 if outcome == OK else 0), (order_id, outcome, held)
    assert reservation_totals(dates.product) == {ReservationStatus.ACTIVE.value: Decimal(21)}
    assert reservation_totals(figs) == {ReservationStatus.ACTIVE.value: Decimal(21)}
    assert_ledger_matches_levels(dates.product)
    assert_ledger_matches_levels(figs)


def test_concurrent_confirmations_through_the_api(client: TestClient, make_user: MakeUser) -> None:
    """12 orders of 4 kg against 40 kg, each confirmed from its own TestClient: 10 answered
    200, 2 answered 409 insufficient-stock naming the line; the counter rises by 10."""
    lots = make_lots(15, 15, 10)
    staff = sign_in(client, make_user, Role.STAFF)
    order_ids = [
        create_order(customer_id=lots.customer, lines=[(lots.product, "4")]).id for _ in range(12)
    ]
    confirmed_before = metric("orders_total", status="confirmed")
    start = threading.Event()

    def confirm(order_id: int) -> tuple[int, Any]:
        start.wait()
        own_client = TestClient(app, raise_server_exceptions=False)
        response = own_client.post(f"{ORDERS}/{order_id}/confirm", headers=staff.headers)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(confirm, order_id) for order_id in order_ids]
        start.set()
        answers = [future.result() for future in futures]

    assert Counter(status for status, _ in answers) == {200: 10, 409: 2}, answers
    for status, body in answers:
        if status == 200:
            assert body["status"] == "confirmed"
            assert sum(Decimal(a["quantity"]) for a in body["lines"][0]["allocations"]) == 4
        else:
            assert body["type"] == "urn:dfims:problem:insufficient-stock"
            [line] = body["lines"]
            assert (line["line_no"], Decimal(line["requested"])) == (1, 4)
            assert 0 <= Decimal(line["available"]) < 4
    assert metric("orders_total", status="confirmed") == confirmed_before + 10
    assert [level(lots.product, lot) for lot in lots.fefo] == [(15, 15), (15, 15), (10, 10)]
    assert_ledger_matches_levels(lots.product)


# -- one order, many requests -----------------------------------------------------------------


def test_one_order_confirmed_many_times_at_once_is_confirmed_once() -> None:
    lots = make_lots(30, 30, 40)
    order_id = create_order(customer_id=lots.customer, lines=[(lots.product, "10")]).id

    outcomes = run_concurrently([transition(order_id, "confirm") for _ in range(10)])

    assert_only(outcomes, OK, WRONG_STATE)
    assert Counter(outcomes) == {OK: 1, WRONG_STATE: 9}
    assert held_by_order(order_id) == [(lots.early, 10, ReservationStatus.ACTIVE.value)]
    assert reservation_totals(lots.product) == {ReservationStatus.ACTIVE.value: Decimal(10)}
    assert_ledger_matches_levels(lots.product)


def test_one_order_shipped_many_times_at_once_is_issued_once() -> None:
    lots = make_lots(30, 30, 40)
    order_id = create_order(customer_id=lots.customer, lines=[(lots.product, "35")]).id
    transition(order_id, "confirm")()

    outcomes = run_concurrently([transition(order_id, "ship") for _ in range(10)])

    assert_only(outcomes, OK, WRONG_STATE)
    assert Counter(outcomes) == {OK: 1, WRONG_STATE: 9}
    assert issued(lots.product) == (2, Decimal(-35))
    assert [level(lots.product, lot) for lot in lots.fefo] == [(0, 0), (25, 0), (40, 0)]
    assert_ledger_matches_levels(lots.product)


def test_ship_and_cancel_racing_on_one_order_let_exactly_one_win() -> None:
    lots = make_lots(30, 30, 40)
    order_ids = [
        create_order(customer_id=lots.customer, lines=[(lots.product, "5")]).id for _ in range(6)
    ]
    for order_id in order_ids:
        transition(order_id, "confirm")()
    tasks = [
        transition(order_id, action) for order_id in order_ids for action in ("ship", "cancel")
    ]

    outcomes = run_concurrently(tasks)

    assert_only(outcomes, OK, WRONG_STATE)
    for n, order_id in enumerate(order_ids):
        ship_outcome, cancel_outcome = outcomes[2 * n : 2 * n + 2]
        assert sorted([ship_outcome, cancel_outcome]) == sorted([OK, WRONG_STATE])
        expected = "shipped" if ship_outcome == OK else "cancelled"
        assert statuses([order_id]) == [expected]
        final = "issued" if expected == "shipped" else "released"
        assert {status for _, _, status in held_by_order(order_id)} == {final}
    wins = sum(1 for n in range(len(order_ids)) if outcomes[2 * n] == OK)
    assert issued(lots.product)[1] == -5 * wins
    assert reservation_totals(lots.product).get(ReservationStatus.ACTIVE.value) is None
    assert_ledger_matches_levels(lots.product)


# -- a second request let in between a check and its write ------------------------------------


@dataclass
class Handoff:
    """The outcome of the request let in, once it has finished."""

    thread: threading.Thread | None = None
    outcome: str | None = None

    def finish(self) -> str:
        assert self.thread is not None, "the other request never ran"
        self.thread.join(timeout=60)
        assert self.outcome is not None
        return self.outcome


def let_in(handoff: Handoff, task: Task) -> None:
    """Run ``task`` in its own thread and unit of work now, waiting up to HANDOFF_TIMEOUT
    for it (longer only if it is blocked by a lock the waiting request holds)."""

    def run() -> None:
        handoff.outcome = attempt(task)

    handoff.thread = threading.Thread(target=run)
    handoff.thread.start()
    handoff.thread.join(timeout=HANDOFF_TIMEOUT)


@contextmanager
def before_calling(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, task: Task
) -> Iterator[Handoff]:
    """Make the first call of ``module.name`` let ``task`` in just before it runs."""
    original = getattr(module, name)
    handoff = Handoff()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if handoff.thread is None:
            let_in(handoff, task)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    yield handoff
    monkeypatch.setattr(module, name, original)


def test_patch_racing_a_confirmation_cannot_change_a_confirmed_order(
    client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    lots = make_lots(30, 30, 40)
    staff = sign_in(client, make_user, Role.STAFF)
    other = make_priced_product(f"NUT-{uuid.uuid4().hex[:8]}")
    order_id = create_order(customer_id=lots.customer, lines=[(lots.product, "5")]).id

    with before_calling(
        monkeypatch, orders, "change_order", transition(order_id, "confirm")
    ) as confirmation:
        patched = client.patch(
            f"{ORDERS}/{order_id}",
            json={"lines": [order_line(other, "2")]},
            headers=staff.headers,
        )

    assert confirmation.finish() == OK
    assert patched.status_code == 409, patched.text
    assert patched.json()["type"] == "urn:dfims:problem:order-state"
    with session_scope() as db:
        lines = db.execute(
            select(SalesOrderLine.product_id, SalesOrderLine.quantity).where(
                SalesOrderLine.order_id == order_id
            )
        ).all()
    assert [tuple(line) for line in lines] == [(lots.product, Decimal(5))]


def test_customer_cancel_racing_a_confirmation_cannot_cancel_a_confirmed_order(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lots = make_lots(30, 30, 40)
    buyer = register_customer(client)
    order = place_order(client, buyer.headers, None, [order_line(lots.product, "5")])

    with before_calling(
        monkeypatch, orders, "cancel", transition(order["id"], "confirm")
    ) as confirmation:
        cancelled = order_action(client, buyer.headers, order["id"], "cancel")

    assert confirmation.finish() == OK
    assert cancelled.status_code == 409, cancelled.text
    assert statuses([order["id"]]) == ["confirmed"]
    assert reservation_totals(lots.product) == {ReservationStatus.ACTIVE.value: Decimal(5)}


def test_two_returns_at_once_cannot_bring_back_more_than_shipped(
    client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    lots = make_lots(30, 30, 40)
    staff = sign_in(client, make_user, Role.STAFF)
    order_id = create_order(customer_id=lots.customer, lines=[(lots.product, "7")]).id
    transition(order_id, "confirm")()
    transition(order_id, "ship")()
    with session_scope() as db:
        line_id = orders.get_order(db, order_id).lines[0].id

    def other_return() -> None:
        with session_scope() as db:
            order = orders.get_order(db, order_id)
            wanted = [ReturnLine(line_id, Decimal(5), ReturnDisposition.RESTOCK)]
            returns.record_return(db, ACTOR, order, wanted, "other clerk")

    with before_calling(monkeypatch, returns, "claim", other_return) as handoff:
        response = client.post(
            f"{ORDERS}/{order_id}/returns",
            json={"reason": "first clerk", "lines": [{"line_id": line_id, "quantity": "5"}]},
            headers=staff.headers,
        )

    assert handoff.finish() == OK
    with session_scope() as db:
        came_back = db.scalar(
            select(func.sum(SalesReturn.quantity)).where(SalesReturn.order_id == order_id)
        )
        returned_quantity = db.scalar(
            select(SalesOrderLine.returned_quantity).where(SalesOrderLine.id == line_id)
        )
    assert response.status_code == 409, response.text
    assert came_back == 5
    assert returned_quantity == 5
    assert_ledger_matches_levels(lots.product)


def test_orders_with_opposite_line_order_run_together_without_deadlock() -> None:
    """Half the orders list dates then figs, half figs then dates: reserving, shipping and
    releasing must lock stock in one order whatever the line order, or PostgreSQL deadlocks."""
    dates = make_lots(30, 30, 40)
    figs = make_priced_product(f"FIG-{uuid.uuid4().hex[:8]}")
    receive(figs, dates.south, "FIG-1", 100, days=60)
    order_ids = [
        create_order(
            customer_id=dates.customer,
            lines=[(dates.product, "4"), (figs, "4")][:: 1 if n % 2 else -1],
        ).id
        for n in range(20)
    ]

    confirmed = run_concurrently([transition(order_id, "confirm") for order_id in order_ids])
    finished = run_concurrently(
        [
            transition(order_id, "ship" if n % 2 else "cancel")
            for n, order_id in enumerate(order_ids)
        ]
    )

    assert_only(confirmed, OK)
    assert_only(finished, OK)
    assert statuses(order_ids) == ["cancelled", "shipped"] * 10
    for product in (dates.product, figs):
        assert issued(product)[1] == -40
        assert reservation_totals(product) == {
            ReservationStatus.ISSUED.value: Decimal(40),
            ReservationStatus.RELEASED.value: Decimal(40),
        }
        assert_ledger_matches_levels(product)
