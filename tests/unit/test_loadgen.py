"""The benchmarks' load generator against a small server of known answers."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.loadgen import Tally, percentile, request_bytes, run

HOST = "127.0.0.1"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answering(status: int, body: bytes, *, chunked: bool = False, close: bool = False) -> Handler:
    """A server that reads each request head and answers ``status`` with ``body``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            lines = [f"HTTP/1.1 {status} X".encode()]
            if chunked:
                lines.append(b"Transfer-Encoding: chunked")
                payload = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            else:
                lines.append(b"Content-Length: %d" % len(body))
                payload = body
            if close:
                lines.append(b"Connection: close")
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
            await writer.drain()
            if close:
                writer.close()
                return

    return handle


def in_own_loop(coroutine: Coroutine[Any, Any, Tally]) -> Tally:
    """Run ``coroutine`` on a fresh event loop of its own thread, as the benchmark runs it
    (the browser tests keep a loop running in this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def measure(handler: Handler, concurrency: int = 4, seconds: float = 0.3) -> Tally:
    async def main() -> Tally:
        server = await asyncio.start_server(handler, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            request = lambda n: request_bytes("POST", "/x", HOST, body=b"n=%d" % n)  # noqa: E731
            return await run(HOST, port, request, concurrency=concurrency, seconds=seconds)

    return in_own_loop(main())


def test_every_request_of_a_run_is_answered_and_timed() -> None:
    tally = measure(answering(200, b'{"ok": true}'))

    assert tally.completed > 0
    assert tally.statuses == {200: tally.completed}
    assert tally.errors == 0
    assert tally.throughput > 0
    assert 0 < tally.percentile(0.5) <= tally.percentile(0.95) <= tally.percentile(0.99)
    assert tally.cpu_seconds > 0


def test_chunked_answers_and_closed_connections_are_read_whole() -> None:
    chunked = measure(answering(200, b"x" * 5000, chunked=True))
    closing = measure(answering(201, b"done", close=True))

    assert chunked.completed > 0
    assert chunked.errors == 0
    assert closing.statuses == {201: closing.completed}
    assert closing.errors == 0


def test_server_errors_count_as_errors_and_refusals_as_answers() -> None:
    failing = measure(answering(503, b"busy"))
    refusing = measure(answering(409, b"sold out"))

    assert failing.errors == failing.completed > 0
    assert refusing.errors == 0


def test_a_server_that_is_gone_counts_failures_not_answers() -> None:
    async def main() -> Tally:
        server = await asyncio.start_server(answering(200, b""), HOST, 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        request = lambda n: request_bytes("GET", "/", HOST)  # noqa: E731
        return await run(HOST, port, request, concurrency=2, seconds=0.2)

    tally = in_own_loop(main())

    assert tally.completed == 0
    assert tally.failures > 0


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0
    assert percentile([7.0], 0.99) == 7.0
