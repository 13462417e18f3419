"""How stdout's log lines look: readable text in a development terminal, JSON in production and
when stdout is not a terminal (a pipe, a container's log), or as LOG_FORMAT says; and the
banner of ``dfims serve`` names the web pages first."""

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from app.cli.serving import banner
from app.core.config import Settings
from app.core.logging import JsonFormatter, TextFormatter, log_format
from tests.support.logs import logging_configured

REAL_SECRET = "x" * 20 + "a-real-random-value-0123"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def settings(**values: object) -> Settings:
    """Settings from ``values`` and defaults only (no environment, no env file)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def no_log_format_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOG_FORMAT", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


def test_development_in_a_terminal_reads_as_text() -> None:
    assert log_format(settings(), Terminal()) == "text"


def test_a_pipe_gets_json() -> None:
    assert log_format(settings(), io.StringIO()) == "json"


def test_production_gets_json_even_in_a_terminal() -> None:
    production = settings(ENVIRONMENT="production", SECRET_KEY=REAL_SECRET, METRICS_PUBLIC=True)

    assert log_format(production, Terminal()) == "json"


@pytest.mark.parametrize(
    ("value", "chosen"), [("json", "json"), ("TEXT", "text"), (" text ", "text")]
)
def test_the_setting_wins(value: str, chosen: str) -> None:
    assert log_format(settings(LOG_FORMAT=value), io.StringIO()) == chosen
    assert log_format(settings(LOG_FORMAT=value), Terminal()) == chosen


def test_an_empty_setting_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "")

    assert Settings(_env_file=None).LOG_FORMAT is None


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        settings(LOG_FORMAT="xml")


def record(message: str, **extra: object) -> logging.LogRecord:
    """A log record of the request logger with ``extra``."""
    entry = logging.makeLogRecord(
        {"name": "app.request", "levelname": "INFO", "levelno": logging.INFO, "msg": message}
    )
    entry.__dict__.update(extra)
    return entry


def test_a_text_line_is_one_readable_line() -> None:
    entry = record(
        "GET /products 200",
        method="GET",
        route="/products",
        path="/products",
        status=200,
        request_time=0.0123,
        user_id=7,
        client_ip=None,
    )

    line = TextFormatter().format(entry)

    assert "\n" not in line
    assert "{" not in line
    assert " INFO    app.request: GET /products 200  (12 ms, user_id=7)" in line


def test_a_json_line_keeps_every_field() -> None:
    entry = record("GET /products 200", status=200, request_time=0.0123)

    parsed = json.loads(JsonFormatter().format(entry))

    assert parsed["message"] == "GET /products 200"
    assert parsed["status"] == 200
    assert parsed["request_time"] == 0.0123


def test_the_file_stays_json_when_the_terminal_reads_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    with logging_configured(settings(LOG_DIR=tmp_path)) as handlers:
        logging.getLogger("app.test").warning("authentication failed for a@example.com")
        for handler in handlers:
            handler.flush()

    assert "WARNING app.test: authentication failed for a@example.com" in terminal.getvalue()
    written = (tmp_path / "dfims.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(written[-1])["message"] == "authentication failed for a@example.com"


def test_the_banner_names_the_web_pages_first() -> None:
    line = banner("127.0.0.1", 8000)

    assert line.startswith("Web pages: http://127.0.0.1:8000/")
    assert line.index("Web pages") < line.index("API docs: http://127.0.0.1:8000/docs")


def test_the_banner_of_every_address_shows_one_to_open() -> None:
    assert banner("0.0.0.0", 8080).startswith("Web pages: http://127.0.0.1:8080/")  # noqa: S104
    assert "every address" in banner("0.0.0.0", 8080)  # noqa: S104
    assert banner("::1", 8000).startswith("Web pages: http://[::1]:8000/")
