"""The service's log file as this process wrote it, every waiting line written first."""

import json
import os
from pathlib import Path
from typing import Any

from app.core.logging import flush_logs


def log_entries() -> list[dict[str, Any]]:
    """Every JSON line of the service's log file."""
    flush_logs()
    path = Path(os.environ["LOG_DIR"]) / "dfims.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
