"""How many requests a worker process works on at once."""

from anyio import Semaphore
from anyio.lowlevel import RunVar
from starlette.types import ASGIApp, Receive, Scope, Send

UNLIMITED_PATHS = frozenset({"/health", "/metrics"})


class WorkLimit:
    """Let at most ``limit`` requests of this process in at once; the rest wait their turn in
    the event loop, before they take a thread or a database connection.

    A request inside never waits for one outside: when requests queue for the same rows, the
    one holding the locks always finds a free thread to finish (FastAPI's thread pool is
    larger than the limit) instead of every thread waiting on locks it holds.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        # one semaphore per event loop (a worker has one; tests run several)
        self._slots: RunVar[Semaphore] = RunVar(f"work-limit-{id(self)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            slots = self._slots.get()
        except LookupError:
            slots = Semaphore(self.limit)
            self._slots.set(slots)
        async with slots:
            await self.app(scope, receive, send)
