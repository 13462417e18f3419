"""A burst of requests that queue for the same row does not stall a worker: a real ``dfims
serve`` with one worker process on a PostgreSQL database of its own.

Every login of a user updates that user's row. FastAPI runs a sync endpoint, and then the
validation of its answer, on its thread pool (40 threads); the unit of work commits only
after that validation. Were more requests of one process let in than it has threads, the
threads could all end up waiting for the row lock of a transaction that itself waits for a
thread to finish, and the worker would answer nothing any more. The connection pool here is
larger than the thread pool, so only the per-process limit of requests at work
(WORKER_REQUESTS) stands in the way of that.
"""

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import PASSWORD, bearer, create_postgres_database, drop_postgres_database
from tests.support.servers import http_request, migrate_with_admin, running_server

pytestmark = [pytest.mark.system, pytest.mark.postgres]

ADMIN_EMAIL = "limit-admin@example.com"
STAFF_EMAIL = "limit-staff@example.com"
LOGIN = "/api/v1/auth/login"
DATABASE_HEALTH = "/api/v1/health/database"
LOGINS = 100
# A stalled worker fails the test after this long instead of hanging the run.
CLIENT_TIMEOUT = 120.0
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Answer:
    """An HTTP status and body, or 0 and the error of a request that got no answer."""

    status: int
    text: str


@pytest.fixture
def server_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database of its own with an admin, and a connection pool larger than
    FastAPI's thread pool; the database is dropped on the way out."""
    database_url = create_postgres_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "LOG_DIR": str(tmp_path / "logs"),
        "DB_POOL_SIZE": "50",
        "DB_MAX_OVERFLOW": "0",
    }
    env.pop("WORKER_REQUESTS", None)  # the default limit
    try:
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        yield env
    finally:
        drop_postgres_database(database_url)


def log_in(port: int, email: str) -> Answer:
    """One login over a new connection; the status and the body (or what went wrong)."""
    try:
        response = http_request(
            port,
            "POST",
            LOGIN,
            body=urlencode({"username": email, "password": PASSWORD}).encode(),
            headers=FORM,
            timeout=CLIENT_TIMEOUT,
        )
    except OSError as exc:  # a timeout included
        return Answer(0, repr(exc))
    return Answer(response.status, response.text)


def test_many_logins_of_one_user_at_once_all_succeed(server_env: dict[str, str]) -> None:
    with running_server(server_env, workers=1) as server:
        admin = server.post_form(LOGIN, {"username": ADMIN_EMAIL, "password": PASSWORD})
        assert admin.status == 200, admin.text
        created = server.request(
            "POST",
            "/api/v1/users",
            body=json.dumps({"email": STAFF_EMAIL, "password": PASSWORD}).encode(),
            headers={
                **bearer(admin.json()["access_token"]),
                "Content-Type": "application/json",
            },
        )
        assert created.status == 201, created.text
        assert created.json()["role"] == "staff"

        start = threading.Barrier(LOGINS)

        def together(_: int) -> Answer:
            start.wait()
            return log_in(server.port, STAFF_EMAIL)

        with ThreadPoolExecutor(max_workers=LOGINS) as pool:
            answers = list(pool.map(together, range(LOGINS)))
        statuses = Counter(answer.status for answer in answers)
        failed = [answer.text for answer in answers if answer.status != 200]
        assert statuses == {200: LOGINS}, (statuses, failed[:3], server.output()[-3000:])

        # The worker still answers requests that go through the limit.
        health = server.get(DATABASE_HEALTH)
        assert health.status == 200, health.text

    tokens = {json.loads(answer.text)["access_token"] for answer in answers}
    assert len(tokens) == LOGINS
