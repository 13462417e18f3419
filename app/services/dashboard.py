"""What a manager looks at each morning: stock value, alerts, today's trade and trends."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app.core import clock
from app.schemas.reports import CategoryStock, KpiDay
from app.services import alerts, expiry, reports

TREND_DAYS = 30


@dataclass(frozen=True)
class WeekValue:
    """Value of stock whose best-before falls in the week starting ``week``."""

    week: date
    value: Decimal


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's figures and series."""

    today: date
    stock_value: Decimal
    low_stock: int
    expiry: expiry.Watch
    today_orders: int
    today_revenue: Decimal
    days: list[KpiDay]
    categories: list[CategoryStock]
    expiring_by_week: list[WeekValue]


def build(db: Session, today: date | None = None) -> Dashboard:
    """Every figure of the dashboard, in a handful of aggregate queries."""
    today = today or clock.today()
    trend = reports.kpis(db, today - timedelta(days=TREND_DAYS - 1), today)
    watched = expiry.watch(db, today)
    weeks: dict[date, Decimal] = {}
    for lot in watched.expiring:
        week = lot.best_before - timedelta(days=lot.best_before.weekday())
        weeks[week] = weeks.get(week, Decimal("0.00")) + lot.value
    last = trend.days[-1]
    return Dashboard(
        today=today,
        stock_value=reports.stock_valuation(db).total_value,
        low_stock=alerts.count_low_stock(db, today),
        expiry=watched,
        today_orders=last.orders_placed,
        today_revenue=last.revenue,
        days=trend.days,
        categories=reports.stock_by_category(db),
        expiring_by_week=[WeekValue(week, value) for week, value in sorted(weeks.items())],
    )
