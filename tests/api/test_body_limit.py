"""Request bodies larger than the service reads are refused with 413 before they do anything."""

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.catalog import Category
from tests.conftest import AuthHeaders

CATEGORIES = "/api/v1/categories"


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A JSON body of ``total`` bytes, sent in chunks without a Content-Length."""
    yield b'{"name": "Padded", "padding": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def _assert_too_large(response_status: int, body: dict[str, object], content_type: str) -> None:
    assert response_status == 413, body
    assert content_type.startswith("application/problem+json")
    assert str(body["type"]).endswith("payload-too-large")
    assert "bytes" in str(body["detail"])


def _categories(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Category)) or 0)


def test_a_declared_length_over_the_limit_is_refused_unread(
    client: TestClient, auth_headers: AuthHeaders, db: Session
) -> None:
    limit = get_settings().MAX_REQUEST_BYTES
    body = b'{"name": "Big", "padding": "' + b"x" * limit + b'"}'
    response = client.post(
        CATEGORIES,
        content=body,
        headers={**auth_headers(), "Content-Type": "application/json"},
    )
    _assert_too_large(response.status_code, response.json(), response.headers["content-type"])
    assert _categories(db) == 0


def test_a_streamed_body_over_the_limit_is_refused_once_seen(
    client: TestClient, auth_headers: AuthHeaders, db: Session
) -> None:
    response = client.post(
        CATEGORIES,
        content=_chunks(get_settings().MAX_REQUEST_BYTES + 1),
        headers={**auth_headers(), "Content-Type": "application/json"},
    )
    _assert_too_large(response.status_code, response.json(), response.headers["content-type"])
    assert _categories(db) == 0


def test_a_body_under_the_limit_is_read(client: TestClient, auth_headers: AuthHeaders) -> None:
    response = client.post(
        CATEGORIES,
        content=_chunks(get_settings().MAX_REQUEST_BYTES // 2),
        headers={**auth_headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_an_upload_may_be_larger_than_other_bodies(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    """A multipart body over MAX_REQUEST_BYTES reaches the upload's own checks (here: not an
    image), instead of the body limit."""
    headers = auth_headers()
    product = client.post(
        "/api/v1/products",
        json={"sku": "BIG-1", "name": "Big", "unit": "kg", "net_weight_kg": "1"},
        headers=headers,
    )
    assert product.status_code == 201, product.text
    data = b"not an image" + b"x" * (get_settings().MAX_REQUEST_BYTES + 1)
    response = client.put(
        f"/api/v1/products/{product.json()['id']}/image",
        files={"file": ("big.png", data, "image/png")},
        headers=headers,
    )
    assert response.status_code == 415, response.text
