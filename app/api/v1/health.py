"""Readiness checks of the database and Redis."""

from typing import Any

from fastapi.responses import JSONResponse

from app.kit.routers import Router
from app.schemas.health import DependencyHealth
from app.services import health

router = Router(prefix="/health", tags=["health"])
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": DependencyHealth, "description": "The dependency is down"}
}


def _answer(result: DependencyHealth) -> JSONResponse:
    code = 503 if result.status == "unavailable" else 200
    return JSONResponse(result.model_dump(exclude_none=True), status_code=code)


@router.get("/database", response_model=DependencyHealth, responses=UNAVAILABLE)
async def database() -> JSONResponse:
    """Whether the database answers a query, and how fast."""
    return _answer(await health.check_database())


@router.get("/redis", response_model=DependencyHealth, responses=UNAVAILABLE)
def redis() -> JSONResponse:
    """Whether Redis answers a PING, and how fast; ``not_configured`` without REDIS_URL."""
    return _answer(health.check_redis())
