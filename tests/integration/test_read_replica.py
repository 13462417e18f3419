"""Reads that may lag go to a real streaming replica (pg_basebackup of a private cluster):
while it is fit, not while it lags beyond REPLICA_MAX_LAG_SECONDS or is down, and a metric
says which; stopping it under load costs no request. The reports, the audit trail and the
list pages read it too, except in a browser that has just written."""

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import psycopg
import pytest

from app.web.routing import WROTE_COOKIE
from tests.conftest import PASSWORD, bearer
from tests.integration.clusters import PrivatePostgres, private_postgres, streaming_replica
from tests.support.metrics import metric_value
from tests.support.pages import CSRF_FIELD, HIDDEN_FIELDS, hidden_value, page_of
from tests.support.servers import Server, migrate_with_admin, running_server, server_env

pytestmark = [pytest.mark.postgres, pytest.mark.system]

ADMIN_EMAIL = "replica-admin@example.com"
WAIT_SECONDS = 30.0


class Api:
    """The admin's calls to one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        answer = server.request(
            "POST",
            "/api/v1/auth/login",
            body=f"username={ADMIN_EMAIL}&password={PASSWORD}".replace("@", "%40").encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status == 200, answer.text
        self.headers = bearer(answer.json()["access_token"])

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        answer = self.server.request(
            "POST",
            f"/api/v1{path}",
            body=json.dumps(body).encode(),
            headers={**self.headers, "Content-Type": "application/json"},
        )
        assert answer.status == 201, answer.text
        created: dict[str, object] = answer.json()
        return created

    def get(self, path: str) -> dict[str, object]:
        answer = self.server.request("GET", f"/api/v1{path}", headers=self.headers)
        assert answer.status == 200, answer.text
        read: dict[str, object] = answer.json()
        return read

    def on_hand(self, product_id: object) -> Decimal:
        answer = self.server.request(
            "GET", f"/api/v1/stock/levels?product_id={product_id}", headers=self.headers
        )
        assert answer.status == 200, answer.text
        return sum((Decimal(item["on_hand"]) for item in answer.json()["items"]), Decimal(0))

    def traced(self, lot_id: object) -> int:
        answer = self.server.request("GET", f"/api/v1/trace/lots/{lot_id}", headers=self.headers)
        assert answer.status == 200, answer.text
        return len(answer.json()["events"])

    def customer_traced(self, customer_id: object) -> int:
        path = f"/api/v1/trace/customers/{customer_id}"
        return self.server.request("GET", path, headers=self.headers).status

    def metric(self, name: str, **labels: str) -> float:
        answer = self.server.request("GET", "/metrics")
        assert answer.status == 200, answer.text
        return metric_value(answer.text, name, **labels)


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def _browser(server: Server) -> httpx2.Client:
    """A browser logged in to the pages as the admin."""
    browser = httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=WAIT_SECONDS)
    token = hidden_value(page_of(browser.get("/login")), CSRF_FIELD)
    form = {"email": ADMIN_EMAIL, "password": PASSWORD, CSRF_FIELD: token}
    assert browser.post("/login", data=form).status_code == 303
    return browser


def _warehouses(browser: httpx2.Client) -> str:
    answer = browser.get("/warehouses?q=REP")
    assert answer.status_code == 200, answer.text
    return answer.text


def _rolled_up(cluster: PrivatePostgres, day: date) -> int:
    with cluster.connect() as connection:
        row = connection.execute("SELECT count(*) FROM daily_kpis WHERE day = %s", (day,))
        return int(row.fetchone()[0])  # type: ignore[index]


@dataclass
class Replicated:
    """A migrated primary, its streaming replica, a connection to pause the replica's replay,
    and the environment of a server that reads from the replica however far behind it is."""

    cluster: PrivatePostgres
    replica: PrivatePostgres
    replay: psycopg.Connection[tuple[object, ...]]
    patient: dict[str, str]


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[Replicated]:
    with private_postgres() as cluster:
        env = server_env(cluster.url, "", tmp_path)
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        with streaming_replica(cluster) as replica, replica.connect() as replay:
            patient = env | {
                "DATABASE_REPLICA_URL": replica.url,
                "REPLICA_MAX_LAG_SECONDS": "3600",
            }
            yield Replicated(cluster, replica, replay, patient)


@contextmanager
def _reading_the_replica(env: dict[str, str]) -> Iterator[Api]:
    """The admin's calls to a server of ``env``, once it reads from the replica."""
    with running_server(env) as server:
        api = Api(server)
        _until(lambda: api.metric("database_replica_in_use") == 1, "the replica in use")
        yield api


def test_reads_go_to_a_fit_replica_and_to_the_primary_otherwise(replicated: Replicated) -> None:
    replica, replay, patient = replicated.replica, replicated.replay, replicated.patient
    with _reading_the_replica(patient) as api:
        warehouse = api.post("/warehouses", {"code": "REP", "name": "Replica test"})
        product = api.post("/products", {"sku": "REP-1", "name": "Replica almonds"})
        receipt = {
            "product_id": product["id"],
            "warehouse_id": warehouse["id"],
            "lot_code": "REP-LOT",
            "quantity": "10",
        }
        received = api.post("/stock/receipts", receipt)
        lot_id = received["movements"][0]["lot_id"]  # type: ignore[index]
        _until(lambda: api.on_hand(product["id"]) == 10, "the replica replaying the receipt")

        # Replay paused: the page still shows what the replica holds, not the primary.
        replay.execute("SELECT pg_wal_replay_pause()")
        api.post("/stock/receipts", receipt | {"reference": "second"})
        customer = api.post("/customers", {"name": "Replica Foods"})
        assert api.on_hand(product["id"]) == 10
        assert api.traced(lot_id) == 1
        assert api.customer_traced(customer["id"]) == 404  # not on the replica yet
        assert api.metric("database_replica_skipped_reads_total") == 0

    strict = patient | {"REPLICA_MAX_LAG_SECONDS": "1"}
    with running_server(strict) as server:
        api = Api(server)
        _until(lambda: api.on_hand(product["id"]) == 20, "reads leaving the lagging replica")
        assert api.metric("database_replica_in_use") == 0
        assert api.metric("database_replica_skipped_reads_total", reason="lagging") >= 1
        assert api.traced(lot_id) == 2
        assert api.customer_traced(customer["id"]) == 200

        replay.execute("SELECT pg_wal_replay_resume()")
        _until(lambda: api.metric("database_replica_in_use") == 1, "the replica back in use")
        skipped = api.metric("database_replica_skipped_reads_total")
        assert api.on_hand(product["id"]) == 20
        assert api.metric("database_replica_skipped_reads_total") == skipped

        # Stopped under load: every read is answered, from the primary once it is gone.
        with ThreadPoolExecutor(max_workers=4) as pool:
            reads = [pool.submit(api.on_hand, product["id"]) for _ in range(40)]
            time.sleep(0.2)
            replay.close()
            replica.stop("immediate")
            reads += [pool.submit(api.on_hand, product["id"]) for _ in range(40)]
            assert {read.result() for read in reads} == {Decimal(20)}
        _until(lambda: api.metric("database_replica_in_use") == 0, "the replica out of use")
        assert api.on_hand(product["id"]) == 20
        assert api.metric("database_replica_skipped_reads_total", reason="down") >= 1


def test_reports_and_lists_read_the_replica_and_a_browser_its_own_writes(
    replicated: Replicated,
) -> None:
    replica, replay, patient = replicated.replica, replicated.replay, replicated.patient
    with _reading_the_replica(patient) as api:
        writer, reader = _browser(api.server), _browser(api.server)
        reader.cookies.delete(WROTE_COOKIE)  # as if it logged in a while ago
        api.post("/warehouses", {"code": "REP-SEEN", "name": "Seen everywhere"})
        _until(lambda: "REP-SEEN" in _warehouses(reader), "the replica replaying")
        audited = api.get("/audit?entity_type=warehouse")["total"]

        replay.execute("SELECT pg_wal_replay_pause()")
        logout = page_of(writer.get("/warehouses/new")).find("form", action="/logout")
        form = {name: hidden_value(logout, name) for name in HIDDEN_FIELDS}
        made = writer.post("/warehouses/new", data=form | {"code": "REP-NEW", "name": "New"})
        assert made.status_code == 303, made.text
        assert "REP-NEW" in _warehouses(writer)  # its own write, from the primary
        assert "REP-NEW" not in _warehouses(reader)  # what the replica holds
        assert api.get("/audit?entity_type=warehouse")["total"] == audited
        # A closed day's KPIs summed on the (read-only) replica, stored on the primary.
        day = date.today() - timedelta(days=20)
        assert api.get(f"/reports/kpis?since={day}&until={day}")["days"]
        assert _rolled_up(replicated.cluster, day) == 1
        assert reader.get("/dashboard").status_code == 200
        assert api.metric("database_replica_skipped_reads_total") == 0

    strict = patient | {"REPLICA_MAX_LAG_SECONDS": "1"}
    with running_server(strict) as server:
        api = Api(server)
        reader.base_url = httpx2.URL(f"http://127.0.0.1:{server.port}")
        _until(lambda: "REP-NEW" in _warehouses(reader), "lists leaving the lagging replica")
        assert api.get("/audit?entity_type=warehouse")["total"] == audited + 1
        assert api.metric("database_replica_skipped_reads_total", reason="lagging") >= 1

        replay.execute("SELECT pg_wal_replay_resume()")
        _until(lambda: api.metric("database_replica_in_use") == 1, "the replica back in use")
        # Stopped under load: every report is answered, from the primary once it is gone.
        with ThreadPoolExecutor(max_workers=4) as pool:
            reads = [pool.submit(api.get, "/reports/stock-valuation") for _ in range(30)]
            time.sleep(0.2)
            replay.close()
            replica.stop("immediate")
            reads += [pool.submit(api.get, "/audit?entity_type=warehouse") for _ in range(30)]
            assert all(read.result() for read in reads)
        _until(lambda: api.metric("database_replica_in_use") == 0, "the replica out of use")
        assert "REP-NEW" in _warehouses(reader)
