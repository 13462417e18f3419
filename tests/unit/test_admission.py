"""How much work a worker process takes on at once: the per-process limit of requests at work
(``WorkLimit``), Argon2 computations one at a time, and the allocator tuned for both."""

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from starlette.types import Message, Receive, Scope, Send

from app.api.admission import WorkLimit
from app.core import security
from app.core.config import get_settings
from app.core.memory import tune_allocator

T = TypeVar("T")
WAIT = 5.0


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a fresh event loop of its own thread (the browser tests keep a
    loop running in this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# -- WorkLimit ---------------------------------------------------------------------------------


class Held:
    """An inner app that counts the calls inside it and keeps each until ``release`` is set."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.entered: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.entered.append(scope.get("path", scope["type"]))
        try:
            await self.release.wait()
            if scope["type"] == "http":
                await receive()
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


def http_scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: WorkLimit, scope: Scope) -> list[Message]:
    """Send ``scope`` through ``app``; the messages it sent back."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (fails after WAIT seconds)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def settle() -> None:
    """Give every ready task a few turns of the loop."""
    for _ in range(20):
        await asyncio.sleep(0)


def statuses(answers: list[list[Message]]) -> list[int]:
    return [
        message["status"]
        for sent in answers
        for message in sent
        if message["type"] == "http.response.start"
    ]


def test_no_more_than_the_limit_are_inside_and_all_get_their_turn() -> None:
    async def main() -> tuple[int, int, list[list[Message]]]:
        inner = Held()
        app = WorkLimit(inner, limit=3)
        tasks = [asyncio.create_task(call(app, http_scope(f"/api/v1/x/{n}"))) for n in range(20)]
        await until(lambda: inner.inside == 3)
        await settle()
        inside_while_full = inner.inside
        inner.release.set()
        answers = await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        return inside_while_full, inner.most_inside, answers

    inside_while_full, most_inside, answers = in_own_loop(main())
    assert inside_while_full == 3
    assert most_inside == 3
    assert statuses(answers) == [200] * 20


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_health_and_metrics_get_in_while_the_limit_is_full(path: str) -> None:
    async def main() -> list[str]:
        inner = Held()
        app = WorkLimit(inner, limit=2)
        working = [asyncio.create_task(call(app, http_scope(f"/api/v1/x/{n}"))) for n in range(3)]
        await until(lambda: inner.inside == 2)
        probe = asyncio.create_task(call(app, http_scope(path)))
        await until(lambda: path in inner.entered)
        await settle()
        entered = list(inner.entered)
        inner.release.set()
        answers = await asyncio.wait_for(asyncio.gather(probe, *working), WAIT)
        assert statuses(answers) == [200] * 4
        return entered

    entered = in_own_loop(main())
    assert sorted(entered) == sorted(["/api/v1/x/0", "/api/v1/x/1", path])


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_other_scopes_pass_through(kind: str) -> None:
    async def main() -> list[str]:
        inner = Held()
        app = WorkLimit(inner, limit=1)
        working = asyncio.create_task(call(app, http_scope("/api/v1/x")))
        await until(lambda: inner.inside == 1)
        scope: Scope = {"type": kind, "asgi": {"version": "3.0"}}
        if kind == "websocket":
            scope.update(path="/ws", headers=[], query_string=b"")
        other = asyncio.create_task(call(app, scope))
        await until(lambda: inner.inside == 2)
        entered = list(inner.entered)
        inner.release.set()
        await asyncio.wait_for(asyncio.gather(working, other), WAIT)
        return entered

    expected = "/ws" if kind == "websocket" else kind
    assert in_own_loop(main()) == ["/api/v1/x", expected]


def test_a_failing_request_gives_its_place_back() -> None:
    async def main() -> list[int]:
        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["path"] == "/boom":
                raise RuntimeError("boom")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        app = WorkLimit(inner, limit=1)
        with pytest.raises(RuntimeError, match="boom"):
            await call(app, http_scope("/boom"))
        return statuses([await asyncio.wait_for(call(app, http_scope("/fine")), WAIT)])

    assert in_own_loop(main()) == [200]


def test_a_request_cancelled_while_waiting_takes_no_place() -> None:
    async def main() -> tuple[list[str], list[list[Message]]]:
        inner = Held()
        app = WorkLimit(inner, limit=1)
        first = asyncio.create_task(call(app, http_scope("/first")))
        await until(lambda: inner.inside == 1)
        gone = asyncio.create_task(call(app, http_scope("/gone")))
        later = asyncio.create_task(call(app, http_scope("/later")))
        await settle()
        gone.cancel()
        await settle()
        inner.release.set()
        answers = await asyncio.wait_for(asyncio.gather(first, later), WAIT)
        return inner.entered, answers

    entered, answers = in_own_loop(main())
    assert entered == ["/first", "/later"]
    assert statuses(answers) == [200, 200]


def test_a_request_that_waits_too_long_gets_a_503_and_never_enters() -> None:
    async def main() -> tuple[list[str], list[Message], list[list[Message]]]:
        inner = Held()
        app = WorkLimit(inner, limit=1, queue_timeout=0.05)
        first = asyncio.create_task(call(app, http_scope("/first")))
        await until(lambda: inner.inside == 1)
        turned_away = await asyncio.wait_for(call(app, http_scope("/waited")), WAIT)
        inner.release.set()
        answers = await asyncio.wait_for(
            asyncio.gather(first, call(app, http_scope("/after"))), WAIT
        )
        return inner.entered, turned_away, answers

    entered, turned_away, answers = in_own_loop(main())
    assert entered == ["/first", "/after"]
    assert statuses([turned_away]) == [503]
    start = turned_away[0]
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) > 0
    body = json.loads(turned_away[1]["body"])
    assert body["status"] == 503
    assert body["type"].endswith("service-busy")
    assert statuses(answers) == [200, 200]


# -- the allocator -----------------------------------------------------------------------------


def test_allocator_is_tuned_on_glibc() -> None:
    assert tune_allocator() is True
    assert tune_allocator() is True  # each worker calls it once; again changes nothing


# -- Argon2 one (or PASSWORD_HASH_CONCURRENCY) at a time ---------------------------------------


class CountingHasher(PasswordHasher):
    """A PasswordHasher that records how many verifications run at once."""

    def __init__(self, hold: float = 0.02, barrier: threading.Barrier | None = None) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.hold = hold
        self.barrier = barrier
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self.lock:
            self.inside += 1
            self.calls += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            time.sleep(self.hold)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., CountingHasher]]:
    """hashing(slots, **hasher_options): PASSWORD_HASH_CONCURRENCY set to ``slots`` and a
    CountingHasher in place of the process's hasher; both put back afterwards."""

    def install(slots: int, **options: Any) -> CountingHasher:
        monkeypatch.setattr(get_settings(), "PASSWORD_HASH_CONCURRENCY", slots)
        security._hashing_slots.cache_clear()
        hasher = CountingHasher(**options)
        monkeypatch.setattr(security, "_hasher", lambda: hasher)
        return hasher

    security._hashing_slots.cache_clear()
    security._hasher.cache_clear()
    yield install
    monkeypatch.undo()
    security._hashing_slots.cache_clear()
    security._hasher.cache_clear()


def test_one_argon2_verification_at_a_time(hashing: Callable[..., CountingHasher]) -> None:
    hasher = hashing(1)
    right = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("right password")
    attempts = ["right password" if n % 2 == 0 else "wrong password" for n in range(12)]
    start = threading.Barrier(len(attempts))

    def attempt(password: str) -> bool:
        start.wait()
        return security.verify_password(password, right)

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        results = list(pool.map(attempt, attempts))

    assert results == [password == "right password" for password in attempts]
    assert hasher.calls == len(attempts)
    assert hasher.most_inside == 1


def test_the_setting_lets_that_many_run_together(hashing: Callable[..., CountingHasher]) -> None:
    # Each verification waits for two others inside: only three slots let any finish.
    hasher = hashing(3, hold=0, barrier=threading.Barrier(3, timeout=WAIT))
    right = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("right password")

    with ThreadPoolExecutor(max_workers=9) as pool:
        results = list(
            pool.map(lambda _: security.verify_password("right password", right), "x" * 9)
        )

    assert results == [True] * 9
    assert hasher.most_inside == 3


def test_the_service_lets_its_probes_past_the_work_limit() -> None:
    from app.main import create_app

    (limit,) = [entry for entry in create_app().user_middleware if entry.cls is WorkLimit]
    assert limit.kwargs["unlimited"] >= {
        "/health",
        "/metrics",
        "/api/v1/health/database",
        "/api/v1/health/redis",
    }
    assert limit.kwargs["limit"] == get_settings().WORKER_REQUESTS
    assert limit.kwargs["queue_timeout"] == get_settings().WORKER_QUEUE_SECONDS
