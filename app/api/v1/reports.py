"""Business reports for managers: KPIs, stock valuation, expiring stock, slow movers."""

import enum
from datetime import date, timedelta
from typing import Annotated

from fastapi import Query, Response

from app.api.csv_responses import CSV_CONTENT, Format, ReportFormat
from app.api.deps import ReadDbSession, ReportReader
from app.core import clock
from app.kit.downloads import csv_response
from app.kit.routers import Router
from app.schemas.reports import (
    ExpiringReport,
    ExpiringRow,
    KpiDay,
    KpiReport,
    ProductSales,
    SlowMoverReport,
    SlowMoverRow,
    ValuationReport,
    ValuationRow,
)
from app.schemas.types import RecordId
from app.services import reports

router = Router(prefix="/reports", tags=["reports"])
REPORT_RESPONSES = CSV_CONTENT


class SalesRanking(enum.StrEnum):
    """What top products are ranked by."""

    REVENUE = "revenue"
    WEIGHT = "weight"


def _since(since: date | None, until: date) -> date:
    return since if since is not None else until - timedelta(days=29)


@router.get("/kpis", response_model=KpiReport, responses=REPORT_RESPONSES)
def kpis(
    _: ReportReader,
    db: ReadDbSession,
    since: date | None = Query(default=None, description="First UTC day; 30 days by default"),
    until: date | None = Query(default=None, description="Last UTC day; today by default"),
    format_: Format = ReportFormat.JSON,
) -> KpiReport | Response:
    """Orders, revenue, cost of goods, margin, transactions and new customers per day."""
    last = until or clock.today()
    report = reports.kpis(db, _since(since, last), last)
    if format_ is ReportFormat.CSV:
        return csv_response(f"kpis-{report.since}-{report.until}", KpiDay, report.days)
    return report


@router.get("/top-products", response_model=list[ProductSales], responses=REPORT_RESPONSES)
def top_products(
    _: ReportReader,
    db: ReadDbSession,
    since: date | None = None,
    until: date | None = None,
    by: SalesRanking = SalesRanking.REVENUE,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    format_: Format = ReportFormat.JSON,
) -> list[ProductSales] | Response:
    """Products shipped in a period, ranked by revenue or by weight."""
    last = until or clock.today()
    rows = reports.product_sales(db, _since(since, last), last)
    if by is SalesRanking.REVENUE:
        rows.sort(key=lambda row: (-row.revenue, row.sku))
    else:
        rows.sort(key=lambda row: (-row.weight_kg, row.sku))
    if format_ is ReportFormat.CSV:
        return csv_response(f"top-products-by-{by}", ProductSales, rows[:limit])
    return rows[:limit]


@router.get("/stock-valuation", response_model=ValuationReport, responses=REPORT_RESPONSES)
def stock_valuation(
    _: ReportReader,
    db: ReadDbSession,
    warehouse_id: RecordId | None = None,
    format_: Format = ReportFormat.JSON,
) -> ValuationReport | Response:
    """On-hand stock per product and warehouse, valued lot by lot at each lot's cost."""
    report = reports.stock_valuation(db, warehouse_id)
    if format_ is ReportFormat.CSV:
        return csv_response("stock-valuation", ValuationRow, report.rows)
    return report


@router.get("/expiring-stock", response_model=ExpiringReport, responses=REPORT_RESPONSES)
def expiring_stock(
    _: ReportReader,
    db: ReadDbSession,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
    format_: Format = ReportFormat.JSON,
) -> ExpiringReport | Response:
    """Stock whose best-before is within the days given (or past), with its value."""
    report = reports.expiring_stock(db, within_days)
    if format_ is ReportFormat.CSV:
        return csv_response("expiring-stock", ExpiringRow, report.rows)
    return report


@router.get("/slow-movers", response_model=SlowMoverReport, responses=REPORT_RESPONSES)
def slow_movers(
    _: ReportReader,
    db: ReadDbSession,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    format_: Format = ReportFormat.JSON,
) -> SlowMoverReport | Response:
    """Products holding stock, those shipped least over the last days first."""
    report = reports.slow_movers(db, days, limit)
    if format_ is ReportFormat.CSV:
        return csv_response("slow-movers", SlowMoverRow, report.rows)
    return report
