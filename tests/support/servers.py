"""Run ``dfims`` as a real process: one-shot commands, and ``dfims serve`` on a free port."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"
DFIMS = BIN / "dfims"
PYTHON = BIN / "python"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
BIND_ATTEMPTS = 3
COMMAND_TIMEOUT = 120.0
# Read when the project is imported, so a fork of an imported parent would not see them change.
IMPORT_TIME = {"ENV_FILE", "PROMETHEUS_MULTIPROC_DIR"}


class ForkServer:
    """A ``fork_server.py`` parent of this test process: commands start in it without
    importing the project again. One command at a time; a command whose environment would
    change what the parent imported (the env file, the metrics folder, Python's own settings)
    runs as a new interpreter instead."""

    SCRIPT = Path(__file__).with_name("fork_server.py")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.env = dict(os.environ)

    def serves(self, env: Mapping[str, str]) -> bool:
        """Whether a command with environment ``env`` may start in the parent."""
        keys = {key for key in {*env, *self.env} if key in IMPORT_TIME or key.startswith("PYTHON")}
        return all(env.get(key) == self.env.get(key) for key in keys)

    def start(self) -> subprocess.Popen[str]:
        """The parent, started on first use with the environment this process began with."""
        if self.process is None or self.process.poll() is not None:
            process = subprocess.Popen(
                [str(PYTHON), str(self.SCRIPT)],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", "the fork server did not start"
            self.process = process
        return self.process

    def run(
        self, env: Mapping[str, str], args: list[str], request: dict[str, Any]
    ) -> subprocess.CompletedProcess[str]:
        """Run ``request`` in a child of the parent, or as a new process when it may not."""
        if not (self.serves(env) and self.lock.acquire(blocking=False)):
            return _run(args, env)
        try:
            process = self.start()
            with tempfile.TemporaryDirectory() as folder:
                out, err = Path(folder) / "out", Path(folder) / "err"
                out.touch()
                err.touch()
                assert process.stdin is not None
                assert process.stdout is not None
                line = {
                    **request,
                    "env": dict(env),
                    "cwd": str(ROOT),
                    "stdout": str(out),
                    "stderr": str(err),
                    "timeout": COMMAND_TIMEOUT,
                }
                process.stdin.write(json.dumps(line) + "\n")
                process.stdin.flush()
                answer = json.loads(process.stdout.readline())
                if answer["timed_out"]:
                    raise subprocess.TimeoutExpired(args, COMMAND_TIMEOUT)
                return subprocess.CompletedProcess(
                    args, answer["returncode"], out.read_text(), err.read_text()
                )
        finally:
            self.lock.release()


def _run(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``args`` as a new process to completion (killed after COMMAND_TIMEOUT)."""
    return subprocess.run(
        args,
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


FORK_SERVER = ForkServer()


def run_dfims(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dfims ARGS`` to completion (killed after COMMAND_TIMEOUT) and capture its output."""
    return FORK_SERVER.run(env, [str(DFIMS), *args], {"argv": list(args)})


def run_dfims_executable(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dfims ARGS`` through the installed console script, as a new interpreter."""
    return _run([str(DFIMS), *args], env)


def server_env(database_url: str, redis_url: str, folder: Path) -> dict[str, str]:
    """The environment of a server on ``database_url`` and ``redis_url``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(folder / "data"),
        "UPLOAD_DIR": str(folder / "uploads"),
        "LOG_DIR": str(folder / "logs"),
        "DB_CONNECT_TIMEOUT": "2",
    }
    env.pop("WORKER_REQUESTS", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def migrate_with_admin(env: Mapping[str, str], email: str, password: str) -> None:
    """Migrate the database of ``env`` to the newest schema and create an admin in it."""
    for args in (
        ("db", "upgrade"),
        ("users", "create-admin", "--email", email, "--password", password),
    ):
        result = run_dfims(env, *args)
        assert result.returncode == 0, result.stderr


def run_python(env: Mapping[str, str], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -c CODE`` in the project's virtual environment."""
    return FORK_SERVER.run(env, [str(PYTHON), "-c", code], {"code": code})


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The non-empty lines a command wrote to stderr."""
    return [line for line in result.stderr.splitlines() if line.strip()]


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP answer; header names are lower-cased."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def status_code(self) -> int:
        """The status, named as the test client names it."""
        return self.status

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpResponse:
    """One request over a new connection to HOST:port."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return HttpResponse(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=response.read(),
        )
    finally:
        connection.close()


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def child_pids(pid: int) -> list[int]:
    """The live (non-zombie) processes whose parent is ``pid``, from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def command_line(pid: int) -> str:
    """The command line of ``pid`` (empty when it is gone)."""
    try:
        raw = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (R, S, T, Z, ...), or None when it is gone."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    return process_state(pid) not in (None, "Z")


@dataclass
class Server:
    """A running ``dfims serve``."""

    process: subprocess.Popen[bytes]
    port: int
    output_path: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """One request over a new connection."""
        return http_request(self.port, method, path, body=body, headers=headers)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """GET ``path``."""
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, data: Mapping[str, str]) -> HttpResponse:
        """POST ``data`` as application/x-www-form-urlencoded."""
        return self.request(
            "POST",
            path,
            body=urlencode(data).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def output(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, count: int = 1, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until ``text`` occurs ``count`` times in the server's output."""
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not seen {count} times:\n{self.output()}")
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The worker processes the server spawned (not multiprocessing's helpers)."""
        return [pid for pid in child_pids(self.process.pid) if "spawn_main" in command_line(pid)]


def _wait_until_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise AssertionError(f"dfims serve exited with {code} on start:\n{server.output()}")
        try:
            response = http_request(server.port, "GET", "/health", timeout=5.0)
        except OSError as exc:
            last_error = repr(exc)
        else:
            if response.status == 200:
                return
            last_error = f"/health answered {response.status}"
        time.sleep(0.1)
    raise AssertionError(
        f"dfims serve was not healthy within {timeout:.0f}s ({last_error}):\n{server.output()}"
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait; SIGKILL the process group it leads if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _stop(process: subprocess.Popen[bytes], workers: list[int]) -> None:
    """Stop the server; SIGKILL workers it left behind."""
    stop_process(process)
    for pid in workers:  # workers left behind by a server that died first
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(
    env: Mapping[str, str],
    *,
    workers: int = 1,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Iterator[Server]:
    """Start ``dfims serve`` with ``env`` on a free loopback port; stop it on the way out."""
    server = _started(env, workers, startup_timeout)
    seen_workers: list[int] = []
    try:
        seen_workers = server.worker_pids()
        yield server
        seen_workers = sorted({*seen_workers, *server.worker_pids()})
    finally:
        _stop(server.process, seen_workers)
        server.output_path.unlink(missing_ok=True)


def _started(env: Mapping[str, str], workers: int, startup_timeout: float) -> Server:
    """A healthy ``dfims serve``; started again on another port when the one found free was
    taken before the server bound it (by another test's server or an outgoing connection)."""
    attempts = 1
    while True:
        server = _launched(env, workers)
        try:
            _wait_until_healthy(server, startup_timeout)
        except AssertionError:
            taken = "address already in use" in server.output()
            _stop(server.process, [])
            server.output_path.unlink(missing_ok=True)
            if not taken or attempts == BIND_ATTEMPTS:
                raise
            attempts += 1
        else:
            return server


def _launched(env: Mapping[str, str], workers: int) -> Server:
    port = free_port()
    fd, name = tempfile.mkstemp(prefix="dfims-serve-", suffix=".out")
    with os.fdopen(fd, "wb") as output:
        process = subprocess.Popen(
            [str(DFIMS), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            env=dict(env),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(process=process, port=port, output_path=Path(name))
