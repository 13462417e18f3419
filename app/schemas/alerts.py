"""Shapes of the inventory alerts."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel


class LowStockAlert(BaseModel):
    """A product whose sellable stock is at or below its reorder point."""

    product_id: int
    sku: str
    name: str
    unit: str
    available: Decimal
    reorder_point: Decimal
    on_order: Decimal
    suggested_order_quantity: Decimal


class LotAlert(BaseModel):
    """A lot with stock that expires soon or has expired."""

    lot_id: int
    lot_code: str
    product_id: int
    sku: str
    best_before: date
    days_left: int
    status: str
    on_hand: Decimal
    value: Decimal


class Alerts(BaseModel):
    """Everything that needs attention in the stock."""

    low_stock: list[LowStockAlert]
    expiring: list[LotAlert]
    expired: list[LotAlert]
    expiry_window_days: int
