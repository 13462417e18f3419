"""Run ``dfims`` as a real process: one-shot commands, and ``dfims serve`` on a free port."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
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
COMMAND_TIMEOUT = 120.0


def run_dfims(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dfims ARGS`` to completion (killed after COMMAND_TIMEOUT) and capture its output."""
    return subprocess.run(
        [str(DFIMS), *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


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
    return subprocess.run(
        [str(PYTHON), "-c", code],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


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
    port = free_port()
    fd, name = tempfile.mkstemp(prefix="dfims-serve-", suffix=".out")
    output_path = Path(name)
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
    server = Server(process=process, port=port, output_path=output_path)
    seen_workers: list[int] = []
    try:
        _wait_until_healthy(server, startup_timeout)
        seen_workers = server.worker_pids()
        yield server
        seen_workers = sorted({*seen_workers, *server.worker_pids()})
    finally:
        _stop(process, seen_workers)
        output_path.unlink(missing_ok=True)
