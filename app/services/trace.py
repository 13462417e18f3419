"""Traceability, the mock recall: a lot upstream and downstream, a customer's lots.

Each report is a fixed handful of indexed queries, whatever the size of the ledger.
"""

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

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
from app.services.customers import get_customer

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
_TOTAL_FIELDS = {
    MovementKind.RECEIPT: "received",
    MovementKind.ISSUE: "shipped",
    MovementKind.RETURN: "returned",
    MovementKind.WASTE: "wasted",
    MovementKind.ADJUSTMENT: "adjusted",
    MovementKind.COUNT: "counted",
    MovementKind.TRANSFER_IN: "transferred_in",
    MovementKind.TRANSFER_OUT: "transferred_out",
}


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
    lot = db.scalar(
        select(Lot)
        .options(joinedload(Lot.product), joinedload(Lot.supplier))
        .where(Lot.id == lot_id)
    )
    if lot is None:
        raise NotFoundError(f"Lot {lot_id} does not exist.")
    events = _events(db, lot.id, order_by(sort, LOT_EVENT_SORTS, StockMovement.id))
    holdings = _holdings(db, lot.id)
    totals = dict.fromkeys(_TOTAL_FIELDS.values(), ZERO)
    for event in events:
        totals[_TOTAL_FIELDS[MovementKind(event.kind)]] += abs(event.quantity)
    return LotTrace(
        lot=_lot(lot),
        receipts=_receipts(db, lot.id),
        documents=_documents(db, lot.id),
        customers=_customer_shares(events),
        events=events,
        holdings=holdings,
        reservations=_reservations(db, lot.id),
        totals=TraceTotals(**totals, on_hand=sum((h.on_hand for h in holdings), ZERO)),
    )


def trace_customer(db: Session, customer_id: int, sort: str = "occurred_at") -> CustomerTrace:
    """Every lot a customer received or sent back (shipments and returns), with the lot's
    dates and supplier; write-offs of returned goods are the business's, not the customer's."""
    customer = get_customer(db, customer_id)
    query = (
        select(
            StockMovement,
            SalesOrder.id,
            SalesOrder.number,
            Lot.lot_code,
            Lot.best_before,
            Lot.status,
            Product.sku,
            Supplier.id,
            Supplier.code,
        )
        .join(SalesOrder, SalesOrder.number == StockMovement.reference)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(Supplier, Supplier.id == Lot.supplier_id)
        .where(
            SalesOrder.customer_id == customer.id,
            StockMovement.kind.in_([MovementKind.ISSUE, MovementKind.RETURN]),
        )
        .order_by(*order_by(sort, CUSTOMER_ROW_SORTS, StockMovement.id))
    )
    rows = [
        CustomerLotRow(
            movement_id=movement.id,
            occurred_at=movement.created_at,
            order_id=order_id,
            order_number=number,
            kind=movement.kind,
            quantity=movement.quantity,
            warehouse_id=movement.warehouse_id,
            lot_id=movement.lot_id,
            lot_code=lot_code,
            best_before=best_before,
            lot_status=lot_status,
            product_id=movement.product_id,
            sku=sku,
            supplier_id=supplier_id,
            supplier_code=supplier_code,
        )
        for (
            movement,
            order_id,
            number,
            lot_code,
            best_before,
            lot_status,
            sku,
            supplier_id,
            supplier_code,
        ) in db.execute(query)
    ]
    return CustomerTrace(customer_id=customer.id, customer_name=customer.name, rows=rows)


def _lot(lot: Lot) -> TraceLot:
    supplier = lot.supplier
    return TraceLot(
        id=lot.id,
        lot_code=lot.lot_code,
        status=lot.status,
        received_date=lot.received_date,
        best_before=lot.best_before,
        unit_cost=lot.unit_cost,
        moisture_pct=lot.moisture_pct,
        grade=lot.grade,
        product=TraceProduct(
            id=lot.product.id, sku=lot.product.sku, name=lot.product.name, unit=lot.product.unit
        ),
        supplier=None
        if supplier is None
        else TraceSupplier(
            id=supplier.id, code=supplier.code, name=supplier.name, country=supplier.country
        ),
    )


def _events(db: Session, lot_id: int, ordering: list[ColumnElement[Any]]) -> list[TraceEvent]:
    # Plain rows named after the event's fields, not ORM objects: a lot sold over months has
    # thousands of events.
    query = (
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
        .where(StockMovement.lot_id == lot_id)
        .order_by(*ordering)
    )
    return [TraceEvent(**row._mapping) for row in db.execute(query)]


def _customer_shares(events: list[TraceEvent]) -> list[TraceCustomerShare]:
    """Per customer, shipped and returned quantities of the lot (from the events read)."""
    shares: dict[int, dict[str, Any]] = {}
    orders: dict[int, set[str]] = defaultdict(set)
    for event in sorted(events, key=lambda e: (e.occurred_at, e.movement_id)):
        if event.customer_id is None or event.kind not in (
            MovementKind.ISSUE,
            MovementKind.RETURN,
        ):
            continue
        share = shares.setdefault(
            event.customer_id,
            {
                "customer_id": event.customer_id,
                "customer_name": event.customer_name,
                "shipped": ZERO,
                "returned": ZERO,
                "first_shipped_at": event.occurred_at,
                "last_shipped_at": event.occurred_at,
            },
        )
        orders[event.customer_id].add(event.order_number or "")
        if event.kind == MovementKind.ISSUE:
            share["shipped"] += -event.quantity
            share["last_shipped_at"] = event.occurred_at
        else:
            share["returned"] += event.quantity
    return [
        TraceCustomerShare(
            **share,
            orders=sorted(orders[customer_id]),
            net=share["shipped"] - share["returned"],
        )
        for customer_id, share in sorted(shares.items(), key=lambda item: -item[1]["shipped"])
    ]


def _receipts(db: Session, lot_id: int) -> list[TraceReceipt]:
    query = (
        select(PurchaseReceiptLine, PurchaseReceipt, PurchaseOrder.number)
        .join(PurchaseReceipt, PurchaseReceipt.id == PurchaseReceiptLine.receipt_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseReceipt.order_id)
        .where(PurchaseReceiptLine.lot_id == lot_id)
        .order_by(PurchaseReceipt.received_at, PurchaseReceiptLine.id)
    )
    return [
        TraceReceipt(
            purchase_order_id=receipt.order_id,
            purchase_order_number=number,
            receipt_id=receipt.id,
            received_at=receipt.received_at,
            delivery_note=receipt.delivery_note,
            quantity=line.quantity,
            movement_id=line.movement_id,
        )
        for line, receipt, number in db.execute(query)
    ]


def _documents(db: Session, lot_id: int) -> list[TraceDocument]:
    query = select(LotDocument).where(LotDocument.lot_id == lot_id).order_by(LotDocument.id)
    return [
        TraceDocument(
            id=document.id,
            filename=document.filename,
            content_type=document.content_type,
            sha256=document.sha256,
            description=document.description,
            uploaded_at=document.uploaded_at,
        )
        for document in db.scalars(query)
    ]


def _holdings(db: Session, lot_id: int) -> list[TraceHolding]:
    query = (
        select(StockLevel, Warehouse.code)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.lot_id == lot_id, StockLevel.on_hand > 0)
        .order_by(Warehouse.code)
    )
    return [
        TraceHolding(
            warehouse_id=level.warehouse_id,
            warehouse_code=code,
            on_hand=level.on_hand,
            reserved=level.reserved,
        )
        for level, code in db.execute(query)
    ]


def _reservations(db: Session, lot_id: int) -> list[TraceReservation]:
    """Active reservations of the lot and the orders they hold stock for (two queries)."""
    held = db.scalars(
        select(Reservation)
        .where(
            Reservation.lot_id == lot_id,
            Reservation.status == ReservationStatus.ACTIVE,
        )
        .order_by(Reservation.id)
    ).all()
    numbers = {reservation.reference.split("/")[0] for reservation in held}
    found = (
        db.execute(
            select(SalesOrder, Customer)
            .join(Customer, Customer.id == SalesOrder.customer_id)
            .where(SalesOrder.number.in_(numbers))
        ).all()
        if numbers
        else []
    )
    by_number = {order.number: (order, customer) for order, customer in found}
    result = []
    for reservation in held:
        number = reservation.reference.split("/")[0]
        if number not in by_number:
            continue
        order, customer = by_number[number]
        result.append(
            TraceReservation(
                order_id=order.id,
                order_number=number,
                customer_id=customer.id,
                customer_name=customer.name,
                warehouse_id=reservation.warehouse_id,
                quantity=reservation.quantity,
            )
        )
    return result
