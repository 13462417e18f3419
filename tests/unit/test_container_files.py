"""The container files: what operators and the guide rely on, checked without a Docker engine."""

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from app.core.config import Settings
from tests.conftest import ROOT

PRODUCTION_SERVICES = {
    "api",
    "postgres",
    "redis",
    "nginx",
    "prometheus",
    "grafana",
    "node-exporter",
    "postgres-exporter",
    "redis-exporter",
}
# Settings in .env.prod.example read by the containers rather than by the service itself.
CONTAINER_SETTINGS = {
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "DATA_SOURCE_NAME",
    "GF_SECURITY_ADMIN_USER",
    "GF_SECURITY_ADMIN_PASSWORD",
    "GF_USERS_ALLOW_SIGN_UP",
    "WEB_CONCURRENCY",
    "DFIMS_ADMIN_EMAIL",
    "DFIMS_ADMIN_PASSWORD",
}


def compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return loaded


def host_paths(service: dict[str, Any]) -> list[Path]:
    """The project files and folders a service mounts."""
    sources = [str(volume).split(":", 1)[0] for volume in service.get("volumes", [])]
    return [ROOT / source for source in sources if source.startswith("./")]


def stages(dockerfile: str) -> list[str]:
    return re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE)


def test_the_image_is_built_in_stages_from_the_lock_and_runs_as_a_user_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert stages(dockerfile) == ["build", "runtime"]
    build, runtime = dockerfile.split("AS runtime", 1)
    assert "uv sync --frozen --no-dev" in build
    assert "uv " not in runtime  # the installer stays in the build stage
    assert "COPY --from=build /app/.venv" in runtime
    users = re.findall(r"^USER (\S+)$", runtime, flags=re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in runtime
    assert "/health" in runtime
    assert "postgresql-client" in runtime  # pg_dump and psql for scripts/backup.sh
    for copied in ("app", "migrations", "scripts", "alembic.ini", "gunicorn.conf.py"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", runtime, flags=re.MULTILINE)
    assert "LOG_DIR=/app/logs" in runtime
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.main:app"]' in runtime


def test_the_api_runs_gunicorn_with_uvicorn_workers_and_ships_psutil() -> None:
    gunicorn = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    assert 'worker_class = "app.cli.serving.Worker"' in gunicorn
    assert "mark_process_dead" in gunicorn  # per-worker gauges forgotten when a worker exits
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = {
        re.split(r"[<>=\[ ]", dependency)[0] for dependency in project["project"]["dependencies"]
    }
    assert {"gunicorn", "uvicorn-worker", "psutil"} <= names
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    for name in ("gunicorn", "uvicorn-worker", "psutil"):
        assert f'name = "{name}"' in lock


def test_the_production_stack_has_every_service_and_scales_the_api() -> None:
    services = compose("docker-compose.prod.yml")["services"]
    assert set(services) == PRODUCTION_SERVICES
    api = services["api"]
    assert "container_name" not in api
    assert "ports" not in api
    assert api["deploy"]["replicas"] == 3
    assert {"./logs:/app/logs", "./backups:/app/backups"} <= set(api["volumes"])
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"  # the pg_dump of the API image (Debian 12)
    assert "shared_preload_libraries=pg_stat_statements" in postgres["command"]
    assert "log_min_duration_statement=500" in postgres["command"]
    assert "./backups/metrics:/textfile:ro" in services["node-exporter"]["volumes"]
    for name, service in services.items():
        for path in host_paths(service):
            if path.name not in {"logs", "backups", "uploads", "metrics"}:
                assert path.exists(), f"{name} mounts {path}, which is not in the project"


def test_the_production_settings_example_names_real_settings() -> None:
    lines = (ROOT / ".env.prod.example").read_text(encoding="utf-8").splitlines()
    pairs = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert pairs["POSTGRES_DB"] == "dried_fruits_db"
    assert pairs["POSTGRES_USER"] == "postgres"
    assert "DB_POOL_SIZE" in pairs
    assert pairs["DATABASE_URL"].endswith("@postgres:5432/dried_fruits_db")
    unknown = set(pairs) - set(Settings.model_fields) - CONTAINER_SETTINGS
    assert unknown == set()


def test_the_development_stack_matches_the_guides_database() -> None:
    services = compose("docker-compose.yml")["services"]
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "dried_fruits_db"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["api"]["environment"]["DATABASE_URL"].endswith("/dried_fruits_db")
