"""Reports with date ranges and CSV downloads, and the audit trail with filters."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from app.core import clock
from app.core.config import get_settings
from app.core.errors import NotFoundError
from app.kit.downloads import csv_response
from app.schemas.reports import ExpiringRow, KpiDay, ProductSales, SlowMoverRow, ValuationRow
from app.schemas.types import RecordId
from app.services import audit, expiry, reports
from app.services.audit import AuditFilter
from app.services.permissions import Permission
from app.services.sorting import Sort
from app.web.date_range import read_range
from app.web.links import record_url
from app.web.listing import list_query, listing
from app.web.routing import PageReadDb, page_router
from app.web.session import PageCaller, page_require
from app.web.templating import render

router = page_router()
AUDIT_PAGE = 100
NEWEST = Sort("when", descending=True)
# The records an audit entry links to, by kind, with what opens their pages.
LINKED_RECORDS = {
    "product": Permission.CATALOG_READ,
    "lot": Permission.TRACE_READ,
    "sales_order": Permission.SALES_MANAGE,
    "purchase_order": Permission.PURCHASING_READ,
    "user": Permission.USERS_MANAGE,
}
SLOW_MOVER_DAYS = 90
DateText = Annotated[str, Query(max_length=40)]


def _range(since: date | None, until: date | None) -> tuple[date, date]:
    last = until or clock.today()
    return since or last - timedelta(days=29), last


@router.get("/reports", response_class=HTMLResponse)
def show_reports(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.REPORTS_READ),
    since: DateText = "",
    until: DateText = "",
) -> HTMLResponse:
    """KPIs per day and in total, top products, stock value, expiring stock, slow movers; a bad
    range is told beside its field over the last 30 days' figures."""
    asked = read_range(since, until, reports.MAX_DAYS)
    first, last = _range(asked.since, asked.until)
    return render(
        request,
        "reports.html",
        caller,
        since=first,
        until=last,
        typed=asked.typed,
        errors=asked.errors,
        kpis=reports.kpis(db, first, last),
        valuation=reports.stock_valuation(db),
        watched=expiry.watch(db),
        slow=reports.slow_movers(db, SLOW_MOVER_DAYS, 20),
        status_code=422 if asked.errors else 200,
    )


@router.get("/reports/{name}.csv")
def report_csv(
    name: str,
    db: PageReadDb,
    _: PageCaller = page_require(Permission.REPORTS_READ),
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """One report as CSV, for the date range of the page."""
    first, last = _range(since, until)
    stamp = f"{first}-{last}"
    if name == "kpis":
        return csv_response(f"kpis-{stamp}", KpiDay, reports.kpis(db, first, last).days)
    if name == "top-products":
        return csv_response(
            f"top-products-{stamp}", ProductSales, reports.product_sales(db, first, last)
        )
    if name == "valuation":
        return csv_response(f"valuation-{last}", ValuationRow, reports.stock_valuation(db).rows)
    if name == "expiring":
        expiring = reports.expiring_stock(db, get_settings().EXPIRY_ALERT_DAYS)
        return csv_response(f"expiring-{last}", ExpiringRow, expiring.rows)
    if name == "slow-movers":
        rows = reports.slow_movers(db, SLOW_MOVER_DAYS, 500).rows
        return csv_response(f"slow-movers-{last}", SlowMoverRow, rows)
    raise NotFoundError(f"There is no report called {name}.")


@router.get("/audit", response_class=HTMLResponse)
def show_audit(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.AUDIT_READ),
    entity_type: Annotated[str, Query(max_length=50)] = "",
    entity_id: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    actor_id: RecordId | None = None,
    since: DateText = "",
    until: DateText = "",
) -> Response:
    """Who changed what and when, newest first or sorted, filtered; records linked; a bad date
    is told beside its field and filters nothing."""
    asked = list_query(request, size=AUDIT_PAGE, sorts=audit.AUDIT_SORTS, default=NEWEST)
    dates = read_range(since, until)
    since_day, until_day = dates.since, dates.until
    where = AuditFilter(
        entity_type=entity_type or None,
        entity_id=entity_id or None,
        actor_id=actor_id,
        action=action or None,
        since=datetime.combine(since_day, time.min, tzinfo=UTC) if since_day else None,
        until=(
            datetime.combine(until_day + timedelta(days=1), time.min, tzinfo=UTC)
            if until_day
            else None
        ),
    )
    rows, total = audit.search(db, where, offset=asked.offset, limit=AUDIT_PAGE, sort=asked.sort)
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    linked = {kind for kind, permission in LINKED_RECORDS.items() if caller.can(permission)}
    return render(
        request,
        "audit.html",
        caller,
        entries=rows,
        total=total,
        listing=shown,
        linked=linked,
        record_url=record_url,
        filters={
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "actor_id": actor_id or "",
            "since": since,
            "until": until,
        },
        errors=dates.errors,
        status_code=422 if dates.errors else 200,
    )
