"""Invoices: the list, each one printed, and the accountant's export."""

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.kit.downloads import csv_response, pdf_response
from app.schemas.billing import InvoiceCsvRow
from app.schemas.types import RecordId
from app.services import invoice_documents, invoicing
from app.services.invoicing import InvoiceFilter
from app.services.permissions import Permission
from app.web.listing import list_query, listing
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 50


@router.get("/invoices", response_class=HTMLResponse)
def list_invoices(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """Invoices, newest first, found by number or customer."""
    asked = list_query(request, size=PAGE_SIZE, sorts=())
    rows, total = invoicing.list_invoices(
        db, InvoiceFilter(search=asked.q or None), offset=asked.offset, limit=PAGE_SIZE
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(request, "invoices/list.html", caller, invoices=rows, total=total, listing=shown)


@router.get("/invoices.csv")
def export_invoices(
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """Every invoice line, for the accountant."""
    return csv_response("invoices", InvoiceCsvRow, invoicing.export_rows(db, InvoiceFilter()))


@router.get("/invoices/{invoice_id}.pdf")
def invoice_paper(
    invoice_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """An invoice as a PDF."""
    return pdf_response(invoice_documents.invoice_pdf(db, invoice_id))
