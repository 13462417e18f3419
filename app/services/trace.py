"""Traceability, the mock recall: a lot upstream and downstream, a customer's lots.

Each report is a fixed handful of indexed queries, whatever the size of the ledger.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import BindParameter, ColumnElement, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.core import async_database
from app.core.async_database import Statement
from app.core.errors import InvalidRequestError, NotFoundError
from app.models.catalog import Product, Supplier, Warehouse
from app.models.inventory import (
    Lot,
    LotDocument,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.models.purchasing import PurchaseOrder, PurchaseReceipt, PurchaseReceiptLine
from app.models.sales import Customer, SalesOrder
from app.schemas.trace import (
    CustomerLotRow,
    CustomerTrace,
    LotTrace,
    TraceCustomerShare,
    TraceDocument,
    TraceEvent,
    TraceHolding,
    TraceLot,
    TraceProduct,
    TraceReceipt,
    TraceReservation,
    TraceSupplier,
    TraceTotals,
)

ZERO = Decimal("0.000")

LOT_EVENT_SORTS: Mapping[str, Any] = {
    "occurred_at": StockMovement.created_at,
    "kind": StockMovement.kind,
    "quantity": StockMovement.quantity,
    "warehouse": Warehouse.code,
    "reference": StockMovement.reference,
    "customer": Customer.name,
}
CUSTOMER_ROW_SORTS: Mapping[str, Any] = {
    "occurred_at": StockMovement.created_at,
    "order": SalesOrder.number,
    "kind": StockMovement.kind,
    "quantity": StockMovement.quantity,
    "lot": Lot.lot_code,
    "best_before": Lot.best_before,
    "sku": Product.sku,
}
_TOTAL_FIELDS: dict[str, str] = {
    MovementKind.RECEIPT: "received",
    MovementKind.ISSUE: "shipped",
    MovementKind.RETURN: "returned",
    MovementKind.WASTE: "wasted",
    MovementKind.ADJUSTMENT: "adjusted",
    MovementKind.COUNT: "counted",
    MovementKind.TRANSFER_IN: "transferred_in",
    MovementKind.TRANSFER_OUT: "transferred_out",
}
EVENT_COLUMNS = list(TraceEvent.__annotations__)
_SOLD = frozenset((MovementKind.ISSUE, MovementKind.RETURN))
LOT_ID: BindParameter[int] = bindparam("lot_id")
_RECEIPTS = TypeAdapter(list[TraceReceipt])
_DOCUMENTS = TypeAdapter(list[TraceDocument])
_HOLDINGS = TypeAdapter(list[TraceHolding])
_RESERVATIONS = TypeAdapter(list[TraceReservation])
_CUSTOMER_ROWS = TypeAdapter(list[CustomerLotRow])


def order_by(sort: str, columns: Mapping[str, Any], tiebreak: Any) -> list[ColumnElement[Any]]:
    """ORDER BY terms for ``sort`` ("name" or "-name", comma separated), or a 422."""
    terms: list[ColumnElement[Any]] = []
    for part in filter(None, (piece.strip() for piece in sort.split(","))):
        name = part.removeprefix("-")
        if name not in columns:
            allowed = ", ".join(columns)
            raise InvalidRequestError(
                f"Cannot sort by {name!r}; use one of {allowed} (prefix - for descending).",
                field="sort",
            )
        column = columns[name]
        term = column.desc() if part.startswith("-") else column.asc()
        terms.append(term.nulls_last())
    return [*terms, tiebreak]


def trace_lot(db: Session, lot_id: int, sort: str = "occurred_at") -> LotTrace:
    """Everything about one lot: where it came from, where every kilo went, what is left."""
    query = LotTraceQuery.of(lot_id, sort)
    lot = _found(lot_id, db.execute(LOT, query.params).mappings().first())
    parts = {
        name: [dict(row) for row in db.execute(statement, query.params).mappings()]
        for name, statement in query.parts.items()
    }
    return _lot_trace(lot, parts)


async def read_lot_trace(lot_id: int, sort: str = "occurred_at") -> LotTrace:
    """``trace_lot`` on the asynchronous read path, from the read replica when it is fit; the
    statements run at once."""
    query = LotTraceQuery.of(lot_id, sort)
    found, *read = await async_database.fetch_together(
        [LOT, *query.parts.values()], query.params, replica=True
    )
    lot = _found(lot_id, found[0] if found else None)
    return _lot_trace(lot, dict(zip(query.parts, read, strict=True)))


async def read_customer_trace(customer_id: int, sort: str = "occurred_at") -> CustomerTrace:
    """Every lot a customer received or sent back (shipments and returns), with the lot's
    dates and supplier; write-offs of returned goods are the business's, not the customer's.
    On the asynchronous read path, from the read replica when it is fit."""
    found, read = await async_database.fetch_together(
        [CUSTOMER, customer_rows(sort)], {"customer_id": customer_id}, replica=True
    )
    if not found:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return CustomerTrace(
        customer_id=found[0]["id"],
        customer_name=found[0]["name"],
        rows=_CUSTOMER_ROWS.validate_python(read, strict=True),
    )


CUSTOMER_ID: BindParameter[int] = bindparam("customer_id")
CUSTOMER: Statement = select(Customer.id, Customer.name).where(Customer.id == CUSTOMER_ID)


@lru_cache(maxsize=64)
def customer_rows(sort: str) -> Statement:
    """The ledger rows of the customer's orders' shipments and returns, in ``sort`` order."""
    return (
        select(
            StockMovement.id.label("movement_id"),
            StockMovement.created_at.label("occurred_at"),
            SalesOrder.id.label("order_id"),
            SalesOrder.number.label("order_number"),
            StockMovement.kind,
            StockMovement.quantity,
            StockMovement.warehouse_id,
            StockMovement.lot_id,
            Lot.lot_code,
            Lot.best_before,
            Lot.status.label("lot_status"),
            StockMovement.product_id,
            Product.sku,
            Supplier.id.label("supplier_id"),
            Supplier.code.label("supplier_code"),
        )
        .join(SalesOrder, SalesOrder.number == StockMovement.reference)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(Supplier, Supplier.id == Lot.supplier_id)
        .where(
            SalesOrder.customer_id == CUSTOMER_ID,
            # two terms, not IN: a list would be expanded per execution, not compiled once
            or_(
                StockMovement.kind == MovementKind.ISSUE, StockMovement.kind == MovementKind.RETURN
            ),
        )
        .order_by(*order_by(sort, CUSTOMER_ROW_SORTS, StockMovement.id))
    )


LOT: Statement = (
    select(
        Lot.id,
        Lot.lot_code,
        Lot.status,
        Lot.received_date,
        Lot.best_before,
        Lot.unit_cost,
        Lot.moisture_pct,
        Lot.grade,
        Product.id.label("product_id"),
        Product.sku,
        Product.name.label("product_name"),
        Product.unit,
        Supplier.id.label("supplier_id"),
        Supplier.code.label("supplier_code"),
        Supplier.name.label("supplier_name"),
        Supplier.country.label("supplier_country"),
    )
    .join(Product, Product.id == Lot.product_id)
    .outerjoin(Supplier, Supplier.id == Lot.supplier_id)
    .where(Lot.id == LOT_ID)
)
RECEIPTS: Statement = (
    select(
        PurchaseReceipt.order_id.label("purchase_order_id"),
        PurchaseOrder.number.label("purchase_order_number"),
        PurchaseReceipt.id.label("receipt_id"),
        PurchaseReceipt.received_at,
        PurchaseReceipt.delivery_note,
        PurchaseReceiptLine.quantity,
        PurchaseReceiptLine.movement_id,
    )
    .join(PurchaseReceipt, PurchaseReceipt.id == PurchaseReceiptLine.receipt_id)
    .join(PurchaseOrder, PurchaseOrder.id == PurchaseReceipt.order_id)
    .where(PurchaseReceiptLine.lot_id == LOT_ID)
    .order_by(PurchaseReceipt.received_at, PurchaseReceiptLine.id)
)
DOCUMENTS: Statement = (
    select(
        LotDocument.id,
        LotDocument.filename,
        LotDocument.content_type,
        LotDocument.sha256,
        LotDocument.description,
        LotDocument.uploaded_at,
    )
    .where(LotDocument.lot_id == LOT_ID)
    .order_by(LotDocument.id)
)
HOLDINGS: Statement = (
    select(
        StockLevel.warehouse_id,
        Warehouse.code.label("warehouse_code"),
        StockLevel.on_hand,
        StockLevel.reserved,
    )
    .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
    .where(StockLevel.lot_id == LOT_ID, StockLevel.on_hand > 0)
    .order_by(Warehouse.code)
)
# A reservation's reference is the order number, a slash and the line number.
_RESERVED_ORDER = func.rtrim(func.rtrim(Reservation.reference, "0123456789"), "/")
RESERVATIONS: Statement = (
    select(
        SalesOrder.id.label("order_id"),
        SalesOrder.number.label("order_number"),
        Customer.id.label("customer_id"),
        Customer.name.label("customer_name"),
        Reservation.warehouse_id,
        Reservation.quantity,
    )
    .join(SalesOrder, SalesOrder.number == _RESERVED_ORDER)
    .join(Customer, Customer.id == SalesOrder.customer_id)
    .where(Reservation.lot_id == LOT_ID, Reservation.status == ReservationStatus.ACTIVE)
    .order_by(Reservation.id)
)


@lru_cache(maxsize=64)
def _events(sort: str) -> Statement:
    """The lot's ledger rows in ``sort`` order, named after the event's fields."""
    return (
        select(
            StockMovement.id.label("movement_id"),
            StockMovement.created_at.label("occurred_at"),
            StockMovement.kind,
            StockMovement.warehouse_id,
            Warehouse.code.label("warehouse_code"),
            StockMovement.quantity,
            StockMovement.reference,
            StockMovement.reason,
            StockMovement.actor_label.label("actor"),
            SalesOrder.id.label("order_id"),
            SalesOrder.number.label("order_number"),
            Customer.id.label("customer_id"),
            Customer.name.label("customer_name"),
        )
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .outerjoin(SalesOrder, SalesOrder.number == StockMovement.reference)
        .outerjoin(Customer, Customer.id == SalesOrder.customer_id)
        .where(StockMovement.lot_id == LOT_ID)
        .order_by(*order_by(sort, LOT_EVENT_SORTS, StockMovement.id))
    )


@dataclass(frozen=True)
class LotTraceQuery:
    """The statements of a lot's trace, after the lot's own, and their parameters."""

    parts: dict[str, Statement]
    params: dict[str, int]

    @classmethod
    def of(cls, lot_id: int, sort: str) -> "LotTraceQuery":
        """The trace of lot ``lot_id`` with its events in ``sort`` order (or a 422)."""
        parts = {
            "events": _events(sort),
            "receipts": RECEIPTS,
            "documents": DOCUMENTS,
            "holdings": HOLDINGS,
            "reservations": RESERVATIONS,
        }
        return cls(parts, {"lot_id": lot_id})


def _found(lot_id: int, lot: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    if lot is None:
        raise NotFoundError(f"Lot {lot_id} does not exist.")
    return lot


def _lot_trace(lot: Mapping[Any, Any], parts: Mapping[str, list[dict[str, Any]]]) -> LotTrace:
    events = cast(list[TraceEvent], parts["events"])
    holdings = _HOLDINGS.validate_python(parts["holdings"], strict=True)
    totals = dict.fromkeys(_TOTAL_FIELDS.values(), ZERO)
    for event in events:
        totals[_TOTAL_FIELDS[event["kind"]]] += abs(event["quantity"])
    # The events stay the rows read, typed by their columns: validating thousands of them
    # again would cost more than the rest of the report.
    return LotTrace.model_construct(
        lot=_lot(lot),
        receipts=_RECEIPTS.validate_python(parts["receipts"], strict=True),
        documents=_DOCUMENTS.validate_python(parts["documents"], strict=True),
        customers=_customer_shares(events),
        events=events,
        holdings=holdings,
        reservations=_RESERVATIONS.validate_python(parts["reservations"], strict=True),
        totals=TraceTotals(**totals, on_hand=sum((h.on_hand for h in holdings), ZERO)),
    )


def _lot(row: Mapping[Any, Any]) -> TraceLot:
    return TraceLot(
        id=row["id"],
        lot_code=row["lot_code"],
        status=row["status"],
        received_date=row["received_date"],
        best_before=row["best_before"],
        unit_cost=row["unit_cost"],
        moisture_pct=row["moisture_pct"],
        grade=row["grade"],
        product=TraceProduct(
            id=row["product_id"], sku=row["sku"], name=row["product_name"], unit=row["unit"]
        ),
        supplier=None
        if row["supplier_id"] is None
        else TraceSupplier(
            id=row["supplier_id"],
            code=row["supplier_code"],
            name=row["supplier_name"],
            country=row["supplier_country"],
        ),
    )


def _customer_shares(events: list[TraceEvent]) -> list[TraceCustomerShare]:
    """Per customer, shipped and returned quantities of the lot (from the events read)."""
    shares: dict[int, dict[str, Any]] = {}
    orders: dict[int, set[str]] = defaultdict(set)
    for event in sorted(events, key=itemgetter("occurred_at", "movement_id")):
        customer_id, kind = event["customer_id"], event["kind"]
        if customer_id is None or kind not in _SOLD:
            continue
        share = shares.get(customer_id)
        if share is None:
            share = shares[customer_id] = {
                "customer_id": customer_id,
                "customer_name": event["customer_name"],
                "shipped": ZERO,
                "returned": ZERO,
                "first_shipped_at": event["occurred_at"],
                "last_shipped_at": event["occurred_at"],
            }
        orders[customer_id].add(event["order_number"] or "")
        if kind == MovementKind.ISSUE:
            share["shipped"] -= event["quantity"]
            share["last_shipped_at"] = event["occurred_at"]
        else:
            share["returned"] += event["quantity"]
    return [
        TraceCustomerShare(
            **share,
            orders=sorted(orders[customer_id]),
            net=share["shipped"] - share["returned"],
        )
        for customer_id, share in sorted(shares.items(), key=lambda item: -item[1]["shipped"])
    ]
