"""Writes through the API of a running ``dfims serve`` while faults are injected under it, and
the history of every write attempted (Jepsen-style).

Each write carries an Idempotency-Key of its own and is recorded with what came back: an
acknowledgement (2xx), a refusal (4xx: the unit of work was rolled back, nothing was written),
or nothing definite (no answer, a timeout, a 5xx: it may or may not have been applied). A later
retry with the same key and body settles an indeterminate write: the first answer comes back
with ``Idempotent-Replayed: true`` when it had been applied, or the write runs now.
"""

import contextlib
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.integration.clusters import PrivatePostgres
from tests.support.servers import Server, http_request

ACKNOWLEDGED = "acknowledged"
REFUSED = "refused"
INDETERMINATE = "indeterminate"
KILL_WORKER = "worker_sigkill"
RESTART_DATABASE = "postgres_immediate_restart"
PROBLEM_PREFIX = "urn:dfims:problem:"
REPLAYED_HEADER = "idempotent-replayed"
DATABASE_HEALTH = "/api/v1/health/database"

Json = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to a write, or status 0 and the error of a request that got none."""

    status: int
    body: bytes = b""
    replayed: bool = False
    error: str = ""

    @property
    def outcome(self) -> str:
        """ACKNOWLEDGED, REFUSED or INDETERMINATE."""
        if 200 <= self.status < 300:
            return ACKNOWLEDGED
        if 400 <= self.status < 500:
            return REFUSED
        return INDETERMINATE

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def problem(self) -> str:
        """The problem type of an error answer without its prefix (``insufficient-stock``),
        the status when it has none, or the error of a request that got no answer."""
        if self.status == 0:
            return self.error
        try:
            data = json.loads(self.body)
        except ValueError:
            return f"HTTP {self.status}"
        kind = data.get("type") if isinstance(data, dict) else None
        return str(kind).removeprefix(PROBLEM_PREFIX) if kind else f"HTTP {self.status}"


@dataclass
class Write:
    """One write a client attempted and, when its first answer settled nothing, its retry."""

    number: int
    client: int
    kind: str
    path: str
    key: str
    body: Json | None
    first: Answer
    order_id: int | None = None
    retry: Answer | None = None

    @property
    def answer(self) -> Answer:
        """The answer that settles the write: the retry's when there was one."""
        return self.retry if self.retry is not None else self.first

    @property
    def applied(self) -> bool:
        """Whether the write is in the database, as far as its settling answer says."""
        return self.answer.outcome == ACKNOWLEDGED


class Api:
    """One request per connection to the server, as one signed-in user."""

    def __init__(self, port: int, token: str, timeout: float) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout

    def send(
        self, method: str, path: str, body: Json | None = None, key: str | None = None
    ) -> Answer:
        """Send a request; any failure to get a whole answer is status 0 with the error."""
        headers = {"Authorization": f"Bearer {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = http_request(
                self.port, method, path, body=payload, headers=headers, timeout=self.timeout
            )
        except (OSError, http.client.HTTPException) as exc:  # timeouts and resets included
            return Answer(0, error=type(exc).__name__)
        return Answer(
            response.status,
            response.body,
            response.headers.get(REPLAYED_HEADER) == "true",
        )

    def post(self, path: str, body: Json | None = None, key: str | None = None) -> Answer:
        """POST ``body`` as JSON."""
        return self.send("POST", path, body, key)

    def made(self, path: str, body: Json, status: int = 201) -> Any:
        """POST during setup, when nothing is injected: the answer must be ``status``."""
        answer = self.post(path, body)
        assert answer.status == status, (path, body, answer)
        return answer.json()


class History:
    """Every write the clients attempted, in the order their first answers came."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.writes: list[Write] = []

    def record(
        self,
        client: int,
        kind: str,
        path: str,
        key: str,
        body: Json | None,
        answer: Answer,
        order_id: int | None = None,
    ) -> Write:
        """Add a write with its first answer."""
        with self._lock:
            write = Write(len(self.writes), client, kind, path, key, body, answer, order_id)
            self.writes.append(write)
            return write

    def first_outcomes(self) -> Counter[str]:
        """How many writes were first acknowledged, refused or indeterminate."""
        return Counter(write.first.outcome for write in self.writes)

    def applied(self, kind: str) -> list[Write]:
        """The writes of ``kind`` that are in the database once settled, in history order."""
        return [write for write in self.writes if write.kind == kind and write.applied]


@dataclass(frozen=True)
class Fault:
    """A fault injected: its kind, when (seconds into the load) and what it hit."""

    kind: str
    at: float
    detail: str


@dataclass
class Chaos:
    """Faults injected on a plan, in a thread of their own: a SIGKILLed worker process (the
    server's supervisor starts another) or PostgreSQL stopped in immediate mode (a crash:
    every connection dropped, recovery on start) and started again."""

    server: Server
    cluster: PrivatePostgres
    plan: list[str]
    first_after: float
    every: float
    rng: random.Random
    faults: list[Fault] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _started: float = field(default=0.0, init=False)

    def start(self) -> None:
        """Begin injecting; the plan's clock starts now."""
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Inject nothing more; wait for a fault under way to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=180)
            assert not self._thread.is_alive(), "the fault injector did not stop"

    def count(self, kind: str) -> int:
        """How many faults of ``kind`` were injected."""
        return sum(1 for fault in self.faults if fault.kind == kind)

    def _run(self) -> None:
        for index, kind in enumerate(self.plan):
            due = self._started + self.first_after + index * self.every
            if self._stop.wait(max(0.0, due - time.monotonic()) + self.rng.uniform(0, 0.5)):
                return
            try:
                detail = self._kill_worker() if kind == KILL_WORKER else self._restart_database()
            except Exception as exc:  # reported by the test; the plan goes on
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            self.faults.append(Fault(kind, round(time.monotonic() - self._started, 1), detail))

    def _kill_worker(self) -> str:
        """SIGKILL the worker that has run longest: the one most likely at work on requests
        (a worker started a moment ago may still be importing the application)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = self.server.worker_pids()
            if pids:
                pid = min(pids, key=started_at)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # gone since it was listed: pick again
                    continue
                self.killed.append(pid)
                return f"pid {pid} of {pids}"
            time.sleep(0.1)
        raise AssertionError("no worker process to kill")

    def _restart_database(self) -> str:
        began = time.monotonic()
        self.cluster.restart("immediate")
        return f"down and up again in {time.monotonic() - began:.1f}s"


def started_at(pid: int) -> int:
    """When ``pid`` started, in clock ticks since boot (from /proc; last when it is gone)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return sys.maxsize
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def send_together(
    api: Api, path: str, body: Json | None, key: str, copies: int = 4
) -> list[Answer]:
    """POST the same keyed write ``copies`` times at the same moment, as a client that
    retries at once, without waiting for the first answer, does."""
    barrier = threading.Barrier(copies)

    def one(_: int) -> Answer:
        barrier.wait(timeout=60)
        return api.post(path, body, key)

    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(one, range(copies)))


def wait_until_serving(server: Server, workers: int, timeout: float = 120.0) -> None:
    """Wait until the server has ``workers`` worker processes and answers the database check
    with 200 several times in a row (bounded)."""
    deadline = time.monotonic() + timeout
    healthy = 0
    last = "no answer yet"
    while healthy < 5:
        if time.monotonic() > deadline:
            raise AssertionError(f"not serving again after the faults ({last}):\n{server.output()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            answer = http_request(server.port, "GET", DATABASE_HEALTH, timeout=5)
            last = f"{answer.status}, {len(server.worker_pids())} workers"
            if answer.status == 200 and len(server.worker_pids()) == workers:
                healthy += 1
                time.sleep(0.2)
                continue
        healthy = 0
        time.sleep(0.3)


def wait_until_quiet(
    connection: psycopg.Connection[tuple[Any, ...]], quiet: float = 1.5, timeout: float = 60.0
) -> None:
    """Wait until no other session of the database has run a statement or held a transaction
    open for ``quiet`` seconds: requests the clients gave up on have finished by then, so a
    retry never runs alongside the request it retries (bounded)."""
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet:
        busy = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
        ).fetchone()
        if busy is None or busy[0]:
            quiet_since = time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"the database is still busy after {timeout:.0f}s")
        time.sleep(0.1)
