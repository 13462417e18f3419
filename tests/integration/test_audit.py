"""The dependency audit fails on a known vulnerability of a locked package, against an OSV
server on this machine that answers as the advisory database would."""

import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.helpers import HOST, PYTHON, free_port

pytestmark = pytest.mark.system

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


def _audit(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "scripts/ci/audit.py"],
        cwd=ROOT,
        env=dict(env),
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
    result = _audit({**test_env, "AUDIT_OSV_URL": url})
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
    result = _audit({**test_env, "AUDIT_OSV_URL": url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 known vulnerabilities, 0 not checked" in result.stdout
    assert len(advisories.queries) > 50  # the service's and the tools' locked packages


def test_an_unreachable_advisory_server_fails_the_audit_in_one_line(
    test_env: dict[str, str],
) -> None:
    closed = f"http://{HOST}:{free_port()}/v1/query"
    result = _audit({**test_env, "AUDIT_OSV_URL": closed})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audit: pip-audit failed")
