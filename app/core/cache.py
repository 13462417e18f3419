"""The Redis client, when REDIS_URL is configured."""

from functools import lru_cache

from redis import Redis

from app.core.config import get_settings


@lru_cache
def get_redis() -> Redis | None:
    """The shared Redis client, or None when REDIS_URL is not set."""
    settings = get_settings()
    if not settings.REDIS_URL:
        return None
    return Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_TIMEOUT,
        socket_connect_timeout=settings.REDIS_TIMEOUT,
        health_check_interval=30,
        decode_responses=True,
    )
