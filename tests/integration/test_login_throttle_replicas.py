"""The per-address login throttle across replicas: two ``dfims serve`` processes on one
database and one Redis add their failed logins up, so the throttle answers 429 on both, and an
email without an account is locked out on both like an account. With Redis killed, logins go
on (no 5xx) and each process throttles on its own; with Redis back, the count is shared again.
Client addresses come from X-Forwarded-For, as behind the proxy."""

import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from redis import Redis

from app.core.counters import KEY_PREFIX, RETRY_REDIS_AFTER
from tests.conftest import PASSWORD, MakeUser
from tests.integration.clusters import PrivateRedis, private_redis
from tests.support.servers import HttpResponse, Server, running_server

pytestmark = [pytest.mark.redis, pytest.mark.system]

LOGIN = "/api/v1/auth/login"
REDIS_HEALTH = "/api/v1/health/redis"
LIMIT = 4
MAX_FAILED = 6
WRONG = "not the right password"
DEGRADED_LOG = "redis unavailable, counting in this process"


def log_in(server: Server, email: str, password: str, address: str) -> HttpResponse:
    """A login through ``server`` from client ``address`` (the proxy's X-Forwarded-For)."""
    return server.request(
        "POST",
        LOGIN,
        body=urlencode({"username": email, "password": password}).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": address,
        },
    )


def assert_refused(response: HttpResponse) -> None:
    """A wrong password answered as such: no throttle, no server error."""
    assert response.status == 401, (response.status, response.text)


def assert_let_in(response: HttpResponse) -> None:
    assert response.status == 200, (response.status, response.text)
    assert response.json()["access_token"]


def assert_throttled(response: HttpResponse) -> None:
    assert response.status == 429, (response.status, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:dfims:problem:too-many-attempts"
    assert int(response.headers["retry-after"]) > 0


@pytest.fixture
def shared_redis() -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, to kill and start again."""
    with private_redis() as server:
        yield server


@pytest.fixture
def replica_env(test_env: dict[str, str], shared_redis: PrivateRedis) -> dict[str, str]:
    """Both replicas: the test database, the private Redis, a small per-address limit and an
    account lockout that the failures below, with logins between them, never reach."""
    return {
        **test_env,
        "REDIS_URL": shared_redis.url,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",  # the proxy, as behind nginx on the host
        "LOGIN_FAILURES_PER_ADDRESS": str(LIMIT),
        "MAX_FAILED_LOGINS": str(MAX_FAILED),
        "REDIS_TIMEOUT": "1",
    }


def test_replicas_share_the_throttle_and_survive_redis_going_away(
    replica_env: dict[str, str], shared_redis: PrivateRedis, make_user: MakeUser
) -> None:
    user = make_user()
    email = user.email

    with running_server(replica_env) as first, running_server(replica_env) as second:
        replicas = (first, second)

        # -- Redis up: the failures of both replicas add up.
        shared = "192.0.2.10"
        assert_refused(log_in(first, email, WRONG, shared))
        assert_refused(log_in(second, email, WRONG, shared))
        assert_refused(log_in(first, email, WRONG, shared))
        assert_let_in(log_in(second, email, PASSWORD, shared))  # below the limit still
        assert_refused(log_in(second, email, WRONG, shared))  # two on each replica: four

        for replica in replicas:
            assert_throttled(log_in(replica, email, PASSWORD, shared))
        with Redis.from_url(shared_redis.url, decode_responses=True) as counts:
            assert counts.get(f"{KEY_PREFIX}login-address:{shared}") == str(LIMIT)
        for replica in replicas:
            assert_let_in(log_in(replica, email, PASSWORD, "192.0.2.11"))

        # An email without an account is locked out like an account, on every replica: the
        # count of its failures is shared too (each from another address, none throttled).
        nobody = "nobody-across-replicas@example.com"
        answers = [
            log_in(replicas[n % 2], nobody, WRONG, f"192.0.2.{100 + n}") for n in range(MAX_FAILED)
        ]
        assert [answer.status for answer in answers] == [401] * (MAX_FAILED - 1) + [423]
        for replica in replicas:
            locked = log_in(replica, nobody, WRONG, "192.0.2.99")
            assert locked.status == 423, locked.text
            assert int(locked.headers["retry-after"]) > 0
            assert locked.json()["detail"].startswith(f"Account locked after {MAX_FAILED} failed")

        # -- Redis gone: logins go on, and each replica counts on its own.
        shared_redis.kill()
        alone = "192.0.2.20"
        for replica in replicas:
            assert_let_in(log_in(replica, email, PASSWORD, alone))
            assert replica.get(REDIS_HEALTH).status == 503
            assert replica.get("/health").status == 200

        for _ in range(LIMIT):
            assert_refused(log_in(first, email, WRONG, alone))
        assert_throttled(log_in(first, email, PASSWORD, alone))
        assert_let_in(log_in(second, email, PASSWORD, alone))  # its own count is still 0
        for _ in range(LIMIT):
            assert_refused(log_in(second, email, WRONG, alone))
        assert_throttled(log_in(second, email, PASSWORD, alone))
        for replica in replicas:
            assert DEGRADED_LOG in replica.output()

        # -- Redis back: once each replica asks it again, the count is shared again.
        shared_redis.start()
        time.sleep(RETRY_REDIS_AFTER + 1)
        again = "192.0.2.30"
        for replica in replicas:
            assert_let_in(log_in(replica, email, PASSWORD, again))
            assert replica.get(REDIS_HEALTH).status == 200
        assert_refused(log_in(first, email, WRONG, again))
        assert_refused(log_in(second, email, WRONG, again))
        assert_refused(log_in(first, email, WRONG, again))
        assert_refused(log_in(second, email, WRONG, again))
        for replica in replicas:
            assert_throttled(log_in(replica, email, PASSWORD, again))
        with Redis.from_url(shared_redis.url, decode_responses=True) as counts:
            assert counts.get(f"{KEY_PREFIX}login-address:{again}") == str(LIMIT)
