"""Outages of the service's dependencies, against a real ``dfims serve`` on a PostgreSQL cluster
and a Redis server of its own that each test stops, kills and starts again.

- PostgreSQL goes down: the readiness check and every API call answer 503 problem+json with
  Retry-After at once (no hang, no traceback), liveness stays up, and the same process serves
  again once the database is back, with what was written before the outage still there.
- Redis goes down: the API keeps serving; only the Redis check answers 503, until Redis is back.
- A burst larger than the connection pool while the connections are held: the requests that
  found no connection answer 503 problem+json with Retry-After instead of queueing forever,
  and the worker serves normally afterwards.
"""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import PASSWORD, bearer
from tests.integration.clusters import (
    PrivatePostgres,
    PrivateRedis,
    private_postgres,
    private_redis,
)
from tests.support.problems import PROBLEM_JSON
from tests.support.servers import (
    HttpResponse,
    Server,
    http_request,
    migrate_with_admin,
    running_server,
    server_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.system]

ADMIN_EMAIL = "outage-admin@example.com"
LOGIN = "/api/v1/auth/login"
LIVENESS = "/health"
DATABASE_HEALTH = "/api/v1/health/database"
REDIS_HEALTH = "/api/v1/health/redis"
PRODUCTS = "/api/v1/products"
STOCK_LEVELS = "/api/v1/stock/levels"
# An answer that takes longer than this counts as a hang.
CLIENT_TIMEOUT = 15.0
# How long a dependency that is back may take to be used again.
RECOVERY_TIMEOUT = 60.0
# What an error answer must never show.
LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg")

POOL_SIZE = 2
BURST = 40
# The table GET /api/v1/products reads after authenticating the caller (users, user_sessions).
BURST_TABLE = "products"


@dataclass(frozen=True)
class Stack:
    """A private PostgreSQL cluster and Redis server, and the environment of a server on them."""

    cluster: PrivatePostgres
    redis: PrivateRedis
    env: dict[str, str]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """A migrated cluster with the admin, stopped: each test runs a copy of its own of it."""
    with private_postgres() as cluster:
        env = server_env(cluster.url, "", tmp_path_factory.mktemp("template"))
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        cluster.stop("fast")
        yield cluster


@pytest.fixture
def stack(template: PrivatePostgres, tmp_path: Path) -> Iterator[Stack]:
    """A private cluster with the migrated database and the admin, and a private Redis; both
    are removed afterwards."""
    with private_postgres(copy_of=template) as cluster, private_redis() as redis_server:
        env = server_env(cluster.url, redis_server.url, tmp_path)
        yield Stack(cluster=cluster, redis=redis_server, env=env)


# -- requests ----------------------------------------------------------------------------------


def call(
    server: Server,
    method: str,
    path: str,
    *,
    token: str | None = None,
    payload: object = None,
    form: Mapping[str, str] | None = None,
) -> HttpResponse:
    """One request; no answer within CLIENT_TIMEOUT fails the test."""
    headers = bearer(token) if token else {}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        return http_request(
            server.port, method, path, body=body, headers=headers, timeout=CLIENT_TIMEOUT
        )
    except OSError as exc:  # a timeout included
        pytest.fail(f"{method} {path} got no answer within {CLIENT_TIMEOUT:.0f}s: {exc!r}")


def log_in(server: Server) -> HttpResponse:
    """Log the admin in."""
    return call(server, "POST", LOGIN, form={"username": ADMIN_EMAIL, "password": PASSWORD})


def token_of(server: Server) -> str:
    """A fresh access token of the admin."""
    answer = log_in(server)
    assert answer.status == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def new_product(server: Server, token: str, sku: str) -> HttpResponse:
    """Create a product with ``sku``."""
    return call(server, "POST", PRODUCTS, token=token, payload={"sku": sku, "name": f"Nuts {sku}"})


def product_skus(server: Server, token: str) -> set[str]:
    """The SKUs of every product."""
    answer = call(server, "GET", f"{PRODUCTS}?limit=200", token=token)
    assert answer.status == 200, answer.text
    return {item["sku"] for item in answer.json()["items"]}


def assert_no_leak(text: str) -> None:
    """No traceback or driver detail in an answer."""
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), (leak, text)


def assert_unavailable(answer: HttpResponse, what: str) -> None:
    """A 503 problem+json with a positive Retry-After and no internals."""
    assert answer.status == 503, (what, answer.status, answer.text)
    assert answer.headers.get("content-type", "").startswith(PROBLEM_JSON), (what, answer.headers)
    assert int(answer.headers.get("retry-after", "0")) > 0, (what, answer.headers)
    assert_no_leak(answer.text)
    problem = answer.json()
    assert problem["status"] == 503, (what, problem)
    assert problem["request_id"] == answer.headers["x-request-id"], (what, problem)


def assert_alive(server: Server) -> None:
    """Liveness answers 200 whatever the dependencies do."""
    answer = call(server, "GET", LIVENESS)
    assert answer.status == 200, answer.text
    assert answer.json() == {"status": "ok"}


def poll_until(ready: Callable[[], bool], what: str, timeout: float = RECOVERY_TIMEOUT) -> float:
    """Call ``ready`` until it is true; the seconds that took. Fails after ``timeout``."""
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what} not within {timeout:.0f}s")
        time.sleep(0.2)
    return time.monotonic() - started


# -- the database goes down and comes back -----------------------------------------------------


def test_database_outage_answers_503_and_the_same_server_recovers(stack: Stack) -> None:
    with running_server(stack.env, workers=1) as server:
        token = token_of(server)
        before = new_product(server, token, "OUT-BEFORE")
        assert before.status == 201, before.text
        assert call(server, "GET", DATABASE_HEALTH).status == 200

        stack.cluster.stop("immediate")

        started = time.monotonic()
        health = call(server, "GET", DATABASE_HEALTH)
        first_health = time.monotonic() - started
        print(f"\nfirst {DATABASE_HEALTH} after the database stopped: {first_health:.3f}s")
        assert health.status == 503, health.text
        assert health.json()["status"] == "unavailable"
        assert "latency_ms" not in health.json()
        assert_no_leak(health.text)
        assert_alive(server)

        # Twice: the first round finds the pooled connections dead, the second finds none.
        for attempt in (1, 2):
            timings = {}
            for what, method, path in (
                ("health", "GET", DATABASE_HEALTH),
                ("read", "GET", PRODUCTS),
                ("write", "POST", PRODUCTS),
                ("login", "POST", LOGIN),
            ):
                started = time.monotonic()
                if what == "write":
                    answer = new_product(server, token, f"OUT-DOWN-{attempt}")
                elif what == "login":
                    answer = log_in(server)
                else:
                    answer = call(server, method, path, token=token)
                timings[what] = time.monotonic() - started
                if what == "health":
                    assert answer.status == 503, answer.text
                    assert_no_leak(answer.text)
                else:
                    assert_unavailable(answer, what)
                    assert answer.json()["type"].endswith("service-unavailable"), answer.text
                assert_alive(server)
            spent = ", ".join(f"{what} {seconds:.3f}s" for what, seconds in timings.items())
            print(f"round {attempt} while down: {spent}")

        stack.cluster.start()

        def serving() -> bool:
            assert_alive(server)
            answers = [
                call(server, "GET", DATABASE_HEALTH),
                call(server, "GET", PRODUCTS, token=token),
            ]
            for answer in answers:
                assert answer.status in (200, 503), answer.text
            return all(answer.status == 200 for answer in answers)

        took = poll_until(serving, "the API serving again after PostgreSQL restarted")
        print(f"serving again {took:.3f}s after PostgreSQL answered")

        # The session opened before the outage still works, and a new login too.
        skus = product_skus(server, token)
        assert "OUT-BEFORE" in skus
        assert not any(sku.startswith("OUT-DOWN") for sku in skus), skus
        fresh = token_of(server)
        after = new_product(server, fresh, "OUT-AFTER")
        assert after.status == 201, after.text
        read = call(server, "GET", f"{PRODUCTS}/{after.json()['id']}", token=token)
        assert read.status == 200, read.text
        assert read.json()["sku"] == "OUT-AFTER"
        assert product_skus(server, fresh) >= {"OUT-BEFORE", "OUT-AFTER"}
        assert call(server, "GET", DATABASE_HEALTH).status == 200
        assert_alive(server)
        assert server.process.poll() is None
        assert "Traceback" not in server.output(), server.output()[-5000:]


# -- Redis goes down and comes back ------------------------------------------------------------


def test_redis_outage_leaves_the_api_serving(stack: Stack) -> None:
    with running_server(stack.env, workers=1) as server:
        token = token_of(server)
        health = call(server, "GET", REDIS_HEALTH)
        assert health.status == 200, health.text
        assert health.json()["status"] == "ok"

        stack.redis.kill()

        started = time.monotonic()
        health = call(server, "GET", REDIS_HEALTH)
        print(f"\nfirst {REDIS_HEALTH} after Redis was killed: {time.monotonic() - started:.3f}s")
        assert health.status == 503, health.text
        assert health.json()["status"] == "unavailable"
        assert_no_leak(health.text)

        database = call(server, "GET", DATABASE_HEALTH)
        assert database.status == 200, database.text
        fresh = token_of(server)
        levels = call(server, "GET", STOCK_LEVELS, token=fresh)
        assert levels.status == 200, levels.text
        created = new_product(server, fresh, "REDIS-DOWN")
        assert created.status == 201, created.text
        assert "REDIS-DOWN" in product_skus(server, token)
        assert call(server, "GET", REDIS_HEALTH).status == 503
        assert_alive(server)

        stack.redis.start()  # the same port

        def redis_ok() -> bool:
            answer = call(server, "GET", REDIS_HEALTH)
            assert answer.status in (200, 503), answer.text
            return answer.status == 200

        took = poll_until(redis_ok, f"{REDIS_HEALTH} answering 200 after Redis restarted")
        print(f"{REDIS_HEALTH} 200 again {took:.3f}s after Redis answered")
        assert call(server, "GET", REDIS_HEALTH).json()["status"] == "ok"
        assert call(server, "GET", DATABASE_HEALTH).status == 200
        assert_alive(server)
        assert server.process.poll() is None


# -- a burst larger than the connection pool ---------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one request of the burst got: an answer, or the error of a request that got none."""

    response: HttpResponse | None
    error: str = ""

    @property
    def status(self) -> int:
        """The HTTP status, 0 without an answer."""
        return self.response.status if self.response else 0


def fetch(port: int, path: str, token: str) -> Answer:
    """GET ``path``; never raises."""
    try:
        return Answer(
            http_request(port, "GET", path, headers=bearer(token), timeout=CLIENT_TIMEOUT)
        )
    except OSError as exc:
        return Answer(None, repr(exc))


def assert_ok_or_unavailable(answers: list[Answer]) -> Counter[int]:
    """Every answer is a 200, or a 503 problem with Retry-After; their count per status."""
    statuses = Counter(answer.status for answer in answers)
    odd = [
        (a.status, a.error or (a.response.text if a.response else ""))
        for a in answers
        if a.status not in (200, 503)
    ]
    assert not odd, (statuses, odd[:3])
    for answer in answers:
        if answer.status == 503:
            assert answer.response is not None
            assert_unavailable(answer.response, "burst")
    return statuses


def waiting_on_locks(stack: Stack, locker_pid: int) -> int:
    """Backends of the server that wait for a lock."""
    with stack.cluster.connect() as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = 'dfims' AND pid <> %s AND wait_event_type = 'Lock'",
            (locker_pid,),
        ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_burst_larger_than_the_pool_answers_503_and_the_worker_recovers(stack: Stack) -> None:
    env = {
        **stack.env,
        "DB_POOL_SIZE": str(POOL_SIZE),
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT": "1",
        "WORKER_REQUESTS": "16",
    }
    with running_server(env, workers=1) as server:
        token = token_of(server)
        created = new_product(server, token, "BURST-1")
        assert created.status == 201, created.text

        locker = stack.cluster.connect()
        pool = ThreadPoolExecutor(max_workers=BURST)
        try:
            locker.execute("BEGIN")
            locker.execute(f"LOCK TABLE {BURST_TABLE} IN ACCESS EXCLUSIVE MODE")
            start = threading.Barrier(BURST)

            def together(_: int) -> Answer:
                start.wait()
                return fetch(server.port, PRODUCTS, token)

            futures: list[Future[Answer]] = [pool.submit(together, n) for n in range(BURST)]

            # The requests that hold the pool's connections wait for the lock; every other one
            # finds no connection and answers 503 while the lock is still held.
            deadline = time.monotonic() + 2 * CLIENT_TIMEOUT
            while sum(future.done() for future in futures) < BURST - POOL_SIZE:
                assert time.monotonic() < deadline, Counter(
                    future.result().status for future in futures if future.done()
                )
                time.sleep(0.05)
            early = [future.result() for future in futures if future.done()]
            assert Counter(answer.status for answer in early) == {503: BURST - POOL_SIZE}, [
                answer.error or (answer.response.text if answer.response else "")
                for answer in early
            ][:3]
            assert_ok_or_unavailable(early)
            held = [future for future in futures if not future.done()]
            assert len(held) == POOL_SIZE
            assert waiting_on_locks(stack, locker.info.backend_pid) == POOL_SIZE
        finally:
            locker.execute("ROLLBACK")
            locker.close()
            pool.shutdown(wait=True)

        answers = [future.result() for future in futures]
        statuses = assert_ok_or_unavailable(answers)
        assert statuses[503] >= 1, statuses
        assert statuses[200] >= 1, statuses
        assert [future.result().status for future in held] == [200] * POOL_SIZE
        print(f"\nburst of {BURST} with a pool of {POOL_SIZE}: {dict(statuses)}")

        # The worker is not stuck: one after the other, then together.
        for _ in range(20):
            answer = call(server, "GET", PRODUCTS, token=token)
            assert answer.status == 200, answer.text
        with ThreadPoolExecutor(max_workers=20) as together_pool:
            answers = list(
                together_pool.map(lambda _: fetch(server.port, PRODUCTS, token), range(20))
            )
        assert [answer.status for answer in answers] == [200] * 20, [
            answer.error or (answer.response.text if answer.response else "") for answer in answers
        ][:3]
        health = call(server, "GET", DATABASE_HEALTH)
        assert health.status == 200, health.text

        # No connection was left inside a transaction.
        with stack.cluster.connect() as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = 'dfims' "
                "AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
            ).fetchone()
        assert row is not None
        assert row[0] == 0
        assert "Traceback" not in server.output(), server.output()[-5000:]
