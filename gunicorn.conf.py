"""Gunicorn settings for production: uvicorn workers, shared Prometheus metrics, JSON logs."""

import os
from pathlib import Path
from typing import Any

from app.cli.serving import prepare_metrics_dir
from app.core.config import get_settings
from app.core.logging import configure_logging

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "app.cli.serving.Worker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# X-Forwarded-For only from the proxies FORWARDED_ALLOW_IPS names (none when it is empty).
forwarded_allow_ips = get_settings().FORWARDED_ALLOW_IPS
accesslog = None
logconfig_dict: dict[str, Any] = {"version": 1, "disable_existing_loggers": False}

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/dfims-metrics")  # noqa: S108


def on_starting(server: Any) -> None:
    """JSON logs from the master too, and a shared metrics folder without old counts."""
    settings = get_settings()
    configure_logging(settings)
    prepare_metrics_dir(Path(settings.DATA_DIR))


def child_exit(server: Any, worker: Any) -> None:
    """Forget the live gauges of a worker that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
