"""Concurrent reservations and removals against one lot, on the run's database.

Each thread works in its own unit of work (``session_scope``). The guarded UPDATEs must let
exactly the available quantity go, refuse the rest with InsufficientStockError and nothing
else, and leave the ledger and the projection in step.
"""

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import func, select

from app.core.database import session_scope
from app.models.inventory import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.models.user import Role
from app.services import allocation, stock
from app.services.allocation import AllocationRequest
from tests.conftest import PASSWORD, MakeUser, bearer
from tests.integration.races import (
    CONTEXT,
    OK,
    REFUSED,
    WORKERS,
    Task,
    make_product,
    make_warehouse,
    receive,
    run_concurrently,
)
from tests.support.ledger import assert_consistent
from tests.support.servers import http_request, running_server

# -- setup and reading back --------------------------------------------------------------------


def level(product_id: int, warehouse_id: int, lot_id: int) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved); (0, 0) without a level row."""
    with session_scope() as db:
        row = db.scalar(
            select(StockLevel).where(
                StockLevel.product_id == product_id,
                StockLevel.warehouse_id == warehouse_id,
                StockLevel.lot_id == lot_id,
            )
        )
        return (row.on_hand, row.reserved) if row is not None else (Decimal(0), Decimal(0))


def ledger_by_kind(product_id: int) -> dict[str, tuple[int, Decimal]]:
    """Per movement kind: how many rows and their total quantity."""
    with session_scope() as db:
        rows = db.execute(
            select(StockMovement.kind, func.count(), func.sum(StockMovement.quantity))
            .where(StockMovement.product_id == product_id)
            .group_by(StockMovement.kind)
        ).all()
        return {kind: (count, total) for kind, count, total in rows}


def active_reservations(product_id: int) -> dict[str, Decimal]:
    """Total actively reserved per reference."""
    with session_scope() as db:
        rows = db.execute(
            select(Reservation.reference, func.sum(Reservation.quantity))
            .where(
                Reservation.product_id == product_id,
                Reservation.status == ReservationStatus.ACTIVE.value,
            )
            .group_by(Reservation.reference)
        ).all()
        return dict(rows)


# -- running many units of work at once ---------------------------------------------------------


def reservation(
    product_id: int, quantity: int, reference: str, warehouse_id: int | None = None
) -> Task:
    def task() -> None:
        request = AllocationRequest(
            product_id=product_id,
            quantity=Decimal(quantity),
            reference=reference,
            warehouse_id=warehouse_id,
        )
        with session_scope() as db:
            made = allocation.reserve(db, request)
            assert sum(r.quantity for r in made) == quantity

    return task


def assert_only_ok_or_refused(outcomes: list[str]) -> None:
    """No outcome but success or InsufficientStockError; else a summary of what went wrong."""
    unexpected = [outcome for outcome in outcomes if outcome not in (OK, REFUSED)]
    kinds = Counter(outcome.split("\n")[0][:160] for outcome in unexpected)
    assert not unexpected, f"{len(unexpected)} of {len(outcomes)} failed otherwise: {kinds}"


# -- (a) reservations --------------------------------------------------------------------------


def test_concurrent_reservations_take_exactly_what_is_available() -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "LOT-100", 100, days=90)

    outcomes = run_concurrently([reservation(product, 4, f"SO-{n}") for n in range(60)])

    assert_only_ok_or_refused(outcomes)
    assert Counter(outcomes) == {OK: 25, REFUSED: 35}
    assert level(product, warehouse, lot) == (100, 100)
    held = active_reservations(product)
    assert held == {f"SO-{n}": 4 for n, outcome in enumerate(outcomes) if outcome == OK}
    assert ledger_by_kind(product) == {MovementKind.RECEIPT.value: (1, 100)}
    assert_consistent(product)


def test_concurrent_mixed_reservations_never_overcommit() -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "LOT-100", 100, days=90)
    asks = [4, 4, 3] * 20

    outcomes = run_concurrently(
        [reservation(product, ask, f"SO-{n}") for n, ask in enumerate(asks)]
    )

    assert_only_ok_or_refused(outcomes)
    granted = [ask for ask, outcome in zip(asks, outcomes, strict=True) if outcome == OK]
    refused = [ask for ask, outcome in zip(asks, outcomes, strict=True) if outcome == REFUSED]
    assert refused, "220 asked of 100: some requests must be refused"
    on_hand, reserved = level(product, warehouse, lot)
    assert on_hand == 100
    assert reserved == sum(granted)
    # Availability only falls, so every refusal is justified by what is left at the end.
    assert on_hand - reserved < min(refused)
    held = active_reservations(product)
    assert held == {
        f"SO-{n}": ask
        for n, (ask, outcome) in enumerate(zip(asks, outcomes, strict=True))
        if outcome == OK
    }
    assert_consistent(product)


def test_concurrent_reservations_spanning_lots_and_warehouses() -> None:
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    lots = [
        (north, receive(product, north, "EARLY", 30, days=30)),
        (south, receive(product, south, "MID", 30, days=60)),
        (north, receive(product, north, "LATE", 40, days=90)),
    ]

    outcomes = run_concurrently([reservation(product, 7, f"SO-{n}") for n in range(40)])

    assert_only_ok_or_refused(outcomes)
    assert Counter(outcomes) == {OK: 14, REFUSED: 26}  # 14 x 7 = 98 of 100
    levels = [level(product, warehouse, lot) for warehouse, lot in lots]
    assert sum(reserved for _, reserved in levels) == 98
    # FEFO: the earlier lots are used up before the latest one.
    assert levels[:2] == [(30, 30), (30, 30)]
    assert levels[2] == (40, 38)
    assert set(active_reservations(product).values()) == {7}
    assert_consistent(product)


# -- (b) removals ------------------------------------------------------------------------------


def test_concurrent_removals_and_reservations_share_one_lot() -> None:
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    lot = receive(product, north, "LOT-100", 100, days=90)
    four = Decimal(4)

    def waste() -> Task:
        def task() -> None:
            with session_scope() as db:
                stock.waste(
                    db, CONTEXT, product_id=product, lot_id=lot, warehouse_id=north, quantity=four
                )

        return task

    def transfer() -> Task:
        def task() -> None:
            with session_scope() as db:
                stock.transfer(
                    db,
                    CONTEXT,
                    product_id=product,
                    lot_id=lot,
                    from_warehouse_id=north,
                    to_warehouse_id=south,
                    quantity=four,
                )

        return task

    def adjustment() -> Task:
        def task() -> None:
            with session_scope() as db:
                stock.adjust(
                    db, CONTEXT, product_id=product, lot_id=lot, warehouse_id=north, quantity=-four
                )

        return task

    kinds = ["waste", "transfer", "adjustment", "reservation"] * 16
    makers: dict[str, Callable[[int], Task]] = {
        "waste": lambda _: waste(),
        "transfer": lambda _: transfer(),
        "adjustment": lambda _: adjustment(),
        # Held in north only: stock transferred south is no longer the contested lot.
        "reservation": lambda n: reservation(product, 4, f"SO-{n}", north),
    }
    outcomes = run_concurrently([makers[kind](n) for n, kind in enumerate(kinds)])

    assert_only_ok_or_refused(outcomes)
    assert Counter(outcomes) == {OK: 25, REFUSED: 39}
    done = Counter(kind for kind, outcome in zip(kinds, outcomes, strict=True) if outcome == OK)
    taken = 4 * (done["waste"] + done["transfer"] + done["adjustment"])
    assert level(product, north, lot) == (100 - taken, 4 * done["reservation"])
    assert level(product, south, lot) == (4 * done["transfer"], 0)
    ledger = ledger_by_kind(product)
    expected = {
        MovementKind.RECEIPT.value: (1, Decimal(100)),
        MovementKind.WASTE.value: (done["waste"], Decimal(-4 * done["waste"])),
        MovementKind.TRANSFER_OUT.value: (done["transfer"], Decimal(-4 * done["transfer"])),
        MovementKind.TRANSFER_IN.value: (done["transfer"], Decimal(4 * done["transfer"])),
        MovementKind.ADJUSTMENT.value: (done["adjustment"], Decimal(-4 * done["adjustment"])),
    }
    assert ledger == {kind: value for kind, value in expected.items() if value[0]}
    assert_consistent(product)


def test_concurrent_transfers_both_ways_conserve_stock() -> None:
    product = make_product()
    north, south = make_warehouse(), make_warehouse()
    lot = receive(product, north, "LOT-A", 100, days=90)
    receive(product, south, "LOT-A", 100, days=90)
    four = Decimal(4)

    def transfer(source: int, target: int) -> Task:
        def task() -> None:
            with session_scope() as db:
                stock.transfer(
                    db,
                    CONTEXT,
                    product_id=product,
                    lot_id=lot,
                    from_warehouse_id=source,
                    to_warehouse_id=target,
                    quantity=four,
                )

        return task

    def waste(warehouse: int) -> Task:
        def task() -> None:
            with session_scope() as db:
                stock.waste(
                    db,
                    CONTEXT,
                    product_id=product,
                    lot_id=lot,
                    warehouse_id=warehouse,
                    quantity=four,
                )

        return task

    tasks = [transfer(north, south), transfer(south, north), waste(north), waste(south)] * 20
    outcomes = run_concurrently(tasks)

    assert_only_ok_or_refused(outcomes)
    wasted = sum(1 for n, outcome in enumerate(outcomes) if outcome == OK and n % 4 >= 2)
    north_level, south_level = level(product, north, lot), level(product, south, lot)
    assert north_level[0] >= 0
    assert south_level[0] >= 0
    assert north_level[0] + south_level[0] == 200 - 4 * wasted
    assert_consistent(product)


# -- (c) through the API of a real server with two workers -------------------------------------


def test_concurrent_waste_requests_through_two_server_workers(
    test_env: dict[str, str], make_user: MakeUser
) -> None:
    product = make_product()
    warehouse = make_warehouse()
    lot = receive(product, warehouse, "LOT-100", 100, days=90)
    user = make_user(role=Role.MANAGER)
    body = json.dumps(
        {
            "product_id": product,
            "lot_id": lot,
            "warehouse_id": warehouse,
            "quantity": "4",
            "reason": "mould found",
        }
    ).encode()

    with running_server(test_env, workers=2) as server:
        login = server.post_form(
            "/api/v1/auth/login", {"username": user.email, "password": PASSWORD}
        )
        assert login.status == 200, login.text
        headers = {
            **bearer(login.json()["access_token"]),
            "Content-Type": "application/json",
        }
        start = threading.Event()

        def post(_: int) -> tuple[int, str]:
            """The status, and the movement written, the problem type or the start of the body."""
            start.wait()
            response = http_request(
                server.port, "POST", "/api/v1/stock/waste", body=body, headers=headers
            )
            if response.status == 201:
                [movement] = response.json()["movements"]
                return 201, f"{movement['kind']} {Decimal(movement['quantity']).normalize()}"
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                return response.status, str(response.json().get("type"))
            return response.status, response.text[:300]

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(post, n) for n in range(50)]
            start.set()
            answers = [future.result() for future in futures]
        server_output = server.output()

    assert Counter(status for status, _ in answers) == {201: 25, 409: 25}, answers
    assert {what for status, what in answers if status == 201} == {"waste -4"}
    assert {what for status, what in answers if status == 409} == {
        "urn:dfims:problem:insufficient-stock"
    }
    assert "Traceback" not in server_output
    assert level(product, warehouse, lot) == (0, 0)
    assert ledger_by_kind(product) == {
        MovementKind.RECEIPT.value: (1, Decimal(100)),
        MovementKind.WASTE.value: (25, Decimal(-100)),
    }
    assert_consistent(product)
