"""Request bodies larger than the service reads are refused with 413 before they do anything;
only the routes that take file uploads read upload-sized bodies."""

from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.kit.uploads import takes_uploads
from app.main import app
from app.models.catalog import Category
from app.models.user import Role
from tests.conftest import AuthHeaders, MakeUser
from tests.support.pages import browser, form_fields, logged_in

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


# --------------------------------------------------------------------------- only uploads

UPLOAD_ROUTES = {
    ("PUT", "/api/v1/products/{product_id}/image"),
    ("POST", "/api/v1/lots/{lot_id}/documents"),
    ("POST", "/products/{product_id}/image"),
    ("POST", "/lots/{lot_id}/documents"),
}
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def _multipart(size: int) -> tuple[bytes, str]:
    """A multipart/form-data body of about ``size`` bytes (one text field) and its type."""
    boundary = "limit-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'.encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_only_the_upload_routes_take_upload_sized_bodies() -> None:
    marked = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if takes_uploads(route.endpoint)
        for method in route.methods or ()
    }
    assert marked == UPLOAD_ROUTES


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/register", "/api/v1/auth/login", "/login", "/api/v1/categories"]
)
def test_claiming_an_upload_does_not_raise_the_limit(client: TestClient, path: str) -> None:
    """A multipart body over MAX_REQUEST_BYTES, sent without logging in, is refused unread
    wherever no file is uploaded, whatever the Content-Type claims."""
    body, content_type = _multipart(get_settings().MAX_REQUEST_BYTES + 1)
    response = client.post(path, content=body, headers={"Content-Type": content_type})
    _assert_too_large(response.status_code, response.json(), response.headers["content-type"])


def test_a_streamed_upload_claim_does_not_raise_the_limit(client: TestClient) -> None:
    body, content_type = _multipart(get_settings().MAX_REQUEST_BYTES + 1)
    chunks = (body[start : start + 65536] for start in range(0, len(body), 65536))
    response = client.post(
        "/api/v1/auth/register", content=chunks, headers={"Content-Type": content_type}
    )
    _assert_too_large(response.status_code, response.json(), response.headers["content-type"])


def test_the_pages_upload_forms_take_upload_sized_bodies(
    client: TestClient, auth_headers: AuthHeaders, make_user: MakeUser
) -> None:
    """A lot document and a product picture over MAX_REQUEST_BYTES reach the forms' own checks."""
    headers = auth_headers()
    product = client.post(
        "/api/v1/products",
        json={"sku": "BIG-2", "name": "Big", "unit": "kg", "net_weight_kg": "1"},
        headers=headers,
    ).json()["id"]
    warehouse = client.post(
        "/api/v1/warehouses", json={"code": "BIG", "name": "Big"}, headers=headers
    ).json()["id"]
    receipt = client.post(
        "/api/v1/stock/receipts",
        json={"product_id": product, "warehouse_id": warehouse, "lot_code": "BIG", "quantity": "1"},
        headers=headers,
    )
    assert receipt.status_code == 201, receipt.text
    lot = receipt.json()["movements"][0]["lot_id"]
    pages = browser()
    logged_in(pages, make_user, Role.ADMIN)
    large = get_settings().MAX_REQUEST_BYTES + 1

    document = pages.post(
        f"/lots/{lot}/documents",
        data={**form_fields(pages, f"/lots/{lot}"), "description": "large"},
        files={"document": ("large.pdf", PDF + b"0" * large, "application/pdf")},
        follow_redirects=False,
    )
    assert document.status_code == 303, document.text
    picture = pages.post(
        f"/products/{product}/image",
        data=form_fields(pages, f"/products/{product}"),
        files={"image": ("large.png", b"not a picture" + b"x" * large, "image/png")},
        follow_redirects=False,
    )
    assert picture.status_code == 415, picture.text
