"""The synchronous reads that may lag: every page and API route that takes a replica session
answers from a read-only one, a read a failing replica cannot serve is answered by the
primary, and what such a read writes (a report's roll-up) is stored on the primary."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from app.api.deps import get_read_db
from app.core import async_database, clock, read_sessions
from app.core.config import get_settings
from app.core.database import SessionLocal, get_engine, make_engine
from app.main import app
from app.models.catalog import Product
from app.models.rollups import DailyKpi
from app.models.user import Role
from app.services import reports
from app.web.routing import get_page_read_db
from tests.conftest import MakeUser, bearer, login
from tests.support.pages import page_login

pytestmark = pytest.mark.postgres

READ_ONLY = "-c default_transaction_read_only=on"
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
# Values for the path parameters of the routes that read the replica.
EXAMPLES = {"dataset": "stock", "name": "kpis"}


def _engine(url: str, options: str = "") -> Engine:
    settings = get_settings()
    return make_engine(
        settings.model_copy(update={"DB_OPTIONS": f"{settings.DB_OPTIONS} {options}"}), url
    )


@pytest.fixture
def replica(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Engine], None]]:
    """replica(engine): reads that may lag go to ``engine``, as to a fit replica."""
    made: list[Engine] = []
    monkeypatch.setattr(async_database, "replica_fit", lambda: True)

    def use(engine: Engine) -> None:
        made.append(engine)
        monkeypatch.setattr(read_sessions, "get_replica_engine", lambda: engine)

    yield use
    for engine in made:
        engine.dispose()


def _takes_a_replica_session(dependant: Any) -> bool:
    return dependant is not None and any(
        dependency.call in (get_read_db, get_page_read_db) or _takes_a_replica_session(dependency)
        for dependency in dependant.dependencies
    )


def _replica_routes() -> list[str]:
    return sorted(
        route.path.format_map(EXAMPLES | {"lot_id": "{lot_id}"})
        for route in iter_route_contexts(app.routes)
        if "GET" in (route.methods or ())
        and _takes_a_replica_session(getattr(route, "dependant", None))
    )


def test_reports_lists_and_exports_are_the_routes_on_the_replica() -> None:
    routes = _replica_routes()
    assert {"/api/v1/reports/kpis", "/api/v1/exports/stock.csv", "/api/v1/audit"} <= set(routes)
    assert {"/dashboard", "/reports", "/orders", "/products", "/lots", "/audit"} <= set(routes)
    assert not {"/orders/new", "/api/v1/orders", "/admin/users"} & set(routes)


def test_every_route_on_the_replica_answers_from_a_read_only_session(
    replica: Callable[[Engine], None], client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user(role=Role.ADMIN)
    headers = bearer(login(client, admin.email)["access_token"])
    warehouse = client.post(
        "/api/v1/warehouses", json={"code": "RO", "name": "Read only"}, headers=headers
    )
    product = client.post(
        "/api/v1/products", json={"sku": "RO-1", "name": "Read-only figs"}, headers=headers
    )
    receipt = {
        "product_id": product.json()["id"],
        "warehouse_id": warehouse.json()["id"],
        "lot_code": "RO-LOT",
        "quantity": "5",
    }
    received = client.post("/api/v1/stock/receipts", json=receipt, headers=headers)
    assert received.status_code == 201, received.text
    page_login(client, admin.email)
    replica(_engine(get_settings().DATABASE_URL, READ_ONLY))

    answers = {
        path: client.get(path, headers=headers if path.startswith("/api/") else None)
        for path in _replica_routes()
        if "{" not in path
    }
    lot_id = received.json()["movements"][0]["lot_id"]
    answers["/lots/{lot_id}/trace.csv"] = client.get(f"/lots/{lot_id}/trace.csv")

    assert len(answers) >= 20
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(
        answers, 200
    )
    assert "RO-1" in answers["/products"].text
    assert "RO-1" in answers["/api/v1/exports/stock.csv"].text


def test_a_report_read_on_the_replica_stores_its_roll_up_on_the_primary(
    replica: Callable[[Engine], None],
) -> None:
    replica(_engine(get_settings().DATABASE_URL, READ_ONLY))
    day = clock.today() - timedelta(days=40)
    with SessionLocal() as primary:
        for read in read_sessions.read_session(primary):
            assert isinstance(read, read_sessions.ReplicaSession)
            report = reports.kpis(read, day, day)
        primary.commit()
    assert [entry.day for entry in report.days] == [day]
    with SessionLocal() as check:
        assert check.scalar(select(func.count()).where(DailyKpi.day == day)) == 1


def test_a_replica_that_cannot_be_reached_leaves_the_read_to_the_primary(
    replica: Callable[[Engine], None],
) -> None:
    replica(_engine(NOWHERE))
    with SessionLocal() as primary:
        expected = primary.scalar(select(func.count()).select_from(Product))
        for read in read_sessions.read_session(primary):
            assert read.scalar(select(func.count()).select_from(Product)) == expected
            assert read.get_bind() is get_engine()


def _terminate(backend: int) -> None:
    """End a server process of the database, as a replica going down ends its connections."""
    conninfo = make_url(get_settings().DATABASE_URL).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        admin.execute("SELECT pg_sleep(0.2)")  # until the process has gone


def test_a_replica_lost_within_a_request_leaves_the_rest_to_the_primary(
    replica: Callable[[Engine], None],
) -> None:
    lost = _engine(get_settings().DATABASE_URL)
    replica(lost)
    with SessionLocal() as primary:
        for read in read_sessions.read_session(primary):
            first = read.scalar(select(func.pg_backend_pid()))
            assert read.get_bind() is lost
            _terminate(first)
            second = read.scalar(select(func.pg_backend_pid()))
            assert second != first
            assert read.get_bind() is get_engine()
            assert read.scalar(text("SELECT 1")) == 1


def test_a_replica_lost_after_the_last_read_costs_the_request_nothing(
    replica: Callable[[Engine], None],
) -> None:
    lost = _engine(get_settings().DATABASE_URL)
    replica(lost)
    with SessionLocal() as primary:
        for read in read_sessions.read_session(primary):
            backend = read.scalar(select(func.pg_backend_pid()))
            assert read.get_bind() is lost
            _terminate(backend)
    with lost.connect() as connection:  # the lost connection was dropped, not pooled
        assert connection.scalar(text("SELECT 1")) == 1


def test_without_a_fit_replica_the_read_is_the_request_s_own_session() -> None:
    with SessionLocal() as primary:
        assert list(read_sessions.read_session(primary)) == [primary]
        assert read_sessions.writer(primary) is primary
