"""Preparing to serve with several worker processes."""

import os
import shutil
from pathlib import Path

from app.core.metrics import MULTIPROC_ENV


def prepare_metrics_dir(data_dir: Path) -> Path:
    """Point the workers at an empty shared metrics folder (PROMETHEUS_MULTIPROC_DIR)."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "prometheus-multiproc")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder
