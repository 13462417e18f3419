"""Dead pooled connections on PostgreSQL: the engine pings only a connection left idle, and
the async read path retries once on a connection found dead instead of pinging each; the
sessions of both read in UTC, the async one without parallel workers."""

import time

import pytest
from sqlalchemy import literal_column, select, text

from app.core import async_database
from app.core.config import get_settings
from app.core.database import PING_AFTER_IDLE_SECONDS, make_engine
from tests.support.backends import BACKEND, terminate
from tests.support.loops import run_alone

pytestmark = pytest.mark.postgres


def test_an_idle_connection_that_died_is_replaced_before_use() -> None:
    settings = get_settings().model_copy(update={"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0})
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        terminate(first)
        time.sleep(PING_AFTER_IDLE_SECONDS * 1.5)  # past the window: the next checkout pings
        with engine.connect() as connection:
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_the_async_path_retries_once_on_a_connection_found_dead() -> None:
    async def scenario() -> tuple[int, int]:
        async with async_database.serving():
            first = (await async_database.fetch(BACKEND))[0]["pid"]
            terminate(first)
            second = (await async_database.fetch(BACKEND))[0]["pid"]
            return first, second

    first, second = run_alone(scenario())
    assert second != first


def test_both_paths_read_in_utc_and_the_async_one_plans_serially() -> None:
    settings = select(
        literal_column("current_setting('TimeZone')").label("zone"),
        literal_column("current_setting('max_parallel_workers_per_gather')").label("workers"),
    )
    (answered,) = run_alone(async_database.fetch(settings))
    assert answered == {"zone": "UTC", "workers": "0"}
    engine = make_engine(get_settings())
    try:
        with engine.connect() as connection:
            zone, workers = connection.execute(settings).one()
    finally:
        engine.dispose()
    assert zone == "UTC"
    assert workers != "0"  # the reports on the engine keep PostgreSQL's parallel plans
