"""Closed days of business summed once: the KPI report reads these instead of the ledger."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.database import Base
from app.models.mixins import ExactDecimal, UTCDateTime

DAY_MONEY = ExactDecimal(14, 2)
DAY_QUANTITY = ExactDecimal(16, 3)
DAY_WEIGHT = ExactDecimal(18, 6)


class DailyKpi(Base):
    """One closed UTC day of orders, revenue, cost, ledger rows and new customers."""

    __tablename__ = "daily_kpis"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    orders_placed: Mapped[int] = mapped_column(Integer)
    orders_shipped: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal] = mapped_column(DAY_MONEY)
    returns_credit: Mapped[Decimal] = mapped_column(DAY_MONEY)
    cost_of_goods: Mapped[Decimal] = mapped_column(DAY_MONEY)
    transactions: Mapped[int] = mapped_column(Integer)
    new_customers: Mapped[int] = mapped_column(Integer)
    summed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DailyProductSales(Base):
    """What one product's shipped orders sold on one closed UTC day."""

    __tablename__ = "daily_product_sales"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    quantity: Mapped[Decimal] = mapped_column(DAY_QUANTITY)
    weight_kg: Mapped[Decimal] = mapped_column(DAY_WEIGHT)
    revenue: Mapped[Decimal] = mapped_column(DAY_MONEY)
