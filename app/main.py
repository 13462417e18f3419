"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware

from app import web
from app.api.admission import UNLIMITED_PATHS, WorkLimit
from app.api.body_limit import BodyLimit
from app.api.deps import MetricsReader
from app.api.middleware import RequestContextMiddleware
from app.api.problems import document_problem_schema, problem_handlers
from app.api.security_headers import SecurityHeaders
from app.api.v1.router import API_ROUTERS
from app.core import async_database
from app.core.config import get_settings
from app.core.logging import configure_logging, flush_logs
from app.core.memory import tune_allocator
from app.core.metrics import forget_dead_processes, render_latest
from app.kit.routers import include
from app.schemas.health import Liveness
from app.services import alerts, session_standing

# room for the form fields and multipart framing beside the largest file accepted
UPLOAD_OVERHEAD = 1024 * 1024

API_DESCRIPTION = """
Inventory, sales and purchasing for a dried-fruit and nut wholesaler: lots with
best-before dates, an append-only stock ledger and FEFO allocation.

Authenticate with **Authorize** (email as username); errors are RFC 9457
`application/problem+json`.
"""


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Keep the worker's memory flat, tidy the metrics folder, pool the reads' connections and
    listen for session changes."""
    tune_allocator()
    forget_dead_processes()
    try:
        async with async_database.serving(), session_standing.listening():
            yield
    finally:
        flush_logs()


def create_app() -> FastAPI:
    """Build the API with its middleware, error handlers and routes."""
    settings = get_settings()
    configure_logging(settings)
    app = FastAPI(
        title=settings.PROJECT_NAME,
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    handlers = problem_handlers()
    for kind, handler in (handlers | web.error_pages(handlers)).items():
        app.add_exception_handler(kind, handler)
    document_problem_schema(app)
    if settings.CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        WorkLimit,
        limit=settings.WORKER_REQUESTS,
        queue_timeout=settings.WORKER_QUEUE_SECONDS,
        # probes answer while the requests queue: a busy replica is not a dead one
        unlimited=UNLIMITED_PATHS
        | {f"{settings.API_V1_PREFIX}/health/{name}" for name in ("database", "redis")},
    )
    app.add_middleware(
        BodyLimit,
        limit=settings.MAX_REQUEST_BYTES,
        upload_limit=max(settings.MAX_IMAGE_BYTES, settings.MAX_DOCUMENT_BYTES) + UPLOAD_OVERHEAD,
    )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["health"])
    async def liveness() -> Liveness:
        """The process is up; touches no dependency."""
        return Liveness()

    @app.get("/metrics", include_in_schema=False)
    def metrics(_: MetricsReader) -> Response:
        """Prometheus metrics of every worker process (behind METRICS_TOKEN when it is set)."""
        alerts.refresh_gauges()
        body, content_type = render_latest()
        return Response(body, media_type=content_type)

    for router in API_ROUTERS:
        include(app, router, settings.API_V1_PREFIX)
    web.mount(app)
    return app


app = create_app()
