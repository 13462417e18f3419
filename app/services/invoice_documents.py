"""Invoices and credit notes as PDFs, exactly as they were issued."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from app.core.formatting import company_locale
from app.models.billing import CreditNoteLine, InvoiceLine
from app.services import credit_notes, invoicing
from app.services.documents import Document, render_pdf


@dataclass(frozen=True)
class VatBand:
    """The lines of one VAT rate: their net and their VAT."""

    rate: Decimal
    net: Decimal
    vat: Decimal


def vat_bands(lines: Sequence[InvoiceLine | CreditNoteLine]) -> list[VatBand]:
    """Net and VAT per rate, highest rate first."""
    bands: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in lines:
        net, vat = bands.get(line.vat_rate, (Decimal(0), Decimal(0)))
        bands[line.vat_rate] = (net + line.net, vat + line.vat)
    return [VatBand(rate, *bands[rate]) for rate in sorted(bands, reverse=True)]


def invoice_pdf(db: Session, invoice_id: int, customer_id: int | None = None) -> Document:
    """Invoice ``invoice_id`` printed from what was stored when it was issued; a customer
    prints only its own."""
    invoice = invoicing.get_invoice(db, invoice_id, customer_id)
    order_number, shipment_number = invoicing.references(db, invoice)
    return render_pdf(
        "invoice.html",
        f"{invoice.number}.pdf",
        title="Invoice",
        number=invoice.number,
        invoice=invoice,
        bands=vat_bands(invoice.lines),
        order_number=order_number,
        shipment_number=shipment_number,
        language=company_locale().language,
    )


def credit_note_pdf(db: Session, credit_note_id: int, customer_id: int | None = None) -> Document:
    """Credit note ``credit_note_id``, with the invoice it refers to; a customer prints only
    its own."""
    note = credit_notes.get_credit_note(db, credit_note_id, customer_id)
    return render_pdf(
        "credit_note.html",
        f"{note.number}.pdf",
        title="Credit note",
        number=note.number,
        note=note,
        invoice=note.invoice,
        bands=vat_bands(note.lines),
        language=company_locale().language,
    )
