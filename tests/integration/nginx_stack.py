"""nginx in front of real API processes for the tests: tools, a rendered and running nginx,
the replicated stack behind it, and the checks of its answers."""

import contextlib
import http.client
import json
import os
import re
import shutil
import socketserver
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import (
    PASSWORD,
    REDIS_TEST_URL,
    ROOT,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.servers import (
    COMMAND_TIMEOUT,
    HOST,
    STARTUP_TIMEOUT,
    HttpResponse,
    Server,
    error_lines,
    free_port,
    migrate_with_admin,
    running_server,
    stop_process,
)

RENDER = ROOT / "scripts" / "render_nginx.py"
MAINTENANCE = ROOT / "scripts" / "maintenance.sh"
TEMPLATE = ROOT / "nginx" / "nginx.conf"
TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
ADMIN_EMAIL = "nginx-admin@example.com"
LOGIN = "/api/v1/auth/login"
REPLICAS = 3
REQUESTS = 30
LOG_WAIT = 10.0
API_POLICY = "default-src 'none'"
SECURITY_HEADERS = {
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
}
ACCESS_LINE = re.compile(
    r'^(?P<client>\S+) \[[^\]]+\] "(?P<request>[^"]*)" (?P<status>\d{3}) \d+ (?P<fields>.*)$'
)
ACCESS_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


# -- tools and answers -------------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of the program ``name``; without it the tests fail, never skip."""
    path = shutil.which(name, path=TOOL_PATH)
    if path is None:
        pytest.fail(f"{name} is needed for the nginx tests: apt-get install {name}")
    return path


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a program to completion and capture its output."""
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Answer(HttpResponse):
    """An answer through nginx, with the X-Request-ID the request carried."""

    request_id: str = ""


def read_answer(response: http.client.HTTPResponse, request_id: str = "") -> Answer:
    names = [name.lower() for name, _ in response.getheaders()]
    sent_twice = {name for name in SECURITY_HEADERS if names.count(name) > 1}
    assert not sent_twice, f"sent by both nginx and the API: {sent_twice}"
    return Answer(
        status=response.status,
        headers={name.lower(): value for name, value in response.getheaders()},
        body=response.read(),
        request_id=request_id,
    )


def assert_security_headers(answer: HttpResponse, policy: str = API_POLICY) -> None:
    """The security headers are there, and nginx tells no version."""
    assert answer.headers.keys() >= SECURITY_HEADERS, answer.headers
    max_age = re.search(r"max-age=(\d+)", answer.headers["strict-transport-security"])
    assert max_age is not None
    assert int(max_age.group(1)) >= 365 * 24 * 60 * 60
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"]
    assert answer.headers["content-security-policy"].startswith(policy)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers.get("server", "nginx") == "nginx"
    assert not any(re.search(r"nginx/\d", value) for value in answer.headers.values())
    assert "uvicorn" not in json.dumps(dict(answer.headers))


# -- nginx -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessEntry:
    """One line of nginx's access log."""

    line: str
    client: str
    request: str
    status: int
    fields: Mapping[str, str]

    @property
    def upstreams(self) -> list[str]:
        """The replicas nginx tried, in order; none when nginx answered itself."""
        value = self.fields["upstream_addr"]
        return [] if value == "-" else [part.strip() for part in value.split(",")]


def parse_access_line(line: str) -> AccessEntry:
    match = ACCESS_LINE.match(line)
    assert match, line
    fields = {key: value.strip('"') for key, value in ACCESS_FIELD.findall(match["fields"])}
    return AccessEntry(line, match["client"], match["request"], int(match["status"]), fields)


@dataclass
class Nginx:
    """nginx rendered from nginx/nginx.conf into ``folder`` and running there."""

    process: subprocess.Popen[bytes]
    folder: Path
    http_port: int
    https_port: int
    context: ssl.SSLContext

    @property
    def maintenance_dir(self) -> Path:
        return self.folder / "maintenance"

    @property
    def access_log(self) -> Path:
        return self.folder / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.folder / "logs" / "error.log"

    def connect(self, source: str = HOST) -> http.client.HTTPSConnection:
        """An HTTPS connection from the loopback address ``source``."""
        return http.client.HTTPSConnection(
            HOST, self.https_port, timeout=30, context=self.context, source_address=(source, 0)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        source: str = HOST,
    ) -> Answer:
        """One HTTPS request over a new connection, with an X-Request-ID of its own."""
        request_id = f"t-{uuid.uuid4().hex}"
        connection = self.connect(source)
        try:
            connection.request(
                method, path, body=body, headers={"X-Request-ID": request_id, **(headers or {})}
            )
            return read_answer(connection.getresponse(), request_id)
        finally:
            connection.close()

    def login(self, email: str, password: str, source: str) -> Answer:
        """POST the login form."""
        return self.request(
            "POST",
            LOGIN,
            body=urlencode({"username": email, "password": password}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            source=source,
        )

    def entries(self) -> list[AccessEntry]:
        """Every line of the access log so far."""
        text = self.access_log.read_text(encoding="utf-8", errors="replace")
        return [parse_access_line(line) for line in text.splitlines() if line.strip()]

    def entries_of(self, answers: list[Answer]) -> list[AccessEntry]:
        """The access log lines of ``answers``, in their order (nginx writes them just after)."""
        wanted = [answer.request_id for answer in answers]
        deadline = time.monotonic() + LOG_WAIT
        while True:
            found = {entry.fields["request_id"]: entry for entry in self.entries()}
            if all(request_id in found for request_id in wanted):
                return [found[request_id] for request_id in wanted]
            if time.monotonic() > deadline:
                missing = [request_id for request_id in wanted if request_id not in found]
                raise AssertionError(f"no access log line for {missing}:\n{self.access_log}")
            time.sleep(0.05)

    def output(self) -> str:
        """What nginx wrote to its error log and terminal."""
        parts = [self.folder / "nginx.out", self.error_log]
        return "\n".join(path.read_text(errors="replace") for path in parts if path.exists())


def make_certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem) in ``folder``."""
    result = run_tool(
        tool("openssl"),
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={HOST}",
        "-addext",
        f"subjectAltName=IP:{HOST}",
        "-keyout",
        str(folder / "key.pem"),
        "-out",
        str(folder / "cert.pem"),
    )
    assert result.returncode == 0, result.stderr
    return folder / "cert.pem"


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def render(folder: Path, upstreams: list[str], http_port: int, https_port: int) -> Path:
    """Render nginx/nginx.conf into ``folder`` for loopback; the file written."""
    output = folder / "nginx.conf"
    upstream_options = [option for address in upstreams for option in ("--upstream", address)]
    result = run_tool(
        str(RENDER),
        *upstream_options,
        "--http-port",
        str(http_port),
        "--https-port",
        str(https_port),
        "--listen-address",
        HOST,
        "--ssl-dir",
        str(folder / "ssl"),
        "--maintenance-dir",
        str(folder / "maintenance"),
        "--log-dir",
        str(folder / "logs"),
        "--pid-file",
        str(folder / "nginx.pid"),
        "--output",
        str(output),
    )
    assert result.returncode == 0, result.stderr
    assert error_lines(result) == []
    return output


def _wait_until_serving(nginx: Nginx) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        code = nginx.process.poll()
        if code is not None:
            raise AssertionError(f"nginx exited with {code} on start:\n{nginx.output()}")
        try:
            answer = nginx.request("GET", "/health")
        except OSError as exc:
            last_error = repr(exc)
        else:
            if answer.status == 200:
                return
            last_error = f"/health answered {answer.status}"
        time.sleep(0.1)
    raise AssertionError(f"nginx did not serve within the time ({last_error}):\n{nginx.output()}")


@contextlib.contextmanager
def running_nginx(folder: Path, upstreams: list[str]) -> Iterator[Nginx]:
    """nginx/nginx.conf rendered for ``upstreams`` into ``folder``, checked with ``nginx -t``
    and run in the foreground; stopped on the way out."""
    nginx = tool("nginx")
    for name in ("ssl", "maintenance", "logs"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    cert = make_certificate(folder / "ssl")
    http_port, https_port = two_free_ports()
    conf = render(folder, upstreams, http_port, https_port)

    check = run_tool(nginx, "-t", "-c", str(conf), "-p", str(folder))
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr

    with (folder / "nginx.out").open("wb") as output:
        process = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(folder), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    context = ssl.create_default_context(cafile=str(cert))
    running = Nginx(process, folder, http_port, https_port, context)
    try:
        _wait_until_serving(running)
        yield running
    finally:
        stop_process(process)


# -- the API replicas --------------------------------------------------------------------------


@contextlib.contextmanager
def api_environment(folder: Path) -> Iterator[dict[str, str]]:
    """The environment of replicas sharing a PostgreSQL database of their own (migrated, with an
    admin) and Redis; the database is dropped on the way out."""
    database_url = create_postgres_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_TEST_URL,
        "DATA_DIR": str(folder / "data"),
        "UPLOAD_DIR": str(folder / "uploads"),
        "LOG_DIR": str(folder / "api-logs"),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",  # as .env.prod.example: nginx must replace it
    }
    try:
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        yield env
    finally:
        drop_postgres_database(database_url)


@dataclass
class Stack:
    """nginx in front of the replicas."""

    nginx: Nginx
    replicas: list[Server]
    env: dict[str, str]

    def address(self, replica: Server) -> str:
        return f"{HOST}:{replica.port}"

    def api_log(self) -> list[dict[str, Any]]:
        """Every JSON line the replicas logged to their shared file."""
        path = Path(self.env["LOG_DIR"]) / "dfims.log"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def api_log_of(self, request_id: str, logger: str) -> dict[str, Any]:
        """The first line ``logger`` wrote for ``request_id``, waiting for it (bounded)."""
        deadline = time.monotonic() + LOG_WAIT
        while True:
            for entry in self.api_log():
                if entry.get("request_id") == request_id and entry.get("logger") == logger:
                    return entry
            if time.monotonic() > deadline:
                raise AssertionError(f"no {logger} line for {request_id}")
            time.sleep(0.05)


@contextlib.contextmanager
def replicated_stack(folder: Path) -> Iterator[Stack]:
    """Three API processes on one database, and nginx in front of them."""
    tool("nginx")
    tool("openssl")
    with api_environment(folder) as env, contextlib.ExitStack() as stack:
        replicas = [stack.enter_context(running_server(env)) for _ in range(REPLICAS)]
        upstreams = [f"{HOST}:{replica.port}" for replica in replicas]
        nginx = stack.enter_context(running_nginx(folder / "nginx", upstreams))
        yield Stack(nginx, replicas, env)


def admin_token(nginx: Nginx, source: str) -> str:
    """An access token of the admin, logged in through nginx from ``source``."""
    answer = nginx.login(ADMIN_EMAIL, PASSWORD, source)
    assert answer.status == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def run_maintenance(*args: str) -> subprocess.CompletedProcess[str]:
    return run_tool(str(MAINTENANCE), *args)


# -- a replica that fails after the request reached it ----------------------------------------


class _DroppingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        head = []
        while (line := self.rfile.readline()) not in (b"", b"\r\n"):
            head.append(line.decode("latin-1"))
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in head
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        self.rfile.read(length)
        server = self.server
        assert isinstance(server, DroppingUpstream)
        with server.lock:
            server.requests.append(head[0].strip() if head else "")
        if server.reply:
            self.wfile.write(server.reply)

        # Else closing without an answer: the replica died with the request in hand.


class DroppingUpstream(socketserver.ThreadingTCPServer):
    """A fake replica that reads each request whole and closes the connection, unanswered or
    after ``reply``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, reply: bytes = b"") -> None:
        super().__init__((HOST, 0), _DroppingHandler)
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.reply = reply

    @property
    def address(self) -> str:
        return f"{HOST}:{self.server_address[1]}"

    def seen(self, method: str) -> int:
        with self.lock:
            return sum(1 for line in self.requests if line.startswith(f"{method} "))
