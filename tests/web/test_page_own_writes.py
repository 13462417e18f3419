"""With a read replica, a browser whose form was stored reads its own writes: the answer marks it
(the ``wrote_at`` cookie) for the replica's allowed lag; a refused form keeps nothing and marks
nothing, a form sent twice applies once, and a page that only reads marks nothing."""

import time

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from starlette.requests import Request

from app.core.config import get_settings
from app.models.user import Role
from app.web import routing
from app.web.routing import WROTE_COOKIE, wrote_lately
from tests.support.pages import form_fields, page_login, set_cookies
from tests.support.refusals import account, changed, fingerprint

NEW_WAREHOUSE = "/warehouses/new"


@pytest.fixture(autouse=True)
def replica_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings().model_copy(
        update={"DATABASE_REPLICA_URL": "postgresql+psycopg://replica.invalid/dfims"}
    )
    monkeypatch.setattr(routing, "get_settings", lambda: settings)


@pytest.fixture
def browser(client: TestClient) -> dict[str, str]:
    """A manager logged in to ``client``; the hidden fields of their forms."""
    page_login(client, account(Role.MANAGER).email)
    client.cookies.delete(WROTE_COOKIE)  # logging in is a write too
    return form_fields(client, "/warehouses")


def _create(client: TestClient, hidden: dict[str, str], code: str) -> Response:
    data = {**hidden, "code": code, "name": f"Warehouse {code}"}
    return client.post(NEW_WAREHOUSE, data=data, follow_redirects=False)


def _marked(response: Response) -> bool:
    return WROTE_COOKIE in set_cookies(response)


def test_a_refused_form_keeps_nothing_and_marks_nothing(
    client: TestClient, browser: dict[str, str]
) -> None:
    before = fingerprint()

    refused = _create(client, browser, "")

    assert refused.status_code == 422, refused.text[:2000]
    assert not _marked(refused)
    assert changed(before, fingerprint()) == []


def test_a_form_sent_twice_applies_once_and_marks_the_browser(
    client: TestClient, browser: dict[str, str]
) -> None:
    before = fingerprint()
    first = _create(client, browser, "OWN-1")
    applied = fingerprint()
    again = _create(client, browser, "OWN-1")

    assert first.status_code == again.status_code == 303, again.text[:2000]
    assert again.headers["location"] == first.headers["location"]
    assert changed(before, applied) != []
    assert changed(applied, fingerprint()) == []
    assert _marked(first)
    cookie = set_cookies(first)[WROTE_COOKIE]
    window = get_settings().REPLICA_MAX_LAG_SECONDS
    assert window < int(cookie["max-age"]) <= window + 2
    assert cookie["httponly"]


def test_a_page_that_reads_marks_nothing(client: TestClient, browser: dict[str, str]) -> None:
    assert not _marked(client.get("/warehouses"))


@pytest.mark.parametrize(
    ("value", "lately"),
    [(None, False), ("now", True), ("an hour ago", False), ("not a time", False)],
)
def test_a_browser_reads_its_own_writes_only_while_the_replica_may_lag(
    value: str | None, lately: bool
) -> None:
    moments = {"now": str(time.time()), "an hour ago": str(time.time() - 3600)}
    cookie = f"{WROTE_COOKIE}={moments.get(value or '', value)}" if value else ""
    request = Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})
    assert wrote_lately(request) is lately
