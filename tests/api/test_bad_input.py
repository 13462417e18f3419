"""Bad input at the API's edges: numbers that are huge, negative, not finite, in exponent
notation or of the wrong JSON type; bodies too large, malformed or of the wrong media type;
uploads too large, empty or not what their name says; control and other awkward characters in
every text field; SQL and template injection strings in text fields and query parameters;
path traversal in upload names and in the paths that serve files.

Every refusal is a 4xx problem+json that shows no internals and writes nothing: no row in any
table and no file under UPLOAD_DIR. Whatever is accepted is stored and answered verbatim.

The matrices (value x field) run as subtests of one test per field or per value, so each
failure names its case while the database is set up and cleaned once per group."""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core.config import get_settings
from app.core.database import Base, engine
from app.main import app
from app.models.inventory import LotDocument
from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser
from tests.support.callers import SignedIn
from tests.support.pages import logged_in, page_of
from tests.support.problems import assert_problem
from tests.support.sales import (
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
    REGISTER,
    make_customer,
    make_priced_product,
    place_order,
)
from tests.support.stock import (
    ADJUSTMENTS,
    API,
    LEVELS,
    LOTS,
    MOVEMENTS,
    RECEIPTS,
    TRANSFERS,
    make_supplier,
    make_warehouse,
    receipt_body,
    receive,
)

PURCHASES = f"{API}/purchase-orders"
USERS = f"{API}/users"
SUPPLIERS = f"{API}/suppliers"
WAREHOUSES = f"{API}/warehouses"
CATEGORIES = f"{API}/categories"
AUDIT = f"{API}/audit"
TRACE = f"{API}/trace"
LOGIN = f"{API}/auth/login"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
MIB = 1024 * 1024
# Beyond any 64-bit integer column (SQLite's INTEGER, PostgreSQL's bigint).
HUGE_ID = str(10**20)
FOUR_BYTES = "\U0001d507"  # MATHEMATICAL FRAKTUR CAPITAL D: one character, four UTF-8 bytes
# Words in an answer that would show internals: a traceback, the driver, the ORM.
# Login bookkeeping that any authenticated request may touch (last seen), not input's work.
UNTRACKED_TABLES = frozenset({"user_sessions", "refresh_tokens"})


# --------------------------------------------------------------------------- what is stored


@dataclass(frozen=True)
class Stored:
    """Every row of every table (login bookkeeping aside) and every file kept."""

    rows: dict[str, list[tuple[Any, ...]]]
    files: frozenset[str]


def upload_root() -> Path:
    return Path(os.environ["UPLOAD_DIR"]).resolve()


def kept_files() -> frozenset[str]:
    """Every file under UPLOAD_DIR, relative to it."""
    root = upload_root()
    if not root.exists():
        return frozenset()
    return frozenset(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def stored() -> Stored:
    """What the database and UPLOAD_DIR hold right now."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in UNTRACKED_TABLES:
                continue
            query = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return Stored(rows, kept_files())


def differences(before: Stored, after: Stored) -> list[str]:
    """The tables whose rows changed, and "files" when UPLOAD_DIR did."""
    changed = sorted(name for name, rows in before.rows.items() if after.rows[name] != rows)
    return changed + (["files"] if after.files != before.files else [])


class Unchanged:
    """Tells, request after request, what was written since the last look."""

    def __init__(self) -> None:
        self.last = stored()

    def written(self) -> list[str]:
        before, self.last = self.last, stored()
        return differences(before, self.last)


# --------------------------------------------------------------------------- answers


CLIENT_ERRORS = tuple(range(400, 500))


def assert_refusal(response: Response, field: str | None = None) -> dict[str, Any]:
    """A 4xx problem (never a 5xx or a success) that, when it names fields, names ``field``."""
    problem = assert_problem(response, CLIENT_ERRORS)
    named = {str(problem["field"])} if "field" in problem else set()
    named |= {str(error["field"]) for error in problem.get("errors", [])}
    if field is not None and named:
        assert any(name == field or name.endswith("." + field) for name in named), problem
    return problem


def answer(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text[:600]
    return response.json()


def documented_statuses(path_template: str, method: str) -> set[int]:
    """The statuses the OpenAPI document lists for a route."""
    operation = app.openapi()["paths"][path_template][method.lower()]
    return {int(code) for code in operation["responses"] if code.isdigit()}


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Raw:
    """A JSON value written as is: NaN, Infinity, a 4400-digit number."""

    text: str


def to_json(body: Any) -> str:
    """``body`` as JSON text, ASCII only (a lone surrogate becomes a \\ud800 escape), with
    every :class:`Raw` value spliced in verbatim."""
    raws: dict[str, str] = {}

    def place(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(f"{type(value).__name__} is not JSON")
        key = f"@raw-{len(raws)}@"
        raws[key] = value.text
        return key

    text = json.dumps(body, default=place)
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw)
    return text


@dataclass(frozen=True)
class Call:
    """One request: a JSON body unless ``form`` or ``files`` are given."""

    method: str
    path: str
    json: Any = None
    form: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    anonymous: bool = False


class Scene:
    """A signed-in administrator and the records a case touches, each made on first use so a
    case builds only what it needs (and before anything is measured)."""

    def __init__(self, client: TestClient, admin: SignedIn) -> None:
        self.client = client
        self.headers = admin.headers
        self._keys = 0

    def key(self) -> int:
        """A number not handed out before, for unique codes, SKUs and emails."""
        self._keys += 1
        return self._keys

    def send(self, call: Call) -> Response:
        headers = {} if call.anonymous else dict(self.headers)
        if call.form is not None or call.files is not None:
            return self.client.request(
                call.method, call.path, data=call.form, files=call.files, headers=headers
            )
        headers["Content-Type"] = "application/json"
        return self.client.request(
            call.method, call.path, content=to_json(call.json), headers=headers
        )

    def get(self, path: str, **params: Any) -> Any:
        return answer(self.client.get(path, params=params, headers=self.headers))

    @cached_property
    def product(self) -> int:
        return make_priced_product("DATE-1", "10.00")

    @cached_property
    def main(self) -> int:
        return make_warehouse("MAIN")

    @cached_property
    def spare(self) -> int:
        return make_warehouse("SPARE")

    @cached_property
    def supplier(self) -> int:
        return make_supplier("SUP-1")

    @cached_property
    def customer(self) -> int:
        return make_customer("Oasis Foods")

    @cached_property
    def lot(self) -> int:
        moved = receive(self.client, self.headers, self.product, self.main, "LOT-1", "100")
        return int(moved["lot_id"])

    @cached_property
    def order(self) -> int:
        line = {"product_id": self.product, "quantity": "2"}
        return int(place_order(self.client, self.headers, self.customer, [line])["id"])

    @cached_property
    def staff(self) -> int:
        body = {"email": "staff-member@example.com", "password": PASSWORD, "role": "staff"}
        return int(answer(self.send(Call("POST", USERS, body)), 201)["id"])

    @cached_property
    def image(self) -> None:
        """The product's image, uploaded."""
        answer(upload(self, "product-image", "photo.png", PNG, "image/png"))

    @cached_property
    def document(self) -> int:
        """A PDF attached to the lot; its id."""
        return int(
            answer(upload(self, "lot-document", "cert.pdf", PDF, "application/pdf"), 201)["id"]
        )


@pytest.fixture
def scene(client: TestClient, admin: SignedIn) -> Scene:
    return Scene(client, admin)


def ids(cases: dict[str, Any]) -> list[Any]:
    """pytest params named by their keys."""
    return [pytest.param(value, id=name) for name, value in cases.items()]


# =========================================================================== numbers


@dataclass(frozen=True)
class NumberField:
    """Where a number goes: ``call`` puts a value there; ``valid`` names the bad numbers that
    are in fact fine here (zero for a price, a negative adjustment, null for a default)."""

    field: str
    call: Callable[[Scene, Any], Call]
    valid: frozenset[str] = frozenset()


def _receipt(s: Scene, value: Any) -> Call:
    return Call("POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-NEW", value))


def _adjustment(s: Scene, value: Any) -> Call:
    body = {
        "product_id": s.product,
        "lot_id": s.lot,
        "warehouse_id": s.main,
        "quantity": value,
        "reason": "recount",
    }
    return Call("POST", ADJUSTMENTS, body)


def _transfer(s: Scene, value: Any) -> Call:
    body = {
        "product_id": s.product,
        "lot_id": s.lot,
        "from_warehouse_id": s.main,
        "to_warehouse_id": s.spare,
        "quantity": value,
    }
    return Call("POST", TRANSFERS, body)


def _order(s: Scene, line: dict[str, Any] | None = None, **fields: Any) -> Call:
    line = {"product_id": s.product, "quantity": "1", **(line or {})}
    return Call("POST", ORDERS, {"customer_id": s.customer, "lines": [line], **fields})


def _purchase(s: Scene, line: dict[str, Any] | None = None, **fields: Any) -> Call:
    line = {"product_id": s.product, "quantity": "1", **(line or {})}
    body = {"supplier_id": s.supplier, "warehouse_id": s.main, "lines": [line], **fields}
    return Call("POST", PURCHASES, body)


def _tier_price(s: Scene, value: Any) -> Call:
    return Call("PUT", f"{PRODUCTS}/{s.product}/prices/wholesale", {"price": value})


def _product(s: Scene, **fields: Any) -> Call:
    return Call("POST", PRODUCTS, {"sku": f"SKU-{s.key()}", "name": "Figs", **fields})


FREE = frozenset({"zero", "negative-zero"})  # a price or a cost of nothing is allowed
NUMBER_FIELDS: dict[str, NumberField] = {
    "receipt-quantity": NumberField("quantity", _receipt),
    "adjustment-quantity": NumberField("quantity", _adjustment, frozenset({"negative"})),
    "transfer-quantity": NumberField("quantity", _transfer),
    "order-line-quantity": NumberField("quantity", lambda s, v: _order(s, {"quantity": v})),
    "order-line-unit-price": NumberField(
        "unit_price", lambda s, v: _order(s, {"unit_price": v}), FREE | {"null"}
    ),
    "purchase-line-quantity": NumberField("quantity", lambda s, v: _purchase(s, {"quantity": v})),
    "purchase-line-unit-cost": NumberField(
        "unit_cost", lambda s, v: _purchase(s, {"unit_cost": v}), FREE | {"null"}
    ),
    "tier-price": NumberField("price", _tier_price, FREE),
    "product-price": NumberField("price", lambda s, v: _product(s, price=v), FREE),
}

BAD_NUMBERS: dict[str, Any] = {
    "json-1e30": Raw("1e30"),
    "string-1e30": "1e30",
    "json-10**40": Raw(str(10**40)),
    "string-10**40": str(10**40),
    "400-digit-string": "9" * 400,
    "4400-digit-json-number": Raw("9" * 4400),
    "300-decimal-places": "0." + "1" * 300,
    "five-decimal-places": "1.00001",
    "exponent-1E-7": "1E-7",
    "json-exponent-1e-7": Raw("1e-7"),
    "json-1e400": Raw("1e400"),
    "exponent-1e999999999": "1e999999999",
    "exponent-1e-999999999": "1e-999999999",
    "negative": "-1",
    "zero": "0",
    "negative-zero": "-0",
    "json-NaN": Raw("NaN"),
    "string-NaN": "NaN",
    "string-sNaN": "sNaN",
    "json-Infinity": Raw("Infinity"),
    "string-Infinity": "Infinity",
    "json-minus-Infinity": Raw("-Infinity"),
    "string-minus-Infinity": "-Infinity",
    "word": "ten",
    "empty-string": "",
    "comma-decimal": "1,5",
    "hex": "0x10",
    "true": True,
    "false": False,
    "null": None,
    "list": [1],
    "object": {"value": 1},
}


@pytest.mark.parametrize("target", ids(NUMBER_FIELDS))
def test_bad_numbers_are_refused_and_write_nothing(
    scene: Scene, subtests: pytest.Subtests, target: NumberField
) -> None:
    with subtests.test("good-number-accepted"):  # the call is sound but for the number
        accepted = scene.send(target.call(scene, "5"))
        assert accepted.status_code in (200, 201), accepted.text
    unchanged = Unchanged()
    for name, value in BAD_NUMBERS.items():
        if name in target.valid:
            continue
        with subtests.test(name):
            response = scene.send(target.call(scene, value))
            written = unchanged.written()
            assert_refusal(response, target.field)
            assert written == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1e3", "1000", id="string-1e3"),
        pytest.param(Raw("1e3"), "1000", id="json-1e3"),
        pytest.param("1E+2", "100", id="string-1E+2"),
        pytest.param("25E-1", "2.5", id="string-25E-1"),
        pytest.param(Raw("2.5e-1"), "0.25", id="json-2.5e-1"),
    ],
)
def test_a_quantity_in_exponent_notation_is_the_number_it_writes(
    scene: Scene, value: Any, expected: str
) -> None:
    written = answer(scene.send(_receipt(scene, value)), 201)["movements"][0]
    [row] = scene.get(MOVEMENTS, lot_id=written["lot_id"])["items"]

    assert Decimal(written["quantity"]) == Decimal(expected)
    assert row["quantity"] == written["quantity"]
    assert "E" not in written["quantity"].upper()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1e3", "1000.00", id="exponent-1e3"),
        pytest.param("5E-1", "0.50", id="exponent-5E-1"),
        pytest.param("0.5", "0.50", id="one-decimal"),
    ],
)
def test_a_changed_tier_price_is_answered_as_a_later_read_answers_it(
    scene: Scene, value: str, expected: str
) -> None:
    """PUT answers the stored amount in plain two-decimal notation, as GET does after it."""
    answer(scene.send(_tier_price(scene, "2.00")))

    changed = answer(scene.send(_tier_price(scene, value)))
    read = scene.get(f"{PRODUCTS}/{scene.product}/prices")
    [audited, _] = scene.get(AUDIT, action="price.set")["items"]

    assert {row["tier"]: row["price"] for row in read}["wholesale"] == expected
    assert changed == read
    assert audited["details"]["changes"]["price"]["after"] == expected


def test_stock_beyond_the_storable_range_is_refused(scene: Scene) -> None:
    """A quantity has at most 14 digits (3 decimals); a level that would sum past that is
    refused, not stored out of range."""
    answer(scene.send(_receipt(scene, "99999999999.999")), 201)
    unchanged = Unchanged()

    response = scene.send(_receipt(scene, "1"))

    assert_refusal(response)
    assert unchanged.written() == []
    [level] = scene.get(LEVELS)["items"]
    assert level["on_hand"] == "99999999999.999"


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


UPLOAD_ROUTES = {
    "product-image": ("PUT", "/api/v1/products/{product_id}/image"),
    "lot-document": ("POST", "/api/v1/lots/{lot_id}/documents"),
}


def upload_path(s: Scene, kind: str) -> str:
    if kind == "product-image":
        return f"{PRODUCTS}/{s.product}/image"
    return f"{LOTS}/{s.lot}/documents"


def upload(s: Scene, kind: str, filename: str, data: bytes, content_type: str) -> Response:
    method, _ = UPLOAD_ROUTES[kind]
    files = {"file": (filename, data, content_type)}
    return s.client.request(method, upload_path(s, kind), files=files, headers=s.headers)


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


# =========================================================================== uploads


@pytest.mark.parametrize(
    ("kind", "limit", "fill"),
    [
        pytest.param("product-image", "MAX_IMAGE_BYTES", PNG, id="image"),
        pytest.param("lot-document", "MAX_DOCUMENT_BYTES", PDF, id="document"),
    ],
)
def test_an_upload_one_byte_over_its_limit_is_a_413(
    scene: Scene, kind: str, limit: str, fill: bytes
) -> None:
    allowed = int(getattr(get_settings(), limit))
    data = fill + bytes(allowed + 1 - len(fill))
    upload_path(scene, kind)  # the records exist before anything is measured
    unchanged = Unchanged()

    response = upload(scene, kind, "big.bin", data, "application/octet-stream")

    assert str(allowed) in assert_problem(response, 413)["detail"]
    assert unchanged.written() == []


MISMATCHED_CONTENT: dict[str, tuple[str, bytes, str]] = {
    "text-named-png": ("photo.png", b"just some text, not an image", "image/png"),
    "html-named-jpg": ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
    "svg-with-script": (
        "logo.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
    ),
    "gif": ("anim.gif", b"GIF89a" + bytes(32), "image/gif"),
    "exe-named-pdf": ("cert.pdf", b"MZ\x90\x00" + bytes(60), "application/pdf"),
    "zip-named-pdf": ("cert.pdf", b"PK\x03\x04" + bytes(60), "application/pdf"),
    "php-named-png": ("shell.php.png", b"<?php system($_GET['c']); ?>", "image/png"),
    "png-signature-not-first": ("late.png", b" " + PNG, "image/png"),
}


@pytest.mark.parametrize("kind", list(UPLOAD_ROUTES))
def test_an_upload_that_is_not_an_accepted_type_is_a_415(
    scene: Scene, subtests: pytest.Subtests, kind: str
) -> None:
    cases = dict(MISMATCHED_CONTENT)
    if kind == "product-image":
        cases["pdf-named-png"] = ("photo.png", PDF, "image/png")
    upload_path(scene, kind)
    unchanged = Unchanged()
    for name, (filename, data, content_type) in cases.items():
        with subtests.test(name):
            response = upload(scene, kind, filename, data, content_type)
            written = unchanged.written()
            assert_problem(response, 415)
            assert written == []


@pytest.mark.parametrize("kind", list(UPLOAD_ROUTES))
def test_an_empty_upload_is_a_422(scene: Scene, kind: str) -> None:
    upload_path(scene, kind)
    unchanged = Unchanged()

    response = upload(scene, kind, "empty.pdf", b"", "application/pdf")

    assert assert_problem(response, 422)["field"] == "file"
    assert unchanged.written() == []


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"description": "x" * (2 * MIB)}, id="a-field-of-2-MiB"),
        pytest.param({f"field{n}": "x" for n in range(2000)}, id="2000-fields"),
    ],
)
def test_an_oversized_form_is_refused(scene: Scene, form: dict[str, str]) -> None:
    path = upload_path(scene, "lot-document")
    files = {"file": ("cert.pdf", PDF, "application/pdf")}
    unchanged = Unchanged()

    response = scene.client.post(path, files=files, data=form, headers=scene.headers)

    assert_refusal(response)
    assert unchanged.written() == []


# --------------------------------------------------------------------------- file names

BOUNDARY = "dfims-bad-input-boundary"


def multipart_file(disposition: bytes, data: bytes = PDF) -> tuple[bytes, str]:
    """A multipart body of one ``file`` part whose Content-Disposition parameters after
    ``name="file"`` are ``disposition``, byte for byte; and its content type."""
    body = (
        b"--" + BOUNDARY.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="file"; ' + disposition + b"\r\n"
        b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n"
        b"--" + BOUNDARY.encode() + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={BOUNDARY}"


HOSTILE_FILENAMES: dict[str, bytes] = {
    "dot-dot-slash": b'filename="../../../../etc/passwd"',
    "dot-dot-backslash": b'filename="..\\..\\..\\evil.pdf"',
    "absolute": b'filename="/etc/passwd"',
    "windows-drive": b'filename="C:\\Windows\\win.ini"',
    "unc": b'filename="\\\\server\\share\\evil.pdf"',
    "dots-only": b'filename=".."',
    "nested-dots": b'filename="....//....//evil.pdf"',
    "percent-encoded": b'filename="%2e%2e%2f%2e%2e%2fevil.pdf"',
    "nul-byte": b'filename="evil.pdf\x00.png"',
    "control-chars": b'filename="ev\x01il\x1b[2J.pdf"',
    "rtl-override": 'filename="invoice\u202efdp.exe"'.encode(),
    "markup": b'filename="<script>alert(1)</script>.pdf"',
    "very-long": b'filename="' + b"a" * 5000 + b'.pdf"',
    "escaped-quote": b'filename="a\\";evil=.pdf"',
    "rfc5987-traversal": b"filename*=UTF-8''..%2F..%2F..%2Fetc%2Fpasswd",
    "empty": b'filename=""',
}
SAFE_NAME = re.compile(r"[^/\\\x00-\x1f\x7f]{1,255}")
STORED_NAME = re.compile(r"lots/[0-9a-f]{32}\.pdf")


def test_a_hostile_document_name_never_leaves_the_upload_dir(
    scene: Scene, subtests: pytest.Subtests, workdir: Path
) -> None:
    """Kept under a server-made name inside UPLOAD_DIR with a harmless display name, and
    served back intact; or refused, writing nothing."""
    path = upload_path(scene, "lot-document")
    unchanged = Unchanged()
    for name, disposition in HOSTILE_FILENAMES.items():
        with subtests.test(name):
            body, content_type = multipart_file(disposition)
            headers = {**scene.headers, "Content-Type": content_type}
            files_before = kept_files()
            response = scene.client.post(path, content=body, headers=headers)
            written = unchanged.written()
            if response.status_code != 201:
                assert_refusal(response)
                assert written == []
                continue
            document = response.json()
            with engine.connect() as connection:
                stored_name = connection.scalar(
                    select(LotDocument.stored_name).where(LotDocument.id == document["id"])
                )
            assert stored_name is not None
            assert STORED_NAME.fullmatch(stored_name), stored_name
            assert (upload_root() / stored_name).resolve().parent == upload_root() / "lots"
            assert kept_files() - files_before == {stored_name}
            shown = document["filename"]
            assert SAFE_NAME.fullmatch(shown), shown
            assert shown.isprintable()
            assert not shown.startswith(".")
            served = scene.client.get(f"{path}/{document['id']}", headers=scene.headers)
            assert served.status_code == 200, served.text
            assert served.content == PDF
            disposition_header = served.headers["content-disposition"]
            assert "\r" not in disposition_header
            assert "\n" not in disposition_header
    planted = {"passwd", "win.ini", "evil.pdf", "evil.pdf.png"}
    assert [p for p in workdir.rglob("*") if p.name in planted] == []


# --------------------------------------------------------------------------- paths to files

TRAVERSALS: dict[str, str] = {
    "encoded-slashes": "..%2F..%2F..%2Fetc%2Fpasswd",
    "encoded-dots": "%2e%2e",
    "double-encoded": "%252e%252e%252fetc%252fpasswd",
    "backslashes": "..%5C..%5Cwin.ini",
    "nul": "1%00",
    "negative": "-1",
    "zero": "0",
    "fraction": "1.5",
    "sql": "1%20OR%201=1",
    "huge": HUGE_ID,
}
FILE_PATHS: dict[str, Callable[[Scene, str], str]] = {
    "image-of-product": lambda s, bad: f"{PRODUCTS}/{bad}/image",
    "document-of-lot": lambda s, bad: f"{LOTS}/{bad}/documents/{s.document}",
    "document-id": lambda s, bad: f"{LOTS}/{s.lot}/documents/{bad}",
    "product-image-page": lambda s, bad: f"/products/{bad}/image",
}


@pytest.mark.parametrize("where", ids(FILE_PATHS))
def test_a_file_path_parameter_cannot_reach_other_files(
    scene: Scene, make_user: MakeUser, subtests: pytest.Subtests, where: Callable[[Scene, str], str]
) -> None:
    """The paths that serve files take ids only: anything else is a 404 or a 422 (an HTML
    page for the web's path), never a file and never a server error."""
    scene.image, scene.document  # noqa: B018 (files that could be reached)
    logged_in(scene.client, make_user, Role.STAFF)
    for name, bad in TRAVERSALS.items():
        with subtests.test(name):
            response = scene.client.get(where(scene, bad), headers=scene.headers)
            assert response.status_code in (404, 422), response.text[:300]
            assert b"root:" not in response.content
            assert b"%PDF" not in response.content
            assert not response.content.startswith(PNG[:8])
            if response.headers["content-type"].startswith("application/"):
                assert_problem(response, (404, 422))


STATIC_TRAVERSALS = [
    "/static/..%2F..%2Fcore%2Fconfig.py",
    "/static/%2e%2e/%2e%2e/core/config.py",
    "/static/..%5C..%5Ccore%5Cconfig.py",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
]


def test_static_files_cannot_reach_outside_their_folder(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    for path in STATIC_TRAVERSALS:
        with subtests.test(path):
            response = client.get(path)
            assert response.status_code == 404, response.text[:300]
            for secret in (b"SECRET_KEY", b"root:", b"[tool."):
                assert secret not in response.content


# =========================================================================== text


@dataclass(frozen=True)
class TextField:
    """A text field: ``call`` writes a value into it, ``read`` reads the value stored back
    through the API, given the write's answer."""

    field: str
    max_length: int
    call: Callable[[Scene, str], Call]
    read: Callable[[Scene, Any], str]
    form: bool = False  # sent as a multipart form field, not JSON


def _read(path: str, field: str) -> Callable[[Scene, Any], str]:
    return lambda s, written: str(s.get(f"{path}/{written['id']}")[field])


def _record(path: str, base: Callable[[int], dict[str, str]], field: str, limit: int) -> TextField:
    return TextField(
        field,
        limit,
        lambda s, v: Call("POST", path, {**base(s.key()), field: v}),
        _read(path, field),
    )


def _product_field(field: str, limit: int) -> TextField:
    return TextField(field, limit, lambda s, v: _product(s, **{field: v}), _read(PRODUCTS, field))


def _status_change(s: Scene, reason: str) -> Call:
    """Quarantine the (available) lot."""
    return Call("POST", f"{LOTS}/{s.lot}/status", {"status": "quarantine", "reason": reason})


def _audited_reason(s: Scene, _: Any) -> str:
    newest = s.get(AUDIT, action="lot.status_changed")["items"][0]
    return str(newest["details"]["reason"])


def _document(s: Scene, description: str) -> Call:
    files = {"file": ("cert.pdf", PDF, "application/pdf")}
    form = {"description": description}
    return Call("POST", f"{LOTS}/{s.lot}/documents", form=form, files=files)


def _described(s: Scene, written: Any) -> str:
    documents = s.get(f"{LOTS}/{written['lot_id']}/documents")
    return str(next(doc["description"] for doc in documents if doc["id"] == written["id"]))


def _movement(field: str) -> Callable[[Scene, Any], str]:
    def read(s: Scene, written: Any) -> str:
        movement = written["movements"][0]
        rows = s.get(MOVEMENTS, lot_id=movement["lot_id"])["items"]
        return str(next(row[field] for row in rows if row["id"] == movement["id"]))

    return read


def _new_user(s: Scene, full_name: str) -> Call:
    body = {"email": f"user-{s.key()}@example.com", "password": PASSWORD, "full_name": full_name}
    return Call("POST", USERS, body)


def _registration(s: Scene, full_name: str) -> Call:
    body = {"email": f"shop-{s.key()}@example.com", "password": PASSWORD, "full_name": full_name}
    return Call("POST", REGISTER, body, anonymous=True)


def _registered(s: Scene, written: Any) -> str:
    """The name of the account registered (the answer does not show the account)."""
    [user] = s.get(USERS, q=written["email"])["items"]
    return str(user["full_name"])


TEXT_FIELDS: dict[str, TextField] = {
    "product-name": _product_field("name", 200),
    "product-variety": _product_field("variety", 100),
    "product-grade": _product_field("grade", 100),
    "product-description": _product_field("description", 2000),
    "product-name-update": TextField(
        "name",
        200,
        lambda s, v: Call("PATCH", f"{PRODUCTS}/{s.product}", {"name": v}),
        _read(PRODUCTS, "name"),
    ),
    "category-name": _record(CATEGORIES, lambda n: {}, "name", 200),
    "category-description": _record(
        CATEGORIES, lambda n: {"name": f"Category {n}"}, "description", 2000
    ),
    "supplier-name": _record(SUPPLIERS, lambda n: {"code": f"S-{n}"}, "name", 200),
    "supplier-contact-name": _record(
        SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "contact_name", 100
    ),
    "supplier-phone": _record(SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "phone", 100),
    "supplier-address": _record(
        SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "address", 2000
    ),
    "warehouse-name": _record(WAREHOUSES, lambda n: {"code": f"W-{n}"}, "name", 200),
    "warehouse-address": _record(
        WAREHOUSES, lambda n: {"code": f"W-{n}", "name": "W"}, "address", 2000
    ),
    "customer-name": _record(CUSTOMERS, lambda n: {}, "name", 200),
    "customer-phone": _record(CUSTOMERS, lambda n: {"name": "C"}, "phone", 100),
    "customer-billing-address": _record(
        CUSTOMERS, lambda n: {"name": "C"}, "billing_address", 2000
    ),
    "customer-shipping-address": _record(
        CUSTOMERS, lambda n: {"name": "C"}, "shipping_address", 2000
    ),
    "customer-notes": _record(CUSTOMERS, lambda n: {"name": "C"}, "notes", 2000),
    "customer-notes-update": TextField(
        "notes",
        2000,
        lambda s, v: Call("PATCH", f"{CUSTOMERS}/{s.customer}", {"notes": v}),
        _read(CUSTOMERS, "notes"),
    ),
    "order-notes": TextField(
        "notes", 2000, lambda s, v: _order(s, notes=v), _read(ORDERS, "notes")
    ),
    "order-notes-update": TextField(
        "notes",
        2000,
        lambda s, v: Call("PATCH", f"{ORDERS}/{s.order}", {"notes": v}),
        _read(ORDERS, "notes"),
    ),
    "purchase-notes": TextField(
        "notes", 2000, lambda s, v: _purchase(s, notes=v), _read(PURCHASES, "notes")
    ),
    "receipt-reason": TextField(
        "reason",
        2000,
        lambda s, v: Call(
            "POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-T", "1", reason=v)
        ),
        _movement("reason"),
    ),
    "receipt-reference": TextField(
        "reference",
        100,
        lambda s, v: Call(
            "POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-T", "1", reference=v)
        ),
        _movement("reference"),
    ),
    "lot-status-reason": TextField("reason", 2000, _status_change, _audited_reason),
    "lot-document-description": TextField("description", 300, _document, _described, form=True),
    "user-full-name": TextField("full_name", 200, _new_user, _read(USERS, "full_name")),
    "user-full-name-update": TextField(
        "full_name",
        200,
        lambda s, v: Call("PATCH", f"{USERS}/{s.staff}", {"full_name": v}),
        _read(USERS, "full_name"),
    ),
    "own-full-name": TextField(
        "full_name",
        200,
        lambda s, v: Call("PATCH", f"{USERS}/me", {"full_name": v}),
        _read(USERS, "full_name"),
    ),
    "registration-full-name": TextField("full_name", 200, _registration, _registered),
}

# Each in the middle of the text, where no stripping of the ends applies.
REFUSED_TEXT: dict[str, Callable[[int], str]] = {
    "nul": lambda _: "Dates\x00Figs",
    "c0-controls": lambda _: "Dates\x01\x07\x08\x1b[31m\x1fFigs",
    "lone-surrogate": lambda _: "Dates\ud800Figs",
    "one-over-max-length-in-4-byte-characters": lambda limit: FOUR_BYTES * (limit + 1),
}
UNICODE = (
    "Dates \u202egnp.exe\u202c Da\u200bte\u200cs\u200d\ufeff\u2060 🍑🌴 "
    "\U0001d507\U0001d51e\U0001d531\U0001d522\U0001d530 𠜎 De\u0301glet تمر 干果 "
)
KEPT_TEXT: dict[str, Callable[[int], str]] = {
    # right-to-left override, zero-width characters, emoji, other 4-byte characters,
    # combining marks and other scripts, filled up to the maximum length with 4-byte ones
    "unicode-at-max-length": lambda limit: (UNICODE + FOUR_BYTES * limit)[:limit],
    "sql-injection": lambda _: (
        '\' OR 1=1 -- \'; DROP TABLE products; -- " OR ""=" UNION SELECT hashed_password'
    ),
    "template-injection": lambda _: (
        "{{7*7}} {{config}} ${7*7} #{7*7} <%= 7*7 %> {% raw %}{{x}}{% endraw %} <b>bold</b>"
    ),
}


@pytest.mark.parametrize("make", ids(REFUSED_TEXT))
def test_control_characters_surrogates_and_overlong_text_are_refused(
    scene: Scene, subtests: pytest.Subtests, make: Callable[[int], str]
) -> None:
    """In every text field: a 422 problem, and nothing written."""
    calls = {
        name: target.call(scene, make(target.max_length))
        for name, target in TEXT_FIELDS.items()
        if not (target.form and make is REFUSED_TEXT["lone-surrogate"])  # no UTF-8 form
    }
    unchanged = Unchanged()
    for name, call in calls.items():
        with subtests.test(name):
            response = scene.send(call)
            written = unchanged.written()
            assert_problem(response, 422)
            assert written == []


@pytest.mark.parametrize("make", ids(KEPT_TEXT))
def test_awkward_text_is_stored_and_answered_verbatim(
    scene: Scene, subtests: pytest.Subtests, make: Callable[[int], str]
) -> None:
    """Unicode of every kind and injection strings are data, in every text field: kept and
    answered exactly as sent, never run (a template expression never becomes 49)."""
    for name, target in TEXT_FIELDS.items():
        with subtests.test(name):
            text = make(target.max_length)
            written = scene.send(target.call(scene, text))
            assert written.status_code in (200, 201, 202), written.text[:600]
            assert target.read(scene, written.json()) == text
            if target.field in written.json():
                assert written.json()[target.field] == text


# --------------------------------------------------------------------------- query parameters

QUERY_STRINGS: dict[str, str] = {
    "sql-injection": "' OR 1=1 --",
    "sql-drop-table": "'; DROP TABLE products; --",
    "sql-union": "x' UNION SELECT email, hashed_password FROM users --",
    "like-percent": "%",
    "like-underscore": "_",
    "template-injection": "{{7*7}}",
    "nul": "a\x00b",
}
SEARCHES: dict[str, tuple[str, str]] = {
    "products-q": (PRODUCTS, "q"),
    "customers-q": (CUSTOMERS, "q"),
    "suppliers-q": (SUPPLIERS, "q"),
    "warehouses-q": (WAREHOUSES, "q"),
    "lots-q": (LOTS, "q"),
    "users-q": (USERS, "q"),
    "movements-reference": (MOVEMENTS, "reference"),
    "audit-action": (AUDIT, "action"),
    "audit-entity-type": (AUDIT, "entity_type"),
}


@pytest.fixture
def populated(scene: Scene) -> Scene:
    """One record of every searched kind (and their audit rows)."""
    scene.lot, scene.customer, scene.supplier, scene.order  # noqa: B018
    return scene


@pytest.mark.parametrize("value", ids(QUERY_STRINGS))
def test_a_search_parameter_is_only_ever_a_literal(
    populated: Scene, subtests: pytest.Subtests, value: str
) -> None:
    """Matched literally (no record holds these strings, so none matches) or refused; the
    tables are all still there afterwards."""
    unchanged = Unchanged()
    for name, (path, parameter) in SEARCHES.items():
        with subtests.test(name):
            response = populated.client.get(
                path, params={parameter: value}, headers=populated.headers
            )
            written = unchanged.written()
            if response.status_code == 200:
                assert response.json()["items"] == []
                assert response.json()["total"] == 0
            else:
                assert_refusal(response, parameter)
            assert written == []
    assert populated.get(PRODUCTS)["total"] == 1
    assert populated.get(f"{USERS}/me")["role"] == "admin"


ENUM_FILTERS: dict[str, tuple[str, str]] = {
    "orders-status": (ORDERS, "status"),
    "purchases-status": (PURCHASES, "status"),
    "movements-kind": (MOVEMENTS, "kind"),
    "lots-status": (LOTS, "status"),
    "users-role": (USERS, "role"),
    "products-unit": (PRODUCTS, "unit"),
}
NOT_IN_AN_ENUM = {
    "sql-injection": "' OR 1=1 --",
    "sql-after-a-valid-value": "pending' OR '1'='1",
    "template-injection": "{{7*7}}",
    "nul": "a\x00b",
}


@pytest.mark.parametrize("where", ids(ENUM_FILTERS))
def test_an_enumerated_filter_refuses_anything_else(
    populated: Scene, subtests: pytest.Subtests, where: tuple[str, str]
) -> None:
    path, parameter = where
    for name, value in NOT_IN_AN_ENUM.items():
        with subtests.test(name):
            response = populated.client.get(
                path, params={parameter: value}, headers=populated.headers
            )
            assert_refusal(response, parameter)


SORT_KEYS = {
    "sql-statement": "occurred_at; DROP TABLE lots; --",
    "subquery": "(SELECT hashed_password FROM users)",
    "sql-direction": "occurred_at desc",
    "injection-after-a-valid-key": "occurred_at,' OR 1=1 --",
    "template-injection": "{{7*7}}",
    "python-attribute": "__class__",
    "nul": "occurred_at\x00",
}


@pytest.mark.parametrize("report", ["lots", "customers"])
def test_a_sort_key_outside_the_list_is_refused(
    populated: Scene, subtests: pytest.Subtests, report: str
) -> None:
    target = populated.lot if report == "lots" else populated.customer
    path = f"{TRACE}/{report}/{target}"
    for name, sort in SORT_KEYS.items():
        with subtests.test(name):
            response = populated.client.get(path, params={"sort": sort}, headers=populated.headers)
            assert_refusal(response, "sort")
    assert populated.get(f"{LOTS}/{populated.lot}")["id"] == populated.lot


# --------------------------------------------------------------------------- ids

HUGE_ID_PATHS: dict[str, str] = {
    "product": f"{PRODUCTS}/{HUGE_ID}",
    "customer": f"{CUSTOMERS}/{HUGE_ID}",
    "order": f"{ORDERS}/{HUGE_ID}",
    "purchase": f"{PURCHASES}/{HUGE_ID}",
    "user": f"{USERS}/{HUGE_ID}",
    "lot-trace": f"{TRACE}/lots/{HUGE_ID}",
    "levels-product-filter": f"{LEVELS}?product_id={HUGE_ID}",
    "movements-lot-filter": f"{MOVEMENTS}?lot_id={HUGE_ID}",
    "products-offset": f"{PRODUCTS}?offset={HUGE_ID}",
    "audit-actor-filter": f"{AUDIT}?actor_id={HUGE_ID}",
}
HUGE = Raw(HUGE_ID)


def _receipt_with(s: Scene, **fields: Any) -> Call:
    return Call("POST", RECEIPTS, {**receipt_body(s.product, s.main, "LOT-H", "1"), **fields})


HUGE_BODY_IDS: dict[str, tuple[Callable[[Scene], Call], str]] = {
    "receipt-product": (lambda s: _receipt_with(s, product_id=HUGE), "product_id"),
    "receipt-warehouse": (lambda s: _receipt_with(s, warehouse_id=HUGE), "warehouse_id"),
    "order-customer": (lambda s: _order(s, customer_id=HUGE), "customer_id"),
    "order-line-product": (lambda s: _order(s, {"product_id": HUGE}), "product_id"),
    "purchase-supplier": (lambda s: _purchase(s, supplier_id=HUGE), "supplier_id"),
    "product-category": (lambda s: _product(s, category_id=HUGE), "category_id"),
}


def test_an_id_beyond_any_integer_column_is_a_4xx(scene: Scene, subtests: pytest.Subtests) -> None:
    """In a path, a query or a body: a 404 or 422 problem, never a server error."""
    calls = {name: (make(scene), field) for name, (make, field) in HUGE_BODY_IDS.items()}
    unchanged = Unchanged()
    for name, path in HUGE_ID_PATHS.items():
        with subtests.test(name):
            assert_problem(scene.client.get(path, headers=scene.headers), (404, 422))
    for name, (call, field) in calls.items():
        with subtests.test(name):
            response = scene.send(call)
            written = unchanged.written()
            assert_refusal(response, field)
            assert written == []


def test_a_page_for_an_id_beyond_any_integer_column_is_not_a_server_error(
    scene: Scene, make_user: MakeUser
) -> None:
    logged_in(scene.client, make_user, Role.STAFF)

    response = scene.client.get(f"/products/{HUGE_ID}")

    assert response.status_code in (404, 422), response.status_code


# --------------------------------------------------------------------------- login

LOGIN_NAMES = {
    "nul": "admin\x00@example.com",
    "sql-injection": "' OR 1=1 --",
    "100-kB": "x" * 100_000,
    "template-injection": "{{7*7}}@example.com",
}


def test_a_hostile_login_name_is_a_clean_refusal(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    unchanged = Unchanged()
    for name, username in LOGIN_NAMES.items():
        with subtests.test(name):
            response = client.post(LOGIN, data={"username": username, "password": "not it"})
            written = unchanged.written()
            assert_problem(response, (401, 422))
            assert written == []


# =========================================================================== pages


def test_product_pages_show_template_syntax_as_text(scene: Scene, make_user: MakeUser) -> None:
    """A product named with template syntax is shown as written on its page and in the list
    (the expressions are never evaluated)."""
    text = KEPT_TEXT["template-injection"](100)
    created = answer(scene.send(_product(scene, name=text, variety=text, description=text)), 201)
    logged_in(scene.client, make_user, Role.STAFF)

    detail = page_of(scene.client.get(f"/products/{created['id']}"))
    listed = page_of(scene.client.get("/products", params={"q": "{{7*7}}"}))

    assert text in detail.text
    assert text in listed.text
