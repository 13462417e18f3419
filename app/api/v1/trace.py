"""Traceability: the mock recall of a lot, and the lots a customer received."""

from typing import Annotated

from fastapi import Query, Response

from app.api.csv_responses import CSV_CONTENT, Format, ReportFormat
from app.api.deps import TraceReader
from app.api.responses import responses
from app.kit.downloads import csv_response, csv_rows_response
from app.kit.routers import Router
from app.schemas.trace import CustomerLotRow, CustomerTrace, LotTrace
from app.schemas.types import RecordId
from app.services import trace

router = Router(prefix="/trace", tags=["traceability"])
LotSort = Annotated[
    str,
    Query(
        max_length=100,
        description="Event order: " + ", ".join(trace.LOT_EVENT_SORTS) + "; prefix - to reverse",
    ),
]
CustomerSort = Annotated[
    str,
    Query(
        max_length=100,
        description="Row order: " + ", ".join(trace.CUSTOMER_ROW_SORTS) + "; prefix - to reverse",
    ),
]


@router.get(
    "/lots/{lot_id}",
    response_model=LotTrace,
    responses={**responses(404), **CSV_CONTENT},
)
async def trace_lot(
    lot_id: RecordId,
    _: TraceReader,
    format_: Format = ReportFormat.JSON,
    sort: LotSort = "occurred_at",
) -> LotTrace | Response:
    """Upstream (supplier, purchase order, receipts, documents) and downstream (every order,
    customer, return and write-off) of a lot, and what it still holds; CSV lists the events."""
    report = await trace.read_lot_trace(lot_id, sort)
    if format_ is ReportFormat.CSV:
        return csv_rows_response(
            f"lot-{report.lot.lot_code}-trace", trace.EVENT_COLUMNS, report.events
        )
    return report


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerTrace,
    responses={**responses(404), **CSV_CONTENT},
)
async def trace_customer(
    customer_id: RecordId,
    _: TraceReader,
    format_: Format = ReportFormat.JSON,
    sort: CustomerSort = "occurred_at",
) -> CustomerTrace | Response:
    """Every lot a customer received (and sent back), with best-before dates and suppliers."""
    report = await trace.read_customer_trace(customer_id, sort)
    if format_ is ReportFormat.CSV:
        return csv_response(f"customer-{customer_id}-lots", CustomerLotRow, report.rows)
    return report
