"""Checks of the service's dependencies."""

import logging
import time

import psycopg
from redis.exceptions import RedisError
from sqlalchemy import Integer, Select, literal_column, select
from sqlalchemy.exc import SQLAlchemyError

from app.core import async_database
from app.core.cache import get_redis
from app.schemas.health import DependencyHealth

logger = logging.getLogger("app.health")
PING: Select[tuple[int]] = select(literal_column("1", Integer))


async def check_database() -> DependencyHealth:
    """Run ``SELECT 1`` on a pooled connection."""
    started = time.perf_counter()
    try:
        await async_database.fetch(PING)
    except (SQLAlchemyError, psycopg.Error) as exc:
        logger.warning("database health check failed: %s", type(exc).__name__)
        return DependencyHealth(status="unavailable", error=_describe(exc))
    return DependencyHealth(status="ok", latency_ms=_elapsed_ms(started))


def check_redis() -> DependencyHealth:
    """PING Redis, when it is configured."""
    started = time.perf_counter()
    try:
        client = get_redis()
        if client is None:
            return DependencyHealth(status="not_configured")
        client.ping()
    except (RedisError, ValueError) as exc:
        logger.warning("redis health check failed: %s", type(exc).__name__)
        return DependencyHealth(status="unavailable", error=_describe(exc))
    return DependencyHealth(status="ok", latency_ms=_elapsed_ms(started))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _describe(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    return type(original if isinstance(original, Exception) else exc).__name__
