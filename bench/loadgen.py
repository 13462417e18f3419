"""A lean HTTP/1.1 load generator: asyncio, keep-alive connections, latency per request.

It is meant not to be the bottleneck of a benchmark: one event loop, no HTTP library, a
request written as prepared bytes and a response read by its Content-Length (or chunks).
The CPU time it used is reported beside the figures so that a run can show it was not.
"""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Request = Callable[[int], bytes]
"""Builds the bytes of the n-th request (a fixed request, or one with its own key or body)."""
Send = Callable[[bytes], Awaitable[tuple[int, bytes]]]
"""Sends one request on the worker's connection; its answer's status and body."""
Flow = Callable[[int, Send], Awaitable[bool]]
"""The n-th run of a sequence of requests (say, place an order then confirm it); whether it
went through to the end, which counts it as a completed flow."""


@dataclass
class Tally:
    """What a run measured."""

    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    cpu_seconds: float = 0.0
    flow_latencies: list[float] = field(default_factory=list)

    @property
    def completed(self) -> int:
        """Requests answered, whatever the status."""
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Answers a second."""
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def flows(self) -> int:
        """Flows that went through to the end."""
        return len(self.flow_latencies)

    @property
    def flow_throughput(self) -> float:
        """Completed flows a second."""
        return self.flows / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Requests that failed: no answer, or a 5xx."""
        return self.failures + sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def cpu_share(self) -> float:
        """Share of one core the generator used."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """The latency (seconds) under which ``share`` of the answers came."""
        return percentile(self.latencies, share)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile of ``values`` (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def request_bytes(
    method: str,
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """One HTTP/1.1 keep-alive request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One response read whole: its status, its body, and whether the server keeps the
    connection."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    keep = True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    body = b""
    if chunked:
        parts = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readline()
        body = b"".join(parts)
    elif length:
        body = await reader.readexactly(length)
    return status, body, keep


class _Connection:
    """One keep-alive connection of a worker; ``send`` times each exchange into the tally."""

    def __init__(self, host: str, port: int, tally: Tally) -> None:
        self.host, self.port, self.tally = host, port, tally
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        """Write one request and read its answer: status and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        started = time.perf_counter()
        self.writer.write(payload)
        await self.writer.drain()
        status, body, keep = await _read_response(self.reader)
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1
        if not keep:
            self.close()
        return status, body

    def close(self) -> None:
        """Drop the connection; the next ``send`` opens another."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _worker(
    connection: _Connection, flow: Flow, counter: list[int], deadline: float, tally: Tally
) -> None:
    while time.perf_counter() < deadline:
        counter[0] += 1
        started = time.perf_counter()
        try:
            if await flow(counter[0], connection.send):
                tally.flow_latencies.append(time.perf_counter() - started)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            tally.failures += 1
            connection.close()
    connection.close()


async def run_flows(host: str, port: int, flow: Flow, *, concurrency: int, seconds: float) -> Tally:
    """Keep ``concurrency`` connections running ``flow`` over and over for ``seconds``."""
    tally = Tally(concurrency=concurrency)
    counter = [0]
    cpu_before = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(_Connection(host, port, tally), flow, counter, deadline, tally)
            for _ in range(concurrency)
        )
    )
    tally.seconds = time.perf_counter() - started
    tally.cpu_seconds = time.process_time() - cpu_before
    return tally


async def run(host: str, port: int, request: Request, *, concurrency: int, seconds: float) -> Tally:
    """Keep ``concurrency`` connections busy with ``request`` for ``seconds``; what came back."""

    async def one(n: int, send: Send) -> bool:
        await send(request(n))
        return True

    return await run_flows(host, port, one, concurrency=concurrency, seconds=seconds)
