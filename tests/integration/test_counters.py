"""Windowed counters: in-process without Redis, shared through the real Redis (database 15),
and back in-process while Redis is unreachable."""

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis

from app.core import counters
from app.core.cache import get_redis
from app.core.config import get_settings
from app.core.counters import KEY_PREFIX, add_count, clear_local_counts, get_count
from tests.conftest import REDIS_TEST_URL

DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the service at the test Redis for one test."""
    get_redis.cache_clear()
    monkeypatch.setattr(get_settings(), "REDIS_URL", REDIS_TEST_URL)
    yield
    get_redis.cache_clear()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_local_counts_add_up_within_the_window_and_start_again_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _key()
    assert get_count(key).value == 0
    assert add_count(key, 60).value == 1
    second = add_count(key, 60)
    assert second.value == 2
    assert 1 <= second.retry_after <= 60
    assert get_count(key).value == 2
    assert get_count(_key()).value == 0

    later = counters.time.monotonic() + 61
    monkeypatch.setattr(counters.time, "monotonic", lambda: later)
    assert get_count(key).value == 0
    assert add_count(key, 60).value == 1


def test_the_local_counts_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counters, "MAX_LOCAL_KEYS", 50)
    for _ in range(200):
        add_count(_key(), 60)
    assert len(counters._local._counts) <= 50


@pytest.mark.redis
def test_counts_live_in_redis_and_are_seen_by_every_process(redis_url: None) -> None:
    key = _key()
    for _ in range(3):
        add_count(key, 60)
    clear_local_counts()  # another process: nothing of its own
    assert get_count(key).value == 3
    with Redis.from_url(REDIS_TEST_URL) as server:
        assert int(server.get(KEY_PREFIX + key) or 0) == 3
        assert 0 < server.ttl(KEY_PREFIX + key) <= 60
        server.delete(KEY_PREFIX + key)


@pytest.mark.redis
def test_an_unreachable_redis_counts_in_process_and_is_asked_again_later(
    monkeypatch: pytest.MonkeyPatch, redis_url: None
) -> None:
    monkeypatch.setattr(get_settings(), "REDIS_URL", DEAD_REDIS_URL)
    get_redis.cache_clear()
    key = _key()
    assert add_count(key, 60).value == 1
    assert add_count(key, 60).value == 2  # counted here, Redis not asked again meanwhile
    assert counters._redis_down_until > counters.time.monotonic()

    monkeypatch.setattr(get_settings(), "REDIS_URL", REDIS_TEST_URL)
    get_redis.cache_clear()
    assert get_count(key).value == 2  # still in-process until the pause ends
    monkeypatch.setattr(counters, "_redis_down_until", 0.0)
    assert get_count(key).value == 0  # Redis again: it never saw this key
    assert add_count(key, 60).value == 1
    with Redis.from_url(REDIS_TEST_URL) as server:
        server.delete(KEY_PREFIX + key)
