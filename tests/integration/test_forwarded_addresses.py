"""Whose address the service sees. By default a real ``dfims serve`` or gunicorn trusts no
proxy: a request from 127.0.0.1 that sends X-Forwarded-For is logged, audited and throttled as
127.0.0.1, so nothing else on the host can choose the address the login throttle counts (nor
claim HTTPS with X-Forwarded-Proto). With FORWARDED_ALLOW_IPS naming the proxy (127.0.0.1 for
nginx on the same host), the forwarded address is the client's."""

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from app.core.config import Settings
from bench.stack import running_api
from tests.conftest import ROOT
from tests.support.servers import HOST, HttpResponse, http_request, running_server

LOGIN = "/api/v1/auth/login"
LIMIT = 2
FORWARDED = ("203.0.113.7", "203.0.113.8", "203.0.113.9")
LOG_WAIT = 10.0


@dataclass(frozen=True)
class Running:
    """A running API process: its port and everything it logged so far."""

    port: int
    output: Callable[[], str]

    def log_in(self, forwarded_for: str) -> tuple[HttpResponse, str]:
        """A wrong password for an email of its own (no account lockout comes into it),
        claiming to come from ``forwarded_for``; the answer and its request id."""
        request_id = uuid.uuid4().hex
        body = {"username": f"nobody-{request_id}@example.com", "password": "not the password"}
        response = http_request(
            self.port,
            "POST",
            LOGIN,
            body=urlencode(body).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": forwarded_for,
                "X-Request-ID": request_id,
            },
        )
        return response, request_id

    def claiming_https(self) -> HttpResponse:
        """/health asked over plain HTTP with X-Forwarded-Proto: https (TLS ended by a proxy)."""
        return http_request(self.port, "GET", "/health", headers={"X-Forwarded-Proto": "https"})

    def client_ips(self, request_id: str) -> dict[str, str]:
        """The client address each logger wrote for ``request_id`` (request and auth lines)."""
        deadline = time.monotonic() + LOG_WAIT
        while True:
            found = {
                entry["logger"]: entry["client_ip"]
                for entry in self._entries()
                if entry.get("request_id") == request_id and "client_ip" in entry
            }
            if {"app.request", "app.auth"} <= set(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _entries(self) -> Iterator[dict[str, Any]]:
        for line in self.output().splitlines():
            if line.startswith("{"):
                entry: dict[str, Any] = json.loads(line)
                yield entry


@contextlib.contextmanager
def dfims_serve(env: dict[str, str], _: Path) -> Iterator[Running]:
    """``dfims serve`` with ``env``."""
    with running_server(env) as server:
        yield Running(server.port, server.output)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], folder: Path) -> Iterator[Running]:
    """gunicorn with the configuration the container runs, and ``env``."""
    metrics = folder / "metrics"
    metrics.mkdir()
    log = folder / "gunicorn.out"
    with running_api({**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, 1, log) as api:
        yield Running(api.port, lambda: log.read_text(errors="replace"))


SERVERS = {"dfims serve": dfims_serve, "gunicorn": gunicorn}


def environment(test_env: dict[str, str], trusted: str | None) -> dict[str, str]:
    """The test settings with a small per-address limit and FORWARDED_ALLOW_IPS as given."""
    env = {key: value for key, value in test_env.items() if key != "FORWARDED_ALLOW_IPS"}
    env["LOGIN_FAILURES_PER_ADDRESS"] = str(LIMIT)
    if trusted is not None:
        env["FORWARDED_ALLOW_IPS"] = trusted
    return env


@pytest.mark.parametrize("server", list(SERVERS))
def test_by_default_a_forwarded_address_is_not_believed(
    test_env: dict[str, str], tmp_path: Path, server: str
) -> None:
    with SERVERS[server](environment(test_env, None), tmp_path) as api:
        for attempt, claimed in enumerate(FORWARDED):
            response, request_id = api.log_in(claimed)
            if attempt < LIMIT:
                assert response.status == 401, response.text
                assert api.client_ips(request_id) == {"app.request": HOST, "app.auth": HOST}
            else:  # every claimed address was counted as the real one
                assert response.status == 429, response.text
                assert api.client_ips(request_id)["app.request"] == HOST
        assert "strict-transport-security" not in api.claiming_https().headers


@pytest.mark.parametrize("server", list(SERVERS))
def test_a_trusted_proxy_names_the_client(
    test_env: dict[str, str], tmp_path: Path, server: str
) -> None:
    with SERVERS[server](environment(test_env, HOST), tmp_path) as api:
        for claimed in FORWARDED:
            response, request_id = api.log_in(claimed)
            assert response.status == 401, response.text
            assert api.client_ips(request_id) == {"app.request": claimed, "app.auth": claimed}

        for _ in range(LIMIT - 1):  # the first address reaches the limit on its own
            assert api.log_in(FORWARDED[0])[0].status == 401
        response, _ = api.log_in(FORWARDED[0])
        assert response.status == 429, response.text
        assert api.log_in(FORWARDED[1])[0].status == 401
        assert api.claiming_https().headers["strict-transport-security"].startswith("max-age=")


def test_only_the_deployments_behind_nginx_believe_a_proxy() -> None:
    """The service alone believes no proxy; the compose stack believes its nginx, and a host
    deploy (the settings example, scripts/deploy.sh --local) the nginx on loopback."""
    assert Settings.model_fields["FORWARDED_ALLOW_IPS"].default == ""
    stack = yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text(encoding="utf-8"))
    assert stack["services"]["api"]["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    example = (ROOT / ".env.prod.example").read_text(encoding="utf-8").splitlines()
    assert "FORWARDED_ALLOW_IPS=127.0.0.1" in example
    deploy = (ROOT / "scripts" / "deploy.sh").read_text(encoding="utf-8")
    assert 'FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS-127.0.0.1}"' in deploy
    development = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert "FORWARDED_ALLOW_IPS" not in development["services"]["api"].get("environment", {})
