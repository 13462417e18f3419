"""The operations guide's ``psql`` commands work on a database set up as the stack sets it up.

The guide runs them as ``docker-compose ... exec postgres psql -U postgres -d dried_fruits_db -c
"..."``; here the same commands run with the host's psql on this run's test database, after the
scripts the PostgreSQL container runs on its first start (scripts/postgres/*.sql).
"""

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app.core.database import engine
from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.support.servers import COMMAND_TIMEOUT

pytestmark = pytest.mark.postgres

INIT_SCRIPTS = sorted((ROOT / "scripts" / "postgres").glob("*.sql"))

# "Troubleshooting Guide" -> "High CPU Usage" -> "Check for slow database queries"
SLOW_QUERIES = """
SELECT query, calls, total_time, mean_time 
FROM pg_stat_statements 
ORDER BY total_time DESC 
LIMIT 10;
"""  # noqa: W291 (copied verbatim, trailing spaces included)

# "Troubleshooting Guide" -> "Database Connection Pool Exhaustion" -> "Check active connections"
ACTIVE_CONNECTIONS = """
SELECT count(*) as active_connections 
FROM pg_stat_activity;
"""  # noqa: W291

# "Database Migrations" -> "Check current database schema"
LIST_TABLES = "\\dt"


def psql(*args: str) -> subprocess.CompletedProcess[str]:
    """``psql -U postgres -d <test database> ARGS`` as the guide runs it."""
    url = make_url(TEST_DATABASE_URL)
    command = ["psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
    return subprocess.run(
        [*command, "-U", "postgres", "-d", url.database or "", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The command succeeded without an error; its output."""
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr
    return result.stdout


def run_init_scripts() -> None:
    for script in INIT_SCRIPTS:
        ok(psql("-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)))


def header(output: str) -> list[str]:
    return [column.strip() for column in output.splitlines()[0].split("|")]


def test_the_container_init_scripts_exist_and_are_mounted() -> None:
    assert [script.name for script in INIT_SCRIPTS] == [
        "10-pg-stat-statements.sql",
        "20-pg-stat-statements-compat.sql",
    ]
    for compose in ("docker-compose.yml", "docker-compose.prod.yml"):
        text = (ROOT / compose).read_text(encoding="utf-8")
        assert "./scripts/postgres:/docker-entrypoint-initdb.d:ro" in text
        assert "shared_preload_libraries=pg_stat_statements" in text
        assert "log_min_duration_statement=500" in text


def test_the_guides_queries_answer_after_the_init_scripts_ran_twice() -> None:
    run_init_scripts()
    run_init_scripts()

    assert "users" in ok(psql("-c", LIST_TABLES))
    assert header(ok(psql("-c", SLOW_QUERIES))) == ["query", "calls", "total_time", "mean_time"]
    output = ok(psql("-c", ACTIVE_CONNECTIONS))
    assert header(output) == ["active_connections"]
    assert int(output.splitlines()[2].strip()) >= 1


def test_the_compatibility_script_does_nothing_without_the_extension() -> None:
    ok(psql("-q", "-c", "DROP EXTENSION IF EXISTS pg_stat_statements"))
    try:
        ok(psql("-v", "ON_ERROR_STOP=1", "-q", "-f", str(INIT_SCRIPTS[-1])))
        assert ok(psql("-Atc", "SELECT to_regclass('public.pg_stat_statements')")).strip() == ""
    finally:
        run_init_scripts()


def test_the_slow_query_check_still_answers_after_a_restore(
    tmp_path: Path, test_env: dict[str, str]
) -> None:
    run_init_scripts()
    env = {**test_env, "BACKUP_DIR": str(tmp_path / "backups")}
    backup = subprocess.run(
        [str(ROOT / "scripts" / "backup.sh"), "--skip-logs", "--skip-cleanup"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert backup.returncode == 0, backup.stderr
    archive = next((tmp_path / "backups" / "database").glob("db_backup_*.sql.gz"))

    engine.dispose()
    try:
        restored = subprocess.run(
            [str(ROOT / "scripts" / "backup.sh"), "--restore", str(archive), "--yes"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    finally:
        engine.dispose()
    assert restored.returncode == 0, restored.stderr

    assert header(ok(psql("-c", SLOW_QUERIES))) == ["query", "calls", "total_time", "mean_time"]
