"""nginx/nginx.conf in front of three real API processes on one PostgreSQL database with Redis:
rendered for loopback by scripts/render_nginx.py, checked with ``nginx -t`` and run over HTTPS
with a self-signed certificate; scripts/maintenance.sh switches its maintenance mode.

The tests that log in send from a loopback address of their own (127.0.0.x): the per-address
login limit one of them reaches never touches another."""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
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
from urllib.parse import urlencode, urlsplit

import pytest

from app.core.config import get_settings
from tests.conftest import (
    PASSWORD,
    REDIS_TEST_URL,
    ROOT,
    bearer,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.problems import assert_problem
from tests.support.servers import (
    COMMAND_TIMEOUT,
    HOST,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    HttpResponse,
    Server,
    error_lines,
    free_port,
    http_request,
    migrate_with_admin,
    running_server,
    stop_process,
)

pytestmark = [pytest.mark.system, pytest.mark.redis, pytest.mark.postgres]

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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack the non-destructive tests share; they leave maintenance mode off."""
    with replicated_stack(tmp_path_factory.mktemp("nginx-stack")) as running:
        yield running


def admin_token(nginx: Nginx, source: str) -> str:
    """An access token of the admin, logged in through nginx from ``source``."""
    answer = nginx.login(ADMIN_EMAIL, PASSWORD, source)
    assert answer.status == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def run_maintenance(*args: str) -> subprocess.CompletedProcess[str]:
    return run_tool(str(MAINTENANCE), *args)


@contextlib.contextmanager
def maintenance(nginx: Nginx) -> Iterator[None]:
    """Maintenance mode on through scripts/maintenance.sh, off again on the way out."""
    folder = str(nginx.maintenance_dir)
    switched_on = run_maintenance("on", "--dir", folder)
    try:
        assert switched_on.returncode == 0, switched_on.stderr
        assert switched_on.stdout.startswith("Maintenance on")
        yield
    finally:
        switched_off = run_maintenance("off", "--dir", folder)
        assert switched_off.returncode == 0, switched_off.stderr


# -- rendering and the maintenance script, without servers -------------------------------------


RENDER_OPTIONS = [
    "--upstream",
    "127.0.0.1:8001",
    "--upstream",
    "127.0.0.1:8002",
    "--upstream",
    "127.0.0.1:8003",
    "--http-port",
    "8080",
    "--https-port",
    "8443",
    "--listen-address",
    "127.0.0.1",
    "--ssl-dir",
    "/srv/dfims/ssl",
    "--maintenance-dir",
    "/srv/dfims/maintenance",
    "--log-dir",
    "/srv/dfims/logs",
    "--pid-file",
    "/srv/dfims/nginx.pid",
]


def test_tools_are_there() -> None:
    """nginx and openssl are installed: the tests below fail (never skip) without them."""
    assert Path(tool("nginx")).exists()
    assert Path(tool("openssl")).exists()


def test_render_rewrites_every_docker_line(tmp_path: Path) -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    result = run_tool(str(RENDER), *RENDER_OPTIONS)
    assert result.returncode == 0, result.stderr
    assert error_lines(result) == []
    rendered = result.stdout
    directives = [line.split("#", 1)[0].strip() for line in rendered.splitlines()]
    assert [line for line in directives if line.startswith("server 127.0.0.1:")] == [
        f"server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in (8001, 8002, 8003)
    ]
    for expected in (
        "listen 127.0.0.1:8080;",
        "listen 127.0.0.1:8443 ssl;",
        "return 301 https://$host:8443$request_uri;",
        "ssl_certificate /srv/dfims/ssl/cert.pem;",
        "ssl_certificate_key /srv/dfims/ssl/key.pem;",
        "if (-f /srv/dfims/maintenance/maintenance.on) {",
        "access_log /srv/dfims/logs/access.log main;",
        "error_log /srv/dfims/logs/error.log warn;",
        "pid /srv/dfims/nginx.pid;",
    ):
        assert expected in directives, expected
    assert not [line for line in directives if "/etc/nginx/" in line or "api:8000" in line]
    assert TEMPLATE.read_text(encoding="utf-8") == template

    (tmp_path / "out.conf").write_text("old")
    written = run_tool(str(RENDER), *RENDER_OPTIONS, "--output", str(tmp_path / "out.conf"))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert (tmp_path / "out.conf").read_text() == rendered


@pytest.mark.parametrize(
    ("line", "replacement", "named"),
    [
        ("        listen 443 ssl;\n", "        listen 443 ssl http2;\n", "listen 443 ssl;"),
        ("        listen 80;\n", "", "listen 80;"),
        ("        server api:8000 ", "        server backend:8000 ", "server api:8000"),
        ("            return 301 https://$host$request_uri;\n", "", "return 301"),
        ("        if (-f /etc/nginx/maintenance/", "        if (-e /etc/nginx/maintenance/", "if"),
        ("    access_log /dev/stdout main;\n", "", "access_log"),
        ("pid /run/nginx.pid;\n", "", "pid"),
        ("user nginx;\n", "user nginx;\nresolver 127.0.0.11;\n", "127.0.0.11"),
    ],
    ids=["https", "http", "upstream", "redirect", "maintenance", "log", "pid", "docker-dns"],
)
def test_render_refuses_a_template_that_drifted(
    tmp_path: Path, line: str, replacement: str, named: str
) -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    assert line in template
    drifted = tmp_path / "nginx.conf"
    drifted.write_text(template.replace(line, replacement, 1), encoding="utf-8")
    output = tmp_path / "rendered.conf"

    result = run_tool(
        str(RENDER), *RENDER_OPTIONS, "--template", str(drifted), "--output", str(output)
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    (message,) = error_lines(result)
    assert message.startswith("render_nginx.py: error: ")
    assert named in message
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_maintenance_script(tmp_path: Path) -> None:
    folder = str(tmp_path)
    for args in ([], ["bogus"], ["on", "off"], ["on", "--dir"], ["on", "--dir", "/no/such/dir"]):
        result = run_maintenance(*args)
        assert result.returncode != 0, args
        assert result.stdout == ""
        (message,) = error_lines(result)
        assert message.startswith("error: "), args

    assert run_maintenance("status", "--dir", folder).stdout == "Maintenance is off.\n"
    switched_on = run_maintenance("on", "--dir", folder)
    assert switched_on.returncode == 0, switched_on.stderr
    assert len(switched_on.stdout.splitlines()) == 1
    assert (tmp_path / "maintenance.on").is_file()
    assert run_maintenance("on", f"--dir={folder}").stdout.startswith("Maintenance is already on")
    assert run_maintenance("status", "--dir", folder).stdout.startswith("Maintenance is on")
    switched_off = run_maintenance("off", "--dir", folder)
    assert switched_off.returncode == 0, switched_off.stderr
    assert switched_off.stdout.startswith("Maintenance off")
    assert list(tmp_path.iterdir()) == []
    assert run_maintenance("off", "--dir", folder).stdout == "Maintenance is already off.\n"


# -- through nginx -----------------------------------------------------------------------------


def test_http_redirects_to_https(stack: Stack) -> None:
    nginx = stack.nginx
    answer = http_request(nginx.http_port, "GET", "/api/v1/users/me?page=2")
    assert answer.status == 301
    assert answer.headers["location"] == f"https://{HOST}:{nginx.https_port}/api/v1/users/me?page=2"
    assert_security_headers(answer)

    posted = http_request(nginx.http_port, "POST", LOGIN, body=b"username=a&password=b")
    assert posted.status == 301

    health = http_request(nginx.http_port, "GET", "/health")
    assert health.status == 200
    assert health.json() == {"status": "ok"}


def test_tls_with_the_certificate(stack: Stack) -> None:
    connection = stack.nginx.connect()
    try:
        connection.request("GET", "/health")
        assert read_answer(connection.getresponse()).status == 200
        assert connection.sock is not None
        assert connection.sock.version() in {"TLSv1.2", "TLSv1.3"}
    finally:
        connection.close()


def test_requests_spread_over_every_replica(stack: Stack) -> None:
    """Round robin over one kept-alive client connection reaches all three replicas."""
    answers = []
    connection = stack.nginx.connect()
    try:
        for number in range(REQUESTS):
            request_id = f"spread-{uuid.uuid4().hex[:8]}-{number}"
            connection.request(
                "GET", "/api/v1/health/database", headers={"X-Request-ID": request_id}
            )
            answers.append(read_answer(connection.getresponse(), request_id))
    finally:
        connection.close()
    assert [answer.status for answer in answers] == [200] * REQUESTS
    assert all(answer.headers["x-request-id"] == answer.request_id for answer in answers)

    entries = stack.nginx.entries_of(answers)
    served = {entry.upstreams[-1] for entry in entries}
    assert served == {stack.address(replica) for replica in stack.replicas}
    assert all(len(entry.upstreams) == 1 for entry in entries)


def test_token_from_nginx_works_on_every_replica(stack: Stack) -> None:
    token = admin_token(stack.nginx, source="127.0.0.30")
    for replica in stack.replicas:
        me = replica.get("/api/v1/users/me", headers=bearer(token))
        assert me.status == 200, me.text
        assert me.json()["email"] == ADMIN_EMAIL
    through = stack.nginx.request("GET", "/api/v1/users/me", headers=bearer(token))
    assert through.status == 200, through.text


def test_security_headers_on_every_answer(stack: Stack) -> None:
    nginx = stack.nginx
    ok = nginx.request("GET", "/health")
    assert ok.status == 200
    assert_security_headers(ok)

    missing = nginx.request("GET", "/api/v1/no-such-thing")
    assert_problem(missing, 404, "not-found")
    assert_security_headers(missing)

    with maintenance(nginx):
        down = nginx.request("GET", "/api/v1/products")
        assert_problem(down, 503, "maintenance")
        assert_security_headers(down)


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


def csp_allows(policy: dict[str, list[str]], directive: str, url: str | None) -> bool:
    """Whether ``policy`` lets the page load ``url`` (None: inline) under ``directive``."""
    sources = policy.get(directive, policy.get("default-src", []))
    if url is None:
        return "'unsafe-inline'" in sources
    parts = urlsplit(url)
    if not parts.netloc:
        return "'self'" in sources
    return f"{parts.scheme}://{parts.netloc}" in sources or f"{parts.scheme}:" in sources


def test_docs_page_policy_allows_what_it_loads(stack: Stack) -> None:
    """The API docs still work under the Content-Security-Policy: every script, stylesheet and
    icon the page loads, and its inline start-up script, are allowed; JSON stays locked down."""
    docs = stack.nginx.request("GET", "/docs")
    assert docs.status == 200
    assert_security_headers(docs, policy="default-src 'none'; script-src")
    policy = csp_directives(docs.headers["content-security-policy"])
    page = docs.text

    scripts = re.findall(r"<script(?:\s+src=\"([^\"]+)\")?\s*>", page)
    assert scripts
    for source in scripts:
        assert csp_allows(policy, "script-src", source or None), source
    links = re.findall(r"<link\b[^>]*>", page)
    for link in links:
        href = re.search(r'href="([^"]+)"', link)
        assert href is not None
        directive = "style-src" if "stylesheet" in link else "img-src"
        assert csp_allows(policy, directive, href.group(1)), link
    assert csp_allows(policy, "connect-src", "/openapi.json")

    schema = stack.nginx.request("GET", "/openapi.json")
    assert schema.status == 200
    assert_security_headers(schema)


def test_body_size_limit(stack: Stack) -> None:
    """nginx refuses bodies over its limit, which is a little over the API's own upload limit,
    so uploads the API accepts pass."""
    document_limit = get_settings().MAX_DOCUMENT_BYTES
    setting = re.search(r"client_max_body_size (\d+)m;", TEMPLATE.read_text(encoding="utf-8"))
    assert setting is not None
    nginx_limit = int(setting.group(1)) * 1024 * 1024
    assert document_limit < nginx_limit <= document_limit + 2 * 1024 * 1024

    too_big = stack.nginx.request(
        "POST",
        "/api/v1/lots/1/documents",
        body=b"x" * (nginx_limit + 1),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_problem(too_big, 413, "payload-too-large")
    assert_security_headers(too_big)

    # an upload of the largest document the API accepts, as a browser sends it
    boundary = "dfims-upload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="certificate.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    )
    fits = stack.nginx.request(
        "POST",
        "/api/v1/lots/1/documents",
        body=head.encode() + b"x" * document_limit + f"\r\n--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(fits, 401, "authentication-failed")
    too_big_entry, fits_entry = stack.nginx.entries_of([too_big, fits])
    assert too_big_entry.upstreams == []
    assert len(fits_entry.upstreams) == 1


def test_login_rate_limit_per_address(stack: Stack) -> None:
    nginx = stack.nginx
    flooding, other = "127.0.0.20", "127.0.0.21"
    statuses = []
    limited = None
    for attempt in range(20):  # a new email each time: no lockout of one account first
        answer = nginx.login(f"nobody{attempt}@example.com", "not the password", flooding)
        statuses.append(answer.status)
        if answer.status == 429:
            limited = answer
            break
    assert statuses[0] == 401, statuses
    assert limited is not None, statuses
    assert set(statuses[:-1]) == {401}, statuses
    body = assert_problem(limited, 429, "too-many-requests")
    assert body["request_id"] == limited.request_id
    assert int(limited.headers["retry-after"]) > 0
    assert_security_headers(limited)

    assert nginx.request("GET", "/health", source=flooding).status == 200
    assert nginx.request("GET", LOGIN, source=flooding).status == 405
    assert nginx.login("nobody@example.com", "not the password", other).status == 401
    (entry,) = nginx.entries_of([limited])
    assert entry.upstreams == []
    assert f'"POST {LOGIN} HTTP/1.1" 429 ' in entry.line


def test_api_sees_the_client_address(stack: Stack) -> None:
    """The replicas log the client's address, not nginx's, and a forged X-Forwarded-For from
    the client changes nothing."""
    client = "127.0.0.50"
    forged = {"X-Forwarded-For": "203.0.113.7"}
    answer = stack.nginx.request("GET", "/api/v1/users/12345", headers=forged, source=client)
    assert answer.status == 401
    assert answer.headers["x-request-id"] == answer.request_id
    assert stack.api_log_of(answer.request_id, "app.request")["client_ip"] == client

    failed = stack.nginx.request(
        "POST",
        LOGIN,
        body=urlencode({"username": "nobody@example.com", "password": "wrong"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **forged},
        source=client,
    )
    assert failed.status == 401
    assert stack.api_log_of(failed.request_id, "app.auth")["client_ip"] == client


def test_metrics_only_from_allowed_addresses(stack: Stack) -> None:
    allowed = stack.nginx.request("GET", "/metrics")
    assert allowed.status == 200
    assert "api_requests_total" in allowed.text

    for headers in ({}, {"X-Forwarded-For": "10.0.0.1", "X-Real-IP": "10.0.0.1"}):
        refused = stack.nginx.request("GET", "/metrics", headers=headers, source="127.0.0.60")
        assert_problem(refused, 403, "permission-denied")
        assert_security_headers(refused)


def test_maintenance_mode(stack: Stack) -> None:
    nginx = stack.nginx
    folder = str(nginx.maintenance_dir)
    json_headers = {"Content-Type": "application/json"}
    requests: list[tuple[str, str, bytes | None, dict[str, str]]] = [
        ("GET", "/", None, {}),
        ("GET", "/api/v1/products?page=1", None, {}),
        ("GET", "/api/v1/health/database", None, {}),
        ("GET", "/docs", None, {}),
        ("GET", "/metrics", None, {}),
        ("GET", "/health/", None, {}),
        ("POST", LOGIN, b"username=a%40b.c&password=x", {}),
        ("POST", "/api/v1/orders", b"{}", json_headers),
        ("PUT", "/api/v1/products/1/image", b"x" * 1024, {}),
        ("DELETE", "/api/v1/users/1", None, {}),
    ]
    with maintenance(nginx):
        assert run_maintenance("status", "--dir", folder).stdout.startswith("Maintenance is on")
        answers = [
            nginx.request(method, path, body=body, headers=headers, source="127.0.0.70")
            for method, path, body, headers in requests
        ]
        for answer, (method, path, _, _) in zip(answers, requests, strict=True):
            body = assert_problem(answer, 503, "maintenance")
            assert "maintenance" in body["detail"], (method, path)
            assert body["request_id"] == answer.request_id
            assert int(answer.headers["retry-after"]) > 0, (method, path)
            assert_security_headers(answer)
        assert all(entry.upstreams == [] for entry in nginx.entries_of(answers))

        health = nginx.request("GET", "/health")
        assert health.status == 200
        assert "retry-after" not in health.headers
        assert http_request(nginx.http_port, "GET", "/health").status == 200

    assert run_maintenance("status", "--dir", folder).stdout == "Maintenance is off.\n"
    back = nginx.request("GET", "/api/v1/health/database")
    assert back.status == 200, back.text
    assert "retry-after" not in back.headers
    assert nginx.login("nobody@example.com", "x", source="127.0.0.71").status == 401


def test_access_log_format(stack: Stack) -> None:
    """What the operators' guide greps for: request_time, upstream timing and replica."""
    nginx = stack.nginx
    login = nginx.login("nobody@example.com", "not the password", "127.0.0.40")
    health = nginx.request("GET", "/health", source="127.0.0.40")
    assert (login.status, health.status) == (401, 200)

    for entry, method, path in zip(
        nginx.entries_of([login, health]), ["POST", "GET"], [LOGIN, "/health"], strict=True
    ):
        assert entry.client == "127.0.0.40"
        assert entry.request == f"{method} {path} HTTP/1.1"
        assert float(entry.fields["request_time"]) >= 0
        assert float(entry.fields["upstream_response_time"]) >= 0
        assert entry.fields["upstream_status"] == str(entry.status)
        (upstream,) = entry.upstreams
        assert upstream in {stack.address(replica) for replica in stack.replicas}
        assert "request_time=" in entry.line
        assert "upstream_response_time=" in entry.line
    assert f'"POST {LOGIN} HTTP/1.1" 401 ' in nginx.entries_of([login])[0].line

    lines = nginx.access_log.read_text().splitlines()
    assert all("request_time=" in line and "upstream_response_time=" in line for line in lines)


# -- losing replicas, on a stack of its own ----------------------------------------------------


def kill(replica: Server) -> None:
    """SIGKILL the replica's process group, as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(replica.process.pid, signal.SIGKILL)
    replica.process.wait(timeout=STOP_TIMEOUT)


def test_replicas_fail_over(tmp_path: Path) -> None:
    """With one replica killed and then a second, every request still gets its answer: nginx
    retries on the next replica, including POSTs, whose connection was refused before sending."""
    with replicated_stack(tmp_path) as stack:
        nginx = stack.nginx
        token = admin_token(nginx, source="127.0.0.80")
        live = list(stack.replicas)
        for victim in stack.replicas[:2]:
            kill(victim)
            live.remove(victim)
            answers = []
            for number in range(REQUESTS):
                if number % 2:
                    answers.append(
                        nginx.request(
                            "POST",
                            "/api/v1/auth/refresh",
                            body=json.dumps({"refresh_token": "not-a-token"}).encode(),
                            headers={"Content-Type": "application/json"},
                        )
                    )
                else:
                    answers.append(nginx.request("GET", "/api/v1/users/me", headers=bearer(token)))
            statuses = [answer.status for answer in answers]
            assert statuses == [200, 401] * (REQUESTS // 2), statuses

            entries = nginx.entries_of(answers)
            live_addresses = {stack.address(replica) for replica in live}
            assert {entry.upstreams[-1] for entry in entries} <= live_addresses
            retried = [entry for entry in entries if stack.address(victim) in entry.upstreams]
            assert retried, "nginx never tried the killed replica"
            assert all(entry.upstreams[-1] in live_addresses for entry in retried)


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


@contextlib.contextmanager
def dropping_upstream(reply: bytes = b"") -> Iterator[DroppingUpstream]:
    server = DroppingUpstream(reply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_TIMEOUT)


def test_a_sent_post_is_never_replayed(tmp_path: Path, test_env: dict[str, str]) -> None:
    """A POST that reached a replica which then failed answers 502 and goes to no other one;
    a GET in the same case is retried on the next replica."""
    with (
        dropping_upstream() as dropper,
        running_server(test_env) as replica,
        running_nginx(tmp_path, [f"{HOST}:{replica.port}", dropper.address]) as nginx,
    ):
        healthy = f"{HOST}:{replica.port}"
        posts: list[Answer] = []
        while dropper.seen("POST") == 0 and len(posts) < 4:
            posts.append(nginx.request("POST", "/api/v1/auth/logout"))
        assert dropper.seen("POST") == 1
        *served, dropped = posts
        assert_problem(dropped, 502, "bad-gateway")
        assert_security_headers(dropped)
        assert all(answer.status == 401 for answer in served)
        entries = nginx.entries_of(posts)
        assert entries[-1].upstreams == [dropper.address]
        assert all(entry.upstreams == [healthy] for entry in entries[:-1])

        gets: list[Answer] = []
        while dropper.seen("GET") == 0 and len(gets) < 4:
            gets.append(nginx.request("GET", "/health"))
        assert dropper.seen("GET") == 1
        assert all(answer.status == 200 for answer in gets)
        assert nginx.entries_of(gets)[-1].upstreams == [dropper.address, healthy]


UNAVAILABLE = json.dumps(
    {"type": "urn:dfims:problem:service-unavailable", "title": "Service unavailable", "status": 503}
).encode()


def test_the_apis_own_503_passes_through_unretried(
    tmp_path: Path, test_env: dict[str, str]
) -> None:
    """A replica answering 503 (its database is down) is answered as it is, Retry-After and
    all, and neither retried elsewhere nor benched: nginx never turns it into its own 502."""
    reply = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
        b"Retry-After: 2\r\nConnection: close\r\n"
        + f"Content-Length: {len(UNAVAILABLE)}\r\n\r\n".encode()
        + UNAVAILABLE
    )
    with (
        dropping_upstream(reply) as unavailable,
        running_server(test_env) as replica,
        running_nginx(tmp_path, [f"{HOST}:{replica.port}", unavailable.address]) as nginx,
    ):
        before = unavailable.seen("GET")
        answers = [nginx.request("GET", "/api/v1/health/database") for _ in range(8)]
        refused = [answer for answer in answers if answer.status == 503]
        assert {answer.status for answer in answers} == {200, 503}
        assert len(refused) == unavailable.seen("GET") - before >= 3  # never benched
        for answer in refused:
            assert answer.headers["retry-after"] == "2"
            assert answer.json()["type"] == "urn:dfims:problem:service-unavailable"
        for entry, answer in zip(nginx.entries_of(answers), answers, strict=True):
            assert len(entry.upstreams) == 1, entry  # answered by the first replica tried
            assert (entry.upstreams[0] == unavailable.address) == (answer.status == 503)


def test_web_pages_policy_allows_their_own_files_only(stack: Stack) -> None:
    page = stack.nginx.request("GET", "/login")
    assert page.status == 200
    assert_security_headers(page)
    policy = csp_directives(page.headers["content-security-policy"])
    assert policy["style-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    for stylesheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text):
        assert stylesheet.startswith("/static/")
        answer = stack.nginx.request("GET", stylesheet)
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/css")
    assert "<script>" not in page.text
    assert " style=" not in page.text
