"""Credit notes as the API and the pages show them: with the invoice they refer to."""

from app.models.billing import CreditNote, Invoice
from app.schemas.billing import CreditNoteLineRead, CreditNoteRead, CreditNoteSummary


def summary(note: CreditNote, invoice: Invoice | None = None) -> CreditNoteSummary:
    """A credit note in a list; ``invoice`` when its own is not loaded."""
    invoice = invoice or note.invoice
    return CreditNoteSummary(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=invoice.number,
        customer_id=note.customer_id,
        customer_name=invoice.customer_name,
        issue_date=note.issue_date,
        currency=note.currency,
        kind=note.kind,
        reason=note.reason,
        net_total=note.net_total,
        vat_total=note.vat_total,
        gross_total=note.gross_total,
    )


def read(note: CreditNote) -> CreditNoteRead:
    """A credit note as issued, each line with what it credits of the invoice line."""
    return CreditNoteRead(
        **summary(note).model_dump(),
        created_at=note.created_at,
        lines=[
            CreditNoteLineRead(
                line_no=line.line_no,
                invoice_line_id=line.invoice_line_id,
                return_id=line.return_id,
                sku=line.invoice_line.sku,
                description=line.invoice_line.description,
                quantity=line.quantity,
                unit=line.invoice_line.unit,
                unit_price=line.invoice_line.unit_price,
                net=line.net,
                vat_rate=line.vat_rate,
                vat=line.vat,
                gross=line.gross,
            )
            for line in note.lines
        ],
    )
