"""Properties of the ledger and the stock-level projection under random sequences of movements.

Each example works on its own uniquely coded products and warehouses, so the database needs no
cleaning between examples; only those records are compared with a plain Python model.
"""

import inspect
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import ConflictError, DomainError, InvalidRequestError
from app.models.catalog import UnitOfMeasure
from app.models.inventory import (
    Lot,
    LotStatus,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.services import allocation, stock
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.catalog import products, warehouses
from app.services.stock import CountLine, InsufficientStockError, MovementContext, ReceiptLine

T = TypeVar("T")

ACTOR = Actor(user_id=None, label="property tests")
CONTEXT = MovementContext(actor=ACTOR, reference="PROP", reason="property test")
ZERO = Decimal(0)

# Quantities in quarters are exact in binary floating point too, so these examples test the
# bookkeeping rules; test_decimal_quantities_are_exact covers arbitrary three-decimal amounts.
WHOLE = st.integers(min_value=1, max_value=12).map(Decimal)
QUANTITIES = st.one_of(
    WHOLE, WHOLE, st.integers(min_value=1, max_value=48).map(lambda n: Decimal(n) / 4)
)
PRODUCT = st.integers(min_value=0, max_value=1)
WAREHOUSE = st.integers(min_value=0, max_value=1)


@dataclass(frozen=True)
class LotSpec:
    """A lot code with its dates, in days from today."""

    code: str
    received: int
    best_before: int


LOT_SPECS = (
    LotSpec("A", 0, 10),
    LotSpec("B", 0, 40),
    LotSpec("C", 0, 40),  # same best-before as B: the older lot goes first
    LotSpec("X", -60, -1),  # already past its best-before when received
)
LOT = st.sampled_from([spec.code for spec in LOT_SPECS])
SPEC = {spec.code: spec for spec in LOT_SPECS}

Key = tuple[int, int, str]
"""(product index, warehouse index, lot code) of the model."""


def attempt(action: Callable[[Session], T]) -> T | DomainError:
    """Run ``action`` in its own unit of work; a refusal rolls it back and is returned."""
    try:
        with session_scope() as db:
            return action(db)
    except DomainError as exc:
        return exc


def assert_outcome(outcome: object, refusal: type[DomainError] | None) -> None:
    """``outcome`` is a success when ``refusal`` is None, else exactly that refusal."""
    frame = inspect.currentframe()
    step = frame.f_back.f_code.co_name if frame is not None and frame.f_back is not None else "?"
    event(f"{step}: {'ok' if refusal is None else refusal.__name__}")
    if refusal is None:
        assert not isinstance(outcome, DomainError), f"refused unexpectedly: {outcome!r}"
    else:
        assert type(outcome) is refusal, f"expected {refusal.__name__}, got {outcome!r}"


def whole(quantity: Decimal) -> bool:
    return quantity == quantity.to_integral_value()


class StockMachine(RuleBasedStateMachine):
    """Random movements of 2 products (kg and packs) x 2 warehouses x 4 lots against a model."""

    @initialize(
        receipts=st.lists(
            st.tuples(PRODUCT, WAREHOUSE, LOT, st.integers(min_value=4, max_value=30).map(Decimal)),
            min_size=2,
            max_size=6,
        )
    )
    def create_catalog(self, receipts: list[tuple[int, int, str, Decimal]]) -> None:
        tag = uuid.uuid4().hex[:10]
        self.tag = tag  # references too are unique per example: release() and issue() match
        self.today = date.today()
        with session_scope() as db:
            self.product_ids = [
                products.create(
                    db,
                    ACTOR,
                    {
                        "sku": f"PROP-{index}-{tag}",
                        "name": f"Property product {index}",
                        "unit": unit.value,
                        "net_weight_kg": Decimal(weight),
                    },
                ).id
                for index, (unit, weight) in enumerate(
                    [(UnitOfMeasure.KG, "1"), (UnitOfMeasure.PACK, "0.5")]
                )
            ]
            self.warehouse_ids = [
                warehouses.create(
                    db, ACTOR, {"code": f"W{index}-{tag}", "name": f"Warehouse {index}"}
                ).id
                for index in range(2)
            ]
        self.packs = [False, True]
        self.lot_ids: dict[tuple[int, str], int] = {}
        self.lot_status: dict[tuple[int, str], str] = {}
        self.on_hand: dict[Key, Decimal] = {}  # a key exists once its level row does
        self.reservations: dict[str, list[tuple[Key, Decimal]]] = {}
        self.active: set[str] = set()
        self.movement_count = 0
        for product, warehouse, code, quantity in receipts:
            self.receive(product, warehouse, code, quantity)

    # -- the model ---------------------------------------------------------------------------

    def reserved(self, key: Key) -> Decimal:
        return sum(
            (
                quantity
                for reference in self.active
                for held, quantity in self.reservations[reference]
                if held == key
            ),
            ZERO,
        )

    def available(self, key: Key) -> Decimal:
        return self.on_hand.get(key, ZERO) - self.reserved(key)

    def lot_id(self, product: int, code: str) -> int | None:
        return self.lot_ids.get((product, code))

    def fefo(
        self, product: int, quantity: Decimal, warehouse: int | None, good_until: date
    ) -> list[tuple[Key, Decimal]] | None:
        """The reservations FEFO should make, or None when there is not enough."""
        candidates = sorted(
            (
                self.today + timedelta(days=SPEC[code].best_before),
                self.lot_ids[(product, code)],
                self.warehouse_ids[w],
                (p, w, code),
            )
            for (p, w, code) in self.on_hand
            if p == product
            and (warehouse is None or w == warehouse)
            and self.lot_status[(p, code)] == LotStatus.AVAILABLE.value
            and self.today + timedelta(days=SPEC[code].best_before) >= good_until
            and self.available((p, w, code)) > 0
        )
        plan = []
        remaining = quantity
        for *_, key in candidates:
            take = min(remaining, self.available(key))
            plan.append((key, take))
            remaining -= take
            if remaining == 0:
                return plan
        return None

    def pick_reference(self, data: st.DataObject) -> str:
        """Mostly a reference holding active reservations; else any, or one never used."""
        anything = st.sampled_from([*sorted(self.reservations), f"NOBODY-{self.tag}"])
        if not self.active:
            return data.draw(anything)
        return data.draw(st.one_of(st.sampled_from(sorted(self.active)), anything))

    def add(self, key: Key, quantity: Decimal) -> None:
        self.on_hand[key] = self.on_hand.get(key, ZERO) + quantity

    # -- movements ---------------------------------------------------------------------------

    @rule(product=PRODUCT, warehouse=WAREHOUSE, code=LOT, quantity=QUANTITIES)
    def receive(self, product: int, warehouse: int, code: str, quantity: Decimal) -> None:
        spec = SPEC[code]
        line = ReceiptLine(
            product_id=self.product_ids[product],
            warehouse_id=self.warehouse_ids[warehouse],
            lot_code=code,
            quantity=quantity,
            received_date=self.today + timedelta(days=spec.received),
            best_before=self.today + timedelta(days=spec.best_before),
        )
        outcome = attempt(lambda db: stock.receive(db, CONTEXT, line))
        status = self.lot_status.get((product, code))
        if self.packs[product] and not whole(quantity):
            assert_outcome(outcome, InvalidRequestError)
        elif status in (LotStatus.RECALLED.value, LotStatus.EXPIRED.value):
            assert_outcome(outcome, ConflictError)
        else:
            assert_outcome(outcome, None)
            assert isinstance(outcome, StockMovement)
            assert outcome.quantity == quantity
            self.lot_ids.setdefault((product, code), outcome.lot_id)
            self.lot_status.setdefault((product, code), LotStatus.AVAILABLE.value)
            assert self.lot_ids[(product, code)] == outcome.lot_id
            self.add((product, warehouse, code), quantity)
            self.movement_count += 1

    @rule(
        product=PRODUCT,
        quantity=QUANTITIES,
        warehouse=st.none() | WAREHOUSE,
        min_shelf_life_days=st.sampled_from([0, 0, 20, 45]),
    )
    def reserve(
        self, product: int, quantity: Decimal, warehouse: int | None, min_shelf_life_days: int
    ) -> None:
        reference = f"R{len(self.reservations)}-{self.tag}"
        request = AllocationRequest(
            product_id=self.product_ids[product],
            quantity=quantity,
            reference=reference,
            min_shelf_life_days=min_shelf_life_days,
            warehouse_id=None if warehouse is None else self.warehouse_ids[warehouse],
        )
        outcome = attempt(
            lambda db: [
                (r.lot_id, r.warehouse_id, r.quantity, r.status)
                for r in allocation.reserve(db, request, today=self.today)
            ]
        )
        good_until = self.today + timedelta(days=min_shelf_life_days)
        plan = self.fefo(product, quantity, warehouse, good_until)
        if self.packs[product] and not whole(quantity):
            assert_outcome(outcome, InvalidRequestError)
        elif plan is None:
            assert_outcome(outcome, InsufficientStockError)
        else:
            assert_outcome(outcome, None)
            assert outcome == [
                (
                    self.lot_ids[(p, code)],
                    self.warehouse_ids[w],
                    take,
                    ReservationStatus.ACTIVE.value,
                )
                for (p, w, code), take in plan
            ]
            self.reservations[reference] = plan
            self.active.add(reference)

    @precondition(lambda self: bool(self.reservations))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        reference = self.pick_reference(data)
        outcome = attempt(
            lambda db: sorted(
                (r.lot_id, r.warehouse_id, r.quantity) for r in allocation.release(db, reference)
            )
        )
        assert_outcome(outcome, None)
        expected = self.reservations[reference] if reference in self.active else []
        assert outcome == sorted(
            (self.lot_ids[(p, code)], self.warehouse_ids[w], quantity)
            for (p, w, code), quantity in expected
        )
        self.active.discard(reference)

    @precondition(lambda self: bool(self.reservations))
    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        reference = self.pick_reference(data)
        outcome = attempt(
            lambda db: [
                (m.kind, m.quantity, m.reference) for m in allocation.issue(db, CONTEXT, reference)
            ]
        )
        if reference not in self.active:
            assert_outcome(outcome, ConflictError)
            return
        assert_outcome(outcome, None)
        held = self.reservations[reference]
        assert outcome == [("issue", -quantity, CONTEXT.reference) for _, quantity in held]
        self.active.discard(reference)
        for key, quantity in held:
            self.add(key, -quantity)
        self.movement_count += len(held)

    @rule(
        product=PRODUCT,
        warehouse=WAREHOUSE,
        code=LOT,
        quantity=QUANTITIES,
        sign=st.sampled_from([1, -1]),
    )
    def adjust(self, product: int, warehouse: int, code: str, quantity: Decimal, sign: int) -> None:
        lot_id = self.lot_id(product, code)
        if lot_id is None:
            return
        signed = quantity * sign
        outcome = attempt(
            lambda db: stock.adjust(
                db,
                CONTEXT,
                product_id=self.product_ids[product],
                lot_id=lot_id,
                warehouse_id=self.warehouse_ids[warehouse],
                quantity=signed,
            )
        )
        key = (product, warehouse, code)
        if self.packs[product] and not whole(quantity):
            assert_outcome(outcome, InvalidRequestError)
        elif signed < 0 and self.available(key) < quantity:
            assert_outcome(outcome, InsufficientStockError)
        else:
            assert_outcome(outcome, None)
            self.add(key, signed)
            self.movement_count += 1

    @rule(product=PRODUCT, warehouse=WAREHOUSE, code=LOT, quantity=QUANTITIES)
    def waste(self, product: int, warehouse: int, code: str, quantity: Decimal) -> None:
        lot_id = self.lot_id(product, code)
        if lot_id is None:
            return
        outcome = attempt(
            lambda db: stock.waste(
                db,
                CONTEXT,
                product_id=self.product_ids[product],
                lot_id=lot_id,
                warehouse_id=self.warehouse_ids[warehouse],
                quantity=quantity,
            )
        )
        key = (product, warehouse, code)
        if self.packs[product] and not whole(quantity):
            assert_outcome(outcome, InvalidRequestError)
        elif self.available(key) < quantity:
            assert_outcome(outcome, InsufficientStockError)
        else:
            assert_outcome(outcome, None)
            self.add(key, -quantity)
            self.movement_count += 1

    @rule(
        product=PRODUCT,
        code=LOT,
        source=WAREHOUSE,
        same_warehouse=st.integers(min_value=0, max_value=5).map(lambda n: n == 0),
        quantity=QUANTITIES,
    )
    def transfer(
        self, product: int, code: str, source: int, same_warehouse: bool, quantity: Decimal
    ) -> None:
        destination = source if same_warehouse else 1 - source
        lot_id = self.lot_id(product, code)
        if lot_id is None:
            return
        outcome = attempt(
            lambda db: stock.transfer(
                db,
                CONTEXT,
                product_id=self.product_ids[product],
                lot_id=lot_id,
                from_warehouse_id=self.warehouse_ids[source],
                to_warehouse_id=self.warehouse_ids[destination],
                quantity=quantity,
            )
        )
        if source == destination or (self.packs[product] and not whole(quantity)):
            assert_outcome(outcome, InvalidRequestError)
        elif self.available((product, source, code)) < quantity:
            assert_outcome(outcome, InsufficientStockError)
        else:
            assert_outcome(outcome, None)
            self.add((product, source, code), -quantity)
            self.add((product, destination, code), quantity)
            self.movement_count += 2

    @rule(
        warehouse=WAREHOUSE,
        lines=st.dictionaries(
            st.tuples(PRODUCT, LOT),
            st.one_of(st.just(ZERO), QUANTITIES),
            max_size=3,
        ),
        complete=st.booleans(),
    )
    def count(
        self,
        warehouse: int,
        lines: dict[tuple[int, str], Decimal],
        complete: bool,
    ) -> None:
        known = {lot: counted for lot, counted in lines.items() if lot in self.lot_ids}
        if not known and not complete:
            return
        outcome = attempt(
            lambda db: stock.count(
                db,
                CONTEXT,
                warehouse_id=self.warehouse_ids[warehouse],
                lines=[CountLine(self.lot_ids[lot], counted) for lot, counted in known.items()],
                complete=complete,
            )
        )
        counted = dict(known)
        if complete:
            for p, w, code in self.on_hand:
                if w == warehouse and self.on_hand[(p, w, code)] > 0:
                    counted.setdefault((p, code), ZERO)
        refusal: type[DomainError] | None = None
        changes: list[tuple[Key, Decimal]] = []
        for p, code in sorted(counted, key=lambda lot: self.lot_ids[lot]):
            key = (p, warehouse, code)
            if self.packs[p] and not whole(counted[(p, code)]):
                refusal = InvalidRequestError
                break
            difference = counted[(p, code)] - self.on_hand.get(key, ZERO)
            if difference == 0:
                continue
            if key in self.on_hand and self.reserved(key) > counted[(p, code)]:
                refusal = ConflictError
                break
            changes.append((key, difference))
        assert_outcome(outcome, refusal)
        if refusal is None:
            for key, difference in changes:
                self.add(key, difference)
            self.movement_count += len(changes)

    @rule(product=PRODUCT, code=LOT, status=st.sampled_from(list(LotStatus)))
    def set_lot_status(self, product: int, code: str, status: LotStatus) -> None:
        lot_id = self.lot_id(product, code)
        if lot_id is None:
            return
        with session_scope() as db:
            lot = db.get(Lot, lot_id)
            assert lot is not None
            lot.status = status.value
        self.lot_status[(product, code)] = status.value

    # -- what must hold after every step ------------------------------------------------------

    @invariant()
    def database_agrees(self) -> None:
        names = {
            (self.product_ids[p], self.warehouse_ids[w], self.lot_ids[(p, code)]): (p, w, code)
            for p, w, code in self.on_hand
        }
        with session_scope() as db:
            levels = {
                (row.product_id, row.warehouse_id, row.lot_id): (row.on_hand, row.reserved)
                for row in db.scalars(
                    select(StockLevel).where(StockLevel.product_id.in_(self.product_ids))
                )
            }
            ledger_rows = db.execute(
                select(
                    StockMovement.product_id,
                    StockMovement.warehouse_id,
                    StockMovement.lot_id,
                    func.sum(StockMovement.quantity),
                    func.count(),
                )
                .where(StockMovement.product_id.in_(self.product_ids))
                .group_by(
                    StockMovement.product_id, StockMovement.warehouse_id, StockMovement.lot_id
                )
            ).all()
            active_rows = db.execute(
                select(
                    Reservation.product_id,
                    Reservation.warehouse_id,
                    Reservation.lot_id,
                    func.sum(Reservation.quantity),
                )
                .where(
                    Reservation.product_id.in_(self.product_ids),
                    Reservation.status == ReservationStatus.ACTIVE.value,
                )
                .group_by(Reservation.product_id, Reservation.warehouse_id, Reservation.lot_id)
            ).all()
        ledger = {(p, w, lot): total for p, w, lot, total, _ in ledger_rows}
        active: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
        active.update({(p, w, lot): total for p, w, lot, total in active_rows})

        assert set(levels) == set(ledger), "a level without ledger rows or the reverse"
        assert sum(rows for *_, rows in ledger_rows) == self.movement_count
        for key, (on_hand, reserved) in levels.items():
            assert on_hand == ledger[key], (names.get(key), on_hand, ledger[key])
            assert ZERO <= reserved <= on_hand, (names.get(key), on_hand, reserved)
            assert reserved == active[key], (names.get(key), reserved, active[key])
        assert set(levels) == set(names)
        for key, (p, w, code) in names.items():
            assert levels[key] == (self.on_hand[(p, w, code)], self.reserved((p, w, code))), (
                (p, w, code),
                levels[key],
            )
        assert set(active) <= set(levels)


def test_random_movements_keep_ledger_and_levels_in_step() -> None:
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# -- decimal quantities ------------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(parts=[Decimal("0.1"), Decimal("0.2")])
@given(
    parts=st.lists(
        st.integers(min_value=1, max_value=99_999).map(lambda n: Decimal(n) / 1000),
        min_size=2,
        max_size=5,
    )
)
def test_decimal_quantities_are_exact(parts: list[Decimal]) -> None:
    """Receipts of three-decimal amounts can be counted and taken back to exactly zero."""
    tag = uuid.uuid4().hex[:10]
    with session_scope() as db:
        product_id = products.create(db, ACTOR, {"sku": f"DEC-{tag}", "name": "Walnuts"}).id
        warehouse_id = warehouses.create(db, ACTOR, {"code": f"D-{tag}", "name": "Dec"}).id
    lot_id = 0
    for part in parts:
        line = ReceiptLine(
            product_id=product_id, warehouse_id=warehouse_id, lot_code="LOT", quantity=part
        )
        with session_scope() as db:
            lot_id = stock.receive(db, CONTEXT, line).lot_id
    total = sum(parts, ZERO)

    # A stocktake that finds the first part missing books exactly that difference.
    with session_scope() as db:
        booked = stock.count(
            db, CONTEXT, warehouse_id=warehouse_id, lines=[CountLine(lot_id, total - parts[0])]
        )
        assert [m.quantity for m in booked] == [-parts[0]]
    # Everything else can be taken, to the last gram.
    for part in parts[1:]:
        with session_scope() as db:
            stock.waste(
                db,
                CONTEXT,
                product_id=product_id,
                lot_id=lot_id,
                warehouse_id=warehouse_id,
                quantity=part,
            )
    with session_scope() as db:
        level = db.scalar(select(StockLevel).where(StockLevel.lot_id == lot_id))
        assert level is not None
        assert level.on_hand == 0
        ledger = db.scalar(
            select(func.sum(StockMovement.quantity)).where(StockMovement.lot_id == lot_id)
        )
        assert ledger == 0
