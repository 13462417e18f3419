"""Invoices: a shipment billed once, read back as issued, printed, and exported for the
accountant."""

from datetime import date

from fastapi import Response, status

from app.api.deps import DbSession, OrderCaller, SalesManager
from app.api.idempotency import Idempotent
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.downloads import PDF_CONTENT, csv_response, pdf_response
from app.kit.routers import Router
from app.schemas.billing import (
    CreditNoteCreate,
    CreditNoteCsvRow,
    CreditNoteRead,
    CreditNoteSummary,
    InvoiceCsvRow,
    InvoiceRead,
    InvoiceSummary,
    PaymentCreate,
    PaymentRead,
    ReceivablesRead,
    ReceivablesReport,
)
from app.schemas.common import Page
from app.schemas.sales import OrderAction
from app.schemas.types import RecordId
from app.services import (
    credit_notes,
    credit_views,
    customers,
    invoice_documents,
    invoice_views,
    invoicing,
    payments,
)
from app.services.credit_notes import CreditFilter, CreditLineDraft
from app.services.invoicing import InvoiceFilter
from app.services.payments import PaymentDraft

router = Router(tags=["billing"])


@router.post(
    "/shipments/{shipment_id}/invoice",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceRead,
    responses=responses(404, 409),
)
def invoice_shipment(
    shipment_id: RecordId, caller: SalesManager, db: DbSession, once: Idempotent
) -> Response:
    """Invoice a shipment that has left, once, under the next gapless number of the year."""

    def act() -> InvoiceRead:
        invoice = invoicing.invoice_shipment(db, caller.actor, shipment_id)
        return invoice_views.read(db, invoice)

    return once.respond(OrderAction(), act)


@router.get("/invoices", responses=responses(409))
def list_invoices(
    _: SalesManager,
    db: DbSession,
    paging: PageQuery,
    customer_id: RecordId | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Page[InvoiceSummary]:
    """Invoices, newest first; issued on or after ``since`` and before ``until``."""
    where = InvoiceFilter(customer_id, since, until)
    rows, total = invoicing.list_invoices(db, where, offset=paging.offset, limit=paging.limit)
    return paging.page(invoice_views.summaries(db, rows), total)


@router.get(
    "/invoices.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per invoice line."}},
)
def export_invoices(
    _: SalesManager,
    db: DbSession,
    customer_id: RecordId | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """One row per invoice line, with net, VAT rate, VAT and gross, for the accountant."""
    rows = invoicing.export_rows(db, InvoiceFilter(customer_id, since, until))
    return csv_response("invoices", InvoiceCsvRow, rows)


@router.get("/invoices/{invoice_id}", responses=responses(404))
def read_invoice(invoice_id: RecordId, _: SalesManager, db: DbSession) -> InvoiceRead:
    """One invoice, as it was issued."""
    return invoice_views.read(db, invoicing.get_invoice(db, invoice_id))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={**PDF_CONTENT, **responses(404)},
)
def print_invoice(invoice_id: RecordId, caller: OrderCaller, db: DbSession) -> Response:
    """The invoice as a PDF; a customer prints its own."""
    own = customers.order_scope(db, caller.user)
    return pdf_response(invoice_documents.invoice_pdf(db, invoice_id, own))


@router.post(
    "/invoices/{invoice_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentRead,
    responses=responses(404, 409),
)
def record_payment(
    invoice_id: RecordId,
    body: PaymentCreate,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Record money received against an invoice; more than it still owes is refused."""

    def act() -> PaymentRead:
        draft = PaymentDraft(body.paid_on, body.amount, body.reference)
        return PaymentRead.model_validate(
            payments.record_payment(db, caller.actor, invoice_id, draft)
        )

    return once.respond(body, act)


@router.get("/invoices/{invoice_id}/payments", responses=responses(404))
def list_payments(invoice_id: RecordId, _: SalesManager, db: DbSession) -> list[PaymentRead]:
    """The payments of an invoice, oldest first."""
    invoicing.get_invoice(db, invoice_id)
    return [PaymentRead.model_validate(row) for row in payments.invoice_payments(db, invoice_id)]


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    response_model=CreditNoteRead,
    responses=responses(404, 409),
)
def issue_credit_note(
    invoice_id: RecordId,
    body: CreditNoteCreate,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Credit lines of an invoice by hand, with the reason: a quantity at the invoiced price,
    or an amount; never more than a line billed. Returns are credited when they are booked."""

    def act() -> CreditNoteRead:
        drafts = [
            CreditLineDraft(line.invoice_line_id, line.quantity, line.amount) for line in body.lines
        ]
        note = credit_notes.issue_credit_note(db, caller.actor, invoice_id, drafts, body.reason)
        return credit_views.read(credit_notes.get_credit_note(db, note.id))

    return once.respond(body, act)


@router.get("/credit-notes", responses=responses(409))
def list_credit_notes(
    _: SalesManager,
    db: DbSession,
    paging: PageQuery,
    customer_id: RecordId | None = None,
    invoice_id: RecordId | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Page[CreditNoteSummary]:
    """Credit notes, newest first; issued on or after ``since`` and before ``until``."""
    where = CreditFilter(customer_id, invoice_id, since, until)
    rows, total = credit_notes.list_credit_notes(
        db, where, offset=paging.offset, limit=paging.limit
    )
    return paging.page([credit_views.summary(note) for note in rows], total)


@router.get(
    "/credit-notes.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per credited line."}},
)
def export_credit_notes(
    _: SalesManager,
    db: DbSession,
    customer_id: RecordId | None = None,
    invoice_id: RecordId | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    """One row per credited line, with the invoice it corrects, for the accountant."""
    rows = credit_notes.export_rows(db, CreditFilter(customer_id, invoice_id, since, until))
    return csv_response("credit-notes", CreditNoteCsvRow, rows)


@router.get("/credit-notes/{credit_note_id}", responses=responses(404))
def read_credit_note(credit_note_id: RecordId, _: SalesManager, db: DbSession) -> CreditNoteRead:
    """One credit note, as it was issued."""
    return credit_views.read(credit_notes.get_credit_note(db, credit_note_id))


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    response_class=Response,
    responses={**PDF_CONTENT, **responses(404)},
)
def print_credit_note(credit_note_id: RecordId, caller: OrderCaller, db: DbSession) -> Response:
    """The credit note as a PDF; a customer prints its own."""
    own = customers.order_scope(db, caller.user)
    return pdf_response(invoice_documents.credit_note_pdf(db, credit_note_id, own))


@router.get("/customers/{customer_id}/receivables", responses=responses(404))
def customer_receivables(customer_id: RecordId, _: SalesManager, db: DbSession) -> ReceivablesRead:
    """What the customer owes, by days past due: current, 1-30, 31-60, 61-90, over 90."""
    return invoice_views.receivables(payments.receivables(db, customer_id))


@router.get("/receivables")
def list_receivables(_: SalesManager, db: DbSession) -> ReceivablesReport:
    """What each customer owing anything owes, by days past due, most owed first, with the
    total of each band."""
    return invoice_views.receivables_report(payments.receivables_by_customer(db))
