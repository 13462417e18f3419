"""Request and response shapes for invoices."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from app.models.sales import VatTreatment


class InvoiceLineRead(BaseModel):
    """A billed line: net, VAT rate, VAT and gross, each to the cent."""

    model_config = ConfigDict(from_attributes=True)

    line_no: int
    order_line_id: int
    sku: str
    description: str
    lots: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal


class InvoiceSummary(BaseModel):
    """An invoice in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    shipment_id: int
    order_id: int
    customer_id: int
    customer_name: str
    issue_date: date
    due_date: date
    currency: str
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal


class InvoiceRead(InvoiceSummary):
    """An issued invoice, as it was issued."""

    billing_address: str
    customer_vat_number: str
    vat_treatment: VatTreatment
    vat_note: str
    company_name: str
    company_address: str
    company_vat_number: str
    created_at: datetime
    lines: list[InvoiceLineRead]


class InvoiceCsvRow(BaseModel):
    """One invoice line for the accountant: net, VAT rate, VAT and gross."""

    invoice: str
    issue_date: date
    due_date: date
    customer: str
    customer_vat_number: str
    vat_treatment: VatTreatment
    currency: str
    line_no: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
