"""Redis health against the real Redis server (database 15); a missing server fails the tests."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from app.core.cache import get_redis
from app.core.config import get_settings
from tests.conftest import REDIS_TEST_URL
from tests.support.servers import running_server

pytestmark = pytest.mark.redis

DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


RedisPointer = Callable[[str], None]


def _forget_client() -> None:
    client = get_redis()
    if client is not None:
        client.close()
    get_redis.cache_clear()


@pytest.fixture
def point_redis_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisPointer]:
    """point_redis_at(url) sets REDIS_URL for this test and drops the cached client."""

    def point(url: str) -> None:
        _forget_client()
        monkeypatch.setattr(get_settings(), "REDIS_URL", url)

    get_redis.cache_clear()
    yield point
    _forget_client()


def test_redis_server_is_there() -> None:
    """The tests below need the server: this fails (never skips) when it is not running."""
    with Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2, socket_timeout=2) as server:
        assert server.ping() is True


def test_redis_health_ok(client: TestClient, point_redis_at: RedisPointer) -> None:
    point_redis_at(REDIS_TEST_URL)
    response = client.get("/api/v1/health/redis")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["latency_ms"], int | float)
    assert body["latency_ms"] >= 0
    assert "error" not in body

    shared = get_redis()
    assert shared is not None
    assert shared.connection_pool.connection_kwargs["db"] == int(REDIS_TEST_URL.rsplit("/", 1)[1])


def test_redis_health_unavailable(client: TestClient, point_redis_at: RedisPointer) -> None:
    point_redis_at(DEAD_REDIS_URL)
    response = client.get("/api/v1/health/redis")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert "latency_ms" not in body
    assert "Traceback" not in response.text

    # Liveness does not depend on Redis.
    assert client.get("/health").status_code == 200


def test_redis_url_from_the_environment(test_env: dict[str, str]) -> None:
    with running_server({**test_env, "REDIS_URL": REDIS_TEST_URL}) as server:
        response = server.get("/api/v1/health/redis")
        assert response.status == 200, response.text
        assert response.json()["status"] == "ok"

    with running_server({**test_env, "REDIS_URL": DEAD_REDIS_URL}) as server:
        response = server.get("/api/v1/health/redis")
        assert response.status == 503, response.text
        assert response.json()["status"] == "unavailable"
        assert server.get("/health").status == 200
