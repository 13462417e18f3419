"""The dependency audit fails on a known vulnerability of a locked package, against an OSV
server on this machine that answers as the advisory database would; it fails too when it could
not check the packages (an advisory service it cannot reach, or a registry proxy that does not
serve PyPI's advisories), unless AUDIT_OFFLINE_OK=1 makes that a warning."""

import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.servers import COMMAND_TIMEOUT, HOST, PYTHON, free_port

pytestmark = pytest.mark.system

OFFLINE_OK = "AUDIT_OFFLINE_OK"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")

ADVISORY = {
    "id": "GHSA-test-0000-0000",
    "summary": "A flaw in the locked release",
    "affected": [
        {
            "package": {"name": "starlette", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


class _Advisories:
    """What the OSV server answers: advisories by package name, and the queries it got."""

    def __init__(self) -> None:
        self.by_package: dict[str, list[dict[str, Any]]] = {}
        self.queries: list[dict[str, Any]] = []


@pytest.fixture
def osv() -> Iterator[tuple[str, _Advisories]]:
    """An OSV query endpoint on a free loopback port."""
    advisories = _Advisories()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            advisories.queries.append(query)
            found = advisories.by_package.get(query["package"]["name"], [])
            body = json.dumps({"vulns": found} if found else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/v1/query", advisories
    finally:
        server.shutdown()
        server.server_close()


def _read_head(connection: socket.socket) -> str:
    """Read an HTTP request's line and headers (these requests have no body); the line."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n", 1)[0].decode("latin-1")


@dataclass(frozen=True)
class RegistryProxy:
    """What sends pip-audit's PyPI service through the proxy, and the requests it got there."""

    env: dict[str, str]
    requests: list[str]


@pytest.fixture
def registry_proxy(tmp_path: Path) -> Iterator[RegistryProxy]:
    """The network of a machine that reaches PyPI only through a package registry proxy, which
    answers 404 to PyPI's advisory API (pypi.org/pypi/NAME/VERSION/json): such a proxy on
    loopback, with a certificate for pypi.org that the audit is told to trust."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed: apt-get install openssl"
    cert, key = tmp_path / "pypi.pem", tmp_path / "pypi.key"
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-nodes", "-days", "2", "-subj", "/CN=pypi.org"]
    command += ["-addext", "subjectAltName=DNS:pypi.org", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, capture_output=True, check=True, timeout=COMMAND_TIMEOUT)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    requests: list[str] = []

    class Tunnel(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            _read_head(self.request)  # CONNECT pypi.org:443
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with context.wrap_socket(self.request, server_side=True) as tls:
                requests.append(_read_head(tls))
                tls.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    server = socketserver.ThreadingTCPServer((HOST, free_port()), Tunnel)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = f"http://{HOST}:{server.server_address[1]}"
    try:
        yield RegistryProxy(
            env={
                "HTTPS_PROXY": proxy,
                "https_proxy": proxy,
                "REQUESTS_CA_BUNDLE": str(cert),
                "XDG_CACHE_HOME": str(tmp_path / "cache"),  # nothing cached by earlier audits
            },
            requests=requests,
        )
    finally:
        server.shutdown()
        server.server_close()


def _audit(env: Mapping[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the audit in ``env`` without proxy settings or AUDIT_OFFLINE_OK, then ``extra``."""
    clean = {key: value for key, value in env.items() if key not in (*PROXY_VARIABLES, OFFLINE_OK)}
    return subprocess.run(
        [str(PYTHON), "scripts/ci/audit.py"],
        cwd=ROOT,
        env={**clean, **extra},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_known_vulnerability_fails_the_audit(
    osv: tuple[str, _Advisories], test_env: dict[str, str]
) -> None:
    url, advisories = osv
    advisories.by_package["starlette"] = [ADVISORY]
    result = _audit(test_env, AUDIT_OSV_URL=url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "starlette" in result.stderr
    assert "GHSA-test-0000-0000" in result.stderr
    assert "fixed in 99.0" in result.stderr
    assert "1 known vulnerabilities" in result.stdout
    assert "fastapi" in {query["package"]["name"] for query in advisories.queries}


def test_a_clean_lock_passes_and_every_dependency_is_checked(
    osv: tuple[str, _Advisories], test_env: dict[str, str]
) -> None:
    url, advisories = osv
    result = _audit(test_env, AUDIT_OSV_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 known vulnerabilities, 0 not checked" in result.stdout
    assert len(advisories.queries) > 50  # the service's and the tools' locked packages


def test_a_known_vulnerability_fails_the_audit_even_where_offline_is_accepted(
    osv: tuple[str, _Advisories], test_env: dict[str, str]
) -> None:
    url, advisories = osv
    advisories.by_package["starlette"] = [ADVISORY]
    result = _audit(test_env, AUDIT_OSV_URL=url, AUDIT_OFFLINE_OK="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "GHSA-test-0000-0000" in result.stderr
    assert "warning" not in result.stderr


def test_an_unreachable_advisory_server_fails_the_audit_in_one_line(
    test_env: dict[str, str],
) -> None:
    closed = f"http://{HOST}:{free_port()}/v1/query"
    result = _audit(test_env, AUDIT_OSV_URL=closed)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit: error: no locked dependency could be checked")
    assert f"set {OFFLINE_OK}=1" in lines[0]


def test_an_unreachable_advisory_server_is_a_warning_where_offline_is_accepted(
    test_env: dict[str, str],
) -> None:
    closed = f"http://{HOST}:{free_port()}/v1/query"
    result = _audit(test_env, AUDIT_OSV_URL=closed, AUDIT_OFFLINE_OK="1")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit: warning: no locked dependency could be checked")


def test_advisories_a_registry_proxy_does_not_serve_fail_the_audit(
    registry_proxy: RegistryProxy, test_env: dict[str, str]
) -> None:
    result = _audit(test_env, **registry_proxy.env)
    assert any(line.startswith("GET /pypi/fastapi/") for line in registry_proxy.requests)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ", 0 checked, 0 known vulnerabilities, " in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit: error: ")
    assert "locked dependencies could not be checked" in lines[0]


def test_advisories_a_registry_proxy_does_not_serve_are_a_warning_where_offline_is_accepted(
    registry_proxy: RegistryProxy, test_env: dict[str, str]
) -> None:
    result = _audit(test_env, **registry_proxy.env, AUDIT_OFFLINE_OK="1")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit: warning: ")
    assert "locked dependencies could not be checked" in lines[0]
