"""Invoices: the list, each one with its payments and credit notes and printed, the
accountant's export, and what customers owe by age."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core import clock
from app.core.errors import InvalidRequestError
from app.kit.downloads import csv_response, pdf_response
from app.schemas.billing import CreditNoteCreate, InvoiceCsvRow, PaymentCreate
from app.schemas.types import RecordId
from app.services import (
    credit_notes,
    customers,
    invoice_documents,
    invoice_views,
    invoicing,
    payments,
)
from app.services.credit_notes import CreditLineDraft
from app.services.invoicing import InvoiceFilter
from app.services.payments import PaymentDraft
from app.services.permissions import Permission
from app.web.forms import checked, form_values, line_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 50
# The column heading of each ageing band.
BAND_LABELS = {
    "current": "Not yet due",
    "1-30": "1\N{EN DASH}30 days",
    "31-60": "31\N{EN DASH}60 days",
    "61-90": "61\N{EN DASH}90 days",
    "90+": "Over 90 days",
}


@router.get("/invoices", response_class=HTMLResponse)
def list_invoices(
    request: Request,
    db: PageReadDb,
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
    return render(
        request,
        "invoices/list.html",
        caller,
        invoices=invoice_views.summaries(db, rows),
        total=total,
        listing=shown,
    )


@router.get("/invoices.csv")
def export_invoices(
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """Every invoice line, for the accountant."""
    return csv_response("invoices", InvoiceCsvRow, invoicing.export_rows(db, InvoiceFilter()))


@router.get("/invoices/{invoice_id}.pdf")
def invoice_paper(
    invoice_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
) -> Response:
    """An invoice as a PDF; a customer prints its own."""
    own = customers.order_scope(db, caller.user)
    return pdf_response(invoice_documents.invoice_pdf(db, invoice_id, own))


def _invoice_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    invoice_id: RecordId,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    invoice = invoicing.get_invoice(db, invoice_id)
    order_number, shipment_number = invoicing.references(db, invoice)
    return render(
        request,
        "invoices/invoice.html",
        caller,
        status_code=status_code,
        invoice=invoice_views.read(db, invoice),
        order_number=order_number,
        shipment_number=shipment_number,
        payments=payments.invoice_payments(db, invoice.id),
        values={"paid_on": clock.today().isoformat(), **values},
        errors=errors,
        notice=request.query_params.get("done", ""),
    )


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_detail(
    request: Request,
    invoice_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> HTMLResponse:
    """An invoice as issued, its payments, and a form to record one."""
    return _invoice_page(request, db, caller, invoice_id, {}, {})


@router.post("/invoices/{invoice_id}/payments", response_class=HTMLResponse)
def record_payment(
    request: Request,
    form: SubmittedForm,
    invoice_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE),
) -> Response:
    """Record money received against the invoice."""
    values = form_values(form, ["paid_on", "amount", "reference"])
    with refusals(db) as refused:
        body = checked(PaymentCreate, values)
        draft = PaymentDraft(body.paid_on, body.amount, body.reference)
        payments.record_payment(db, caller.actor, invoice_id, draft)
        return RedirectResponse(f"/invoices/{invoice_id}?done=paid", status_code=303)
    return _invoice_page(
        request, db, caller, invoice_id, values, refused.errors, refused.status_code
    )


@router.post("/invoices/{invoice_id}/credit-notes", response_class=HTMLResponse)
def issue_credit_note(
    request: Request,
    form: SubmittedForm,
    invoice_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE),
) -> Response:
    """Credit lines of the invoice by hand: a quantity or an amount on each, and the reason."""
    fields = ["invoice_line_id", "quantity", "amount"]
    rows, numbers = line_values(form, fields, needs=("quantity", "amount"))
    reason = str(form.get("reason", "")).strip()
    with refusals(db, numbers) as refused:
        if not rows:
            raise InvalidRequestError(
                "Enter a quantity or an amount to credit on at least one line."
            )
        body = checked(CreditNoteCreate, {"reason": reason, "lines": rows})
        drafts = [
            CreditLineDraft(line.invoice_line_id, line.quantity, line.amount) for line in body.lines
        ]
        note = credit_notes.issue_credit_note(db, caller.actor, invoice_id, drafts, body.reason)
        return RedirectResponse(f"/credit-notes/{note.id}?done=issued", status_code=303)
    submitted = {key: str(value) for key, value in form.items()}
    return _invoice_page(
        request, db, caller, invoice_id, submitted, refused.errors, refused.status_code
    )


@router.get("/receivables", response_class=HTMLResponse)
def receivables(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> HTMLResponse:
    """What each customer owes, by days past due, most owed first, with the totals."""
    return render(
        request,
        "invoices/receivables.html",
        caller,
        report=payments.receivables_by_customer(db),
        bands=BAND_LABELS,
    )


@router.get("/customers/{customer_id}/receivables", response_class=HTMLResponse)
def customer_receivables(
    request: Request,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> HTMLResponse:
    """What a customer owes, by days past due, and the invoices still to pay."""
    ageing = payments.receivables(db, customer_id)
    return render(
        request,
        "invoices/customer_receivables.html",
        caller,
        ageing=ageing,
        invoices=invoice_views.unpaid(ageing),
        bands=BAND_LABELS,
    )
