"""/metrics (revenue and order counters) behind METRICS_TOKEN: with the token set it answers
only ``Authorization: Bearer <token>`` and 401 problem+json otherwise; unset, it answers as
before (the shipped nginx keeps it to private addresses)."""

from collections.abc import Mapping

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from tests.support.servers import running_server

TOKEN = "a-metrics-token-of-some-length-0123456789"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    """METRICS_TOKEN set for the in-process API."""
    monkeypatch.setattr(get_settings(), "METRICS_TOKEN", TOKEN)
    return TOKEN


def assert_refused(status: int, headers: Mapping[str, str], body: str) -> None:
    assert status == 401, body
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["www-authenticate"] == "Bearer"
    assert "api_requests_total" not in body
    assert "sales_revenue" not in body


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN.upper()}",
        b"Bearer \xe9t\xe9",
    ],
    ids=[
        "none",
        "empty",
        "scheme-only",
        "empty-token",
        "wrong",
        "longer",
        "shorter",
        "basic",
        "no-scheme",
        "other-case",
        "not-ascii",
    ],
)
def test_with_a_token_metrics_refuse_anything_else(
    client: TestClient, token: str, authorization: str | bytes | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/metrics", headers=headers)

    assert_refused(response.status_code, dict(response.headers), response.text)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_with_a_token_metrics_answer_its_bearer(
    client: TestClient, token: str, scheme: str
) -> None:
    response = client.get("/metrics", headers={"Authorization": f"{scheme} {token}"})

    assert response.status_code == 200, response.text
    assert "api_requests_total" in response.text


def test_without_a_token_metrics_answer_as_before(client: TestClient) -> None:
    assert get_settings().METRICS_TOKEN == ""

    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer anything"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200, response.text
        assert "api_requests_total" in response.text


def test_dfims_serve_keeps_metrics_behind_the_token(test_env: dict[str, str]) -> None:
    with running_server({**test_env, "METRICS_TOKEN": TOKEN}) as server:
        refused = server.get("/metrics")
        assert_refused(refused.status, refused.headers, refused.text)
        wrong = server.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert_refused(wrong.status, wrong.headers, wrong.text)
        allowed = server.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status == 200, allowed.text
        assert "api_requests_total" in allowed.text
        assert server.get("/health").status == 200  # probes need no token
