"""The dashboard: stock value, alerts, today's trade and the charts of the last weeks."""

from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.core.formatting import currency_symbol, day_and_month
from app.services import dashboard
from app.services.permissions import Permission
from app.web.charts import Measure, Point, bar_chart, line_chart
from app.web.routing import PageReadDb, page_router
from app.web.session import PageCaller, page_require
from app.web.templating import render

router = page_router()


@router.get("/dashboard", response_class=HTMLResponse)
def show(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.REPORTS_READ),
) -> HTMLResponse:
    """Today's figures and the trends a manager starts the day with."""
    board = dashboard.build(db)
    days = [day_and_month(day.day) for day in board.days]
    charts = [
        line_chart(
            "Revenue per day, last 30 days",
            currency_symbol(),
            [Point(label, day.revenue) for label, day in zip(days, board.days, strict=True)],
            Measure.MONEY,
        ),
        bar_chart(
            "Orders placed per day, last 30 days",
            "orders",
            [
                Point(label, Decimal(day.orders_placed))
                for label, day in zip(days, board.days, strict=True)
            ],
            Measure.WHOLE,
        ),
        bar_chart(
            "Stock on hand by category",
            "kg",
            [Point(row.category, row.kilograms) for row in board.categories],
        ),
        bar_chart(
            f"Value expiring per week, next {board.expiry.window_days} days",
            currency_symbol(),
            [
                Point("wk of " + day_and_month(week.week), week.value)
                for week in board.expiring_by_week
            ],
            Measure.MONEY,
        ),
    ]
    return render(request, "dashboard.html", caller, board=board, charts=charts)
