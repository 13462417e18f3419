"""The browser tests' stage: ``dfims serve`` on a copy of a database of this pass (migrated,
with the demo data and a user of each role) and Debian's Chromium driven by Playwright, a fresh
context per test and a full-page screenshot of where each test ended.

They run in the PostgreSQL pass, on the database production runs: what they check is the pages
in a browser, which is the same whatever the database; the SQLite pass opens and submits every
page through the application (tests/web)."""

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Response, expect, sync_playwright
from sqlalchemy.engine import make_url

from app.models.user import Role
from tests.conftest import (
    PASSWORD,
    ROOT,
    USE_POSTGRES,
    bearer,
    create_postgres_database,
    drop_postgres_database,
)
from tests.support.servers import HOST, Server, error_lines, run_dfims, running_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-output" / "screenshots"
WAIT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
EMAILS = {role: f"e2e.{role.value}@example.com" for role in Role}
FULL_NAMES = {role: f"E2E {role.value.capitalize()}" for role in Role}


@dataclass(frozen=True)
class Site:
    """The running server, and the accounts of each role that log in to it."""

    server: Server
    env: Mapping[str, str]

    @property
    def url(self) -> str:
        """The address the browser opens."""
        return f"http://{HOST}:{self.server.port}"

    def email(self, role: Role) -> str:
        """The login of the user of ``role`` (PASSWORD for all)."""
        return EMAILS[role]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON call to the API as the admin (logged in afresh); the parsed answer."""
        login = self.server.post_form(
            "/api/v1/auth/login", {"username": EMAILS[Role.ADMIN], "password": PASSWORD}
        )
        assert login.status == 200, login.text
        headers = {**bearer(login.json()["access_token"]), "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        answer = self.server.request(method, path, body=data, headers=headers)
        assert answer.status < 300, (method, path, answer.status, answer.text)
        return answer.json()


def dfims_ok(env: Mapping[str, str], *args: str) -> None:
    """Run ``dfims ARGS``; it must succeed without complaint."""
    result = run_dfims(env, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert error_lines(result) == [], (args, result.stderr)


def dfims_environment(folder: Path, database_url: str) -> dict[str, str]:
    """The environment of ``dfims`` on ``database_url`` with its files in ``folder``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(folder / "data"),
        "LOG_DIR": str(folder / "logs"),
        "UPLOAD_DIR": str(folder / "uploads"),
    }


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this pass migrated, with the demo data and an admin, made once per process
    for every site to copy (loading the demo takes half a minute); dropped at the end."""
    folder = tmp_path_factory.mktemp("demo")
    database_url = create_postgres_database() if USE_POSTGRES else f"sqlite:///{folder / 'demo.db'}"
    env = dfims_environment(folder, database_url)
    try:
        dfims_ok(env, "db", "upgrade")
        dfims_ok(env, "demo", "load")
        admin = ("--email", EMAILS[Role.ADMIN], "--full-name", FULL_NAMES[Role.ADMIN])
        dfims_ok(env, "users", "create-admin", *admin, "--password", PASSWORD)
        yield database_url
    finally:
        if USE_POSTGRES:
            drop_postgres_database(database_url)


@contextlib.contextmanager
def site_environment(folder: Path, demo: str) -> Iterator[dict[str, str]]:
    """The environment of a copy of the ``demo`` database of its own (PostgreSQL, else a SQLite
    file in ``folder``); a PostgreSQL one is dropped after."""
    if USE_POSTGRES:
        database_url = create_postgres_database(template=make_url(demo).database)
    else:
        database_url = f"sqlite:///{folder / 'e2e.db'}"
        shutil.copyfile(str(make_url(demo).database), folder / "e2e.db")
    try:
        yield dfims_environment(folder, database_url)
    finally:
        if USE_POSTGRES:
            drop_postgres_database(database_url)


@contextlib.contextmanager
def serving_site(folder: Path, demo: str) -> Iterator[Site]:
    """A server of a copy of the ``demo`` database in ``folder``, with a manager, a staff
    member and a customer (linked to its customer record) made by the admin through the API."""
    with site_environment(folder, demo) as env, running_server(env) as server:
        running = Site(server, env)
        for role in (Role.MANAGER, Role.STAFF, Role.CUSTOMER):
            account = {
                "email": EMAILS[role],
                "password": PASSWORD,
                "full_name": FULL_NAMES[role],
                "role": role.value,
                "must_change_password": False,
            }
            user = running.api("POST", "/api/v1/users", account)
            if role is Role.CUSTOMER:
                buyer = {"name": FULL_NAMES[role], "email": EMAILS[role], "user_id": user["id"]}
                running.api("POST", "/api/v1/customers", buyer)
        yield running


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, demo_database: str) -> Iterator[Site]:
    """The server the journeys share."""
    with serving_site(tmp_path_factory.mktemp("e2e"), demo_database) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; never a downloaded browser."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
            "(make packages installs it, or apt-get install chromium)",
            pytrace=False,
        )
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


def screenshot_path(test_name: str) -> Path:
    """Where the screenshot of ``test_name`` goes."""
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', test_name)}.png"


@pytest.fixture
def page(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab in a fresh context (no cookies) at desktop size; afterwards a full-page screenshot,
    and no script error, server error or missing stylesheet or image on the way."""
    context = browser.new_context(base_url=site.url, viewport=DESKTOP)
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    problems: list[str] = []

    def on_response(response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 500 or (response.status >= 400 and kind != "document"):
            problems.append(f"{response.status} on {kind} {response.url}")

    def on_failed(failed: Request) -> None:
        # A page left while loading, or a load the browser itself cancelled, is no fault.
        if failed.resource_type != "document" and failed.failure != "net::ERR_ABORTED":
            problems.append(f"{failed.resource_type} {failed.url} failed: {failed.failure}")

    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("response", on_response)
    tab.on("requestfailed", on_failed)
    try:
        yield tab
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=screenshot_path(request.node.name), full_page=True)
    finally:
        context.close()
    assert problems == [], problems
