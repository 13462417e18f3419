"""``scripts/deploy.sh --local``: releases unpacked from a scratch git checkout of this working
tree, two gunicorn replicas on free ports, on this run's kind of database (a SQLite file, or a
PostgreSQL database of its own), deployed, upgraded and rolled back as operators do."""

import contextlib
import fcntl
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from app.core import migrations
from tests.conftest import (
    ROOT,
    USE_POSTGRES,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.servers import (
    COMMAND_TIMEOUT,
    HOST,
    STOP_TIMEOUT,
    command_line,
    error_lines,
    free_port,
    http_request,
    pid_alive,
)

pytestmark = pytest.mark.system

DEPLOY_TIMEOUT = 300.0
REPLICAS = 2
HEALTH_TIMEOUT = 30
ADMIN_EMAIL = "deploy-admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
SETTINGS = {
    "SECRET_KEY": "deploy-test-secret-key-0123456789-abcdefgh",
    "ENVIRONMENT": "development",
}
VERSION_LINE = 'version="0.1.0",'
PROBE_VERSION = "0.1.0+deploy-probe"
# The release deployed adds a migration after the newest one of this checkout.
BASE = migrations.head_revision() or ""
PROBE = f"{int(BASE) + 1:04d}"
MIGRATION = '''"""deploy probe

Revision ID: {probe}
Revises: {base}
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "{probe}"
down_revision: str | None = "{base}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("deploy_probe", sa.Column("id", sa.Integer(), primary_key=True))
{extra}

def downgrade() -> None:
    op.drop_table("deploy_probe")
'''
SAFETY_LINE = re.compile(r"^deploy: safety backup: (.+)$", re.MULTILINE)
MIGRATION_PATH = f"migrations/versions/20261129_{PROBE}_deploy_probe.py"
GOOD_MIGRATION = MIGRATION.format(probe=PROBE, base=BASE, extra="")
BROKEN_MIGRATION = MIGRATION.format(
    probe=PROBE, base=BASE, extra='    raise RuntimeError("broken migration")\n'
)


# -- the checkout and the host -----------------------------------------------------------------


def find_uv() -> Path:
    """The uv the Makefile uses: the one on PATH, else .tools/bin/uv."""
    found = shutil.which("uv")
    uv = Path(found) if found else ROOT / ".tools" / "bin" / "uv"
    if not os.access(uv, os.X_OK):
        pytest.fail(f"uv is needed on PATH or at {uv} (run 'make install-dev' once)")
    return uv


def git(checkout: Path, *args: str) -> str:
    """Run ``git ARGS`` in ``checkout``; its stdout."""
    result = subprocess.run(
        [
            "git",
            *("-c", "user.name=DFIMS tests", "-c", "user.email=tests@example.com"),
            *("-c", "commit.gpgsign=false", "-C", str(checkout)),
            *args,
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout.strip()


def two_free_ports() -> int:
    """A port that is free on the loopback address together with the next one."""
    for _ in range(50):
        port = free_port()
        if port >= 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports")


def processes_under(folder: Path) -> list[int]:
    """The live processes whose command line names ``folder``."""
    return sorted(
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and str(folder) in command_line(int(entry.name))
        and pid_alive(int(entry.name))
    )


def stop_processes(folder: Path) -> None:
    """SIGTERM every process started from under ``folder``; SIGKILL what outlives the wait."""
    pids = processes_under(folder)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in processes_under(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cwd_of(pid: int) -> Path:
    """The working folder of ``pid``."""
    return Path(os.readlink(f"/proc/{pid}/cwd"))


# -- the database ------------------------------------------------------------------------------


def revision_of(url: str) -> str | None:
    """The revision in alembic_version."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def has_table(url: str, name: str) -> bool:
    """Whether the database holds table ``name``."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table(name)
    finally:
        engine.dispose()


# -- one host to deploy to ---------------------------------------------------------------------


@dataclass
class Deployment:
    """A git checkout to deploy from, the deploy root, the replicas' ports and the database."""

    src: Path
    root: Path
    base_port: int
    database_url: str
    env: dict[str, str]

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(REPLICAS)]

    @property
    def settings_file(self) -> Path:
        return self.root / "shared" / ".env"

    @property
    def app_env(self) -> dict[str, str]:
        """The environment the script gives the service."""
        shared = self.root / "shared"
        return {
            **self.env,
            **SETTINGS,
            "ENV_FILE": str(self.settings_file),
            "DATABASE_URL": self.database_url,
            "DATA_DIR": str(shared / "data"),
            "LOG_DIR": str(shared / "logs"),
            "BACKUP_DIR": str(shared / "backups"),
            "UPLOAD_DIR": str(shared / "data" / "uploads"),
        }

    def deploy(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``deploy.sh --local`` with this host's options, then ARGS."""
        return subprocess.run(
            [
                str(self.src / "scripts" / "deploy.sh"),
                *("--local", "--root", str(self.root), "--replicas", str(REPLICAS)),
                *("--base-port", str(self.base_port), "--workers", "1"),
                *("--health-timeout", str(HEALTH_TIMEOUT)),
                *args,
            ],
            env=self.env,
            cwd=self.src.parent,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=DEPLOY_TIMEOUT,
            check=False,
        )

    def commit(self, files: dict[str, str], message: str) -> str:
        """Write ``files`` into the checkout and commit them; the short commit."""
        for name, content in files.items():
            (self.src / name).write_text(content, encoding="utf-8")
        git(self.src, "add", "-A")
        git(self.src, "commit", "-q", "-m", message)
        return self.head()

    def head(self) -> str:
        """HEAD as the script names releases by it."""
        return git(self.src, "rev-parse", "--short=12", "HEAD")

    def current(self) -> Path:
        """The release ROOT/current points at."""
        return (self.root / "current").resolve(strict=True)

    def releases(self) -> list[Path]:
        return sorted((self.root / "releases").iterdir())

    def pids(self) -> dict[int, int]:
        """The replicas' master pids by port, from their pid files."""
        return {
            int(path.stem.removeprefix("api-")): int(path.read_text().strip())
            for path in sorted((self.root / "run").glob("api-*.pid"))
        }

    def backups(self) -> list[Path]:
        """The database archives under ROOT/shared/backups."""
        return sorted((self.root / "shared" / "backups").rglob("db_backup_*.sql.gz"))

    def dfims(self, release: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the release's ``dfims ARGS`` with the service's settings."""
        return subprocess.run(
            [str(release / ".venv" / "bin" / "dfims"), *args],
            env=self.app_env,
            cwd=release,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="module")
def working_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's files as they are now, committed or not (ignored ones left out)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=True,
    )
    tree = tmp_path_factory.mktemp("tree")
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    return tree


@pytest.fixture
def deployment(tmp_path: Path, working_tree: Path) -> Iterator[Deployment]:
    """A fresh checkout with one commit, a deploy root with its settings file and a database of
    its own; every process started under the root is stopped and the database dropped after."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") or key.startswith("UV_")
    }
    env.update(
        UV=str(find_uv()),
        UV_PYTHON=str(Path(sys.executable).resolve()),
        UV_OFFLINE="1",  # the locked packages come from uv's cache, as `make install-dev` left it
    )
    src = tmp_path / "src"
    shutil.copytree(working_tree, src)
    git(src, "init", "-q")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "The working tree")
    root = tmp_path / "root"
    (root / "shared").mkdir(parents=True)
    database_url = (
        create_postgres_database()
        if USE_POSTGRES
        else f"sqlite:///{root / 'shared' / 'data' / 'dfims.db'}"
    )
    made = Deployment(src, root, two_free_ports(), database_url, env)
    made.settings_file.write_text(
        "".join(
            f"{key}={value}\n" for key, value in {**SETTINGS, "DATABASE_URL": database_url}.items()
        ),
        encoding="utf-8",
    )
    try:
        yield made
    finally:
        stop_processes(root)
        shutil.rmtree(root / "releases", ignore_errors=True)  # their virtual environments
        if USE_POSTGRES:
            drop_postgres_database(database_url)


# -- what the replicas answer ------------------------------------------------------------------


def assert_healthy(port: int) -> None:
    """The replica on ``port`` answers both health checks."""
    for path in ("/health", "/api/v1/health/database"):
        response = http_request(port, "GET", path, timeout=10.0)
        assert response.status == 200, (port, path, response.text)


def assert_admin_logs_in(port: int) -> None:
    """The admin created before the deploy logs in through the replica on ``port``."""
    response = http_request(
        port,
        "POST",
        "/api/v1/auth/login",
        body=urlencode({"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10.0,
    )
    assert response.status == 200, (port, response.text)


def api_version(port: int) -> str:
    """The version the replica on ``port`` states in its OpenAPI document."""
    response = http_request(port, "GET", "/openapi.json", timeout=10.0)
    assert response.status == 200, response.text
    return str(response.json()["info"]["version"])


def assert_deployed(result: subprocess.CompletedProcess[str]) -> str:
    """The deploy succeeded; its stdout."""
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def assert_failed(result: subprocess.CompletedProcess[str]) -> str:
    """The deploy failed and said why on its last stderr line; that line."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = error_lines(result)
    assert lines, result.stdout
    assert lines[-1].startswith("deploy: error: "), result.stderr
    return lines[-1]


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The script exited with ``code`` and exactly one ``deploy: error:`` line; that line."""
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deploy: error: ")
    return lines[0]


def first_deploy(deployment: Deployment) -> Path:
    """Deploy HEAD, check both replicas, create the admin; the live release."""
    output = assert_deployed(deployment.deploy())
    release = deployment.current()
    assert (release / "REVISION").read_text().strip() == deployment.head()
    assert f"deployed {deployment.head()}" in output
    assert sorted(deployment.pids()) == deployment.ports
    for port, pid in deployment.pids().items():
        assert pid_alive(pid)
        assert cwd_of(pid) == release
        assert_healthy(port)
    assert revision_of(deployment.database_url) == BASE
    created = deployment.dfims(
        release, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD
    )
    assert created.returncode == 0, created.stderr
    return release


def assert_serving(deployment: Deployment, release: Path) -> None:
    """Every replica runs ``release``, answers healthy and knows the admin."""
    assert sorted(deployment.pids()) == deployment.ports
    for port, pid in deployment.pids().items():
        assert pid_alive(pid)
        assert cwd_of(pid) == release
        assert str(release) in command_line(pid)
        assert_healthy(port)
        assert_admin_logs_in(port)


# -- deploying ---------------------------------------------------------------------------------


def test_a_new_release_migrates_replaces_every_replica_and_keeps_the_data(
    deployment: Deployment,
) -> None:
    first = first_deploy(deployment)
    before = deployment.pids()
    assert deployment.backups() == []  # nothing to back up before the first migration
    main = (deployment.src / "app" / "main.py").read_text(encoding="utf-8")
    assert VERSION_LINE in main
    commit = deployment.commit(
        {
            MIGRATION_PATH: GOOD_MIGRATION,
            "app/main.py": main.replace(VERSION_LINE, f'version="{PROBE_VERSION}",'),
        },
        "A table and a new version",
    )

    output = assert_deployed(deployment.deploy())

    second = deployment.current()
    assert second != first
    assert second.parent == deployment.root / "releases"
    assert (second / "REVISION").read_text().strip() == commit
    assert f"deployed {commit}: 2 replica(s) healthy, database at {PROBE}" in output
    assert revision_of(deployment.database_url) == PROBE
    assert has_table(deployment.database_url, "deploy_probe")
    after = deployment.pids()
    assert all(after[port] != before[port] for port in deployment.ports)
    assert processes_under(first) == []
    assert_serving(deployment, second)
    assert [api_version(port) for port in deployment.ports] == [PROBE_VERSION] * REPLICAS
    (safety,) = deployment.backups()
    assert safety.parent == deployment.root / "shared" / "backups" / "database"
    assert SAFETY_LINE.findall(output) == [str(safety)]


def test_a_failed_migration_leaves_the_database_and_the_running_release_as_they_were(
    deployment: Deployment,
) -> None:
    first = first_deploy(deployment)
    before = deployment.pids()
    deployment.commit({MIGRATION_PATH: BROKEN_MIGRATION}, "A migration that fails")

    result = deployment.deploy()

    assert "the migration failed" in assert_failed(result)
    if USE_POSTGRES:
        assert "PostgreSQL rolled it back" in result.stdout
    else:
        safety = SAFETY_LINE.search(result.stdout)
        assert safety, result.stdout
        assert f"restoring the database from {safety.group(1)}" in result.stdout
    assert revision_of(deployment.database_url) == BASE
    assert not has_table(deployment.database_url, "deploy_probe")
    assert deployment.current() == first
    assert deployment.releases() == [first]
    assert deployment.pids() == before
    assert_serving(deployment, first)


def test_an_unhealthy_release_brings_back_the_previous_code_and_schema(
    deployment: Deployment,
) -> None:
    first = first_deploy(deployment)
    before = deployment.pids()
    main = (deployment.src / "app" / "main.py").read_text(encoding="utf-8")
    commit = deployment.commit(
        {
            MIGRATION_PATH: GOOD_MIGRATION,
            "app/main.py": main + '\nraise RuntimeError("broken release")\n',
        },
        "A release that does not start",
    )

    result = deployment.deploy()

    line = assert_failed(result)
    assert line == (
        f"deploy: error: deploy of {commit} failed; rolled back to the previous release"
    )
    assert f"taking the database back to {BASE}" in result.stdout
    assert revision_of(deployment.database_url) == BASE
    assert not has_table(deployment.database_url, "deploy_probe")
    assert deployment.current() == first
    assert deployment.releases() == [first]
    assert_serving(deployment, first)
    after = deployment.pids()
    assert after[deployment.ports[0]] != before[deployment.ports[0]]  # restarted on the old code
    assert after[deployment.ports[1]] == before[deployment.ports[1]]  # never touched


def test_no_backup_deploys_without_a_safety_backup(deployment: Deployment) -> None:
    first = first_deploy(deployment)
    commit = deployment.commit({"DEPLOYED.txt": "a harmless change\n"}, "A harmless change")

    output = assert_deployed(deployment.deploy("--no-backup"))

    assert "safety backup" not in output
    assert deployment.backups() == []
    second = deployment.current()
    assert second != first
    assert (second / "REVISION").read_text().strip() == commit
    assert revision_of(deployment.database_url) == BASE
    assert_serving(deployment, second)


# -- refusing ----------------------------------------------------------------------------------


def test_help_prints_the_usage_comment_and_nothing_else() -> None:
    script = ROOT / "scripts" / "deploy.sh"
    lines = script.read_text(encoding="utf-8").splitlines()[1:]
    comment = itertools.takewhile(lambda line: line.startswith("#"), lines)
    usage = "".join(line.removeprefix("#").removeprefix(" ") + "\n" for line in comment)

    result = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == usage
    assert result.stdout.startswith("Deploy the checked-out code of the Dried Fruits")
    assert result.stdout.endswith("data, logs and backups live in DIR/shared.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--replicas", "0"], "--replicas needs a whole number above 0, not '0'"),
        (["--replicas", "x"], "--replicas needs a whole number above 0, not 'x'"),
        (["--base-port"], "--base-port needs a value"),
    ],
)
def test_bad_options_exit_2_before_touching_anything(
    deployment: Deployment, args: list[str], message: str
) -> None:
    line = assert_one_line_error(deployment.deploy(*args), code=2)

    assert message in line
    assert not (deployment.root / "releases").exists()


def test_a_missing_settings_file_is_refused_before_any_release(deployment: Deployment) -> None:
    deployment.settings_file.unlink()

    line = assert_one_line_error(deployment.deploy(), code=1)

    assert f"settings file {deployment.settings_file} not found" in line
    assert deployment.releases() == []
    assert deployment.pids() == {}


def test_a_second_deploy_at_the_same_time_is_refused(deployment: Deployment) -> None:
    lock = deployment.root / "run" / "deploy.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = assert_one_line_error(deployment.deploy(), code=1)

    assert f"another deploy is running (lock {lock})" in line
    assert deployment.releases() == []
    assert deployment.pids() == {}


def test_an_unreachable_database_stops_the_deploy_before_it_skips_the_backup(
    deployment: Deployment,
) -> None:
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/dried_fruits_db"
    deployment.settings_file.write_text(
        "".join(
            f"{key}={value}\n" for key, value in {**SETTINGS, "DATABASE_URL": unreachable}.items()
        ),
        encoding="utf-8",
    )

    result = deployment.deploy()

    line = assert_one_line_error(result, code=1)
    assert line.startswith("deploy: error: cannot read the database revision: ")
    assert "nothing to back up" not in result.stdout
    assert deployment.releases() == []
    assert deployment.pids() == {}
