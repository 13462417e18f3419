"""Credit notes: the list, each one as issued and printed, and the accountant's export."""

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from app.kit.downloads import csv_response, pdf_response
from app.schemas.billing import CreditNoteCsvRow
from app.schemas.types import RecordId
from app.services import credit_notes, credit_views, customers, invoice_documents
from app.services.credit_notes import CreditFilter
from app.services.permissions import Permission
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 50


@router.get("/credit-notes", response_class=HTMLResponse)
def list_credit_notes(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """Credit notes, newest first, found by number, invoice number or customer."""
    asked = list_query(request, size=PAGE_SIZE, sorts=())
    rows, total = credit_notes.list_credit_notes(
        db, CreditFilter(search=asked.q or None), offset=asked.offset, limit=PAGE_SIZE
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(
        request,
        "invoices/credit_notes.html",
        caller,
        notes=[credit_views.summary(note) for note in rows],
        total=total,
        listing=shown,
    )


@router.get("/credit-notes.csv")
def export_credit_notes(
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """Every credited line, for the accountant."""
    rows = credit_notes.export_rows(db, CreditFilter())
    return csv_response("credit-notes", CreditNoteCsvRow, rows)


@router.get("/credit-notes/{credit_note_id}.pdf")
def credit_note_paper(
    credit_note_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
) -> Response:
    """A credit note as a PDF; a customer prints its own."""
    own = customers.order_scope(db, caller.user)
    return pdf_response(invoice_documents.credit_note_pdf(db, credit_note_id, own))


@router.get("/credit-notes/{credit_note_id}", response_class=HTMLResponse)
def credit_note_detail(
    request: Request,
    credit_note_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> HTMLResponse:
    """A credit note as issued, with the invoice it refers to."""
    note = credit_notes.get_credit_note(db, credit_note_id)
    return render(
        request,
        "invoices/credit_note.html",
        caller,
        note=credit_views.read(note),
        notice=request.query_params.get("done", ""),
    )
