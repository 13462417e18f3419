"""Private PostgreSQL and Redis servers that a test may stop, kill and start again at will."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from tests.support.servers import HOST, free_port

POSTGRES_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
)
READY_TIMEOUT = 60.0


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL's programs refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own on a free loopback port, in a temporary folder; with
    ``socket_only`` it listens on its Unix socket in that folder and on no TCP port."""

    root: Path
    port: int = field(default_factory=free_port)
    socket_only: bool = False

    @property
    def host(self) -> str:
        """What libpq's ``host`` names: the loopback address, or the socket's folder."""
        return str(self.root) if self.socket_only else HOST

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.root / "data"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's ``dfims`` database (socket and port in the query
        string when the cluster is socket-only)."""
        if self.socket_only:
            return f"postgresql+psycopg://postgres@/dfims?host={self.root}&port={self.port}"
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/dfims"

    def init(self) -> None:
        """Create the cluster and its ``dfims`` database, and start it."""
        self._pg_ctl("initdb", "-o", "--auth=trust --username=postgres --encoding=UTF8")
        self.start()
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as connection:
            connection.execute("CREATE DATABASE dfims")

    def start(self) -> None:
        """Start the cluster and wait until it takes connections."""
        listen = "''" if self.socket_only else HOST
        options = (
            f"-p {self.port} -c listen_addresses={listen} -c unix_socket_directories={self.root} "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._pg_ctl(
            "start",
            "-w",
            "-t",
            str(int(READY_TIMEOUT)),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (``immediate`` is a crash: no checkpoint, recovery on start)."""
        self._pg_ctl("stop", "-w", "-m", mode)

    def restart(self, mode: str = "immediate") -> None:
        """Stop the cluster in ``mode`` and start it again."""
        self.stop(mode)
        self.start()

    def running(self) -> bool:
        """Whether the cluster's postmaster is up."""
        result = subprocess.run(
            _as_postgres([str(POSTGRES_BIN / "pg_ctl"), "status", "-D", str(self.data_dir)]),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A new autocommit connection to the ``dfims`` database."""
        return psycopg.connect(self._conninfo("dfims"), autocommit=True)

    def log(self) -> str:
        """What the server wrote to its log so far."""
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _conninfo(self, database: str) -> str:
        return (
            f"host={self.host} port={self.port} user=postgres dbname={database} connect_timeout=5"
        )

    def _pg_ctl(self, *args: str) -> None:
        command = _as_postgres([str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data_dir), *args])
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise AssertionError(
                f"pg_ctl {args[0]} failed ({result.returncode}): {result.stderr}\n{self.log()}"
            )


@contextlib.contextmanager
def _cluster(prefix: str, *, socket_only: bool = False) -> Iterator[PrivatePostgres]:
    """A cluster in a new temporary folder; stopped and deleted on the way out."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(root, socket_only=socket_only)
    try:
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres(
    copy_of: PrivatePostgres | None = None, *, socket_only: bool = False
) -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL cluster, new or started from a copy of the files of the
    stopped cluster ``copy_of``; stopped and deleted on the way out."""
    with _cluster("dfims-pg-", socket_only=socket_only) as cluster:
        if copy_of is None:
            cluster.init()
        else:
            subprocess.run(["cp", "-a", str(copy_of.data_dir), str(cluster.data_dir)], check=True)
            cluster.start()
        yield cluster


@contextlib.contextmanager
def streaming_replica(primary: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """A streaming replica of the running cluster ``primary``, copied with pg_basebackup and
    started in standby mode; stopped and deleted on the way out."""
    with _cluster("dfims-pg-replica-") as replica:
        backup = [
            str(POSTGRES_BIN / "pg_basebackup"),
            f"--host={HOST}",
            f"--port={primary.port}",
            "--username=postgres",
            f"--pgdata={replica.data_dir}",
            "--wal-method=stream",
            "--write-recovery-conf",
            "--checkpoint=fast",
        ]
        subprocess.run(_as_postgres(backup), check=True, capture_output=True, timeout=120)
        replica.start()
        yield replica


@dataclass
class PrivateRedis:
    """A Redis server of its own on a free loopback port, without persistence."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's redis:// URL."""
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (the child keeps it)
        with log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--bind",
                    HOST,
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.05)
            finally:
                client.close()

    def kill(self) -> None:
        """SIGKILL the server (its data is gone, as after a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A running private Redis server, killed and deleted on the way out."""
    root = Path(tempfile.mkdtemp(prefix="dfims-redis-"))
    server = PrivateRedis(root)
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
