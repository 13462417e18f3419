"""Preparing to serve with several worker processes."""

import os
import re
from pathlib import Path

from uvicorn_worker import UvicornWorker

from app.core.config import ConfigurationError
from app.core.metrics import MULTIPROC_ENV

_METRIC_FILE = re.compile(r"^(counter|histogram|summary|gauge_\w+)_\d+\.db$")
_EVERY_ADDRESS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104


def banner(host: str, port: int) -> str:
    """The line ``dfims serve`` starts with: where the web pages are, then the API docs."""
    shown = "127.0.0.1" if host in _EVERY_ADDRESS else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    every = " (listening on every address)" if host in _EVERY_ADDRESS else ""
    return f"Web pages: {base}/  API docs: {base}/docs{every}  Ctrl-C stops."


def prepare_metrics_dir(data_dir: Path) -> Path:
    """Point the workers at a shared metrics folder (PROMETHEUS_MULTIPROC_DIR), old counts gone.

    Only the metric files of earlier runs are removed; a folder that holds anything else is
    refused rather than emptied.
    """
    folder = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "prometheus-multiproc")
    folder.mkdir(parents=True, exist_ok=True)
    entries = list(folder.iterdir())
    strangers = [entry.name for entry in entries if not _METRIC_FILE.match(entry.name)]
    if strangers:
        raise ConfigurationError(
            f"{MULTIPROC_ENV}={folder} holds other files ({', '.join(sorted(strangers)[:3])}); "
            "point it at a folder of its own"
        )
    for entry in entries:
        entry.unlink()
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder


class Worker(UvicornWorker):  # type: ignore[misc]
    """gunicorn's uvicorn worker, without a Server header that names the software."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "server_header": False}
