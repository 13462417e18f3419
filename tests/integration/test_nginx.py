"""nginx/nginx.conf in front of three real API processes on one PostgreSQL database with Redis:
rendered for loopback by scripts/render_nginx.py, checked with ``nginx -t`` and run over HTTPS
with a self-signed certificate; scripts/maintenance.sh switches its maintenance mode.

The tests that log in send from a loopback address of their own (127.0.0.x): the per-address
login limit one of them reaches never touches another."""

import contextlib
import re
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from app.core.config import get_settings
from tests.conftest import (
    bearer,
)
from tests.integration.nginx_stack import (
    ADMIN_EMAIL,
    LOGIN,
    REQUESTS,
    TEMPLATE,
    Nginx,
    Stack,
    admin_token,
    assert_security_headers,
    read_answer,
    replicated_stack,
    run_maintenance,
)
from tests.support.problems import assert_problem
from tests.support.servers import (
    HOST,
    http_request,
)

pytestmark = [pytest.mark.system, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack the non-destructive tests share; they leave maintenance mode off."""
    with replicated_stack(tmp_path_factory.mktemp("nginx-stack")) as running:
        yield running


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
