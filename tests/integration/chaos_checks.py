"""The ledger chaos run's invariants, checked against the database and the service."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import psycopg

from tests.integration.chaos_load import (
    History,
    Write,
)
from tests.integration.chaos_scene import (
    TRANSITIONS,
    Level,
    OrderModel,
    Scene,
    expected_levels,
    settled_orders,
)
from tests.support.servers import run_dfims

# -- reading the database ----------------------------------------------------------------------


class Database:
    """Plain SQL against the cluster, one autocommit connection."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.connection = connection

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def value(self, sql: str, *params: object) -> Any:
        [(value,)] = self.rows(sql, *params)
        return value

    def lots(self) -> dict[tuple[int, str], int]:
        """Lot ids by (product, lot code)."""
        return {
            (p, code): lot
            for lot, p, code in self.rows("SELECT id, product_id, lot_code FROM lots")
        }

    def levels(self) -> dict[Level, tuple[Decimal, Decimal]]:
        return {
            (p, w, lot): (on_hand, reserved)
            for p, w, lot, on_hand, reserved in self.rows(
                "SELECT product_id, warehouse_id, lot_id, on_hand, reserved FROM stock_levels"
            )
        }

    def movements(self, kind: str) -> dict[str, list[tuple[Any, ...]]]:
        """Ledger rows of ``kind`` by reference: (id, product, lot, warehouse, quantity, group)."""
        found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for reference, *row in self.rows(
            "SELECT reference, id, product_id, lot_id, warehouse_id, quantity, group_id "
            "FROM stock_movements WHERE kind = %s ORDER BY id",
            kind,
        ):
            found[reference].append(tuple(row))
        return found

    def counts(self) -> dict[str, Any]:
        """Row counts of every table a write may touch, and the levels' totals."""
        tables = (
            "sales_orders",
            "sales_order_lines",
            "reservations",
            "stock_movements",
            "stock_levels",
            "lots",
            "purchase_receipts",
            "purchase_receipt_lines",
            "idempotency_keys",
            "audit_log",
        )
        found: dict[str, Any] = {
            table: self.value(f"SELECT count(*) FROM {table}") for table in tables
        }
        found["on_hand"], found["reserved"] = self.rows(
            "SELECT coalesce(sum(on_hand), 0), coalesce(sum(reserved), 0) FROM stock_levels"
        )[0]
        found["received"] = self.value(
            "SELECT coalesce(sum(received_quantity), 0) FROM purchase_order_lines"
        )
        return found


# -- the invariants ----------------------------------------------------------------------------


class Invariants:
    """Named checks; each fails the test with the first violations it found."""

    def __init__(self) -> None:
        self.held: list[str] = []

    def hold(self, name: str, violations: Iterable[object]) -> None:
        found = list(violations)
        assert not found, f"{name}: {len(found)} violation(s), first ones: {found[:8]}"
        self.held.append(name)


def projection_drift(db: Database) -> list[object]:
    """Levels whose on-hand is not their ledger's sum, or whose reserved is not what their
    active reservations hold (what ``dfims stock check`` looks for, in SQL)."""
    levels = db.levels()
    ledger = {
        (p, w, lot): total
        for p, w, lot, total in db.rows(
            "SELECT product_id, warehouse_id, lot_id, sum(quantity) FROM stock_movements "
            "GROUP BY product_id, warehouse_id, lot_id"
        )
    }
    active = {
        (p, w, lot): total
        for p, w, lot, total in db.rows(
            "SELECT product_id, warehouse_id, lot_id, sum(quantity) FROM reservations "
            "WHERE status = 'active' GROUP BY product_id, warehouse_id, lot_id"
        )
    }
    return [
        (level, levels.get(level), ledger.get(level), active.get(level))
        for level in set(levels) | set(ledger) | set(active)
        if levels.get(level, (0, 0)) != (ledger.get(level, 0), active.get(level, 0))
    ]


def check_database(
    invariants: Invariants, db: Database, scene: Scene, history: History
) -> dict[str, Any]:
    """Every invariant of the ledger and of the settled history; the history's totals."""
    orders, wrong_answers = settled_orders(history)
    invariants.hold("acknowledging answers are whole", wrong_answers)

    levels = db.levels()
    invariants.hold(
        "0 <= reserved <= on_hand on every level",
        [
            (level, on_hand, reserved)
            for level, (on_hand, reserved) in levels.items()
            if not (on_hand >= 0 and 0 <= reserved <= on_hand)
        ],
    )
    invariants.hold(
        "levels equal the ledger's sums and the active reservations", projection_drift(db)
    )

    lots = db.lots()
    receipts = [w for w in history.writes if w.kind == "receipt"]
    made = {
        (scene.product_of_line(line["line_id"]), line["lot_code"])
        for w in receipts
        if w.applied and w.body is not None
        for line in w.body["lines"]
    }
    invariants.hold(
        "a lot exists for each opening and each applied delivery, no other",
        [
            ("extra", lot)
            for lot in set(lots) - made - {(lot.product, lot.code) for lot in scene.lots}
        ]
        + [("missing", lot) for lot in made - set(lots)],
    )
    expected = expected_levels(scene, history, orders, lots)
    stored = {level: held for level, held in levels.items() if held != (0, 0)}
    invariants.hold(
        "levels equal what the settled history adds up to",
        [
            (level, stored.get(level), expected.get(level))
            for level in set(stored) | set(expected)
            if stored.get(level) != expected.get(level)
        ],
    )

    check_orders(invariants, db, history, orders)
    totals = check_movements(invariants, db, scene, history, orders, lots)
    check_audit(invariants, db, scene, history)

    keys = {
        key: (status, path)
        for key, status, path in db.rows("SELECT key, status_code, path FROM idempotency_keys")
    }
    applied = {
        write.key: (write.answer.status, write.path) for write in history.writes if write.applied
    }
    invariants.hold(
        "exactly the applied writes have a stored answer",
        [
            (key, keys.get(key), applied.get(key))
            for key in set(keys) | set(applied)
            if keys.get(key) != applied.get(key)
        ],
    )
    return totals


def check_orders(
    invariants: Invariants, db: Database, history: History, orders: dict[int, OrderModel]
) -> None:
    """Orders placed once per applied key, in the state the history left them, their stock
    reserved, released or issued whole or not at all."""
    stored = {
        order_id: (number, notes, status)
        for order_id, number, notes, status in db.rows(
            "SELECT id, number, notes, status FROM sales_orders"
        )
    }
    per_key = Counter(notes for _, notes, _ in stored.values())
    refused_keys = {w.key for w in history.writes if w.kind == "create_order" and not w.applied}
    invariants.hold(
        "one order per applied key, none for a refused one",
        [
            ("missing", order.id, order.key)
            for order in orders.values()
            if stored.get(order.id, (None, None, None))[:2] != (order.number, order.key)
        ]
        + [("not in the history", order_id) for order_id in set(stored) - set(orders)]
        + [("twice", key, n) for key, n in per_key.items() if n > 1]
        + [("refused yet stored", key) for key in refused_keys & set(per_key)],
    )
    stored_lines: dict[int, dict[int, tuple[int, Decimal]]] = defaultdict(dict)
    for order_id, line_no, product, quantity in db.rows(
        "SELECT order_id, line_no, product_id, quantity FROM sales_order_lines"
    ):
        stored_lines[order_id][line_no] = (product, quantity)
    invariants.hold(
        "orders hold the lines they were placed with",
        [order.id for order in orders.values() if stored_lines.get(order.id) != order.lines],
    )
    invariants.hold(
        "order statuses follow the settled history",
        [
            (order.id, stored[order.id][2], order.status)
            for order in orders.values()
            if order.id in stored and stored[order.id][2] != order.status
        ],
    )

    reservations: dict[str, Counter[tuple[Any, ...]]] = defaultdict(Counter)
    for reference, lot, warehouse, quantity, status in db.rows(
        "SELECT reference, lot_id, warehouse_id, quantity, status FROM reservations"
    ):
        number, _, line_no = reference.rpartition("/")
        reservations[number][(int(line_no), lot, warehouse, quantity, status)] += 1
    by_number = {order.number: order for order in orders.values()}
    wrong = [number for number in reservations if number not in by_number]
    for order in orders.values():
        status = order.reservation_status()
        wanted = Counter(
            (line_no, lot, warehouse, quantity, status)
            for line_no, lot, warehouse, quantity in (order.allocations if status else [])
        )
        if reservations.get(order.number, Counter()) != wanted:
            wrong.append((order.id, order.status, dict(reservations.get(order.number, {}))))
    invariants.hold("reservations are all of an order's lines or none, as answered", wrong)

    issues = {
        reference: Counter((lot, warehouse, quantity) for _, _, lot, warehouse, quantity, _ in rows)
        for reference, rows in db.movements("issue").items()
    }
    wrong = [reference for reference in issues if reference not in by_number]
    for order in orders.values():
        wanted = Counter(
            (lot, warehouse, -quantity)
            for _, lot, warehouse, quantity in order.allocations
            if order.status == "shipped"
        )
        if issues.get(order.number, Counter()) != wanted:
            wrong.append((order.id, order.status, dict(issues.get(order.number, {}))))
    invariants.hold("shipped orders issued once, exactly what they reserved", wrong)


def check_movements(
    invariants: Invariants,
    db: Database,
    scene: Scene,
    history: History,
    orders: dict[int, OrderModel],
    lots: dict[tuple[int, str], int],
) -> dict[str, Any]:
    """Transfers, adjustments and receipts in the ledger once each when applied, not at all
    otherwise; the ledger's totals per kind equal the history's. The history's totals."""
    transfers = db.movements("transfer_out")
    for reference, rows in db.movements("transfer_in").items():
        transfers[reference] = transfers.get(reference, []) + rows
    wrong: list[object] = [key for key in transfers if not key.startswith("chaos-")]
    for write in (w for w in history.writes if w.kind == "transfer"):
        body = write.body
        assert body is not None
        rows = sorted(transfers.get(write.key, []))
        if not write.applied:
            if rows:
                wrong.append(("refused yet stored", write.key, rows))
            continue
        quantity = Decimal(body["quantity"])
        lot, product = body["lot_id"], body["product_id"]
        legs = {row[1:5] for row in rows}
        answered = sorted(m["id"] for m in write.answer.json()["movements"])
        if (
            legs
            != {
                (product, lot, body["from_warehouse_id"], -quantity),
                (product, lot, body["to_warehouse_id"], quantity),
            }
            or len(rows) != 2
            or len({row[-1] for row in rows}) != 1
            or [row[0] for row in rows] != answered
        ):
            wrong.append((write.key, rows, answered))
    invariants.hold("transfers applied once with both legs, or not at all", wrong)

    adjustments = db.movements("adjustment")
    wrong = [key for key in adjustments if not key.startswith("chaos-")]
    for write in (w for w in history.writes if w.kind == "adjustment"):
        body = write.body
        assert body is not None
        rows = adjustments.get(write.key, [])
        if not write.applied:
            if rows:
                wrong.append(("refused yet stored", write.key, rows))
            continue
        [answered] = write.answer.json()["movements"]
        wanted = [
            (
                answered["id"],
                body["product_id"],
                body["lot_id"],
                body["warehouse_id"],
                Decimal(body["quantity"]),
            )
        ]
        if [row[:5] for row in rows] != wanted:
            wrong.append((write.key, rows, wanted))
    invariants.hold("adjustments applied once, or not at all", wrong)

    receipts: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for note, *row in db.rows(
        "SELECT r.delivery_note, r.warehouse_id, l.order_line_id, l.lot_id, l.quantity, "
        "m.kind, m.warehouse_id, m.lot_id, m.quantity "
        "FROM purchase_receipts r LEFT JOIN purchase_receipt_lines l ON l.receipt_id = r.id "
        "LEFT JOIN stock_movements m ON m.id = l.movement_id"
    ):
        receipts[note].append(tuple(row))
    wrong = [note for note in receipts if not note.startswith("chaos-")]
    received: defaultdict[int, Decimal] = defaultdict(Decimal)
    for write in (w for w in history.writes if w.kind == "receipt"):
        body = write.body
        assert body is not None
        rows = receipts.get(write.key, [])
        if not write.applied:
            if rows:
                wrong.append(("refused yet stored", write.key, rows))
            continue
        [line] = body["lines"]
        quantity = Decimal(line["quantity"])
        lot = lots[(scene.product_of_line(line["line_id"]), line["lot_code"])]
        warehouse = body["warehouse_id"]
        received[line["line_id"]] += quantity
        wanted = [(warehouse, line["line_id"], lot, quantity, "receipt", warehouse, lot, quantity)]
        if rows != wanted:
            wrong.append((write.key, rows, wanted))
    invariants.hold("deliveries received once, their receipt rows with them, or not at all", wrong)
    invariants.hold(
        "purchase lines count exactly the applied deliveries",
        [
            (line, quantity, received[line])
            for line, quantity in db.rows("SELECT id, received_quantity FROM purchase_order_lines")
            if quantity != received[line]
        ],
    )

    def summed(writes: list[Write], quantity: Any) -> Decimal:
        return sum((Decimal(quantity(write.body)) for write in writes), Decimal(0))

    applied_receipts = history.applied("receipt")
    applied_transfers = history.applied("transfer")
    applied_adjustments = history.applied("adjustment")
    opening = sum(scene.opening.values(), Decimal(0))
    received_total = summed(applied_receipts, lambda body: body["lines"][0]["quantity"])
    moved = summed(applied_transfers, lambda body: body["quantity"])
    adjusted = summed(applied_adjustments, lambda body: body["quantity"])
    shipped = [
        quantity
        for order in orders.values()
        if order.status == "shipped"
        for _, _, _, quantity in order.allocations
    ]
    shipped_total = sum(shipped, Decimal(0))
    wanted_kinds = {
        "receipt": (len(scene.opening) + len(applied_receipts), opening + received_total),
        "issue": (len(shipped), -shipped_total),
        "transfer_out": (len(applied_transfers), -moved),
        "transfer_in": (len(applied_transfers), moved),
        "adjustment": (len(applied_adjustments), adjusted),
    }
    kinds = {
        kind: (count, total)
        for kind, count, total in db.rows(
            "SELECT kind, count(*), sum(quantity) FROM stock_movements GROUP BY kind"
        )
    }
    invariants.hold(
        "the ledger's rows and totals per kind equal the settled history's",
        [
            (kind, kinds.get(kind), wanted_kinds.get(kind))
            for kind in set(kinds) | {k for k, v in wanted_kinds.items() if v[0]}
            if kinds.get(kind) != wanted_kinds.get(kind)
        ],
    )
    on_hand = db.value("SELECT coalesce(sum(on_hand), 0) FROM stock_levels")
    balance = opening + received_total - shipped_total + adjusted
    invariants.hold(
        "on hand = opening + receipts - shipments + adjustments",
        [(on_hand, balance)] if on_hand != balance else [],
    )
    return {
        "opening_kg": str(opening),
        "received_kg": str(received_total),
        "shipped_kg": str(shipped_total),
        "adjusted_kg": str(adjusted),
        "transferred_kg": str(moved),
        "on_hand_kg": str(on_hand),
        "orders": dict(Counter(order.status for order in orders.values())),
    }


AUDITED = {
    "create_order": "order.created",
    "confirm": "order.confirmed",
    "ship": "order.shipped",
    "cancel": "order.cancelled",
    "receipt": "purchase_order.received",
    "transfer": "stock.transferred",
    "adjustment": "stock.adjusted",
}


def check_audit(invariants: Invariants, db: Database, scene: Scene, history: History) -> None:
    """One audit entry per applied write (and one per receipt line), none for the others."""
    stored = Counter(
        (action, entity)
        for action, entity in db.rows(
            "SELECT action, entity_id FROM audit_log WHERE action = ANY(%s)",
            [*AUDITED.values(), "stock.received"],
        )
    )
    wanted: Counter[tuple[str, str | None]] = Counter()
    for write in history.writes:
        if not write.applied:
            continue
        data = write.answer.json()
        action = AUDITED[write.kind]
        if write.kind == "create_order":
            wanted[(action, str(data["id"]))] += 1
        elif write.kind in TRANSITIONS:
            wanted[(action, str(write.order_id))] += 1
        elif write.kind == "receipt":
            wanted[(action, str(data["id"]))] += 1
            wanted[("stock.received", None)] += 1
        else:
            wanted[(action, None)] += 1
    wanted[("stock.received", None)] += len(scene.opening)
    # Stock entries name the lot: count them per action only.
    stored_by_kind = Counter(
        {
            key: n
            for key, n in stored.items()
            if key[0] not in ("stock.received", "stock.transferred", "stock.adjusted")
        }
    )
    for action in ("stock.received", "stock.transferred", "stock.adjusted"):
        stored_by_kind[(action, None)] = sum(n for (a, _), n in stored.items() if a == action)
    invariants.hold(
        "the audit trail holds each applied write once",
        [
            (key, stored_by_kind.get(key, 0), wanted.get(key, 0))
            for key in set(stored_by_kind) | set(wanted)
            if stored_by_kind.get(key, 0) != wanted.get(key, 0)
        ],
    )


def check_stock_command(invariants: Invariants, env: dict[str, str], name: str) -> None:
    result = run_dfims(env, "stock", "check")
    output = result.stdout + result.stderr
    invariants.hold(
        name,
        []
        if result.returncode == 0 and result.stdout.strip() == "Stock levels match the ledger."
        else [(result.returncode, output[-2000:])],
    )
