"""Health checks, Prometheus metrics, JSON request logs and the last line of error handling."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Connection

from app.core.config import get_settings
from app.core.database import engine
from app.main import create_app
from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser, bearer, login
from tests.support.logs import log_entries
from tests.support.metrics import metric_families, metric_samples, metric_value
from tests.support.problems import PROBLEM_JSON, assert_problem
from tests.support.servers import running_server
from tests.support.stock import make_world

DEAD_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/dfims"
USER_ROUTE = "/api/v1/users/{user_id}"
DATABASE_HEALTH_ROUTE = "/api/v1/health/database"

# -- helpers -----------------------------------------------------------------------------------


def read_metrics(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def request_log(request_id: str) -> dict[str, Any]:
    """The one app.request line of the request with ``request_id``."""
    matches = [
        entry
        for entry in log_entries()
        if entry.get("logger") == "app.request"
        and entry.get("request_id") == request_id
        and "status" in entry
    ]
    assert len(matches) == 1, matches
    return matches[0]


# -- health, in-process ------------------------------------------------------------------------


def test_liveness(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_database_health(client: TestClient) -> None:
    response = client.get("/api/v1/health/database")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["latency_ms"], int | float)
    assert body["latency_ms"] >= 0
    assert "error" not in body


def test_redis_health_without_redis_url(client: TestClient) -> None:
    assert get_settings().REDIS_URL is None
    response = client.get("/api/v1/health/redis")
    assert response.status_code == 200
    assert response.json() == {"status": "not_configured"}


# -- a dead database, in a real server ---------------------------------------------------------


def test_dead_database_degrades_to_503(test_env: dict[str, str]) -> None:
    env = {**test_env, "DATABASE_URL": DEAD_DATABASE_URL}
    with running_server(env) as server:
        liveness = server.get("/health")
        assert liveness.status == 200
        assert liveness.json() == {"status": "ok"}

        database = server.get("/api/v1/health/database")
        assert database.status == 503
        body = database.json()
        assert body["status"] == "unavailable"
        assert "latency_ms" not in body

        answer = server.post_form(
            "/api/v1/auth/login", {"username": "someone@example.com", "password": PASSWORD}
        )
        assert answer.status == 503, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert int(answer.headers["retry-after"]) > 0
        problem = answer.json()
        assert problem["status"] == 503
        assert problem["request_id"] == answer.headers["x-request-id"]
        assert "Traceback" not in answer.text
        assert "psycopg" not in answer.text
        assert "127.0.0.1:1" not in answer.text

        assert problem["type"].endswith("service-unavailable")

        # Still alive after the failures, and no connection counted as held.
        assert server.get("/health").status == 200
        assert metric_value(server.get("/metrics").text, "database_connections_active") == 0
        assert "Traceback" not in server.output()


# -- metrics, in-process -----------------------------------------------------------------------


def test_metrics_use_route_templates(client: TestClient) -> None:
    before = read_metrics(client)

    assert client.get("/api/v1/users/12345").status_code == 401
    assert client.get(DATABASE_HEALTH_ROUTE).status_code == 200
    assert client.get("/no/such/path/98765").status_code == 404

    after = read_metrics(client)

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("api_requests_total", method="GET", route=USER_ROUTE, status="401") == 1
    assert delta("api_requests_total", method="GET", route=DATABASE_HEALTH_ROUTE, status="200") == 1
    assert delta("api_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert delta("api_request_duration_seconds_count", method="GET", route=USER_ROUTE) == 1
    assert delta("api_request_duration_seconds_bucket", route=USER_ROUTE, le="+Inf") == 1

    buckets = [
        labels
        for name, labels, _ in metric_samples(after)
        if name == "api_request_duration_seconds_bucket" and labels.get("route") == USER_ROUTE
    ]
    assert buckets
    assert all(set(labels) == {"method", "route", "le"} for labels in buckets)

    routes = {labels.get("route") for _, labels, _ in metric_samples(after)}
    assert "/api/v1/users/12345" not in routes
    assert "/api/v1/users/12345" not in after
    assert "/no/such/path/98765" not in after

    families = metric_families(after)
    assert {
        "api_requests",
        "api_request_duration_seconds",
        "database_connections_active",
        "inventory_low_stock_alerts",
    } <= families


MAX_SPREAD_REQUESTS = 800


def per_process_count(folder: Path, pid: int, **labels: str) -> float:
    """What worker ``pid`` alone counted in api_requests_total, from its multiprocess file."""
    path = folder / f"counter_{pid}.db"
    if not path.exists():
        return 0
    return sum(
        sample.value
        for family in MultiProcessCollector.merge([str(path)], accumulate=True)
        for sample in family.samples
        if sample.name == "api_requests_total" and labels.items() <= sample.labels.items()
    )


def test_metrics_sum_over_worker_processes(test_env: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**test_env, "DATA_DIR": str(data_dir)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    labels = {"method": "GET", "route": DATABASE_HEALTH_ROUTE, "status": "200"}
    shared = data_dir / "prometheus-multiproc"
    with running_server(env, workers=2) as server:
        workers = server.worker_pids()
        assert len(workers) == 2, server.output()
        server.wait_for_output("Application startup complete.", count=2)

        # Parallel connections until the kernel has handed requests to both workers.
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            while sent < MAX_SPREAD_REQUESTS:
                statuses = list(
                    pool.map(lambda _: server.get(DATABASE_HEALTH_ROUTE).status, range(16))
                )
                assert statuses == [200] * 16
                sent += 16
                if all(per_process_count(shared, pid, **labels) > 0 for pid in workers):
                    break
        counts = [per_process_count(shared, pid, **labels) for pid in workers]
        assert all(count > 0 for count in counts), counts

        text = server.get("/metrics").text
        assert metric_value(text, "api_requests_total", **labels) == sent == sum(counts)
        assert (
            metric_value(
                text,
                "api_request_duration_seconds_count",
                method="GET",
                route=DATABASE_HEALTH_ROUTE,
            )
            == sent
        )
        assert {"database_connections_active", "inventory_low_stock_alerts"} <= metric_families(
            text
        )
        assert server.worker_pids() == workers


# -- JSON logs ---------------------------------------------------------------------------------


def test_request_log_line(client: TestClient, make_user: MakeUser) -> None:
    anonymous = client.get("/api/v1/users/12345")
    assert anonymous.status_code == 401
    entry = request_log(anonymous.headers["x-request-id"])
    assert entry["level"] == "INFO"
    assert entry["method"] == "GET"
    assert entry["route"] == USER_ROUTE
    assert entry["path"] == "/api/v1/users/12345"
    assert entry["status"] == 401
    assert isinstance(entry["request_time"], int | float)
    assert not isinstance(entry["request_time"], bool)
    assert entry["request_time"] >= 0
    assert entry.get("user_id") is None

    user = make_user()
    token = login(client, user.email)["access_token"]
    me = client.get("/api/v1/users/me", headers=bearer(token))
    assert me.status_code == 200
    entry = request_log(me.headers["x-request-id"])
    assert entry["route"] == "/api/v1/users/me"
    assert entry["method"] == "GET"
    assert entry["status"] == 200
    assert entry["user_id"] == user.id
    assert isinstance(entry["request_time"], int | float)


def test_request_id_from_client_is_kept_when_safe(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "probe-42.a:b_c"})
    assert response.headers["x-request-id"] == "probe-42.a:b_c"
    assert request_log("probe-42.a:b_c")["route"] == "/health"

    unsafe = client.get("/health", headers={"X-Request-ID": "bad id <script>"})
    generated = unsafe.headers["x-request-id"]
    assert generated != "bad id <script>"
    assert request_log(generated)["status"] == 200


# -- unexpected errors -------------------------------------------------------------------------


@pytest.fixture
def failing_client() -> Iterator[TestClient]:
    """A fresh app with one extra route that fails with an unexpected exception."""
    app = create_app()

    @app.get("/test-only/boom/{item}")
    def boom(item: int) -> None:
        raise RuntimeError(f"secret internal detail {item}")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_unexpected_error_is_a_500_problem_with_logged_traceback(
    failing_client: TestClient,
) -> None:
    response = failing_client.get("/test-only/boom/7")
    body = assert_problem(response, 500)
    request_id = response.headers["x-request-id"]
    assert body["request_id"] == request_id
    assert request_id in body["detail"]
    assert "secret internal detail" not in response.text
    assert "RuntimeError" not in response.text

    errors = [
        entry
        for entry in log_entries()
        if entry.get("request_id") == request_id and entry["level"] == "ERROR"
    ]
    assert len(errors) == 1, errors
    assert "Traceback" in errors[0]["exception"]
    assert "RuntimeError: secret internal detail 7" in errors[0]["exception"]

    entry = request_log(request_id)
    assert entry["status"] == 500
    assert entry["route"] == "/test-only/boom/{item}"


# -- pool exhaustion ---------------------------------------------------------------------------


def test_pool_exhaustion_answers_503(client: TestClient, make_user: MakeUser) -> None:
    settings = get_settings()
    capacity = settings.DB_POOL_SIZE + settings.DB_MAX_OVERFLOW
    user = make_user()
    headers = bearer(login(client, user.email)["access_token"])
    before = metric_value(read_metrics(client), "database_connections_active")

    held: list[Connection] = []
    try:
        for _ in range(capacity):
            held.append(engine.connect())
        in_use = metric_value(read_metrics(client), "database_connections_active")
        assert in_use - before == capacity

        response = client.get("/api/v1/users/me", headers=headers)
        body = assert_problem(response, 503)
        assert body["type"].endswith("service-unavailable")
        assert int(response.headers["retry-after"]) > 0
        assert body["request_id"] == response.headers["x-request-id"]
        assert request_log(body["request_id"])["status"] == 503
    finally:
        for connection in held:
            connection.close()

    assert metric_value(read_metrics(client), "database_connections_active") == before
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200


# -- business counters -------------------------------------------------------------------------


def test_business_counters_reach_metrics_from_every_worker(
    test_env: dict[str, str], tmp_path: Path, make_user: MakeUser
) -> None:
    """Orders, movements and revenue counted by two worker processes add up in /metrics, and
    a refused transition counts nothing."""
    world = make_world()
    manager = make_user(role=Role.MANAGER)
    env = {**test_env, "DATA_DIR": str(tmp_path / "data")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with running_server(env, workers=2) as server:
        server.wait_for_output("Application startup complete.", count=2)
        token = json.loads(
            server.post_form(
                "/api/v1/auth/login", {"username": manager.email, "password": PASSWORD}
            ).text
        )["access_token"]

        def send(path: str, body: dict[str, Any] | None = None) -> Any:
            response = server.request(
                "POST",
                f"/api/v1{path}",
                body=json.dumps(body or {}).encode(),
                headers={**bearer(token), "Content-Type": "application/json"},
            )
            return response.status, json.loads(response.text)

        receipt = {
            "product_id": world.kg_product,
            "warehouse_id": world.main,
            "lot_code": "MET-1",
            "quantity": "50",
        }
        assert send("/stock/receipts", receipt)[0] == 201
        status, customer = send("/customers", {"name": "Metric Foods"})
        assert status == 201
        order_ids = []
        for quantity in ("4", "6"):
            line = {"product_id": world.kg_product, "quantity": quantity, "unit_price": "2.50"}
            status, order = send("/orders", {"customer_id": customer["id"], "lines": [line]})
            assert status == 201, order
            order_ids.append(order["id"])
            assert send(f"/orders/{order['id']}/confirm")[0] == 200
            assert send(f"/orders/{order['id']}/ship")[0] == 200
        assert send(f"/orders/{order_ids[0]}/confirm")[0] == 409  # refused: counts nothing

        text = server.get("/metrics").text
    assert metric_value(text, "orders_total", status="pending") == 2
    assert metric_value(text, "orders_total", status="confirmed") == 2
    assert metric_value(text, "orders_total", status="shipped") == 2
    assert metric_value(text, "stock_movements_total", kind="receipt") == 1
    assert metric_value(text, "stock_movements_total", kind="issue") == 2
    assert metric_value(text, "sales_revenue_total") == 25.0
    assert metric_value(text, "customer_registrations_total", source="staff") == 1
