"""Shapes of the business reports: KPIs, stock valuation, expiring stock, slow movers."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel


class KpiDay(BaseModel):
    """One day of business."""

    day: date
    orders_placed: int
    orders_shipped: int
    revenue: Decimal
    returns_credit: Decimal
    cost_of_goods: Decimal
    gross_margin: Decimal
    transactions: int
    new_customers: int


class ProductSales(BaseModel):
    """What one product sold in a period."""

    product_id: int
    sku: str
    name: str
    unit: str
    quantity: Decimal
    weight_kg: Decimal
    revenue: Decimal


class KpiTotals(BaseModel):
    """A period's totals."""

    orders_placed: int
    orders_shipped: int
    revenue: Decimal
    returns_credit: Decimal
    net_revenue: Decimal
    cost_of_goods: Decimal
    gross_margin: Decimal
    gross_margin_pct: Decimal | None
    transactions: int
    new_customers: int


class KpiReport(BaseModel):
    """Sales, stock activity and customers for a date range (UTC days)."""

    since: date
    until: date
    totals: KpiTotals
    days: list[KpiDay]
    top_products_by_revenue: list[ProductSales]
    top_products_by_weight: list[ProductSales]


class ValuationRow(BaseModel):
    """Stock of a product in a warehouse, valued at the cost of each lot it sits in."""

    product_id: int
    sku: str
    name: str
    warehouse_id: int
    warehouse_code: str
    on_hand: Decimal
    lots: int
    value: Decimal


class ValuationReport(BaseModel):
    """The stock valuation."""

    total_value: Decimal
    rows: list[ValuationRow]


class ExpiringRow(BaseModel):
    """Stock of a lot close to (or past) its best-before date, and its value."""

    lot_id: int
    lot_code: str
    product_id: int
    sku: str
    warehouse_id: int
    warehouse_code: str
    best_before: date
    days_left: int
    status: str
    on_hand: Decimal
    unit_cost: Decimal
    value: Decimal


class ExpiringReport(BaseModel):
    """Stock expiring within a number of days."""

    within_days: int
    total_value: Decimal
    rows: list[ExpiringRow]


class SlowMoverRow(BaseModel):
    """A product with stock that hardly ships."""

    product_id: int
    sku: str
    name: str
    on_hand: Decimal
    value: Decimal
    shipped: Decimal
    last_shipped_at: datetime | None


class SlowMoverReport(BaseModel):
    """Products with stock, the slowest shipping first."""

    days: int
    rows: list[SlowMoverRow]


class CategoryStock(BaseModel):
    """Stock on hand of one category, in kilograms (packs at their net weight)."""

    category: str
    kilograms: Decimal
