"""Alerts: low stock, lots expiring soon, expired stock; and the daily expiry job."""

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Subquery, and_, case, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core import clock
from app.core.config import get_settings
from app.core.database import session_scope
from app.core.metrics import (
    INVENTORY_EXPIRED_LOTS,
    INVENTORY_EXPIRING_LOTS,
    INVENTORY_LOW_STOCK_ALERTS,
)
from app.models.catalog import Product
from app.models.inventory import Lot, LotStatus, StockLevel
from app.schemas.alerts import Alerts, LotAlert, LowStockAlert
from app.services import audit, expiry, reorder
from app.services.audit import Actor

logger = logging.getLogger("app.alerts")


def _sellable_stock(today: date) -> Subquery:
    """Per product: available stock of sellable lots (available status, not past best-before)."""
    sellable = case(
        (
            and_(Lot.status == LotStatus.AVAILABLE, Lot.best_before >= today),
            StockLevel.on_hand - StockLevel.reserved,
        ),
        else_=0,
    )
    return (
        select(StockLevel.product_id, func.sum(sellable).label("available"))
        .join(Lot, Lot.id == StockLevel.lot_id)
        .group_by(StockLevel.product_id)
        .subquery()
    )


def _low_stock_query(today: date) -> Select[Product, Any]:
    stock = _sellable_stock(today)
    available = func.coalesce(stock.c.available, 0)
    return (
        select(Product, available.label("available"))
        .outerjoin(stock, stock.c.product_id == Product.id)
        .where(Product.is_active.is_(True), Product.reorder_point > 0)
        .where(available <= Product.reorder_point)
    )


def low_stock(db: Session, today: date | None = None) -> list[LowStockAlert]:
    """Active products whose sellable stock is at or below their reorder point, each with
    what is on order and the reorder suggestion (the one the reorder page and drafts use)."""
    today = today or clock.today()
    rows = db.execute(_low_stock_query(today).order_by(Product.sku)).all()
    positions = {
        item.product_id: item for item in reorder.suggestions(db, only_suggested=False, today=today)
    }
    return [
        LowStockAlert(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            unit=product.unit,
            available=Decimal(available),
            reorder_point=product.reorder_point,
            on_order=positions[product.id].on_order,
            suggested_order_quantity=positions[product.id].suggested_quantity,
        )
        for product, available in rows
    ]


def sellable_by_product(
    db: Session, product_ids: Sequence[int], today: date | None = None
) -> dict[int, Decimal]:
    """Available stock of sellable lots per product of ``product_ids`` (absent: none)."""
    if not product_ids:
        return {}
    stock = _sellable_stock(today or clock.today())
    query = select(stock.c.product_id, stock.c.available).where(stock.c.product_id.in_(product_ids))
    return {product_id: Decimal(available) for product_id, available in db.execute(query)}


def low_stock_ids(db: Session, today: date | None = None) -> Select[tuple[int]]:
    """A query of the ids of the products low on stock, to filter lists with."""
    return select(_low_stock_query(today or clock.today()).subquery().c.id)


def count_low_stock(db: Session, today: date | None = None) -> int:
    """How many products are low on stock (one aggregate query)."""
    query = _low_stock_query(today or clock.today()).subquery()
    return db.scalar(select(func.count()).select_from(query)) or 0


def lots_to_watch(db: Session, today: date | None = None) -> tuple[list[LotAlert], list[LotAlert]]:
    """Lots holding stock that expire within EXPIRY_ALERT_DAYS, and those already expired."""
    watched = expiry.watch(db, today)
    return watched.expiring, watched.expired


def current(db: Session, today: date | None = None) -> Alerts:
    """Every alert now."""
    expiring, expired = lots_to_watch(db, today)
    return Alerts(
        low_stock=low_stock(db, today),
        expiring=expiring,
        expired=expired,
        expiry_window_days=get_settings().EXPIRY_ALERT_DAYS,
    )


def expire_lots(db: Session, actor: Actor, today: date | None = None) -> list[int]:
    """Mark lots past their best-before date as expired (audited); their ids."""
    today = today or clock.today()
    ids = list(
        db.scalars(
            select(Lot.id).where(
                Lot.best_before < today,
                Lot.status.in_([LotStatus.AVAILABLE, LotStatus.QUARANTINE]),
            )
        ).all()
    )
    if ids:
        db.execute(
            update(Lot)
            .where(Lot.id.in_(ids))
            .values(status=LotStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
        for lot_id in ids:
            audit.record(db, actor, "lot.expired", "lot", lot_id, on=str(today))
    return ids


def count_lots_to_watch(db: Session, today: date | None = None) -> tuple[int, int]:
    """How many lots expire within the window, and how many already did."""
    expiring, expired = lots_to_watch(db, today)
    return len(expiring), len(expired)


def refresh_gauges() -> None:
    """Set the inventory alert gauges from the database; keep the last values if it is down."""
    try:
        with session_scope() as db:
            INVENTORY_LOW_STOCK_ALERTS.set(count_low_stock(db))
            expiring, expired = count_lots_to_watch(db)
            INVENTORY_EXPIRING_LOTS.set(expiring)
            INVENTORY_EXPIRED_LOTS.set(expired)
    except SQLAlchemyError as exc:
        logger.warning("low-stock gauge not refreshed: %s", type(exc).__name__)
