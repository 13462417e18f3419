"""nginx when an API replica is lost, on a stack of its own: failover to the others, a sent
POST never replayed, and the API's own 503 passed through unretried."""

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    bearer,
)
from tests.integration.nginx_stack import (
    REQUESTS,
    Answer,
    DroppingUpstream,
    admin_token,
    assert_security_headers,
    replicated_stack,
    running_nginx,
)
from tests.support.problems import assert_problem
from tests.support.servers import (
    HOST,
    STOP_TIMEOUT,
    Server,
    running_server,
)

pytestmark = [pytest.mark.system, pytest.mark.redis, pytest.mark.postgres]


# -- losing replicas, on a stack of its own ----------------------------------------------------


def kill(replica: Server) -> None:
    """SIGKILL the replica's process group, as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(replica.process.pid, signal.SIGKILL)
    replica.process.wait(timeout=STOP_TIMEOUT)


def test_replicas_fail_over(tmp_path: Path) -> None:
    """With one replica killed and then a second, every request still gets its answer: nginx
    retries on the next replica, including POSTs, whose connection was refused before sending."""
    with replicated_stack(tmp_path) as stack:
        nginx = stack.nginx
        token = admin_token(nginx, source="127.0.0.80")
        live = list(stack.replicas)
        for victim in stack.replicas[:2]:
            kill(victim)
            live.remove(victim)
            answers = []
            for number in range(REQUESTS):
                if number % 2:
                    answers.append(
                        nginx.request(
                            "POST",
                            "/api/v1/auth/refresh",
                            body=json.dumps({"refresh_token": "not-a-token"}).encode(),
                            headers={"Content-Type": "application/json"},
                        )
                    )
                else:
                    answers.append(nginx.request("GET", "/api/v1/users/me", headers=bearer(token)))
            statuses = [answer.status for answer in answers]
            assert statuses == [200, 401] * (REQUESTS // 2), statuses

            entries = nginx.entries_of(answers)
            live_addresses = {stack.address(replica) for replica in live}
            assert {entry.upstreams[-1] for entry in entries} <= live_addresses
            retried = [entry for entry in entries if stack.address(victim) in entry.upstreams]
            assert retried, "nginx never tried the killed replica"
            assert all(entry.upstreams[-1] in live_addresses for entry in retried)


@contextlib.contextmanager
def dropping_upstream(reply: bytes = b"") -> Iterator[DroppingUpstream]:
    server = DroppingUpstream(reply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_TIMEOUT)


def test_a_sent_post_is_never_replayed(tmp_path: Path, test_env: dict[str, str]) -> None:
    """A POST that reached a replica which then failed answers 502 and goes to no other one;
    a GET in the same case is retried on the next replica."""
    with (
        dropping_upstream() as dropper,
        running_server(test_env) as replica,
        running_nginx(tmp_path, [f"{HOST}:{replica.port}", dropper.address]) as nginx,
    ):
        healthy = f"{HOST}:{replica.port}"
        posts: list[Answer] = []
        while dropper.seen("POST") == 0 and len(posts) < 4:
            posts.append(nginx.request("POST", "/api/v1/auth/logout"))
        assert dropper.seen("POST") == 1
        *served, dropped = posts
        assert_problem(dropped, 502, "bad-gateway")
        assert_security_headers(dropped)
        assert all(answer.status == 401 for answer in served)
        entries = nginx.entries_of(posts)
        assert entries[-1].upstreams == [dropper.address]
        assert all(entry.upstreams == [healthy] for entry in entries[:-1])

        gets: list[Answer] = []
        while dropper.seen("GET") == 0 and len(gets) < 4:
            gets.append(nginx.request("GET", "/health"))
        assert dropper.seen("GET") == 1
        assert all(answer.status == 200 for answer in gets)
        assert nginx.entries_of(gets)[-1].upstreams == [dropper.address, healthy]


UNAVAILABLE = json.dumps(
    {"type": "urn:dfims:problem:service-unavailable", "title": "Service unavailable", "status": 503}
).encode()


def test_the_apis_own_503_passes_through_unretried(
    tmp_path: Path, test_env: dict[str, str]
) -> None:
    """A replica answering 503 (its database is down) is answered as it is, Retry-After and
    all, and neither retried elsewhere nor benched: nginx never turns it into its own 502."""
    reply = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
        b"Retry-After: 2\r\nConnection: close\r\n"
        + f"Content-Length: {len(UNAVAILABLE)}\r\n\r\n".encode()
        + UNAVAILABLE
    )
    with (
        dropping_upstream(reply) as unavailable,
        running_server(test_env) as replica,
        running_nginx(tmp_path, [f"{HOST}:{replica.port}", unavailable.address]) as nginx,
    ):
        before = unavailable.seen("GET")
        answers = [nginx.request("GET", "/api/v1/health/database") for _ in range(8)]
        refused = [answer for answer in answers if answer.status == 503]
        assert {answer.status for answer in answers} == {200, 503}
        assert len(refused) == unavailable.seen("GET") - before >= 3  # never benched
        for answer in refused:
            assert answer.headers["retry-after"] == "2"
            assert answer.json()["type"] == "urn:dfims:problem:service-unavailable"
        for entry, answer in zip(nginx.entries_of(answers), answers, strict=True):
            assert len(entry.upstreams) == 1, entry  # answered by the first replica tried
            assert (entry.upstreams[0] == unavailable.address) == (answer.status == 503)
