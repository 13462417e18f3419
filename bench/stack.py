"""What a benchmark runs against: a throwaway PostgreSQL database, Redis, the API under gunicorn
with uvicorn workers and bench/spike.py under the servers compared with it, plus the CPU and
memory each process used (read from /proc)."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")


class StackError(RuntimeError):
    """Something the benchmark needs could not be brought up."""


# --------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb(pid: int) -> float:
    """The largest resident set the process has had (VmHWM), in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class CpuMeter:
    """CPU time used by groups of processes between ``start`` and ``stop``."""

    groups: Mapping[str, list[int]] = field(default_factory=dict)
    before: dict[int, float] = field(default_factory=dict)

    def start(self, groups: Mapping[str, list[int]]) -> None:
        """Remember where each process stands."""
        self.groups = groups
        self.before = {pid: cpu_seconds(pid) for pids in groups.values() for pid in pids}

    def stop(self, groups: Mapping[str, list[int]]) -> dict[str, float]:
        """CPU seconds each group used since ``start`` (processes started meanwhile in full)."""
        return {
            name: sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
            for name, pids in groups.items()
        }


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- PostgreSQL


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; dropped on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise StackError(f"PostgreSQL is needed at {admin_url}: {reason}") from exc
    try:
        yield name
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name`` (libpq form)."""
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})


def sqlalchemy_url(conninfo: str) -> str:
    """The SQLAlchemy URL (psycopg driver) of a libpq connection string."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host = info.get("host", HOST)
    port = info.get("port", 5432)
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{info['dbname']}"


# --------------------------------------------------------------------------- the API


@dataclass
class Api:
    """The API under gunicorn: its master, its workers, its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        """Where it answers."""
        return f"http://{HOST}:{self.port}"

    def workers(self) -> list[int]:
        """The worker processes."""
        return children(self.process.pid)

    def pids(self) -> list[int]:
        """Master and workers."""
        return [self.process.pid, *self.workers()]


def run_cli(env: Mapping[str, str], *args: str) -> str:
    """Run ``dfims`` with ``args``; its output, or a StackError with its last line."""
    done = subprocess.run(
        [str(BIN / "dfims"), *args], env=dict(env), cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise StackError(f"dfims {' '.join(args)} failed: {last[-1]}")
    return done.stdout


# The servers of bench/spike.py the bench compares with the API, by name: the command that
# serves it on a port with a number of workers (uvicorn picks uvloop and httptools).
SPIKE_SERVERS = {
    "uvicorn": lambda port, workers: [
        str(BIN / "gunicorn"),
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "bench.spike:app",
    ],
    "granian": lambda port, workers: [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--loop",
        "uvloop",
        "--workers",
        str(workers),
        "--host",
        HOST,
        "--port",
        str(port),
        "bench.spike:app",
    ],
}


@contextmanager
def running_api(env: Mapping[str, str], workers: int, log: Path) -> Iterator[Api]:
    """gunicorn with ``workers`` uvicorn workers on a free port, as production runs it."""
    port = free_port()
    environment = {**env, "BIND": f"{HOST}:{port}", "WEB_CONCURRENCY": str(workers)}
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app.main:app"]
    with _serving(command, environment, port, workers, log, "/api/v1/health/database") as api:
        yield api


@contextmanager
def running_spike(server: str, database: str, workers: int, log: Path) -> Iterator[Api]:
    """bench/spike.py on the libpq ``database`` under the spike server named ``server``."""
    port = free_port()
    environment = {"PATH": os.environ.get("PATH", ""), "SPIKE_DATABASE_URL": database}
    command = SPIKE_SERVERS[server](port, workers)
    with _serving(command, environment, port, workers, log, "/select1") as api:
        yield api


@contextmanager
def _serving(
    command: list[str], env: Mapping[str, str], port: int, workers: int, log: Path, ready: str
) -> Iterator[Api]:
    """``command`` started in a session of its own, once it answers ``ready`` with every
    worker up; stopped on the way out."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = Api(process, port, log)
    try:
        _wait_until_ready(api, workers, ready)
        yield api
    finally:
        _stop(process)


def _wait_until_ready(api: Api, workers: int, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            tail = api.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise StackError("the server did not start: " + " | ".join(tail))
        try:
            with urllib.request.urlopen(f"{api.base_url}{path}", timeout=2) as r:
                if json.load(r).get("status") == "ok" and len(api.workers()) >= workers:
                    return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.2)
    raise StackError(f"the server did not answer within {timeout:.0f} s; see {api.log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
