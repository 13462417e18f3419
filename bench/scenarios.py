"""What the benchmark asks of the API: each scenario is a flow of one or more requests."""

import json
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from bench.client import API, Client
from bench.dataset import Dataset
from bench.loadgen import Flow, Send, request_bytes
from bench.stack import HOST

LEVELS = (1, 8, 32, 64)


@dataclass(frozen=True)
class Scenario:
    """A named flow, the client counts to run it at, and what one completed flow is."""

    name: str
    title: str
    flow: Flow
    levels: tuple[int, ...] = LEVELS
    unit: str = "requests"
    warm_up: bool = True


def _headers(client: Client, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}", **more}


def fixed(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Flow:
    """A flow of one request, the same every time."""
    payload = request_bytes(method, path, HOST, headers, body)

    async def flow(_n: int, send: Send) -> bool:
        status, _ = await send(payload)
        return status < 400

    return flow


def buying(client: Client, customer_id: int, products: tuple[int, ...], base: str = API) -> Flow:
    """Place an order of one unit of each product, then confirm it (FEFO reservation); both
    with an Idempotency-Key, at ``base``. Completed when the confirmation reserved the stock."""
    lines = [{"product_id": product, "quantity": "1"} for product in products]
    order = json.dumps({"customer_id": customer_id, "lines": lines}).encode()

    async def flow(_n: int, send: Send) -> bool:
        key = uuid.uuid4().hex  # every run of the flow is a new order, never a replay
        place = _headers(
            client, **{"Content-Type": "application/json", "Idempotency-Key": f"{key}-p"}
        )
        status, body = await send(request_bytes("POST", f"{base}/orders", HOST, place, order))
        if status != 201:
            return False
        order_id = json.loads(body)["id"]
        confirm = _headers(client, **{"Idempotency-Key": f"{key}-c"})
        path = f"{base}/orders/{order_id}/confirm"
        status, _ = await send(request_bytes("POST", path, HOST, confirm))
        return status == 200

    return flow


def logging_in(accounts: list[tuple[str, str]]) -> Flow:
    """Log in as each account in turn (Argon2 verification, a new session and tokens)."""
    forms = [
        urllib.parse.urlencode({"username": email, "password": secret}).encode()
        for email, secret in accounts
    ]
    kind = {"Content-Type": "application/x-www-form-urlencoded"}

    async def flow(n: int, send: Send) -> bool:
        form = forms[n % len(forms)]
        status, _ = await send(request_bytes("POST", f"{API}/auth/login", HOST, kind, form))
        return status == 200

    return flow


def baseline() -> Scenario:
    """F: a bare endpoint that runs SELECT 1 through the same server, workers and pool."""
    return Scenario("select1", "SELECT 1 endpoint (F)", fixed("GET", f"{API}/health/database"))


def scenarios(data: Dataset, today: date) -> list[Scenario]:
    """Every scenario but the baseline, in the order they run."""
    first, _ = data.order_products
    since = (today - timedelta(days=89)).isoformat()
    kpis = f"{API}/reports/kpis?since={since}&until={today.isoformat()}"
    return [
        Scenario(
            "stock-read",
            "stock levels of one product",
            fixed("GET", f"{API}/stock/levels?product_id={first}", _headers(data.staff)),
        ),
        Scenario(
            "product-list",
            "products page (50 a page)",
            fixed("GET", f"{API}/products?limit=50", _headers(data.staff)),
        ),
        Scenario(
            "order",
            "place and confirm a two-line order",
            buying(data.staff, data.customer_id, data.order_products),
            unit="orders",
        ),
        Scenario(
            "hot-sku",
            "64 clients buying one SKU",
            buying(data.staff, data.customer_id, (data.hot_product,)),
            levels=(64,),
            unit="reservations",
        ),
        Scenario("login", "log in (Argon2id)", logging_in(data.logins), unit="logins"),
        Scenario(
            "lot-trace",
            f"trace of a lot ({data.trace_events:,} events)",
            fixed("GET", f"{API}/trace/lots/{data.trace_lot}", _headers(data.manager)),
            levels=(1, 8),
        ),
        Scenario(
            "kpi-90d",
            "KPI report, 90 days",
            fixed("GET", kpis, _headers(data.manager)),
            levels=(1, 8),
        ),
    ]


def sell_out(data: Dataset) -> Scenario:
    """64 clients racing for the last units of one SKU: no more may be reserved than there is."""
    return Scenario(
        "sell-out",
        f"64 clients racing for {data.sell_out_stock:,} units",
        buying(data.staff, data.customer_id, (data.sell_out_product,)),
        levels=(64,),
        unit="reservations",
        warm_up=False,  # every unit is raced for in the measured run
    )


def spike(server: str, data: Dataset) -> list[Scenario]:
    """The baseline, the stock read and the orders of bench/spike.py under ``server``, at 32
    clients (the hot SKU at 64)."""
    first, _ = data.order_products
    return [
        Scenario(
            f"spike-{server}-select1",
            f"SELECT 1, async on psycopg's pool, {server}",
            fixed("GET", "/select1"),
            levels=(32,),
        ),
        Scenario(
            f"spike-{server}-stock-read",
            f"stock levels of one product, async plain SQL, {server}",
            fixed("GET", f"/stock/levels?product_id={first}"),
            levels=(32,),
        ),
        Scenario(
            f"spike-{server}-order",
            f"place and confirm a two-line order, async plain SQL, {server}",
            buying(data.staff, data.customer_id, data.order_products, base=""),
            levels=(32,),
            unit="orders",
        ),
        Scenario(
            f"spike-{server}-hot-sku",
            f"64 clients buying one SKU, async plain SQL, {server}",
            buying(data.staff, data.customer_id, (data.hot_product,), base=""),
            levels=(64,),
            unit="reservations",
        ),
    ]
