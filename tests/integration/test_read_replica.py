"""Reads that may lag go to a real streaming replica (pg_basebackup of a private cluster):
while it is fit, not while it lags beyond REPLICA_MAX_LAG_SECONDS or is down, and a metric
says which; stopping it under load costs no request."""

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, bearer
from tests.integration.clusters import PrivatePostgres, private_postgres, streaming_replica
from tests.support.metrics import metric_value
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


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, dict[str, str]]]:
    with private_postgres() as cluster:
        env = server_env(cluster.url, "", tmp_path)
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        yield cluster, env


def test_reads_go_to_a_fit_replica_and_to_the_primary_otherwise(
    primary: tuple[PrivatePostgres, dict[str, str]],
) -> None:
    cluster, env = primary
    with streaming_replica(cluster) as replica:
        replay = replica.connect()
        patient = env | {"DATABASE_REPLICA_URL": replica.url, "REPLICA_MAX_LAG_SECONDS": "3600"}
        with running_server(patient) as server:
            api = Api(server)
            _until(lambda: api.metric("database_replica_in_use") == 1, "the replica in use")
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
