"""How many requests a worker process works on at once."""

import math

from anyio import Semaphore, move_on_after
from anyio.lowlevel import RunVar
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import RETRY_AFTER_SECONDS, problem_response
from app.core import problem_types

UNLIMITED_PATHS = frozenset({"/health", "/metrics"})


class WorkLimit:
    """Let at most ``limit`` requests of this process in at once; the rest wait their turn in
    the event loop, before they take a thread or a database connection.

    A request inside never waits for one outside: when requests queue for the same rows, the
    one holding the locks always finds a free thread to finish (FastAPI's thread pool is
    larger than the limit) instead of every thread waiting on locks it holds. A request that
    waits longer than ``queue_timeout`` seconds is answered 503 with Retry-After.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        queue_timeout: float = math.inf,
        unlimited: frozenset[str] = UNLIMITED_PATHS,
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self.unlimited = unlimited
        # one semaphore per event loop (a worker has one; tests run several)
        self._slots: RunVar[Semaphore] = RunVar(f"work-limit-{id(self)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited:
            await self.app(scope, receive, send)
            return
        try:
            slots = self._slots.get()
        except LookupError:
            slots = Semaphore(self.limit)
            self._slots.set(slots)
        admitted = False
        with move_on_after(self.queue_timeout):
            await slots.acquire()
            admitted = True
        if not admitted:
            busy = problem_response(
                problem_types.SERVICE_BUSY,
                "The service is working on as many requests as it can; try again shortly.",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
