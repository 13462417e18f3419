"""The benchmarks' load generator against a small server of known answers."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.loadgen import Flow, Send, Tally, percentile, request_bytes, run, run_flows

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


def items(*, chunked: bool = False) -> Handler:
    """A server of items: POST /items makes one and answers 201 with its id as JSON; GET
    /items/{id} answers 200 with that item, or 404 for an id it never made. With ``chunked``
    every body goes out in several chunks of different sizes."""
    made: set[int] = set()  # shared by every connection

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                writer.close()
                return
            method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            if method == "POST" and path == "/items":
                made.add(len(made) + 1)
                status, body = 201, json.dumps({"id": len(made)}).encode()
            elif method == "GET" and int(path.rsplit("/", 1)[1]) in made:
                status, body = 200, item_body(int(path.rsplit("/", 1)[1]))
            else:
                status, body = 404, b'{"detail": "no such item"}'
            lines = [f"HTTP/1.1 {status} X".encode()]
            if chunked:
                lines.append(b"Transfer-Encoding: chunked")
                payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in pieces(body))
                payload += b"0\r\n\r\n"
            else:
                lines.append(b"Content-Length: %d" % len(body))
                payload = body
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
            await writer.drain()

    return handle


def item_body(item_id: int) -> bytes:
    """What GET /items/{id} answers: long enough to take several chunks and reads."""
    return json.dumps({"id": item_id, "notes": f"item {item_id} " * 800}).encode()


def pieces(body: bytes) -> list[bytes]:
    """``body`` cut into chunks of 1, 10, 100, 1000, 1, 10, ... bytes."""
    sizes, parts, start = (1, 10, 100, 1000), [], 0
    while start < len(body):
        size = sizes[len(parts) % len(sizes)]
        parts.append(body[start : start + size])
        start += size
    return parts


def make_then_read(outcomes: list[bool], bodies: list[bytes] | None = None) -> Flow:
    """A flow of two requests, the second built from the first answer: POST /items, then GET
    /items/{the id it answered}. Done when the item read back is the one made; each outcome
    (and, when asked, each body read) is recorded."""

    async def flow(_n: int, send: Send) -> bool:
        status, body = await send(request_bytes("POST", "/items", HOST, body=b"{}"))
        if status != 201:
            outcomes.append(False)
            return False
        item_id = json.loads(body)["id"]
        status, body = await send(request_bytes("GET", f"/items/{item_id}", HOST))
        if bodies is not None:
            bodies.append(body)
        done = status == 200 and json.loads(body)["id"] == item_id
        outcomes.append(done)
        return done

    return flow


def measure_flows(
    handler: Handler, flow: Flow, concurrency: int = 4, seconds: float = 0.3
) -> Tally:
    async def main() -> Tally:
        server = await asyncio.start_server(handler, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await run_flows(HOST, port, flow, concurrency=concurrency, seconds=seconds)

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


def test_a_flow_of_two_dependent_requests_is_counted_once_and_each_request_timed() -> None:
    outcomes: list[bool] = []

    tally = measure_flows(items(), make_then_read(outcomes))

    assert tally.flows > 0
    assert outcomes == [True] * tally.flows
    assert tally.completed == 2 * tally.flows
    assert tally.statuses == {201: tally.flows, 200: tally.flows}
    assert tally.errors == 0
    assert len(tally.flow_latencies) == tally.flows
    assert all(latency > 0 for latency in tally.flow_latencies)
    assert tally.flow_throughput > 0
    # a flow takes at least as long as the slowest of its two requests
    assert max(tally.flow_latencies) >= max(tally.latencies)


def test_only_flows_that_return_true_are_counted() -> None:
    outcomes: list[bool] = []
    make_and_read = make_then_read(outcomes)

    async def every_other(n: int, send: Send) -> bool:
        return await make_and_read(n, send) and n % 2 == 0

    tally = measure_flows(items(), every_other)

    # runs 1 to N each made and read their item; the even ones count
    assert all(outcomes)
    assert len(outcomes) >= 2
    assert tally.flows == len(outcomes) // 2
    assert len(tally.flow_latencies) == tally.flows
    # the requests of flows that did not count are timed all the same
    assert tally.completed == 2 * len(outcomes)
    assert tally.errors == 0


def test_a_flow_whose_second_request_is_refused_is_not_counted() -> None:
    outcomes: list[bool] = []

    async def read_a_missing_item(_n: int, send: Send) -> bool:
        status, _ = await send(request_bytes("GET", "/items/999999", HOST))
        outcomes.append(status == 200)
        return status == 200

    tally = measure_flows(items(), read_a_missing_item, concurrency=2, seconds=0.2)

    assert tally.completed == len(outcomes) > 0
    assert tally.statuses == {404: tally.completed}
    assert tally.flows == 0
    assert tally.flow_latencies == []
    assert tally.flow_throughput == 0
    assert tally.errors == 0


def test_a_chunked_answer_reaches_the_flow_whole() -> None:
    outcomes: list[bool] = []
    bodies: list[bytes] = []

    tally = measure_flows(items(chunked=True), make_then_read(outcomes, bodies))

    assert tally.flows > 0
    assert tally.errors == 0
    assert len(bodies) == tally.flows
    for body in bodies:
        assert body == item_body(json.loads(body)["id"])
        assert len(body) > 1000 * 4
    assert len({json.loads(body)["id"] for body in bodies}) == len(bodies)
