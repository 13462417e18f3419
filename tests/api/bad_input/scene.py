"""What the bad input tests share: a snapshot of everything stored, the checks of a refusal,
and the scene of records the requests name."""

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core.database import Base, engine
from tests.conftest import PASSWORD
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    PRODUCTS,
    make_customer,
    make_priced_product,
    place_order,
)
from tests.support.stock import (
    API,
    LOTS,
    make_supplier,
    make_warehouse,
    receive,
)

PURCHASES = f"{API}/purchase-orders"
USERS = f"{API}/users"
SUPPLIERS = f"{API}/suppliers"
WAREHOUSES = f"{API}/warehouses"
AUDIT = f"{API}/audit"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
MIB = 1024 * 1024


# Beyond any 64-bit integer column (SQLite's INTEGER, PostgreSQL's bigint).
HUGE_ID = str(10**20)


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


def ids(cases: dict[str, Any]) -> list[Any]:
    """pytest params named by their keys."""
    return [pytest.param(value, id=name) for name, value in cases.items()]


def _order(s: Scene, line: dict[str, Any] | None = None, **fields: Any) -> Call:
    line = {"product_id": s.product, "quantity": "1", **(line or {})}
    return Call("POST", ORDERS, {"customer_id": s.customer, "lines": [line], **fields})


def _purchase(s: Scene, line: dict[str, Any] | None = None, **fields: Any) -> Call:
    line = {"product_id": s.product, "quantity": "1", **(line or {})}
    body = {"supplier_id": s.supplier, "warehouse_id": s.main, "lines": [line], **fields}
    return Call("POST", PURCHASES, body)


def _product(s: Scene, **fields: Any) -> Call:
    return Call("POST", PRODUCTS, {"sku": f"SKU-{s.key()}", "name": "Figs", **fields})


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
