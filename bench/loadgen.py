"""A lean HTTP/1.1 load generator: asyncio, keep-alive connections, latency per request.

It is meant not to be the bottleneck of a benchmark: one event loop, no HTTP library, a
request written as prepared bytes and a response read by its Content-Length (or chunks).
The CPU time it used is reported beside the figures so that a run can show it was not.
"""

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Request = Callable[[int], bytes]
"""Builds the bytes of the n-th request (a fixed request, or one with its own key or body)."""


@dataclass
class Tally:
    """What a run measured."""

    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    cpu_seconds: float = 0.0

    @property
    def completed(self) -> int:
        """Requests answered, whatever the status."""
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Answers a second."""
        return self.completed / self.seconds if self.seconds else 0.0

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


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one response read whole, and whether the server keeps the connection."""
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
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep


async def _worker(
    host: str,
    port: int,
    request: Request,
    counter: list[int],
    deadline: float,
    tally: Tally,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            counter[0] += 1
            payload = request(counter[0])
            started = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            status, keep = await _read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            tally.failures += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run(host: str, port: int, request: Request, *, concurrency: int, seconds: float) -> Tally:
    """Keep ``concurrency`` connections busy with ``request`` for ``seconds``; what came back."""
    tally = Tally(concurrency=concurrency)
    counter = [0]
    cpu_before = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_worker(host, port, request, counter, deadline, tally) for _ in range(concurrency))
    )
    tally.seconds = time.perf_counter() - started
    tally.cpu_seconds = time.process_time() - cpu_before
    return tally
