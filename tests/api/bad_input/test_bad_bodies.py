"""Bodies that are malformed, too large or of the wrong media type: a 4xx problem that shows
no internals and writes nothing."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.core.config import get_settings
from app.main import app
from tests.api.bad_input.scene import (
    CLIENT_ERRORS,
    MIB,
    PDF,
    PNG,
    UPLOAD_ROUTES,
    Call,
    Scene,
    Unchanged,
    _order,
    _purchase,
    assert_refusal,
    upload_path,
)
from tests.support.problems import assert_problem
from tests.support.stock import (
    RECEIPTS,
    receipt_body,
)


def documented_statuses(path_template: str, method: str) -> set[int]:
    """The statuses the OpenAPI document lists for a route."""
    operation = app.openapi()["paths"][path_template][method.lower()]
    return {int(code) for code in operation["responses"] if code.isdigit()}


# =========================================================================== bodies


MALFORMED_BODIES: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"product_id": 1, "quantity": ',
    "trailing-garbage": b'{"quantity": "1"} trailing',
    "array": b"[]",
    "string": b'"receipt"',
    "null": b"null",
    "single-quotes": b"{'quantity': '1'}",
    "comment": b'{"quantity": "1" /* note */}',
    "invalid-utf8": b'{"lot_code": "\xff\xfe"}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
}


def test_a_malformed_json_body_is_refused(scene: Scene, subtests: pytest.Subtests) -> None:
    headers = {**scene.headers, "Content-Type": "application/json"}
    unchanged = Unchanged()
    for name, body in MALFORMED_BODIES.items():
        with subtests.test(name):
            response = scene.client.post(RECEIPTS, content=body, headers=headers)
            written = unchanged.written()
            assert_refusal(response)
            assert written == []


def test_a_json_body_larger_than_any_upload_is_a_413(scene: Scene) -> None:
    """No JSON body is larger than the largest upload; a bigger one is refused before it is
    parsed, whether or not a proxy is in front."""
    size = get_settings().MAX_DOCUMENT_BYTES + 2 * MIB
    body = receipt_body(scene.product, scene.main, "LOT-BIG", "1", padding="x" * size)
    unchanged = Unchanged()

    response = scene.send(Call("POST", RECEIPTS, body))

    assert_problem(response, 413)
    assert unchanged.written() == []


@pytest.mark.parametrize(
    "make", [pytest.param(_order, id="order"), pytest.param(_purchase, id="purchase")]
)
def test_a_body_with_100000_lines_is_refused(scene: Scene, make: Callable[..., Call]) -> None:
    call = make(scene)
    body = {**call.json, "lines": call.json["lines"] * 100_000}
    unchanged = Unchanged()

    response = scene.send(Call(call.method, call.path, body))

    assert_refusal(response, "lines")
    assert unchanged.written() == []


# --------------------------------------------------------------------------- media types


def _receipt_json(s: Scene) -> dict[str, Any]:
    return receipt_body(s.product, s.main, "LOT-CT", "1")


def _as_form(s: Scene) -> dict[str, str]:
    return {key: str(value) for key, value in _receipt_json(s).items()}


WRONG_MEDIA_TYPES: dict[str, Callable[[Scene], dict[str, Any]]] = {
    "form-urlencoded": lambda s: {"data": _as_form(s)},
    "multipart": lambda s: {
        "data": _as_form(s),
        "files": {"f": ("a.json", json.dumps(_receipt_json(s)).encode(), "application/json")},
    },
    "text-plain": lambda s: {
        "content": json.dumps(_receipt_json(s)).encode(),
        "headers": {"Content-Type": "text/plain"},
    },
    "no-content-type": lambda s: {"content": json.dumps(_receipt_json(s)).encode()},
    "xml": lambda s: {
        "content": b"<receipt><quantity>1</quantity></receipt>",
        "headers": {"Content-Type": "application/xml"},
    },
    "octet-stream": lambda s: {
        "content": json.dumps(_receipt_json(s)).encode(),
        "headers": {"Content-Type": "application/octet-stream"},
    },
}


def test_a_json_endpoint_refuses_other_media_types(scene: Scene, subtests: pytest.Subtests) -> None:
    """The same good receipt, sent as anything but JSON: a documented 415 or 422."""
    documented = documented_statuses("/api/v1/stock/receipts", "POST")
    accepted = scene.send(Call("POST", RECEIPTS, _receipt_json(scene)))
    assert accepted.status_code == 201, accepted.text
    unchanged = Unchanged()
    for name, build in WRONG_MEDIA_TYPES.items():
        with subtests.test(name):
            request = build(scene)
            request["headers"] = {**scene.headers, **request.get("headers", {})}
            response = scene.client.post(RECEIPTS, **request)
            written = unchanged.written()
            assert assert_problem(response, (415, 422))["status"] in documented
            assert written == []


NOT_MULTIPART: dict[str, dict[str, Any]] = {
    "json": {
        "content": b'{"file": "JVBERi0xLjc="}',
        "headers": {"Content-Type": "application/json"},
    },
    "raw-png": {"content": PNG, "headers": {"Content-Type": "image/png"}},
    "raw-pdf-no-content-type": {"content": PDF},
    "form-urlencoded": {"data": {"file": "%PDF-1.7"}},
    "multipart-without-boundary": {
        "content": PDF,
        "headers": {"Content-Type": "multipart/form-data"},
    },
    "multipart-garbage": {
        "content": b"--xyz\r\nnot a header\r\n\r\n" + PDF,
        "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
    },
}


@pytest.mark.parametrize("kind", list(UPLOAD_ROUTES))
def test_an_upload_endpoint_refuses_anything_but_a_multipart_file(
    scene: Scene, subtests: pytest.Subtests, kind: str
) -> None:
    """A documented 4xx, or a 400 for a multipart body that cannot be parsed at all."""
    method, template = UPLOAD_ROUTES[kind]
    path = upload_path(scene, kind)
    allowed = documented_statuses(template, method) | {400}
    unchanged = Unchanged()
    for name, request in NOT_MULTIPART.items():
        with subtests.test(name):
            headers = {**scene.headers, **request.get("headers", {})}
            sent = {key: value for key, value in request.items() if key != "headers"}
            response = scene.client.request(method, path, headers=headers, **sent)
            written = unchanged.written()
            assert assert_problem(response, CLIENT_ERRORS)["status"] in allowed
            assert written == []
