"""Security headers on every kind of response (the API, its errors, health, metrics, the
schema, the docs, the pages and the static files), the Content-Security-Policy of each kind of
path, no caching of API answers, HSTS only over HTTPS, CORS only for configured origins, and no
response that names the software behind it or leaks a traceback."""

import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from httpx2 import Response

from app.api import security_headers
from app.core.config import get_settings
from app.main import create_app
from app.models.user import Role
from bench.stack import running_api
from tests.conftest import PASSWORD, ROOT, MakeUser, bearer, login
from tests.support.pages import Node, logged_in, parse
from tests.support.problems import assert_problem
from tests.support.servers import (
    HOST,
    http_request,
    running_server,
)

API = "/api/v1"
LOGIN = f"{API}/auth/login"
ME = f"{API}/users/me"
USERS = f"{API}/users"
EVIL_ORIGIN = "https://evil.example"
ALLOWED_ORIGIN = "https://shop.example"
ONE_YEAR = 365 * 24 * 3600

# Every response carries these, whatever it is.
COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
API_CLASS = "api"
DOCS_CLASS = "docs"
PAGE_CLASS = "page"
POLICIES = {
    API_CLASS: security_headers.API_POLICY,
    DOCS_CLASS: security_headers.DOCS_POLICY,
    PAGE_CLASS: security_headers.PAGE_POLICY,
}
# Words that name the software (or a traceback) and must never reach a client.
REVEALING = re.compile(
    r"traceback|File \"|\.py\b|site-packages|python|uvicorn|gunicorn|starlette|fastapi|"
    r"sqlalchemy|pydantic|psycopg|h11|httptools|RuntimeError|" + re.escape(str(ROOT)),
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- helpers


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: [sources]}."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"{words[0]} given twice in {policy!r}"
            parsed[words[0]] = words[1:]
    return parsed


def assert_secured(response: Response, path_class: str) -> None:
    """The common headers, the policy of ``path_class``, and nothing naming the server."""
    for name, value in COMMON.items():
        assert response.headers.get_list(name) == [value], (name, response.headers)
    permissions = response.headers["permissions-policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions
    assert response.headers.get_list("content-security-policy") == [POLICIES[path_class]]
    assert "server" not in response.headers
    assert "x-powered-by" not in response.headers


def assert_api_not_cached(response: Response) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers


def assert_no_hsts(response: Response) -> None:
    assert "strict-transport-security" not in response.headers


def assert_hsts(response: Response) -> None:
    [hsts] = response.headers.get_list("strict-transport-security")
    match = re.fullmatch(r"max-age=(\d+)(;.*)?", hsts)
    assert match, hsts
    assert int(match.group(1)) >= ONE_YEAR


@dataclass(frozen=True)
class Callers:
    """Bearer headers of an admin and of a customer."""

    admin: dict[str, str]
    customer: dict[str, str]


@pytest.fixture
def callers(client: TestClient, make_user: MakeUser) -> Callers:
    admin = make_user(role=Role.ADMIN)
    customer = make_user(role=Role.CUSTOMER)
    return Callers(
        admin=bearer(login(client, admin.email)["access_token"]),
        customer=bearer(login(client, customer.email)["access_token"]),
    )


def _register(client: TestClient, _: Callers) -> Response:
    return client.post(
        f"{API}/auth/register",
        json={
            "email": f"buyer-{uuid.uuid4().hex[:8]}@example.com",
            "password": "a long enough passphrase 7",
            "full_name": "Headers Buyer",
        },
    )


# (request, status, path class, whether it is an API answer)
Sample = tuple[Callable[[TestClient, Callers], Response], int, str, bool]
SAMPLES: dict[str, Sample] = {
    "200 json": (lambda c, who: c.get(ME, headers=who.admin), 200, API_CLASS, True),
    "202": (_register, 202, API_CLASS, True),
    "204": (lambda c, who: c.post(f"{API}/auth/logout", headers=who.admin), 204, API_CLASS, True),
    "401": (lambda c, _: c.get(ME), 401, API_CLASS, True),
    "403": (lambda c, who: c.get(USERS, headers=who.customer), 403, API_CLASS, True),
    "404 api": (lambda c, _: c.get(f"{API}/no-such-thing"), 404, API_CLASS, True),
    "405": (lambda c, _: c.get(LOGIN), 405, API_CLASS, True),
    "422": (
        lambda c, _: c.post(LOGIN, data={"username": "someone@example.com"}),
        422,
        API_CLASS,
        True,
    ),
    "health": (lambda c, _: c.get("/health"), 200, API_CLASS, False),
    "api health": (lambda c, _: c.get(f"{API}/health/database"), 200, API_CLASS, True),
    "metrics": (lambda c, _: c.get("/metrics"), 200, API_CLASS, False),
    "openapi": (lambda c, _: c.get("/openapi.json"), 200, API_CLASS, False),
    "docs": (lambda c, _: c.get("/docs"), 200, DOCS_CLASS, False),
    "docs oauth2 redirect": (
        lambda c, _: c.get("/docs/oauth2-redirect"),
        200,
        DOCS_CLASS,
        False,
    ),
    "redoc": (lambda c, _: c.get("/redoc"), 200, DOCS_CLASS, False),
    "login page": (lambda c, _: c.get("/login"), 200, PAGE_CLASS, False),
    "redirect": (lambda c, _: c.get("/", follow_redirects=False), 303, PAGE_CLASS, False),
    "404 page": (lambda c, _: c.get("/no-such-page"), 404, PAGE_CLASS, False),
    "static file": (lambda c, _: c.get("/static/css/app.css"), 200, PAGE_CLASS, False),
    "static 404": (lambda c, _: c.get("/static/css/missing.css"), 404, PAGE_CLASS, False),
}


# --------------------------------------------------------------------------- every response


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_kind_of_response_carries_the_headers(
    client: TestClient, callers: Callers, name: str
) -> None:
    request, status, path_class, is_api = SAMPLES[name]

    response = request(client, callers)

    assert response.status_code == status, response.text
    assert_secured(response, path_class)
    assert_no_hsts(response)
    if is_api:
        assert_api_not_cached(response)


@pytest.mark.parametrize("name", ["200 json", "401", "404 api", "login page", "static file"])
def test_https_responses_carry_hsts(callers: Callers, name: str) -> None:
    request, status, path_class, _ = SAMPLES[name]
    with TestClient(
        create_app(), base_url="https://testserver", raise_server_exceptions=False
    ) as https:
        response = request(https, callers)

    assert response.status_code == status, response.text
    assert_secured(response, path_class)
    assert_hsts(response)


def test_a_token_answer_is_never_cached(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()

    response = client.post(LOGIN, data={"username": user.email, "password": PASSWORD})

    assert response.status_code == 200, response.text
    assert response.json()["access_token"]
    assert_api_not_cached(response)
    assert_secured(response, API_CLASS)
    refreshed = client.post(
        f"{API}/auth/refresh", json={"refresh_token": response.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert_api_not_cached(refreshed)


def test_refused_logins_carry_the_headers(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    answers = [
        client.post(LOGIN, data={"username": user.email, "password": f"wrong {n}"})
        for n in range(get_settings().MAX_FAILED_LOGINS)
    ]

    assert [answer.status_code for answer in answers][-1] == 423
    for answer in answers:
        assert_secured(answer, API_CLASS)
        assert_api_not_cached(answer)
    assert int(answers[-1].headers["retry-after"]) > 0


# --------------------------------------------------------------------------- unexpected errors


@pytest.fixture
def failing_login(monkeypatch: pytest.MonkeyPatch) -> str:
    """The API login fails with an unexpected error that names files and libraries."""
    secret = "secret-detail-4711"

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError(
            f"{secret} in /srv/dfims/app/services/auth.py (sqlalchemy 2.0, python 3.12)"
        )

    monkeypatch.setattr("app.services.auth.login", boom)
    return secret


def test_an_unexpected_api_error_carries_the_headers_and_no_traceback(
    client: TestClient, failing_login: str
) -> None:
    response = client.post(LOGIN, data={"username": "a@example.com", "password": "whatever"})

    body = assert_problem(response, 500)
    assert_secured(response, API_CLASS)
    assert_api_not_cached(response)
    assert failing_login not in response.text
    assert not REVEALING.search(response.text), response.text
    assert set(body) <= {"type", "title", "status", "detail", "request_id", "instance"}
    for name, value in response.headers.items():
        assert not REVEALING.search(f"{name}: {value}"), (name, value)


def test_an_unexpected_error_of_a_page_carries_the_page_headers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("secret-page-detail in /srv/dfims/app/web/pages/auth.py")

    monkeypatch.setattr("app.web.pages.auth._login_page", boom)

    response = client.get("/login")

    assert response.status_code == 500
    assert_secured(response, PAGE_CLASS)
    assert "secret-page-detail" not in response.text
    assert not REVEALING.search(response.text), response.text


# --------------------------------------------------------------------------- what a route sets


@pytest.fixture
def own_headers_client() -> Iterator[TestClient]:
    """A fresh app with routes that set security headers of their own."""
    app = create_app()

    @app.get(f"{API}/test-only/own-headers")
    def own_headers() -> JSONResponse:
        return JSONResponse(
            {"ok": True},
            headers={
                "Cache-Control": "private, max-age=60",
                "x-frame-options": "SAMEORIGIN",
                "Content-Security-Policy": "default-src 'self'",
                "Referrer-Policy": "same-origin",
            },
        )

    @app.get("/test-only/page-headers")
    def page_headers() -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"Content-Security-Policy": "sandbox"})

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_header_set_by_the_route_is_kept(own_headers_client: TestClient) -> None:
    response = own_headers_client.get(f"{API}/test-only/own-headers")

    assert response.status_code == 200, response.text
    assert response.headers.get_list("cache-control") == ["private, max-age=60"]
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == ["default-src 'self'"]
    assert response.headers.get_list("referrer-policy") == ["same-origin"]
    # What the route left alone is still added.
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("cross-origin-opener-policy") == ["same-origin"]

    page = own_headers_client.get("/test-only/page-headers")
    assert page.headers.get_list("content-security-policy") == ["sandbox"]
    assert page.headers.get_list("x-frame-options") == ["DENY"]


def test_the_pages_own_no_store_is_sent_once(client: TestClient) -> None:
    response = client.get("/login")

    assert response.headers.get_list("cache-control") == ["no-store"]


# --------------------------------------------------------------------------- downloads

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass(frozen=True)
class Downloads:
    """A product with a picture and a lot with a document, made through the API."""

    product: int
    lot: int
    document: int


@pytest.fixture
def downloads(client: TestClient, callers: Callers) -> Downloads:
    def made(response: Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    h = callers.admin
    product = made(
        client.post(
            f"{API}/products",
            json={"sku": "CACHE-1", "name": "Cached", "unit": "kg", "net_weight_kg": "1"},
            headers=h,
        )
    )["id"]
    made(client.put(f"{API}/products/{product}/image", files={"file": ("p.png", PNG)}, headers=h))
    warehouse = made(
        client.post(f"{API}/warehouses", json={"code": "CACHE", "name": "Cache"}, headers=h)
    )["id"]
    receipt = {"product_id": product, "warehouse_id": warehouse, "lot_code": "C-1", "quantity": "1"}
    lot = made(client.post(f"{API}/stock/receipts", json=receipt, headers=h))["movements"][0][
        "lot_id"
    ]
    document = made(
        client.post(f"{API}/lots/{lot}/documents", files={"file": ("c.pdf", PDF)}, headers=h)
    )["id"]
    return Downloads(product=product, lot=lot, document=document)


PAGE_DOWNLOADS = {
    "lot document": "/lots/{lot}/documents/{document}",
    "product image": "/products/{product}/image",
    "lot trace csv": "/lots/{lot}/trace.csv",
    **{
        f"{name} csv": f"/reports/{name}.csv"
        for name in ("kpis", "top-products", "valuation", "expiring", "slow-movers")
    },
}
API_DOWNLOADS = {
    "lot document": f"{API}/lots/{{lot}}/documents/{{document}}",
    "product image": f"{API}/products/{{product}}/image",
    "lot trace csv": f"{API}/trace/lots/{{lot}}?format=csv",
    "valuation csv": f"{API}/reports/stock-valuation?format=csv",
}


@pytest.mark.parametrize("name", list(PAGE_DOWNLOADS))
def test_a_page_download_is_never_cached(
    client: TestClient, make_user: MakeUser, downloads: Downloads, name: str
) -> None:
    """Files and CSVs behind the pages' login are no-store like the pages themselves."""
    logged_in(client, make_user, Role.ADMIN)

    response = client.get(PAGE_DOWNLOADS[name].format(**vars(downloads)))

    assert response.status_code == 200, response.text[:500]
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers
    assert_secured(response, PAGE_CLASS)


@pytest.mark.parametrize("name", list(API_DOWNLOADS))
def test_an_api_download_is_never_cached(
    client: TestClient, callers: Callers, downloads: Downloads, name: str
) -> None:
    response = client.get(API_DOWNLOADS[name].format(**vars(downloads)), headers=callers.admin)

    assert response.status_code == 200, response.text[:500]
    assert_api_not_cached(response)


@pytest.mark.parametrize("path", ["/static/css/app.css", "/health"])
def test_public_files_and_the_liveness_probe_may_be_cached(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert "cache-control" not in response.headers


# --------------------------------------------------------------------------- the policies


@pytest.mark.parametrize(
    ("path", "path_class"),
    [
        ("/api/v1/users", API_CLASS),
        ("/api/v1/health/redis", API_CLASS),
        ("/health", API_CLASS),
        ("/metrics", API_CLASS),
        ("/openapi.json", API_CLASS),
        ("/docs", DOCS_CLASS),
        ("/docs/oauth2-redirect", DOCS_CLASS),
        ("/redoc", DOCS_CLASS),
        ("/login", PAGE_CLASS),
        ("/dashboard", PAGE_CLASS),
        ("/products/3", PAGE_CLASS),
        ("/static/js/app.js", PAGE_CLASS),
        ("/", PAGE_CLASS),
    ],
)
def test_each_path_gets_the_policy_of_its_kind(path: str, path_class: str) -> None:
    assert security_headers.content_security_policy(path) == POLICIES[path_class]


def test_the_api_policy_allows_nothing() -> None:
    policy = directives(security_headers.API_POLICY)

    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'none'"]
    assert set(policy) == {"default-src", "frame-ancestors", "base-uri", "form-action"}


def test_the_page_policy_allows_only_the_sites_own_files() -> None:
    policy = directives(security_headers.PAGE_POLICY)

    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    for sources in policy.values():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources)


def test_the_docs_policy_allows_what_the_docs_pages_load(client: TestClient) -> None:
    policy = directives(security_headers.DOCS_POLICY)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-eval'" not in policy["script-src"]

    for path in ("/docs", "/redoc"):
        page = parse(client.get(path).text)
        for node in _elements(page):
            if node.tag == "script" and node.attrs.get("src"):
                assert _origin(node.attrs["src"]) in policy["script-src"], node.attrs
            if node.tag == "link" and "stylesheet" in node.attrs.get("rel", ""):
                assert _origin(node.attrs["href"]) in policy["style-src"], node.attrs
            if node.tag == "link" and "icon" in node.attrs.get("rel", ""):
                assert _origin(node.attrs["href"]) in policy["img-src"], node.attrs


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


def _elements(node: Node) -> Iterator[Node]:
    for child in node.children:
        if isinstance(child, Node):
            yield child
            yield from _elements(child)


@pytest.mark.parametrize("path", ["/login", "/dashboard", "/products", "/admin/users", "/audit"])
def test_pages_work_under_their_policy(client: TestClient, make_user: MakeUser, path: str) -> None:
    """No inline script, event handler or style, and only same-origin files: the page policy
    would block anything else in a browser."""
    if path != "/login":
        logged_in(client, make_user, Role.ADMIN)

    response = client.get(path, follow_redirects=False)

    assert response.status_code == 200, response.text[:500]
    assert_secured(response, PAGE_CLASS)
    for node in _elements(parse(response.text)):
        assert node.tag != "style", f"inline <style> on {path}"
        assert "style" not in node.attrs, (path, node.tag, node.attrs)
        assert not [name for name in node.attrs if name.startswith("on")], (path, node.attrs)
        if node.tag == "script":
            assert node.attrs.get("src", "").startswith("/static/"), (path, node.attrs)
        if node.tag == "link" and node.attrs.get("href"):
            assert node.attrs["href"].startswith("/"), (path, node.attrs)
            assert not node.attrs["href"].startswith("//"), (path, node.attrs)
        if node.tag == "img" and node.attrs.get("src"):
            assert _origin(node.attrs["src"]) == "'self'" or node.attrs["src"].startswith(
                "data:"
            ), (path, node.attrs)
        for name in ("href", "src", "action"):
            assert not node.attrs.get(name, "").lower().startswith("javascript:"), node.attrs


# --------------------------------------------------------------------------- CORS


def test_no_cors_for_other_origins_by_default(client: TestClient, make_user: MakeUser) -> None:
    assert get_settings().CORS_ORIGINS == []
    user = make_user()
    token = login(client, user.email)["access_token"]

    preflight = client.options(
        ME,
        headers={
            "Origin": EVIL_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    simple = client.get(ME, headers={"Origin": EVIL_ORIGIN, **bearer(token)})
    health = client.get("/health", headers={"Origin": EVIL_ORIGIN})

    assert simple.status_code == 200, simple.text
    for response in (preflight, simple, health):
        assert not [name for name in response.headers if name.startswith("access-control-")], (
            response.headers
        )
    assert preflight.status_code != 200


@pytest.fixture
def cors_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An app built with one allowed origin."""
    monkeypatch.setattr(get_settings(), "CORS_ORIGINS", [ALLOWED_ORIGIN])
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_cors_echoes_only_the_configured_origin(
    cors_client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    token = login(cors_client, user.email)["access_token"]

    def preflight(origin: str) -> Response:
        return cors_client.options(
            ME,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )

    allowed = preflight(ALLOWED_ORIGIN)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "GET" in allowed.headers["access-control-allow-methods"]
    assert_secured(allowed, API_CLASS)

    refused = preflight(EVIL_ORIGIN)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    simple = cors_client.get(ME, headers={"Origin": ALLOWED_ORIGIN, **bearer(token)})
    assert simple.status_code == 200, simple.text
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-credentials" not in simple.headers

    other = cors_client.get(ME, headers={"Origin": EVIL_ORIGIN, **bearer(token)})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


# --------------------------------------------------------------------------- real servers


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is and read the answer until the server closes."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _check_real_server(port: int) -> None:
    plain = http_request(port, "GET", "/health")
    proxied = http_request(port, "GET", "/health", headers={"X-Forwarded-Proto": "https"})
    for path in ("/health", f"{API}/no-such-thing", "/login", "/static/css/app.css"):
        response = http_request(port, "GET", path)
        assert response.status in (200, 404), (path, response.status)
        assert "server" not in response.headers, (path, response.headers)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "content-security-policy" in response.headers
        for name, value in response.headers.items():
            if name != "set-cookie":  # random tokens
                assert not REVEALING.search(f"{name}: {value}"), (path, name, value)
    assert "strict-transport-security" not in plain.headers
    # Behind the proxy (FORWARDED_ALLOW_IPS) that ends TLS, the answers ask for HTTPS only.
    assert proxied.headers["strict-transport-security"].startswith("max-age=")

    # A request the server refuses by itself, before the application sees it.
    answer = _raw_exchange(port, b"NOT A REQUEST\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400"), head
    assert "\r\nserver:" not in head.lower(), head
    assert not REVEALING.search(answer.decode("latin-1")), answer


def test_dfims_serve_names_no_software(test_env: dict[str, str]) -> None:
    with running_server({**test_env, "FORWARDED_ALLOW_IPS": HOST}) as server:
        _check_real_server(server.port)


def test_gunicorn_workers_name_no_software(test_env: dict[str, str], tmp_path: Path) -> None:
    """The production server: gunicorn with the configuration the container runs."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {**test_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "FORWARDED_ALLOW_IPS": HOST}
    with running_api(env, workers=1, log=tmp_path / "gunicorn.out") as api:
        _check_real_server(api.port)
