"""Gunicorn settings for production: uvicorn workers, shared Prometheus metrics, JSON logs."""

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
logconfig_dict: dict[str, Any] = {"version": 1, "disable_existing_loggers": False}

_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/dfims-metrics"))  # noqa: S108


def on_starting(server: Any) -> None:
    """Start every run with an empty shared metrics folder."""
    if _metrics_dir.exists():
        shutil.rmtree(_metrics_dir)
    _metrics_dir.mkdir(parents=True)


def child_exit(server: Any, worker: Any) -> None:
    """Forget the live gauges of a worker that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
