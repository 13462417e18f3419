"""Routers skipped for the paths their routes cannot match, with routing otherwise unchanged."""

import re
from collections import Counter

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Match
from starlette.types import Scope

from app.kit.routers import Router, include

asked: Counter[str] = Counter()


class CountedRoute(APIRoute):
    """A route that counts how often it is asked whether it matches."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        asked[self.path] += 1
        return super().matches(scope)


def _routers() -> tuple[Router, Router]:
    lots = Router(prefix="/lots", route_class=CountedRoute)
    stock = Router(prefix="/stock", route_class=CountedRoute)

    @lots.get("")
    def list_lots() -> list[int]:
        return [1]

    @lots.get("/{lot_id}")
    def read_lot(lot_id: int) -> dict[str, int]:
        return {"lot_id": lot_id}

    @stock.get("/levels")
    def levels() -> dict[str, str]:
        return {"levels": "all"}

    return lots, stock


@pytest.fixture
def client() -> TestClient:
    asked.clear()
    app = FastAPI()
    home = Router(route_class=CountedRoute)

    @home.get("/")
    def welcome() -> str:
        return "welcome"

    lots, stock = _routers()
    include(app, home)
    include(app, lots, "/api")
    include(app, stock, "/api")
    return TestClient(app)


def test_a_router_is_not_asked_about_a_path_outside_its_routes(client: TestClient) -> None:
    assert client.get("/api/stock/levels").json() == {"levels": "all"}
    assert set(asked) == {"/stock/levels"}


def test_routing_answers_as_before(client: TestClient) -> None:
    assert client.get("/").json() == "welcome"
    assert client.get("/api/lots").json() == [1]
    assert client.get("/api/lots/7").json() == {"lot_id": 7}
    assert client.get("/api/lots/seven").status_code == 422
    assert client.post("/api/stock/levels").status_code == 405
    assert client.get("/api/stock/nothing").status_code == 404
    assert client.get("/stock/levels").status_code == 404
    moved = client.get("/api/stock/levels/", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (
        307,
        "http://testserver/api/stock/levels",
    )


def test_a_route_added_later_is_found() -> None:
    app = FastAPI()
    pages = Router()

    @pages.get("/home")
    def home() -> str:
        return "home"

    include(app, pages)
    client = TestClient(app)
    assert client.get("/later").status_code == 404

    @pages.get("/later")
    def later() -> str:
        return "later"

    assert client.get("/later").json() == "later"


def test_a_router_holding_another_router_or_a_mount_still_reaches_them() -> None:
    app = FastAPI()
    records, inner = Router(), Router()

    @inner.get("/suppliers")
    def suppliers() -> str:
        return "suppliers"

    files = FastAPI()

    @files.get("/logo.png")
    def logo() -> str:
        return "logo"

    records.include_router(inner)
    records.mount("/files", files)
    include(app, records)
    client = TestClient(app)
    assert client.get("/suppliers").json() == "suppliers"
    assert client.get("/files/logo.png").json() == "logo"


def test_a_router_in_two_applications_under_two_prefixes() -> None:
    lots, _ = _routers()
    first, second = FastAPI(), FastAPI()
    include(first, lots, "/api")
    include(second, lots, "/v2")
    assert TestClient(first).get("/api/lots/3").json() == {"lot_id": 3}
    assert TestClient(second).get("/v2/lots/3").json() == {"lot_id": 3}


def test_below_a_root_path(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    behind = TestClient(app, root_path="/shop")
    assert behind.get("/shop/api/stock/levels").json() == {"levels": "all"}


def test_every_route_of_the_application_is_still_reached() -> None:
    from app.main import app

    routes = [
        (route.path, min(route.methods or {"GET"}))
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.path
    ]
    assert len(routes) > 200
    assert ("/suppliers", "GET") in routes  # a page of a router included in another
    for template, method in routes:
        path = re.sub(r"{[^}]+}", "1", template)
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        matched = [candidate.matches(dict(scope))[0] for candidate in app.router.routes]
        assert Match.FULL in matched, f"{method} {template} is not reached"
