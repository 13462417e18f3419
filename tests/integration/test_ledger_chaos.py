"""The stock ledger under faults, Jepsen-style: a real ``dfims serve`` with two worker processes
on a PostgreSQL cluster of its own; eight clients place, confirm, ship and cancel orders,
receive deliveries against purchase orders, transfer and adjust stock, while worker processes
are SIGKILLed and PostgreSQL is crashed (immediate stop) and started again under them.

Every write carries an Idempotency-Key and is recorded: acknowledged, refused or
indeterminate. Once the service is back, each indeterminate write is sent once more with the
same key and body, which settles it: the first answer is replayed (it had been applied) or the
write runs now. The database must then hold exactly what the settled history says: each
acknowledged write once, nothing of a refused one, no order reserved or issued in part, the
levels equal to the history's sums, the projection equal to the ledger (``dfims stock check``).
Last, a thousand keys are replayed, some at the same time: each answers its first answer again
and nothing more is written; and fresh keyed writes sent four times at once are applied once.

DFIMS_CHAOS_SEED repeats a run's random choices (the faults still land where they land);
DFIMS_CHAOS_REPORT names a file to write the run's figures to as JSON.
"""

import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser
from tests.integration.chaos_load import (
    ACKNOWLEDGED,
    INDETERMINATE,
    KILL_WORKER,
    REFUSED,
    RESTART_DATABASE,
    Answer,
    Api,
    Chaos,
    History,
    Json,
    Write,
    send_together,
    wait_until_quiet,
    wait_until_serving,
)
from tests.integration.clusters import private_postgres
from tests.support.servers import Server, migrate_with_admin, run_dfims, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.system]

API = "/api/v1"
ORDERS = f"{API}/orders"
PURCHASE_ORDERS = f"{API}/purchase-orders"
TRANSFERS = f"{API}/stock/transfers"
ADJUSTMENTS = f"{API}/stock/adjustments"
ADMIN_EMAIL = "chaos-admin@example.com"

CLIENTS = 8
WORKERS = 2
LOAD_SECONDS = 35.0
CLIENT_TIMEOUT = 10.0
SETTLE_TIMEOUT = 60.0
# A respawned worker takes a while to import the application on a busy machine: the last
# fault is a database restart, which the service gets over at once.
PLAN = [
    KILL_WORKER,
    RESTART_DATABASE,
    KILL_WORKER,
    KILL_WORKER,
    RESTART_DATABASE,
    KILL_WORKER,
    RESTART_DATABASE,
]
FIRST_FAULT_AFTER = 4.0
FAULT_EVERY = 4.5
SETTLE_ATTEMPTS = 5
REPLAY_KEYS = 1000
REPLAY_THREADS = 8
REPLAYED_TOGETHER = 100  # keys sent four times at once
RACED_KEYS = 12  # fresh keys of each kind sent RACERS times at once
RACERS = 4
# Fewer than this many settled writes of a kind and the run proves too little.
AT_LEAST_APPLIED = {
    "create_order": 30,
    "confirm": 15,
    "ship": 5,
    "cancel": 3,
    "receipt": 5,
    "transfer": 5,
    "adjustment": 3,
}
# The only refusals a write may get: the others mean the history and the service disagree.
EXPECTED_REFUSALS = {
    "confirm": {"insufficient-stock"},
    "transfer": {"insufficient-stock"},
    "adjustment": {"insufficient-stock"},
}
TRANSITIONS = {"confirm": "confirmed", "ship": "shipped", "cancel": "cancelled"}

Level = tuple[int, int, int]  # (product, warehouse, lot)


# -- setup -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotRef:
    """A lot the clients receive into, move and adjust."""

    id: int
    product: int
    code: str
    best_before: str


@dataclass(frozen=True)
class Scene:
    """What the run starts from: three warehouses, three products with three lots each (their
    opening stock), customers, and one purchase order per product with a large open line."""

    warehouses: list[int]
    products: list[int]
    lots: list[LotRef]
    customers: list[int]
    purchase_lines: dict[int, tuple[int, int]]  # product -> (purchase order, its line)
    opening: dict[Level, Decimal]

    def product_of_line(self, line_id: int) -> int:
        return next(p for p, (_, line) in self.purchase_lines.items() if line == line_id)


def make_scene(api: Api) -> Scene:
    """Create the catalog, the opening stock and the purchase orders through the API."""
    warehouses = [
        api.made(f"{API}/warehouses", {"code": code, "name": f"Warehouse {code}"})["id"]
        for code in ("MAIN", "COLD", "EAST")
    ]
    supplier = api.made(f"{API}/suppliers", {"code": "SUNNY", "name": "Sunny Orchards"})["id"]
    products = [
        api.made(
            f"{API}/products",
            {"sku": sku, "name": f"Dried {sku.lower()}", "price": price, "shelf_life_days": 400},
        )["id"]
        for sku, price in (("DATES", "9.50"), ("FIGS", "7.20"), ("APRICOTS", "6.80"))
    ]
    lots: list[LotRef] = []
    opening: dict[Level, Decimal] = {}
    for product in products:
        for n, (warehouse, days, quantity) in enumerate(
            ((warehouses[0], 120, "150"), (warehouses[1], 240, "150"), (warehouses[2], 360, "100"))
        ):
            code = f"L{product}-{n + 1}"
            best_before = (date.today() + timedelta(days=days)).isoformat()
            receipt = {
                "product_id": product,
                "warehouse_id": warehouse,
                "lot_code": code,
                "quantity": quantity,
                "best_before": best_before,
                "supplier_id": supplier,
                "reference": "OPENING",
            }
            [movement] = api.made(f"{API}/stock/receipts", receipt)["movements"]
            lots.append(LotRef(movement["lot_id"], product, code, best_before))
            opening[(product, warehouse, movement["lot_id"])] = Decimal(quantity)
    customers = [
        api.made(f"{API}/customers", {"name": name})["id"]
        for name in ("Oasis Foods", "Souk Traders", "Corner Shop")
    ]
    purchase_lines = {}
    for product in products:
        order = api.made(
            PURCHASE_ORDERS,
            {
                "supplier_id": supplier,
                "warehouse_id": warehouses[0],
                "lines": [{"product_id": product, "quantity": "1000000", "unit_cost": "3.10"}],
            },
        )
        api.made(f"{PURCHASE_ORDERS}/{order['id']}/send", {}, status=200)
        purchase_lines[product] = (order["id"], order["lines"][0]["id"])
    return Scene(warehouses, products, lots, customers, purchase_lines, opening)


def sign_in(server: Server, timeout: float, email: str = ADMIN_EMAIL) -> Api:
    login = server.post_form(f"{API}/auth/login", {"username": email, "password": PASSWORD})
    assert login.status == 200, login.text
    return Api(server.port, login.json()["access_token"], timeout)


# -- the clients -------------------------------------------------------------------------------


class Client:
    """One client's loop of random writes. It moves only orders it placed, and leaves an order
    alone once a write to it got no definite answer (the retry settles that write later), so
    every write to an order starts from a state the history knows."""

    def __init__(
        self, number: int, api: Api, scene: Scene, history: History, rng: random.Random
    ) -> None:
        self.number = number
        self.api = api
        self.scene = scene
        self.history = history
        self.rng = rng
        self.pending: list[int] = []
        self.confirmed: list[int] = []
        self.sent = 0

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            weights = {
                self.create_order: 3.0 if len(self.pending) < 4 else 0.5,
                self.confirm: 3.0 if self.pending else 0.0,
                self.ship: 2.0 if self.confirmed else 0.0,
                self.cancel: 0.7 if self.pending or self.confirmed else 0.0,
                self.receipt: 1.2,
                self.transfer: 1.5,
                self.adjustment: 0.6,
            }
            [write] = self.rng.choices(list(weights), list(weights.values()))
            write()

    def key(self) -> str:
        """A new Idempotency-Key. Orders keep theirs in their notes, transfers and adjustments
        in their ledger rows' reference, deliveries in their delivery note."""
        self.sent += 1
        return f"chaos-c{self.number}-{self.sent:05d}"

    def send(
        self, kind: str, path: str, key: str, body: Json | None, order_id: int | None = None
    ) -> Answer:
        answer = self.api.post(path, body, key)
        self.history.record(self.number, kind, path, key, body, answer, order_id)
        return answer

    def quantity(self, low: int, high: int) -> str:
        """A quantity between ``low`` and ``high`` with at most one decimal."""
        return str(Decimal(self.rng.randint(low * 10, high * 10)) / 10)

    def take(self, orders: list[int]) -> int:
        return orders.pop(self.rng.randrange(len(orders)))

    def create_order(self) -> None:
        key = self.key()
        chosen = self.rng.sample(self.scene.products, self.rng.choice((1, 1, 2)))
        body = {
            "customer_id": self.rng.choice(self.scene.customers),
            "notes": key,
            "lines": [{"product_id": p, "quantity": self.quantity(1, 12)} for p in chosen],
        }
        answer = self.send("create_order", ORDERS, key, body)
        if answer.outcome == ACKNOWLEDGED:
            self.pending.append(answer.json()["id"])

    def confirm(self) -> None:
        order_id = self.take(self.pending)
        answer = self.send("confirm", f"{ORDERS}/{order_id}/confirm", self.key(), None, order_id)
        if answer.outcome == ACKNOWLEDGED:
            self.confirmed.append(order_id)
        elif answer.outcome == REFUSED:
            self.pending.append(order_id)  # still pending: stock may come in

    def ship(self) -> None:
        order_id = self.take(self.confirmed)
        self.send("ship", f"{ORDERS}/{order_id}/ship", self.key(), None, order_id)

    def cancel(self) -> None:
        orders = self.pending if self.pending and self.rng.random() < 0.5 else self.confirmed
        order_id = self.take(orders or self.pending)
        body = {"reason": "customer changed their mind"}
        self.send("cancel", f"{ORDERS}/{order_id}/cancel", self.key(), body, order_id)

    def receipt(self) -> None:
        """A delivery into one of the lots, or (one in four) into a lot it creates."""
        key = self.key()
        product = self.rng.choice(self.scene.products)
        lot = self.rng.choice([lot for lot in self.scene.lots if lot.product == product])
        code, best_before = lot.code, lot.best_before
        if self.rng.random() < 0.25:
            code = f"N-{key}"
            days = self.rng.randint(300, 390)
            best_before = (date.today() + timedelta(days=days)).isoformat()
        order, line = self.scene.purchase_lines[product]
        body = {
            "warehouse_id": self.rng.choice(self.scene.warehouses),
            "delivery_note": key,
            "lines": [
                {
                    "line_id": line,
                    "quantity": self.quantity(10, 40),
                    "lot_code": code,
                    "best_before": best_before,
                }
            ],
        }
        self.send("receipt", f"{PURCHASE_ORDERS}/{order}/receipts", key, body)

    def transfer(self) -> None:
        key = self.key()
        lot = self.rng.choice(self.scene.lots)
        source, target = self.rng.sample(self.scene.warehouses, 2)
        body = {
            "product_id": lot.product,
            "lot_id": lot.id,
            "from_warehouse_id": source,
            "to_warehouse_id": target,
            "quantity": self.quantity(1, 15),
            "reference": key,
            "reason": "rebalancing",
        }
        self.send("transfer", TRANSFERS, key, body)

    def adjustment(self) -> None:
        key = self.key()
        lot = self.rng.choice(self.scene.lots)
        sign = self.rng.choice(("", "-"))
        body = {
            "product_id": lot.product,
            "lot_id": lot.id,
            "warehouse_id": self.rng.choice(self.scene.warehouses),
            "quantity": sign + self.quantity(1, 5),
            "reference": key,
            "reason": "cycle count correction",
        }
        self.send("adjustment", ADJUSTMENTS, key, body)


def run_load(clients: list[Client], chaos: Chaos) -> None:
    """The clients for LOAD_SECONDS, the faults injected meanwhile."""
    deadline = time.monotonic() + LOAD_SECONDS
    chaos.start()
    try:
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            for future in [pool.submit(client.run, deadline) for client in clients]:
                future.result()
    finally:
        chaos.stop()


def settle(history: History, api: Api) -> int:
    """Send every indeterminate write once more, with its key and body (CLIENTS at a time);
    again, a little later, only while the answer is 409 conflict, which says a request with the
    key is still at work. How many such answers came."""

    def retry(write: Write) -> int:
        for attempt in range(SETTLE_ATTEMPTS):
            write.retry = api.post(write.path, write.body, write.key)
            if (write.retry.status, write.retry.problem) != (409, "conflict"):
                return attempt
            time.sleep(1)
        return SETTLE_ATTEMPTS

    unsettled = [write for write in history.writes if write.first.outcome == INDETERMINATE]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return sum(pool.map(retry, unsettled))


# -- what the settled history says the database holds ------------------------------------------


@dataclass
class OrderModel:
    """An order as its settled writes leave it."""

    id: int
    number: str
    key: str
    lines: dict[int, tuple[int, Decimal]]  # line_no -> (product, quantity)
    status: str = "pending"
    was_confirmed: bool = False
    allocations: list[tuple[int, int, int, Decimal]] = field(default_factory=list)
    # (line_no, lot, warehouse, quantity) as the acknowledged confirmation answered

    def reservation_status(self) -> str | None:
        """The status its reservations must have (None: it must have none)."""
        if self.status == "confirmed":
            return "active"
        if self.status == "shipped":
            return "issued"
        if self.status == "cancelled" and self.was_confirmed:
            return "released"
        return None


def settled_orders(history: History) -> tuple[dict[int, OrderModel], list[str]]:
    """Every order the settled history placed, moved through its settled transitions; and what
    the acknowledging answers got wrong (a status other than the transition's, a line whose
    allocations do not add up to its quantity)."""
    orders: dict[int, OrderModel] = {}
    wrong: list[str] = []
    for write in history.writes:
        if not write.applied:
            continue
        data = write.answer.json()
        if write.kind == "create_order":
            lines = {
                line["line_no"]: (line["product_id"], Decimal(line["quantity"]))
                for line in data["lines"]
            }
            orders[data["id"]] = OrderModel(data["id"], data["number"], write.key, lines)
            if data["status"] != "pending":
                wrong.append(f"{write.key}: placed as {data['status']}")
        elif write.kind in TRANSITIONS:
            assert write.order_id is not None
            order = orders[write.order_id]
            order.status = TRANSITIONS[write.kind]
            if data["status"] != order.status:
                wrong.append(f"{write.key}: {write.kind} answered {data['status']}")
            if write.kind == "confirm":
                order.was_confirmed = True
                order.allocations = [
                    (line["line_no"], a["lot_id"], a["warehouse_id"], Decimal(a["quantity"]))
                    for line in data["lines"]
                    for a in line["allocations"]
                ]
                for line in data["lines"]:
                    held = sum(Decimal(a["quantity"]) for a in line["allocations"])
                    if held != Decimal(line["quantity"]):
                        wrong.append(f"{write.key}: line {line['line_no']} holds {held}")
    return orders, wrong


def expected_levels(
    scene: Scene, history: History, orders: dict[int, OrderModel], lots: dict[tuple[int, str], int]
) -> dict[Level, tuple[Decimal, Decimal]]:
    """(on_hand, reserved) per level, from the opening stock and the settled writes alone."""
    on_hand: defaultdict[Level, Decimal] = defaultdict(Decimal)
    reserved: defaultdict[Level, Decimal] = defaultdict(Decimal)
    for level, quantity in scene.opening.items():
        on_hand[level] += quantity
    for write in history.applied("receipt"):
        assert write.body is not None
        [line] = write.body["lines"]
        product = scene.product_of_line(line["line_id"])
        lot = lots[(product, line["lot_code"])]
        on_hand[(product, write.body["warehouse_id"], lot)] += Decimal(line["quantity"])
    for write in history.applied("transfer"):
        body = write.body
        assert body is not None
        quantity = Decimal(body["quantity"])
        on_hand[(body["product_id"], body["from_warehouse_id"], body["lot_id"])] -= quantity
        on_hand[(body["product_id"], body["to_warehouse_id"], body["lot_id"])] += quantity
    for write in history.applied("adjustment"):
        body = write.body
        assert body is not None
        level = (body["product_id"], body["warehouse_id"], body["lot_id"])
        on_hand[level] += Decimal(body["quantity"])
    for order in orders.values():
        for line_no, lot, warehouse, quantity in order.allocations:
            level = (order.lines[line_no][0], warehouse, lot)
            if order.status == "shipped":
                on_hand[level] -= quantity
            elif order.status == "confirmed":
                reserved[level] += quantity
    return {
        level: (on_hand[level], reserved[level])
        for level in set(on_hand) | set(reserved)
        if on_hand[level] or reserved[level]
    }


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


# -- replaying keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """A keyed write and the answer its key must keep giving."""

    path: str
    body: Json | None
    key: str
    answer: Answer


def more_keyed_writes(api: Api, scene: Scene, count: int) -> list[Replay]:
    """``count`` new orders placed with keys of their own (pending: they hold no stock)."""

    def place(n: int) -> Replay:
        key = f"chaos-extra-{n:05d}"
        body = {
            "customer_id": scene.customers[n % len(scene.customers)],
            "notes": key,
            "lines": [{"product_id": scene.products[n % len(scene.products)], "quantity": "1.5"}],
        }
        answer = api.post(ORDERS, body, key)
        assert answer.status == 201, (key, answer)
        return Replay(ORDERS, body, key, answer)

    with ThreadPoolExecutor(max_workers=REPLAY_THREADS) as pool:
        return list(pool.map(place, range(count)))


def replay(api: Api, replays: list[Replay], rng: random.Random) -> tuple[int, list[object]]:
    """Send every replay once, and REPLAYED_TOGETHER of them four times at the same moment;
    how many requests went, and every answer that was not the first one again."""
    together = replays[:REPLAYED_TOGETHER]
    singles = list(replays[REPLAYED_TOGETHER:])
    rng.shuffle(singles)
    wrong: list[object] = []
    lock = threading.Lock()

    def send(item: Replay, barrier: threading.Barrier | None = None) -> None:
        if barrier is not None:
            barrier.wait(timeout=60)
        answer = api.post(item.path, item.body, item.key)
        if (answer.status, answer.body, answer.replayed) != (
            item.answer.status,
            item.answer.body,
            True,
        ):
            with lock:
                wrong.append((item.key, answer.status, answer.replayed, answer.body[:200]))

    with ThreadPoolExecutor(max_workers=REPLAY_THREADS) as pool:
        for future in [pool.submit(send, item) for item in singles]:
            future.result()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for item in together:
            barrier = threading.Barrier(4)
            for future in [pool.submit(send, item, barrier) for _ in range(4)]:
                future.result()
    return len(singles) + 4 * len(together), wrong


# -- keys sent several times at once -----------------------------------------------------------


@dataclass(frozen=True)
class Race:
    """A fresh keyed write sent several times at the same moment, and what came back."""

    kind: str
    key: str
    answers: list[Answer]

    def violations(self) -> list[object]:
        """Anything but one answer from the request that did the work, replays of that very
        answer, and 409s."""
        done = [a for a in self.answers if a.outcome == ACKNOWLEDGED]
        wrong: list[object] = []
        if len([a for a in done if not a.replayed]) != 1:
            wrong.append((self.key, "worked", [(a.status, a.replayed) for a in done]))
        if len({a.body for a in done}) > 1:
            wrong.append((self.key, "answers differ", [a.body[:80] for a in done]))
        wrong.extend(
            (self.key, a.status, a.problem)
            for a in self.answers
            if a.outcome != ACKNOWLEDGED and a.status != 409
        )
        return wrong

    def first(self) -> Any:
        """The body of the answer that did the work."""
        return next(a for a in self.answers if a.outcome == ACKNOWLEDGED and not a.replayed).json()


def race_duplicates(invariants: Invariants, api: Api, db: Database, scene: Scene) -> Counter[str]:
    """Place, confirm and transfer with fresh keys, each request sent RACERS times at once:
    each must be applied once, and every copy answered with the first answer or a 409. How
    the copies that did not do the work were answered."""
    lot = scene.lots[0]
    source, target = scene.warehouses[0], scene.warehouses[1]
    topped_up = {
        "product_id": lot.product,
        "lot_id": lot.id,
        "warehouse_id": source,
        "quantity": "50",
        "reference": "race-top-up",
        "reason": "stock for the races",
    }
    assert api.post(ADJUSTMENTS, topped_up, "race-top-up").status == 201
    races: list[Race] = []
    for n in range(RACED_KEYS):
        key = f"race-order-{n:03d}"
        body = {
            "customer_id": scene.customers[0],
            "warehouse_id": source,
            "notes": key,
            "lines": [{"product_id": lot.product, "quantity": "0.5"}],
        }
        placed = Race("create_order", key, send_together(api, ORDERS, body, key, RACERS))
        races.append(placed)
        if placed.violations():
            continue
        order_id = placed.first()["id"]
        key = f"race-confirm-{n:03d}"
        path = f"{ORDERS}/{order_id}/confirm"
        races.append(Race("confirm", key, send_together(api, path, None, key, RACERS)))
        key = f"race-transfer-{n:03d}"
        body = {
            "product_id": lot.product,
            "lot_id": lot.id,
            "from_warehouse_id": source,
            "to_warehouse_id": target,
            "quantity": "0.5",
            "reference": key,
            "reason": "rebalancing",
        }
        races.append(Race("transfer", key, send_together(api, TRANSFERS, body, key, RACERS)))
    invariants.hold(
        "copies of a keyed write sent at once get its answer or a 409",
        [violation for race in races for violation in race.violations()],
    )
    orders = Counter(
        notes for (notes,) in db.rows("SELECT notes FROM sales_orders WHERE notes LIKE 'race-%%'")
    )
    held = dict(
        db.rows(
            "SELECT o.notes, sum(r.quantity) FROM sales_orders o JOIN reservations r "
            "ON r.reference LIKE o.number || '/%%' WHERE o.notes LIKE 'race-%%' AND "
            "r.status = 'active' GROUP BY o.notes"
        )
    )
    moved = Counter(
        reference
        for (reference,) in db.rows(
            "SELECT reference FROM stock_movements WHERE reference LIKE 'race-transfer-%%'"
        )
    )
    wanted = {f"race-order-{n:03d}" for n in range(RACED_KEYS)}
    invariants.hold(
        "copies of a keyed write sent at once are applied once",
        [("orders", key, orders[key]) for key in wanted if orders[key] != 1]
        + [("held", key, held.get(key)) for key in wanted if held.get(key) != Decimal("0.5")]
        + [
            ("transfer legs", race.key, moved[race.key])
            for race in races
            if race.kind == "transfer" and moved[race.key] != 2
        ],
    )
    return Counter(
        f"{race.kind}: {a.status} {a.problem if a.status >= 400 else 'replayed'}"
        for race in races
        for a in race.answers
        if a.replayed or a.outcome != ACKNOWLEDGED
    )


# -- the test ----------------------------------------------------------------------------------


def service_log_errors(path: Path) -> dict[str, int]:
    """What the service logged as errors and warnings, by message up to its first detail."""
    found: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            message = str(entry.get("message", ""))
            found[f"{entry['level']} {message.split(' (', 1)[0][:100]}"] += 1
    return dict(found)


def summarize(history: History) -> dict[str, Any]:
    """Writes attempted, and how they came out, overall and per kind."""
    kinds: dict[str, dict[str, int]] = {}
    for write in history.writes:
        figures = kinds.setdefault(
            write.kind,
            {"attempted": 0, ACKNOWLEDGED: 0, REFUSED: 0, INDETERMINATE: 0, "applied": 0},
        )
        figures["attempted"] += 1
        figures[write.first.outcome] += 1
        figures["applied"] += write.applied
    first = history.first_outcomes()
    retried = [write for write in history.writes if write.retry is not None]
    return {
        "attempted": len(history.writes),
        ACKNOWLEDGED: first[ACKNOWLEDGED],
        REFUSED: first[REFUSED],
        INDETERMINATE: first[INDETERMINATE],
        "by_kind": kinds,
        "error_answers": dict(
            Counter(w.first.problem for w in history.writes if w.first.status >= 400)
        ),
        "indeterminate_causes": dict(
            Counter(
                w.first.error or f"HTTP {w.first.status} {w.first.problem}"
                for w in history.writes
                if w.first.outcome == INDETERMINATE
            )
        ),
        "indeterminate_settled": {
            "had_been_applied": sum(1 for w in retried if w.retry and w.retry.replayed),
            "applied_on_retry": sum(
                1 for w in retried if w.retry and w.applied and not w.retry.replayed
            ),
            "refused_on_retry": sum(1 for w in retried if not w.applied),
        },
    }


def test_ledger_survives_killed_workers_and_database_crashes(tmp_path: Path) -> None:
    began = time.monotonic()
    seed = int(os.environ.get("DFIMS_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    invariants = Invariants()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - began, 1)

    with private_postgres() as cluster:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "DATA_DIR": str(tmp_path / "data"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "LOG_DIR": str(tmp_path / "logs"),
        }
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        phase("migrated")
        with running_server(env, workers=WORKERS) as server:
            phase("serving")
            api = sign_in(server, CLIENT_TIMEOUT)
            scene = make_scene(api)
            phase("scene")
            history = History()
            clients = [
                Client(n, api, scene, history, random.Random(rng.getrandbits(64)))  # noqa: S311
                for n in range(CLIENTS)
            ]
            chaos = Chaos(
                server,
                cluster,
                PLAN,
                FIRST_FAULT_AFTER,
                FAULT_EVERY,
                random.Random(rng.getrandbits(64)),  # noqa: S311
            )
            run_load(clients, chaos)
            phase("load")
            wait_until_serving(server, WORKERS)
            with cluster.connect() as connection:
                wait_until_quiet(connection)
            phase("recovered")
            still_at_work = settle(history, sign_in(server, SETTLE_TIMEOUT))
            phase("settled")

            unsettled = [w.key for w in history.writes if w.answer.outcome == INDETERMINATE]
            assert not unsettled, f"retries that settled nothing: {unsettled[:10]}"
            invariants.hold(
                "no write refused but for lack of stock",
                [
                    (w.kind, w.key, w.answer.status, w.answer.problem)
                    for w in history.writes
                    if w.answer.outcome == REFUSED
                    and w.answer.problem not in EXPECTED_REFUSALS.get(w.kind, set())
                ],
            )
            with cluster.connect() as connection:
                db = Database(connection)
                totals = check_database(invariants, db, scene, history)
                phase("checked")
                check_stock_command(invariants, env, "dfims stock check finds no difference")
                phase("stock check")

                replays = [
                    Replay(w.path, w.body, w.key, w.answer) for w in history.writes if w.applied
                ]
                replay_api = sign_in(server, SETTLE_TIMEOUT)
                extra = max(0, REPLAY_KEYS - len(replays))
                replays += more_keyed_writes(replay_api, scene, extra)
                phase("extra writes")
                before = db.counts()
                requests, wrong = replay(replay_api, replays, rng)
                invariants.hold("every replay answers the first answer again", wrong)
                phase("replayed")
                after = db.counts()
                invariants.hold(
                    "replays write nothing",
                    [
                        (name, before[name], after[name])
                        for name in before
                        if before[name] != after[name]
                    ],
                )
                raced = race_duplicates(invariants, replay_api, db, scene)
                phase("raced")
                invariants.hold("levels equal the ledger after the races", projection_drift(db))
            server_output = server.output()

    figures = summarize(history)
    report = {
        "seed": seed,
        "clients": CLIENTS,
        "workers": WORKERS,
        "load_seconds": LOAD_SECONDS,
        "operations": figures,
        "faults": {
            KILL_WORKER: chaos.count(KILL_WORKER),
            RESTART_DATABASE: chaos.count(RESTART_DATABASE),
            "log": [f"{fault.at}s {fault.kind}: {fault.detail}" for fault in chaos.faults],
        },
        "totals": totals,
        "invariants_checked": len(invariants.held),
        "invariants": invariants.held,
        "keys_replayed": len(replays),
        "replay_requests": requests,
        "extra_keyed_writes": extra,
        "retries_answered_still_at_work": still_at_work,
        "racing_copies": dict(raced),
        "tracebacks_in_server_output": server_output.count("Traceback"),
        "workers_killed": chaos.killed,
        "worker_deaths_seen_by_the_supervisor": [
            int(pid) for pid in re.findall(r"Child process \[(\d+)\] died", server_output)
        ],
        "service_log": service_log_errors(tmp_path / "logs" / "dfims.log"),
        "seconds": round(time.monotonic() - began, 1),
        "phases": phases,
    }
    print(
        f"\nledger chaos (seed {seed}): {figures['attempted']} writes attempted, "
        f"{figures[ACKNOWLEDGED]} acknowledged, {figures[REFUSED]} refused, "
        f"{figures[INDETERMINATE]} indeterminate "
        f"(settled: {figures['indeterminate_settled']}); "
        f"faults: {chaos.count(KILL_WORKER)} worker SIGKILLs, "
        f"{chaos.count(RESTART_DATABASE)} PostgreSQL immediate restarts; "
        f"{len(invariants.held)} invariants checked; {len(replays)} keys replayed "
        f"({requests} requests); {report['seconds']}s"
    )
    if os.environ.get("DFIMS_CHAOS_REPORT"):
        Path(os.environ["DFIMS_CHAOS_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")

    # The run proves something only if the faults and the writes really happened.
    assert not chaos.errors, chaos.errors
    assert chaos.count(KILL_WORKER) >= 3, chaos.faults
    assert chaos.count(RESTART_DATABASE) >= 2, chaos.faults
    assert figures[INDETERMINATE] >= 5, figures
    assert figures[REFUSED] >= 1, figures
    assert figures[ACKNOWLEDGED] >= 100, figures
    for kind, least in AT_LEAST_APPLIED.items():
        applied = figures["by_kind"].get(kind, {}).get("applied", 0)
        assert applied >= least, (kind, applied, figures["by_kind"])
    assert len(replays) >= REPLAY_KEYS


def test_a_copy_racing_its_request_gets_the_first_answer(
    test_env: dict[str, str], make_user: MakeUser
) -> None:
    """A client that sends a confirmation again before the first answer came (a timeout, a
    proxy retrying) gets the first answer replayed - never a refusal saying the order cannot
    be confirmed, when it was: the copy waits for the first request to finish."""
    admin = make_user(role=Role.ADMIN)
    with running_server(test_env, workers=1) as server:
        api = sign_in(server, SETTLE_TIMEOUT, admin.email)
        scene = make_scene(api)
        races = []
        for n in range(RACED_KEYS):
            body = {
                "customer_id": scene.customers[0],
                "lines": [{"product_id": scene.products[0], "quantity": "1"}],
            }
            order = api.made(ORDERS, body)
            key = f"confirm-{n:03d}"
            path = f"{ORDERS}/{order['id']}/confirm"
            races.append(Race("confirm", key, send_together(api, path, None, key, RACERS)))

    answers = Counter(
        f"{a.status} {a.problem if a.status >= 400 else 'replayed' if a.replayed else 'first'}"
        for race in races
        for a in race.answers
    )
    assert answers["200 first"] == RACED_KEYS, answers
    assert answers["200 replayed"] == RACED_KEYS * (RACERS - 1), answers
