"""Reorder suggestions: stock, what is on order, sales velocity and what to buy next."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import ConflictError
from app.models.catalog import Product, UnitOfMeasure
from app.models.inventory import Lot, LotStatus, MovementKind, StockLevel, StockMovement
from app.models.purchasing import (
    OPEN_PURCHASE_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseStatus,
)
from app.schemas.purchasing import ReorderSuggestionRead
from app.services import purchasing
from app.services.audit import Actor
from app.services.catalog import suppliers
from app.services.purchasing import PurchaseDraft, PurchaseLineDraft

ZERO = Decimal(0)
MILLI = Decimal("0.001")
# A draft counts as on order as well: a suggestion already drafted is not made again.
ON_ORDER_STATUSES = (PurchaseStatus.DRAFT, *OPEN_PURCHASE_STATUSES)


def suggestions(
    db: Session,
    *,
    cover_days: int = 30,
    supplier_id: int | None = None,
    only_suggested: bool = True,
    today: date | None = None,
) -> list[ReorderSuggestionRead]:
    """Every active product's stock position and suggested order quantity (five queries).

    The daily demand is the higher of the 30- and 90-day average shipments. On order is what
    draft, sent and partly received purchase orders still bring. A product needs ordering
    when available plus on-order stock would not last ``cover_days`` on top of its reorder
    point, or is at or below the reorder point with nothing on order; the suggestion tops it
    up to reorder point plus ``cover_days`` of demand, and is never less than the product's
    reorder quantity. Once that much is drafted or ordered, nothing more is suggested.
    """
    today = today or clock.today()
    sold = _shipped(db, today)
    available = _available(db, today)
    on_order = _on_order(db)
    sources = _last_sources(db)
    result = []
    for product in db.scalars(select(Product).where(Product.is_active).order_by(Product.sku)):
        source_supplier, source_cost = sources.get(product.id, (None, None))
        if supplier_id is not None and source_supplier != supplier_id:
            continue
        sold_30, sold_90 = sold.get(product.id, (ZERO, ZERO))
        rate_30 = (sold_30 / 30).quantize(MILLI)
        rate_90 = (sold_90 / 90).quantize(MILLI)
        rate = max(rate_30, rate_90)
        stock = available.get(product.id, ZERO)
        coming = on_order.get(product.id, ZERO)
        suggested = _suggest(product, stock, coming, rate, cover_days)
        if only_suggested and suggested == 0:
            continue
        result.append(
            ReorderSuggestionRead(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                unit=product.unit,
                supplier_id=source_supplier,
                available=stock,
                on_order=coming,
                reorder_point=product.reorder_point,
                reorder_quantity=product.reorder_quantity,
                avg_daily_sales_30d=rate_30,
                avg_daily_sales_90d=rate_90,
                days_of_cover=(stock / rate).quantize(Decimal("0.1")) if rate else None,
                suggested_quantity=suggested,
                unit_cost=source_cost if source_cost is not None else product.standard_cost,
            )
        )
    return result


def order_suggestions(
    db: Session,
    actor: Actor,
    *,
    supplier_id: int,
    warehouse_id: int,
    cover_days: int = 30,
    expected_date: date | None = None,
) -> PurchaseOrder:
    """A draft purchase order holding every suggestion for products bought from a supplier."""
    supplier = suppliers.get_active(db, supplier_id, "supplier_id")
    wanted = suggestions(db, cover_days=cover_days, supplier_id=supplier.id)
    if not wanted:
        raise ConflictError(
            f"Nothing needs ordering from {supplier.code} now.", field="supplier_id"
        )
    draft = PurchaseDraft(
        supplier_id=supplier.id,
        warehouse_id=warehouse_id,
        expected_date=expected_date,
        notes=f"From reorder suggestions ({cover_days} days of cover).",
        lines=[
            PurchaseLineDraft(item.product_id, item.suggested_quantity, item.unit_cost)
            for item in wanted
        ],
    )
    return purchasing.create_purchase(db, actor, draft)


def _suggest(
    product: Product, stock: Decimal, coming: Decimal, rate: Decimal, cover_days: int
) -> Decimal:
    projected = stock + coming
    target = product.reorder_point + rate * cover_days
    if projected >= target and (projected > product.reorder_point or coming > 0):
        return ZERO
    quantity = max(product.reorder_quantity, target - projected)
    step = Decimal(1) if product.unit == UnitOfMeasure.PACK else MILLI
    return quantity.quantize(step, ROUND_CEILING) if quantity > 0 else ZERO


def _shipped(db: Session, today: date) -> dict[int, tuple[Decimal, Decimal]]:
    """Quantity shipped per product over the last 30 and 90 days."""
    start = datetime.combine(today, time.min, UTC) + timedelta(days=1)
    since_30, since_90 = start - timedelta(days=30), start - timedelta(days=90)
    recent = case((StockMovement.created_at >= since_30, StockMovement.quantity), else_=0)
    query = (
        select(
            StockMovement.product_id,
            func.sum(recent),
            func.sum(StockMovement.quantity),
        )
        .where(
            StockMovement.kind == MovementKind.ISSUE,
            StockMovement.created_at >= since_90,
            StockMovement.created_at < start,
        )
        .group_by(StockMovement.product_id)
    )
    return {
        product_id: (-Decimal(last_30), -Decimal(last_90))
        for product_id, last_30, last_90 in db.execute(query)
    }


def _available(db: Session, today: date) -> dict[int, Decimal]:
    """Unreserved stock of sellable lots per product."""
    query = (
        select(StockLevel.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(Lot, Lot.id == StockLevel.lot_id)
        .where(Lot.status == LotStatus.AVAILABLE, Lot.best_before >= today)
        .group_by(StockLevel.product_id)
    )
    return {product_id: Decimal(total) for product_id, total in db.execute(query)}


def _on_order(db: Session) -> dict[int, Decimal]:
    """What draft and open purchase orders still have to bring, per product."""
    query = (
        select(
            PurchaseOrderLine.product_id,
            func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.received_quantity),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(
            PurchaseOrder.status.in_(ON_ORDER_STATUSES),
            PurchaseOrderLine.quantity > PurchaseOrderLine.received_quantity,
        )
        .group_by(PurchaseOrderLine.product_id)
    )
    return {product_id: Decimal(total) for product_id, total in db.execute(query)}


def _last_sources(db: Session) -> dict[int, tuple[int | None, Decimal]]:
    """Per product, the supplier and unit cost of its latest lot that has a supplier."""
    latest = (
        select(Lot.product_id, func.max(Lot.id).label("lot_id"))
        .where(Lot.supplier_id.is_not(None))
        .group_by(Lot.product_id)
        .subquery()
    )
    query = select(Lot.product_id, Lot.supplier_id, Lot.unit_cost).join(
        latest, and_(latest.c.lot_id == Lot.id)
    )
    return {
        product_id: (supplier_id, unit_cost)
        for product_id, supplier_id, unit_cost in db.execute(query)
    }
