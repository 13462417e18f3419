"""Metric and log labels use the route template, never the raw path."""

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app.api.middleware import UNMATCHED_ROUTE, _route_template


class _Route:
    def __init__(self, path: str) -> None:
        self.path = path
        self.path_format = path


def _scope(path: str, route: str | None, **params: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"path": path, "path_params": params}
    if route is not None:
        scope["route"] = _Route(route)
    return scope


def test_prefix_of_an_included_router_is_kept() -> None:
    scope = _scope("/api/v1/users/12345", "/users/{user_id}", user_id=12345)
    assert _route_template(scope) == "/api/v1/users/{user_id}"


def test_full_template_stays_as_it_is() -> None:
    scope = _scope(
        "/api/v1/users/7/sessions/abc",
        "/api/v1/users/{user_id}/sessions/{sid}",
        user_id=7,
        sid="abc",
    )
    assert _route_template(scope) == "/api/v1/users/{user_id}/sessions/{sid}"


def test_unmatched_request_has_one_bounded_label() -> None:
    assert _route_template(_scope("/wp-admin/login.php", None)) == UNMATCHED_ROUTE


def test_docs_pages_are_labelled_by_their_path(client: TestClient) -> None:
    before = REGISTRY.get_sample_value(
        "api_requests_total", {"method": "GET", "route": "/docs", "status": "200"}
    )
    assert client.get("/docs").status_code == 200
    after = REGISTRY.get_sample_value(
        "api_requests_total", {"method": "GET", "route": "/docs", "status": "200"}
    )
    assert (after or 0) - (before or 0) == 1
