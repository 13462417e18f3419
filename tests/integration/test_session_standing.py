"""Workers keep a session's standing for seconds; a session ended anywhere (by the API in
another worker, or by the CLI in another process) is refused by every worker at once."""

import subprocess
import time
from urllib.parse import urlencode

import pytest
from redis import Redis

from app.models.user import Role
from app.services.session_standing import CHANNEL
from tests.conftest import PASSWORD, REDIS_TEST_URL, MakeUser
from tests.support.servers import DFIMS, Server, running_server

pytestmark = pytest.mark.redis

LEVELS = "/api/v1/stock/levels"
READS = 24  # over new connections, spread over both workers


def _token(server: Server, email: str) -> str:
    answer = server.request(
        "POST",
        "/api/v1/auth/login",
        body=urlencode({"username": email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _statuses(server: Server, token: str) -> set[int]:
    headers = {"Authorization": f"Bearer {token}"}
    return {server.request("GET", LEVELS, headers=headers).status for _ in range(READS)}


def _wait_for_listeners(count: int) -> None:
    with Redis.from_url(REDIS_TEST_URL) as redis:
        deadline = time.monotonic() + 30
        while dict(redis.pubsub_numsub(CHANNEL)).get(CHANNEL.encode(), 0) < count:
            assert time.monotonic() < deadline, "the workers never listened for changes"
            time.sleep(0.1)


def test_a_session_ended_anywhere_is_refused_by_every_worker(
    test_env: dict[str, str], make_user: MakeUser
) -> None:
    staff = make_user(role=Role.STAFF)
    env = {**test_env, "REDIS_URL": REDIS_TEST_URL}
    with running_server(env, workers=2) as server:
        _wait_for_listeners(2)

        token = _token(server, staff.email)
        assert _statuses(server, token) == {200}  # both workers keep it now
        logout = server.request(
            "POST", "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
        )
        assert logout.status == 204, logout.text
        assert _statuses(server, token) == {401}

        token = _token(server, staff.email)
        assert _statuses(server, token) == {200}
        subprocess.run(
            [str(DFIMS), "users", "deactivate", staff.email],
            env=env,
            check=True,
            capture_output=True,
        )
        assert _statuses(server, token) == {401}
