"""The stock movement tests' request bodies, bad input cases and keyed writes."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, text

from app.core.database import SessionLocal, engine
from app.models.inventory import IdempotencyRecord
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.stock import (
    ADJUSTMENTS,
    COUNTS,
    RECEIPTS,
    TRANSFERS,
    WASTE,
    Stocked,
    receipt_body,
)

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def only_movement(response: Response) -> dict[str, Any]:
    """The single ledger row a 201 answer reports."""
    assert response.status_code == 201, response.text
    movements = response.json()["movements"]
    assert len(movements) == 1
    return dict(movements[0])


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


# --------------------------------------------------------------------------- delivery notes

REPEATED = "repeated-delivery-note"


CONFIRM = "allow_repeated_delivery_note"


# --------------------------------------------------------------------------- exact decimals


def _waste(
    client: TestClient, admin: SignedIn, product: int, lot: int, warehouse: int, quantity: str
) -> Response:
    body = {
        "product_id": product,
        "lot_id": lot,
        "warehouse_id": warehouse,
        "quantity": quantity,
        "reason": "Spoiled",
    }
    return client.post(WASTE, json=body, headers=admin.headers)


# --------------------------------------------------------------------------- bad input

Body = Callable[[Stocked], dict[str, Any]]


def receipt(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid receipt of 5 kg into a new lot, with ``changes``."""
    return {**receipt_body(s.world.kg_product, s.world.main, "NEW-LOT-1", "5"), **changes}


def adjustment(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid +5 kg adjustment of the kg lot in MAIN, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "warehouse_id": s.world.main,
        "quantity": "5",
        "reason": "Found stock",
    }
    return {**body, **changes}


def transfer(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid transfer of 5 kg of the kg lot from MAIN to SPARE, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "from_warehouse_id": s.world.main,
        "to_warehouse_id": s.world.spare,
        "quantity": "5",
    }
    return {**body, **changes}


def waste(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid write-off of 5 kg of the kg lot in MAIN, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "warehouse_id": s.world.main,
        "quantity": "5",
        "reason": "Spoiled",
    }
    return {**body, **changes}


def count(s: Stocked, counted: Any = "90", **changes: Any) -> dict[str, Any]:
    """A valid count of the kg lot in MAIN (90 of 100), with ``changes``."""
    body = {
        "warehouse_id": s.world.main,
        "lines": [{"lot_id": s.kg_lot, "counted_quantity": counted}],
    }
    return {**body, **changes}


Build = Callable[..., dict[str, Any]]


def pack(build: Build) -> Build:
    """``build`` for the pack product and its lot."""

    def body(s: Stocked, **changes: Any) -> dict[str, Any]:
        result = build(s, product_id=s.world.pack_product, **changes)
        if "lot_id" in result:
            result["lot_id"] = s.pack_lot
        return result

    return body


BAD_QUANTITIES: dict[str, Any] = {
    "zero": "0",
    "negative": "-1",
    "beyond-range": "1e20",
    "beyond-range-json-number": 1e20,
    "twelve-integer-digits": "100000000000",
    "too-many-decimals": "1.0001",
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "not-a-number": "a lot",
}


def _quantity_cases() -> list[Any]:
    cases = []
    for name, value in BAD_QUANTITIES.items():
        for path, build in ((RECEIPTS, receipt), (TRANSFERS, transfer), (WASTE, waste)):
            endpoint = path.rsplit("/", 1)[-1]
            body = functools.partial(build, quantity=value)
            cases.append(pytest.param(path, body, "quantity", id=f"{endpoint}-{name}"))
        if name != "negative":  # a negative adjustment is a valid correction
            body = functools.partial(adjustment, quantity=value)
            cases.append(pytest.param(ADJUSTMENTS, body, "quantity", id=f"adjustments-{name}"))
        if name != "zero":  # counting zero is valid
            body = functools.partial(count, counted=value)
            cases.append(pytest.param(COUNTS, body, "counted_quantity", id=f"counts-{name}"))
    return cases


TODAY = date.today()
INVALID = "invalid-request"
CONFLICT = "conflict"
VALIDATION = "validation-error"
INSUFFICIENT = "insufficient-stock"


def case(
    name: str,
    path: str,
    build: Build,
    status: int,
    field: str | None,
    *,
    slug: str | None = None,
    **changes: Any,
) -> Any:
    """A refusal: ``build`` with ``changes`` (callables get the scene) answers ``status``."""

    def body(s: Stocked) -> dict[str, Any]:
        return build(s, **{k: v(s) if callable(v) else v for k, v in changes.items()})

    slug = slug or {409: CONFLICT, 422: INVALID}[status]
    return pytest.param(path, body, status, slug, field, id=name)


def day(offset: int) -> str:
    """The ISO date ``offset`` days from today."""
    return (TODAY + timedelta(days=offset)).isoformat()


R, A, T, W, C = RECEIPTS, ADJUSTMENTS, TRANSFERS, WASTE, COUNTS


def lot_line(lot: Callable[[Stocked], int], counted: str) -> Callable[[Stocked], Any]:
    """Count lines of one lot of the scene."""
    return lambda s: [{"lot_id": lot(s), "counted_quantity": counted}]


# fmt: off
REFUSALS = [
    # receipts
    case("receipt-unknown-product", R, receipt, 422, "product_id", product_id=UNKNOWN_ID),
    case(
        "receipt-inactive-product", R, receipt, 422, "product_id",
        product_id=lambda s: s.retired_product,
    ),
    case("receipt-unknown-warehouse", R, receipt, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "receipt-inactive-warehouse", R, receipt, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("receipt-unknown-supplier", R, receipt, 422, "supplier_id", supplier_id=UNKNOWN_ID),
    case(
        "receipt-inactive-supplier", R, receipt, 422, "supplier_id",
        supplier_id=lambda s: s.retired_supplier,
    ),
    case("receipt-half-a-pack", R, pack(receipt), 422, "quantity", quantity="1.5"),
    case(
        "receipt-best-before-before-received", R, receipt, 422, "best_before",
        received_date=day(-5), best_before=day(-6),
    ),
    case("receipt-received-tomorrow", R, receipt, 422, "received_date", received_date=day(1)),
    case(
        "receipt-moisture-over-100", R, receipt, 422, "moisture_pct",
        slug=VALIDATION, moisture_pct="100.01",
    ),
    case(
        "receipt-moisture-negative", R, receipt, 422, "moisture_pct",
        slug=VALIDATION, moisture_pct="-1",
    ),
    case(
        "receipt-negative-unit-cost", R, receipt, 422, "unit_cost",
        slug=VALIDATION, unit_cost="-0.01",
    ),
    case("receipt-bad-lot-code", R, receipt, 422, "lot_code", slug=VALIDATION, lot_code="../x"),
    case(
        "receipt-existing-lot-other-best-before", R, receipt, 409, "best_before",
        lot_code="KG-LOT-1", best_before=day(1),
    ),
    case(
        "receipt-existing-lot-other-supplier", R, receipt, 409, "supplier_id",
        lot_code="KG-LOT-1", supplier_id=lambda s: s.world.supplier,
    ),
    # adjustments
    case("adjustment-unknown-lot", A, adjustment, 422, "lot_id", lot_id=UNKNOWN_ID),
    case(
        "adjustment-lot-of-another-product", A, adjustment, 422, "lot_id",
        lot_id=lambda s: s.pack_lot,
    ),
    case("adjustment-unknown-product", A, adjustment, 422, None, product_id=UNKNOWN_ID),
    case(
        "adjustment-unknown-warehouse", A, adjustment, 422, "warehouse_id",
        warehouse_id=UNKNOWN_ID,
    ),
    case(
        "adjustment-inactive-warehouse", A, adjustment, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("adjustment-empty-reason", A, adjustment, 422, "reason", reason=""),
    case("adjustment-blank-reason", A, adjustment, 422, "reason", reason="   "),
    case("adjustment-half-a-pack-up", A, pack(adjustment), 422, "quantity", quantity="1.5"),
    case("adjustment-half-a-pack-down", A, pack(adjustment), 422, "quantity", quantity="-1.5"),
    case(
        "adjustment-more-than-on-hand", A, adjustment, 409, None,
        slug=INSUFFICIENT, quantity="-100.001",
    ),
    # transfers
    case(
        "transfer-to-the-same-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=lambda s: s.world.main,
    ),
    case("transfer-unknown-lot", T, transfer, 422, "lot_id", lot_id=UNKNOWN_ID),
    case(
        "transfer-lot-of-another-product", T, transfer, 422, "lot_id",
        lot_id=lambda s: s.pack_lot,
    ),
    case("transfer-unknown-product", T, transfer, 422, None, product_id=UNKNOWN_ID),
    case(
        "transfer-from-unknown-warehouse", T, transfer, 422, "from_warehouse_id",
        from_warehouse_id=UNKNOWN_ID,
    ),
    case(
        "transfer-from-inactive-warehouse", T, transfer, 422, "from_warehouse_id",
        from_warehouse_id=lambda s: s.closed_warehouse,
    ),
    case(
        "transfer-to-unknown-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=UNKNOWN_ID,
    ),
    case(
        "transfer-to-inactive-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("transfer-half-a-pack", T, pack(transfer), 422, "quantity", quantity="0.5"),
    case(
        "transfer-more-than-available", T, transfer, 409, None,
        slug=INSUFFICIENT, quantity="100.001",
    ),
    # waste
    case("waste-empty-reason", W, waste, 422, "reason", reason=""),
    case("waste-blank-reason", W, waste, 422, "reason", reason="  \t "),
    case("waste-unknown-lot", W, waste, 422, "lot_id", lot_id=UNKNOWN_ID),
    case("waste-lot-of-another-product", W, waste, 422, "lot_id", lot_id=lambda s: s.pack_lot),
    case("waste-unknown-warehouse", W, waste, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "waste-inactive-warehouse", W, waste, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("waste-part-of-a-pack", W, pack(waste), 422, "quantity", quantity="2.25"),
    case(
        "waste-more-than-available", W, waste, 409, None, slug=INSUFFICIENT, quantity="100.001"
    ),
    case(
        "waste-from-a-warehouse-without-the-lot", W, waste, 409, None,
        slug=INSUFFICIENT, warehouse_id=lambda s: s.world.spare,
    ),
    # counts
    case("count-unknown-warehouse", C, count, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "count-inactive-warehouse", C, count, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case(
        "count-unknown-lot", C, count, 422, "lines",
        lines=[{"lot_id": UNKNOWN_ID, "counted_quantity": "1"}],
    ),
    case("count-half-a-pack", C, count, 422, "lines", lines=lot_line(lambda s: s.pack_lot, "2.5")),
    case(
        "count-same-lot-twice", C, count, 422, "lines",
        lines=lambda s: [
            {"lot_id": s.kg_lot, "counted_quantity": "90"},
            {"lot_id": s.kg_lot, "counted_quantity": "80"},
        ],
    ),
    case("count-no-lines", C, count, 422, "lines", slug=VALIDATION, lines=[]),
]
# fmt: on


# --------------------------------------------------------------------------- idempotency


@dataclass(frozen=True)
class Write:
    """A movement endpoint, a valid body, another user's body, and a body it refuses."""

    path: str
    body: Body
    other_user_body: Body
    refused: Body
    refused_status: int


WRITES = [
    pytest.param(
        Write(RECEIPTS, receipt, receipt, functools.partial(receipt, warehouse_id=UNKNOWN_ID), 422),
        id="receipts",
    ),
    pytest.param(
        Write(ADJUSTMENTS, adjustment, adjustment, functools.partial(adjustment, reason=""), 422),
        id="adjustments",
    ),
    pytest.param(
        Write(TRANSFERS, transfer, transfer, functools.partial(transfer, quantity="100.5"), 409),
        id="transfers",
    ),
    pytest.param(
        Write(WASTE, waste, waste, functools.partial(waste, quantity="100.5"), 409), id="waste"
    ),
    pytest.param(
        Write(
            COUNTS,
            count,
            functools.partial(count, counted="80"),
            functools.partial(count, lines=[{"lot_id": UNKNOWN_ID, "counted_quantity": "1"}]),
            422,
        ),
        id="counts",
    ),
]


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    """``headers`` with an Idempotency-Key."""
    return {**headers, IDEMPOTENCY_KEY: key}


def idempotency_records(key: str) -> list[IdempotencyRecord]:
    """The stored records of ``key``, for every user."""
    with SessionLocal() as db:
        query = select(IdempotencyRecord).where(IdempotencyRecord.key == key)
        return list(db.scalars(query.order_by(IdempotencyRecord.id)).all())


# --------------------------------------------------------------------------- append-only ledger


def ledger_row(movement_id: int) -> tuple[Any, ...]:
    """Every column of one ledger row, read fresh."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM stock_movements WHERE id = :id"), {"id": movement_id}
        ).one()
        return tuple(row)
