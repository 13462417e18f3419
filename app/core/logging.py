"""Logs, one record a line: JSON to a rotating file in LOG_DIR, and to stdout JSON or, in a
terminal, readable text (LOG_FORMAT). JSON lines are written in batches (LOG_FLUSH_SECONDS):
a request's line costs its formatting, not two writes and a lock of the shared file."""

import asyncio
import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from concurrent_log_handler import ConcurrentRotatingFileHandler

from app.core.config import Settings

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
_configured_for: tuple[str, str, str, float] | None = None
# Left out of a text line: the request line's message already says them.
_SAID_IN_MESSAGE = frozenset({"method", "path", "route", "status"})


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, logger, message, context, extras;
    once per record, however many handlers write it."""

    def format(self, record: logging.LogRecord) -> str:
        line: str | None = getattr(record, "_json_line", None)
        if line is None:
            line = self._render(record)
            record._json_line = line
        return line

    def _render(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class BatchedLines(logging.Handler):
    """Format each record as a JSON line where it is logged, and hand the lines to ``targets``
    together: ``seconds`` after the first waiting line when logged on an event loop, at once
    elsewhere (a thread, a command), and at once with every line before it for a warning or
    worse, or when ``capacity`` lines wait."""

    def __init__(self, targets: list[logging.Handler], seconds: float, capacity: int = 256) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.targets = targets
        self.seconds = seconds
        self.capacity = capacity
        self._lines: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's line; write the lines kept when it is time."""
        self._lines.append(self.format(record))
        if record.levelno >= logging.WARNING or len(self._lines) >= self.capacity:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._flush_on is not loop:
            self._flush_on = loop
            loop.call_later(self.seconds, self.flush)

    def flush(self) -> None:
        """Write the lines kept to every target, as one record."""
        self.acquire()
        try:
            self._flush_on = None
            lines, self._lines = self._lines, []
            if lines:
                text = "\n".join(lines)
                batch = logging.makeLogRecord(
                    {"msg": text, "levelno": logging.INFO, "levelname": "INFO"}
                )
                batch._json_line = text
                for target in self.targets:
                    target.handle(batch)
        finally:
            self.release()

    def close(self) -> None:
        """Write what is kept, then close the targets."""
        self.flush()
        for target in self.targets:
            target.close()
        super().close()


class TextFormatter(logging.Formatter):
    """Render a record as one readable line: time, level, logger, message, then its context."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        parts = [
            moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}",
            f"{record.levelname:<7}",
            f"{record.name}:",
            record.getMessage(),
        ]
        context = []
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_") or key in _SAID_IN_MESSAGE:
                continue
            if key == "request_time" and isinstance(value, int | float):
                context.append(f"{value * 1000:.0f} ms")
            elif value is not None:
                context.append(f"{key}={value}")
        request_id = request_id_var.get()
        if request_id is not None:
            context.append(f"request_id={request_id[:8]}")
        line = " ".join(parts) + (f"  ({', '.join(context)})" if context else "")
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


def log_format(settings: Settings, stream: TextIO) -> str:
    """LOG_FORMAT, or when unset: text in a terminal outside production, else JSON."""
    if settings.LOG_FORMAT is not None:
        return settings.LOG_FORMAT
    if settings.ENVIRONMENT == "production":
        return "json"
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no terminal behind it, or closed
        return "json"


def configure_logging(settings: Settings) -> None:
    """Send the root logger and the server's loggers to stdout (text or JSON lines, see
    log_format) and to LOG_DIR as JSON lines."""
    global _configured_for
    chosen = log_format(settings, sys.stdout)
    key = (str(settings.LOG_DIR.resolve()), settings.LOG_LEVEL, chosen, settings.LOG_FLUSH_SECONDS)
    if _configured_for == key:
        return
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(TextFormatter() if chosen == "text" else JsonFormatter())
    settings.LOG_DIR.mkdir(parents=True, exist_ok=True)
    file = ConcurrentRotatingFileHandler(
        str(settings.LOG_DIR / settings.LOG_FILE_NAME),
        maxBytes=settings.LOG_FILE_MAX_BYTES,
        backupCount=settings.LOG_FILE_BACKUP_COUNT,
        encoding="utf-8",
    )
    file.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [console, file]
    if chosen == "json" and settings.LOG_FLUSH_SECONDS > 0:
        handlers = [BatchedLines(handlers, settings.LOG_FLUSH_SECONDS)]
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL)
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    # Requests are logged by the application with their route and timing.
    logging.getLogger("uvicorn.access").disabled = True
    # WeasyPrint reports each step of every PDF it renders; its warnings still come through.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    _configured_for = key


def flush_logs() -> None:
    """Write every log line still waiting."""
    for handler in logging.getLogger().handlers:
        handler.flush()
