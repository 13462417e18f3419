"""Shapes of the health answers."""

from typing import Literal

from pydantic import BaseModel


class Liveness(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class DependencyHealth(BaseModel):
    """How a dependency answered."""

    status: Literal["ok", "unavailable", "not_configured"]
    latency_ms: float | None = None
    error: str | None = None
