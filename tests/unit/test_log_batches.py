"""JSON log lines logged on an event loop are written together, LOG_FLUSH_SECONDS after the
first; a warning, a full batch, a line logged elsewhere and closing write at once; each line
keeps the request it was logged in."""

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core.config import Settings
from app.core.logging import BatchedLines, request_id_var
from tests.support.logs import logging_configured
from tests.support.loops import run_alone

SECONDS = 0.05


class Stream(io.StringIO):
    """A stream that counts its writes."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


@pytest.fixture
def stream() -> Stream:
    return Stream()


@pytest.fixture
def logger(stream: Stream) -> Iterator[logging.Logger]:
    """A logger whose records go through BatchedLines to ``stream``."""
    log = logging.getLogger("test.batches")
    handler = BatchedLines([logging.StreamHandler(stream)], SECONDS, capacity=5)
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    log.removeHandler(handler)
    handler.close()


def _messages(stream: Stream) -> list[object]:
    return [line["message"] for line in stream.lines()]


def test_lines_logged_on_a_loop_are_written_together_after_a_while(
    logger: logging.Logger, stream: Stream
) -> None:
    async def serve() -> list[object]:
        for number in range(3):
            logger.info("request %d", number)
        waiting = _messages(stream)
        await asyncio.sleep(SECONDS * 4)
        return waiting

    assert run_alone(serve()) == []
    assert _messages(stream) == ["request 0", "request 1", "request 2"]
    assert stream.writes == 1


def test_each_line_keeps_the_request_it_was_logged_in(
    logger: logging.Logger, stream: Stream
) -> None:
    async def request(request_id: str) -> None:
        request_id_var.set(request_id)
        logger.info("answered")

    async def serve() -> None:
        await asyncio.gather(request("first"), request("second"))
        await asyncio.sleep(SECONDS * 4)

    run_alone(serve())
    assert [line["request_id"] for line in stream.lines()] == ["first", "second"]


def test_a_warning_is_written_at_once_after_the_lines_before_it(
    logger: logging.Logger, stream: Stream
) -> None:
    async def serve() -> list[object]:
        logger.info("before")
        logger.warning("trouble")
        return _messages(stream)

    assert run_alone(serve()) == ["before", "trouble"]


def test_a_full_batch_is_written_at_once(logger: logging.Logger, stream: Stream) -> None:
    async def serve() -> list[object]:
        for number in range(7):
            logger.info("line %d", number)
        return _messages(stream)

    assert run_alone(serve()) == [f"line {number}" for number in range(5)]


def test_a_line_logged_off_a_loop_is_written_at_once(
    logger: logging.Logger, stream: Stream
) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(logger.info, "from a thread").result()
    assert _messages(stream) == ["from a thread"]


def test_closing_writes_what_waits(stream: Stream) -> None:
    log = logging.getLogger("test.closing")
    handler = BatchedLines([logging.StreamHandler(stream)], 60)
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)

    async def serve() -> None:
        log.info("last words")

    run_alone(serve())
    assert _messages(stream) == []
    log.removeHandler(handler)
    handler.close()
    assert _messages(stream) == ["last words"]


@pytest.mark.parametrize(("seconds", "batched"), [(0.2, True), (0, False)])
def test_json_lines_are_batched_unless_the_setting_is_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: float, batched: bool
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, LOG_DIR=tmp_path, LOG_FORMAT="json", LOG_FLUSH_SECONDS=seconds
    )
    with logging_configured(settings) as handlers:
        logging.getLogger("app.test.batches").warning("written")

    assert [type(handler) is BatchedLines for handler in handlers] == (
        [True] if batched else [False, False]
    )
    written = (tmp_path / "dfims.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(written[-1])["message"] == "written"
