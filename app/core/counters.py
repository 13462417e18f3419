"""Counters that run out after a time window, shared by every replica through Redis.

Without Redis, or while it is down, each process counts on its own: the limits built on
these counters still hold, per process instead of across replicas.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from app.core.cache import get_redis

logger = logging.getLogger("app.counters")
KEY_PREFIX = "dfims:count:"
MAX_LOCAL_KEYS = 100_000
# After a Redis error, count in-process for this long before asking Redis again, so an
# unreachable Redis costs one timeout, not one per request.
RETRY_REDIS_AFTER = 5.0


@dataclass(frozen=True)
class Count:
    """How many times a key was counted in its current window, and when that window ends."""

    value: int
    retry_after: int


class _LocalCounters:
    """The in-process fallback: fixed windows in a bounded dictionary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def get(self, key: str) -> Count:
        now = time.monotonic()
        with self._lock:
            value, ends = self._counts.get(key, (0, now))
        return Count(value, math.ceil(ends - now)) if ends > now else Count(0, 0)

    def add(self, key: str, window: int, sliding: bool) -> Count:
        now = time.monotonic()
        with self._lock:
            value, ends = self._counts.get(key, (0, now))
            if ends <= now:
                value, ends = 0, now + window
            if sliding:
                ends = now + window
            if len(self._counts) >= MAX_LOCAL_KEYS and key not in self._counts:
                self._forget_expired(now)
            self._counts[key] = (value + 1, ends)
        return Count(value + 1, max(1, math.ceil(ends - now)))

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def _forget_expired(self, now: float) -> None:
        expired = [key for key, (_, ends) in self._counts.items() if ends <= now]
        for key in expired or list(self._counts)[: MAX_LOCAL_KEYS // 10]:
            del self._counts[key]


_local = _LocalCounters()
_redis_down_until = 0.0


def _shared() -> Redis | None:
    """The Redis client to count with, or None to count in this process."""
    if time.monotonic() < _redis_down_until:
        return None
    return get_redis()


def get_count(key: str) -> Count:
    """The count of ``key`` in its current window (0 when there is none)."""
    client = _shared()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.get(KEY_PREFIX + key)
            pipe.ttl(KEY_PREFIX + key)
            value, ttl = pipe.execute()
            return Count(int(value), max(1, int(ttl))) if value is not None else Count(0, 0)
        except RedisError as exc:
            _degraded(exc)
    return _local.get(key)


def add_count(key: str, window: int, *, sliding: bool = False) -> Count:
    """Count ``key`` once more; its window of ``window`` seconds starts at the first count, or
    with ``sliding`` at every count (the count then lasts while counts keep coming)."""
    client = _shared()
    if client is not None:
        name = KEY_PREFIX + key
        try:
            pipe = client.pipeline(transaction=True)
            pipe.set(name, 0, ex=window, nx=True)
            pipe.incr(name)
            if sliding:
                pipe.expire(name, window)
            pipe.ttl(name)
            answers = pipe.execute()
            return Count(int(answers[1]), max(1, int(answers[-1])))
        except RedisError as exc:
            _degraded(exc)
    return _local.add(key, window, sliding)


def reset_count(key: str) -> None:
    """Forget the count of ``key``."""
    client = _shared()
    if client is not None:
        try:
            client.delete(KEY_PREFIX + key)
        except RedisError as exc:
            _degraded(exc)
    _local.reset(key)


def clear_local_counts() -> None:
    """Forget the in-process counts and any Redis error: the next count asks Redis."""
    global _redis_down_until
    _local.clear()
    _redis_down_until = 0.0


def _degraded(exc: RedisError) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + RETRY_REDIS_AFTER
    logger.warning(
        "redis unavailable, counting in this process for %.0fs: %s",
        RETRY_REDIS_AFTER,
        type(exc).__name__,
    )
