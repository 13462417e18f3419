"""Purchase orders: drafting, sending to the supplier, cancelling."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from app.core import problem_types
from app.core.clock import utcnow
from app.core.errors import InvalidRequestError, NotFoundError
from app.crud.base import text_match
from app.crud.crud_purchasing import purchase_crud, purchase_with_lines
from app.models.catalog import Supplier
from app.models.purchasing import (
    OPEN_PURCHASE_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseStatus,
)
from app.services import audit, money
from app.services.audit import Actor
from app.services.catalog import products, suppliers, warehouses
from app.services.sorting import Sort, order_by
from app.services.stock import check_quantity
from app.services.workflow import StateError, Workflow

# Where each move may start from, and the time it stamps.
_FROM = {
    PurchaseStatus.ORDERED: (PurchaseStatus.DRAFT,),
    PurchaseStatus.PARTIALLY_RECEIVED: OPEN_PURCHASE_STATUSES,
    PurchaseStatus.RECEIVED: OPEN_PURCHASE_STATUSES,
    PurchaseStatus.CANCELLED: (PurchaseStatus.DRAFT, *OPEN_PURCHASE_STATUSES),
}
_STAMPS = {
    PurchaseStatus.ORDERED: ("ordered_at",),
    PurchaseStatus.RECEIVED: ("closed_at",),
    PurchaseStatus.CANCELLED: ("closed_at",),
}

# Where a purchase order may still be cancelled from.
CANCELLABLE = _FROM[PurchaseStatus.CANCELLED]


class PurchaseStateError(StateError):
    """The purchase order is not in a state that allows this."""

    problem = problem_types.PURCHASE_ORDER_STATE


@dataclass(frozen=True)
class PurchaseLineDraft:
    """A product, quantity and unit cost to order; no cost means the product's standard cost."""

    product_id: int
    quantity: Decimal
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class PurchaseDraft:
    """A new purchase order."""

    supplier_id: int
    warehouse_id: int
    lines: Sequence[PurchaseLineDraft]
    expected_date: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class PurchaseChange:
    """Fields of a draft to change; ``lines`` replaces every line."""

    values: dict[str, object] = field(default_factory=dict)
    lines: Sequence[PurchaseLineDraft] | None = None


@dataclass(frozen=True)
class PurchaseFilter:
    """Which purchase orders a listing shows."""

    status: PurchaseStatus | None = None
    supplier_id: int | None = None
    search: str | None = None


# The purchase orders a listing may be sorted by, by the key a page names.
PURCHASE_SORTS: Mapping[str, Any] = {
    "number": PurchaseOrder.number,
    "supplier": func.lower(Supplier.name),
    "status": PurchaseOrder.status,
    "expected": PurchaseOrder.expected_date,
    "total": PurchaseOrder.total,
    "created": PurchaseOrder.created_at,
}


def get_purchase(db: Session, order_id: int) -> PurchaseOrder:
    """The purchase order with its lines, or a 404."""
    order = purchase_with_lines(db, order_id)
    if order is None:
        raise NotFoundError(f"Purchase order {order_id} does not exist.")
    return order


_FLOW = Workflow(
    PurchaseOrder,
    _FROM,
    _STAMPS,
    PurchaseStateError,
    lambda order: f"{order.number}",
    get_purchase,
)
claim = _FLOW.claim
move = _FLOW.move


def list_purchases(
    db: Session, where: PurchaseFilter, *, offset: int, limit: int, sort: Sort | None = None
) -> tuple[Sequence[PurchaseOrder], int]:
    """A page of purchase orders (newest first unless ``sort`` says), found by number or
    supplier, suppliers loaded."""
    conditions = []
    if where.status is not None:
        conditions.append(PurchaseOrder.status == where.status)
    if where.supplier_id is not None:
        conditions.append(PurchaseOrder.supplier_id == where.supplier_id)
    if where.search:
        columns = [PurchaseOrder.number, Supplier.code, Supplier.name]
        conditions.append(text_match(columns, where.search))
    return purchase_crud.page(
        db,
        offset=offset,
        limit=limit,
        where=conditions,
        query=select(PurchaseOrder)
        .join(PurchaseOrder.supplier)
        .options(contains_eager(PurchaseOrder.supplier)),
        order_by=order_by(
            sort or Sort("created", descending=True), PURCHASE_SORTS, PurchaseOrder.id
        ),
    )


def create_purchase(
    db: Session, actor: Actor, draft: PurchaseDraft, at: datetime | None = None
) -> PurchaseOrder:
    """Draft a purchase order to an active supplier, delivered to an active warehouse."""
    supplier = suppliers.get_active(db, draft.supplier_id, "supplier_id")
    warehouse = warehouses.get_active(db, draft.warehouse_id, "warehouse_id")
    order = PurchaseOrder(
        supplier_id=supplier.id,
        warehouse_id=warehouse.id,
        status=PurchaseStatus.DRAFT,
        expected_date=draft.expected_date,
        notes=draft.notes,
        created_by=actor.user_id,
        created_at=at or utcnow(),
    )
    order.lines = _lines(db, draft.lines)
    order.total = purchase_total(order.lines)
    db.add(order)
    db.flush()
    order.number = f"PO-{order.id:06d}"
    db.flush()
    audit.record(
        db,
        actor,
        "purchase_order.created",
        "purchase_order",
        order.id,
        number=order.number,
        supplier_id=supplier.id,
        total=str(order.total),
        lines=_line_summary(order.lines),
    )
    return get_purchase(db, order.id)


def change_purchase(
    db: Session, actor: Actor, order: PurchaseOrder, change: PurchaseChange
) -> PurchaseOrder:
    """Edit a draft: supplier, expected date, notes, warehouse, or all of its lines."""
    order = claim(db, order, (PurchaseStatus.DRAFT,), "change")
    values = dict(change.values)
    if values.get("supplier_id") is not None:
        suppliers.get_active(db, int(str(values["supplier_id"])), "supplier_id")
    if values.get("warehouse_id") is not None:
        warehouses.get_active(db, int(str(values["warehouse_id"])), "warehouse_id")
    changes = audit.changes(order, values)
    for key in changes:
        setattr(order, key, values[key])
    if change.lines is not None:
        before = _line_summary(order.lines)
        order.lines.clear()
        db.flush()
        order.lines.extend(_lines(db, change.lines))
        after = _line_summary(order.lines)
        if before != after:
            changes["lines"] = {"before": before, "after": after}
        total = purchase_total(order.lines)
        if total != order.total:
            changes["total"] = {"before": str(order.total), "after": str(total)}
            order.total = total
    if changes:
        db.flush()
        audit.record(
            db, actor, "purchase_order.updated", "purchase_order", order.id, changes=changes
        )
    return get_purchase(db, order.id)


def replace_draft(
    db: Session, actor: Actor, order: PurchaseOrder, draft: PurchaseDraft
) -> PurchaseOrder:
    """Rewrite a draft whole: supplier, warehouse, expected date, notes and every line."""
    values: dict[str, object] = {
        "supplier_id": draft.supplier_id,
        "warehouse_id": draft.warehouse_id,
        "expected_date": draft.expected_date,
        "notes": draft.notes,
    }
    return change_purchase(db, actor, order, PurchaseChange(values=values, lines=draft.lines))


def send(
    db: Session, actor: Actor, order: PurchaseOrder, at: datetime | None = None
) -> PurchaseOrder:
    """Send a draft to the supplier: it is now on order."""
    if not order.lines:
        raise InvalidRequestError(f"{order.number} has no lines to order.", field="lines")
    order = move(db, order, PurchaseStatus.ORDERED, at)
    audit.record(db, actor, "purchase_order.sent", "purchase_order", order.id, number=order.number)
    return order


def cancel(db: Session, actor: Actor, order: PurchaseOrder, reason: str = "") -> PurchaseOrder:
    """Cancel a purchase order; what was already received stays received."""
    was = order.status
    order = move(db, order, PurchaseStatus.CANCELLED)
    audit.record(
        db,
        actor,
        "purchase_order.cancelled",
        "purchase_order",
        order.id,
        number=order.number,
        was=was,
        reason=reason,
    )
    return order


def purchase_total(lines: Sequence[PurchaseOrderLine]) -> Decimal:
    """The order's value: each line's quantity at its unit cost, to the cent (or a 422)."""
    values = (money.line_total(line.quantity, line.unit_cost) for line in lines)
    return money.order_total(values, "purchase order")


def _lines(db: Session, drafts: Sequence[PurchaseLineDraft]) -> list[PurchaseOrderLine]:
    if not drafts:
        raise InvalidRequestError("A purchase order needs at least one line.", field="lines")
    chosen = products.get_active_each(
        db, [draft.product_id for draft in drafts], "lines[{}].product_id"
    )
    lines = []
    for index, (draft, product) in enumerate(zip(drafts, chosen, strict=True)):
        check_quantity(product, draft.quantity, field=f"lines[{index}].quantity")
        lines.append(
            PurchaseOrderLine(
                line_no=index + 1,
                product_id=product.id,
                quantity=draft.quantity,
                unit_cost=draft.unit_cost if draft.unit_cost is not None else product.standard_cost,
                received_quantity=Decimal(0),
            )
        )
    return lines


def _line_summary(lines: Sequence[PurchaseOrderLine]) -> list[dict[str, object]]:
    return [
        {
            "line_no": line.line_no,
            "product_id": line.product_id,
            "quantity": str(line.quantity),
            "unit_cost": str(line.unit_cost),
        }
        for line in lines
    ]
