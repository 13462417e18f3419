"""Purchase orders, deliveries received against them, and reorder suggestions."""

from functools import partial
from typing import Annotated

from fastapi import Query, Response, status

from app.api.deps import DbSession, PurchaseReader, PurchaseReceiver, PurchaseWriter
from app.api.idempotency import Idempotent
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.downloads import PDF_CONTENT, pdf_response
from app.kit.routers import Router
from app.models.purchasing import PurchaseOrder, PurchaseStatus
from app.schemas.common import Page
from app.schemas.purchasing import (
    DeliveryCreate,
    PurchaseCreate,
    PurchaseLineIn,
    PurchaseLineRead,
    PurchaseRead,
    PurchaseSummary,
    PurchaseUpdate,
    ReceiptRead,
    ReorderSuggestionRead,
    SuggestionsToOrder,
    SupplierRef,
)
from app.schemas.sales import OrderAction
from app.schemas.types import RecordId
from app.services import purchase_documents, purchasing, receiving, reorder
from app.services.purchasing import PurchaseChange, PurchaseDraft, PurchaseFilter, PurchaseLineDraft

router = Router(prefix="/purchase-orders", tags=["purchasing"])
suggestions_router = Router(prefix="/reorder-suggestions", tags=["purchasing"])
write_route = partial(router.post, response_model=PurchaseRead, responses=responses(404, 409))


def _summary(order: PurchaseOrder) -> PurchaseSummary:
    supplier = order.supplier
    return PurchaseSummary(
        id=order.id,
        number=order.number or "",
        supplier=SupplierRef(id=supplier.id, code=supplier.code, name=supplier.name),
        warehouse_id=order.warehouse_id,
        status=PurchaseStatus(order.status),
        expected_date=order.expected_date,
        total=order.total,
        notes=order.notes,
        created_at=order.created_at,
        ordered_at=order.ordered_at,
        closed_at=order.closed_at,
    )


def purchase_read(order: PurchaseOrder) -> PurchaseRead:
    """A purchase order with its lines."""
    lines = [
        PurchaseLineRead(
            id=line.id,
            line_no=line.line_no,
            product_id=line.product_id,
            sku=line.product.sku,
            quantity=line.quantity,
            unit_cost=line.unit_cost,
            received_quantity=line.received_quantity,
            open_quantity=max(line.quantity - line.received_quantity, 0),
        )
        for line in order.lines
    ]
    return PurchaseRead(**_summary(order).model_dump(), lines=lines)


def _drafts(lines: list[PurchaseLineIn]) -> list[PurchaseLineDraft]:
    return [PurchaseLineDraft(line.product_id, line.quantity, line.unit_cost) for line in lines]


def _draft(body: PurchaseCreate) -> PurchaseDraft:
    return PurchaseDraft(
        supplier_id=body.supplier_id,
        warehouse_id=body.warehouse_id,
        lines=_drafts(body.lines),
        expected_date=body.expected_date,
        notes=body.notes,
    )


@router.get("")
def list_purchases(
    _: PurchaseReader,
    db: DbSession,
    paging: PageQuery,
    status_: Annotated[PurchaseStatus | None, Query(alias="status")] = None,
    supplier_id: RecordId | None = None,
) -> Page[PurchaseSummary]:
    """Purchase orders, newest first."""
    where = PurchaseFilter(status_, supplier_id)
    rows, total = purchasing.list_purchases(db, where, offset=paging.offset, limit=paging.limit)
    return paging.page([_summary(row) for row in rows], total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PurchaseRead,
    responses=responses(409),
)
def create_purchase(
    body: PurchaseCreate,
    caller: PurchaseWriter,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Draft a purchase order to a supplier."""

    def act() -> PurchaseRead:
        return purchase_read(purchasing.create_purchase(db, caller.actor, _draft(body)))

    return once.respond(body, act)


@router.get("/{order_id}", responses=responses(404))
def read_purchase(order_id: RecordId, _: PurchaseReader, db: DbSession) -> PurchaseRead:
    """One purchase order with its lines."""
    return purchase_read(purchasing.get_purchase(db, order_id))


@router.get("/{order_id}/pdf", response_class=Response, responses={**PDF_CONTENT, **responses(404)})
def print_purchase(order_id: RecordId, _: PurchaseReader, db: DbSession) -> Response:
    """The purchase order as sent to the supplier, as a PDF."""
    return pdf_response(purchase_documents.purchase_order_pdf(db, order_id))


@router.patch("/{order_id}", responses=responses(404, 409))
def update_purchase(
    order_id: RecordId, body: PurchaseUpdate, caller: PurchaseWriter, db: DbSession
) -> PurchaseRead:
    """Change a draft (lines, when sent, replace every line)."""
    values = body.model_dump(exclude_unset=True, exclude={"lines"})
    values = {k: v for k, v in values.items() if v is not None or k == "expected_date"}
    change = PurchaseChange(
        values=values, lines=_drafts(body.lines) if body.lines is not None else None
    )
    order = purchasing.get_purchase(db, order_id)
    return purchase_read(purchasing.change_purchase(db, caller.actor, order, change))


@router.put("/{order_id}", response_model=PurchaseRead, responses=responses(404, 409))
def replace_purchase(
    order_id: RecordId,
    body: PurchaseCreate,
    caller: PurchaseWriter,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Rewrite a draft whole (supplier, warehouse, expected date, notes, every line); an order
    already sent is refused."""

    def act() -> PurchaseRead:
        order = purchasing.get_purchase(db, order_id)
        return purchase_read(purchasing.replace_draft(db, caller.actor, order, _draft(body)))

    return once.respond(body, act)


@write_route("/{order_id}/send")
def send_purchase(
    order_id: RecordId,
    caller: PurchaseWriter,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Send a draft to the supplier: from now on it counts as on order."""

    def act() -> PurchaseRead:
        order = purchasing.get_purchase(db, order_id)
        return purchase_read(purchasing.send(db, caller.actor, order))

    return once.respond(OrderAction(), act)


@write_route("/{order_id}/cancel")
def cancel_purchase(
    order_id: RecordId,
    caller: PurchaseWriter,
    db: DbSession,
    once: Idempotent,
    body: OrderAction | None = None,
) -> Response:
    """Cancel a purchase order; anything already received stays received."""
    action = body or OrderAction()

    def act() -> PurchaseRead:
        order = purchasing.get_purchase(db, order_id)
        return purchase_read(purchasing.cancel(db, caller.actor, order, action.reason))

    return once.respond(action, act)


@write_route("/{order_id}/receipts", status_code=status.HTTP_201_CREATED)
def receive_delivery(
    order_id: RecordId,
    body: DeliveryCreate,
    caller: PurchaseReceiver,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Receive a delivery: each line creates or tops up a lot with a receipt movement."""

    def act() -> PurchaseRead:
        delivery = receiving.delivery_of(body)
        order = purchasing.get_purchase(db, order_id)
        return purchase_read(receiving.receive(db, caller.actor, order, delivery))

    return once.respond(body, act)


@router.get("/{order_id}/receipts", responses=responses(404))
def list_receipts(order_id: RecordId, _: PurchaseReader, db: DbSession) -> list[ReceiptRead]:
    """The deliveries received against a purchase order, oldest first."""
    order = purchasing.get_purchase(db, order_id)
    return [ReceiptRead.model_validate(row) for row in receiving.receipts(db, order)]


@suggestions_router.get("")
def list_suggestions(
    _: PurchaseReader,
    db: DbSession,
    cover_days: Annotated[int, Query(ge=1, le=365)] = 30,
    supplier_id: RecordId | None = None,
    only_suggested: bool = True,
) -> list[ReorderSuggestionRead]:
    """Per product: available, on order, average daily sales, days of cover, what to order."""
    return reorder.suggestions(
        db, cover_days=cover_days, supplier_id=supplier_id, only_suggested=only_suggested
    )


@suggestions_router.post(
    "/purchase-order",
    status_code=status.HTTP_201_CREATED,
    response_model=PurchaseRead,
    responses=responses(409),
)
def order_suggestions(
    body: SuggestionsToOrder,
    caller: PurchaseWriter,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Turn a supplier's reorder suggestions into one draft purchase order."""

    def act() -> PurchaseRead:
        order = reorder.order_suggestions(
            db,
            caller.actor,
            supplier_id=body.supplier_id,
            warehouse_id=body.warehouse_id,
            cover_days=body.cover_days,
            expected_date=body.expected_date,
        )
        return purchase_read(order)

    return once.respond(body, act)
