"""Preparing to serve with several worker processes."""

import os
from pathlib import Path

from app.core.metrics import MULTIPROC_ENV


def prepare_metrics_dir(data_dir: Path) -> Path:
    """Point the workers at a shared metrics folder (PROMETHEUS_MULTIPROC_DIR), old counts gone."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "prometheus-multiproc")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder
