"""The ledger chaos run's scene, its clients, and the database the settled history implies."""

import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tests.conftest import PASSWORD
from tests.integration.chaos_load import (
    ACKNOWLEDGED,
    INDETERMINATE,
    REFUSED,
    Answer,
    Api,
    Chaos,
    History,
    Json,
    Write,
)
from tests.support.servers import Server

API = "/api/v1"
ORDERS = f"{API}/orders"
PURCHASE_ORDERS = f"{API}/purchase-orders"
TRANSFERS = f"{API}/stock/transfers"
ADJUSTMENTS = f"{API}/stock/adjustments"
ADMIN_EMAIL = "chaos-admin@example.com"
CLIENTS = 8
LOAD_SECONDS = 35.0
SETTLE_ATTEMPTS = 5
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
