"""The invoice as a PDF, exactly as it was issued."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from app.core.formatting import company_locale
from app.models.billing import InvoiceLine
from app.services import invoicing
from app.services.documents import Document, render_pdf


@dataclass(frozen=True)
class VatBand:
    """The lines of one VAT rate: their net and their VAT."""

    rate: Decimal
    net: Decimal
    vat: Decimal


def vat_bands(lines: Sequence[InvoiceLine]) -> list[VatBand]:
    """Net and VAT per rate, highest rate first."""
    bands: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in lines:
        net, vat = bands.get(line.vat_rate, (Decimal(0), Decimal(0)))
        bands[line.vat_rate] = (net + line.net, vat + line.vat)
    return [VatBand(rate, *bands[rate]) for rate in sorted(bands, reverse=True)]


def invoice_pdf(db: Session, invoice_id: int) -> Document:
    """Invoice ``invoice_id`` printed from what was stored when it was issued."""
    invoice = invoicing.get_invoice(db, invoice_id)
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
