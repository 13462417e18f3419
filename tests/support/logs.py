"""The service's log file as this process wrote it (every waiting line written first), and the
root logger configured for a test and restored after it."""

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core import logging as app_logging
from app.core.config import Settings
from app.core.logging import configure_logging, flush_logs


def log_entries() -> list[dict[str, Any]]:
    """Every JSON line of the service's log file."""
    flush_logs()
    path = Path(os.environ["LOG_DIR"]) / "dfims.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@contextmanager
def logging_configured(settings: Settings) -> Iterator[list[logging.Handler]]:
    """The root logger as ``configure_logging(settings)`` leaves it, its handlers given; the
    logging of the test run restored afterwards (the new handlers closed)."""
    root = logging.getLogger()
    kept, level, configured = list(root.handlers), root.level, app_logging._configured_for
    app_logging._configured_for = None
    try:
        configure_logging(settings)
        yield list(root.handlers)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in kept:
            root.addHandler(handler)
        root.setLevel(level)
        app_logging._configured_for = configured
