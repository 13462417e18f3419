"""Request and response shapes for invoices."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models.billing import CreditReason, InvoiceStatus
from app.models.sales import VatTreatment
from app.schemas.types import Money, Quantity, RecordId, RequiredText, ShortText


class InvoiceLineRead(BaseModel):
    """A billed line: net, VAT rate, VAT and gross, each to the cent."""

    model_config = ConfigDict(from_attributes=True)

    id: int
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


class CreditLineIn(BaseModel):
    """What to credit of one invoice line: a quantity at its price, or a net amount (one of
    the two)."""

    invoice_line_id: RecordId
    quantity: Quantity | None = None
    amount: Annotated[Money, Field(gt=0)] | None = None


class CreditNoteCreate(BaseModel):
    """A correction of an invoice by hand: the lines credited and why."""

    reason: RequiredText
    lines: list[CreditLineIn] = Field(min_length=1, max_length=200)


class CreditNoteLineRead(BaseModel):
    """A credited line: the invoice line, the quantity (none for an amount), net, VAT, gross."""

    line_no: int
    invoice_line_id: int
    return_id: int | None
    sku: str
    description: str
    quantity: Decimal | None
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal


class CreditNoteSummary(BaseModel):
    """A credit note in a list."""

    id: int
    number: str
    invoice_id: int
    invoice_number: str
    customer_id: int
    customer_name: str
    issue_date: date
    currency: str
    kind: CreditReason
    reason: str
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal


class CreditNoteRead(CreditNoteSummary):
    """A credit note as issued, with its lines."""

    created_at: datetime
    lines: list[CreditNoteLineRead]


class InvoiceSummary(BaseModel):
    """An invoice in a list, with what has been paid of it."""

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
    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    status: InvoiceStatus


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
    credit_notes: list[CreditNoteSummary]


class PaymentCreate(BaseModel):
    """Money received against an invoice."""

    paid_on: date
    amount: Annotated[Money, Field(gt=0)]
    reference: ShortText = ""


class PaymentRead(BaseModel):
    """A payment recorded against an invoice."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    invoice_id: int
    paid_on: date
    amount: Decimal
    reference: str
    created_at: datetime


class AgeingBands(BaseModel):
    """Money owed by days past due: not yet due (current), 1-30, 31-60, 61-90, over 90."""

    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal


class ReceivablesRead(AgeingBands):
    """What a customer owes, by days past due."""

    customer_id: int
    customer_name: str


class ReceivablesReport(BaseModel):
    """What customers owe on a day: each one owing anything, most owed first, and the total
    of each band."""

    on: date
    customers: list[ReceivablesRead]
    totals: AgeingBands


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


class CreditNoteCsvRow(BaseModel):
    """One credited line for the accountant: the invoice it corrects, net, VAT rate, VAT and
    gross credited."""

    credit_note: str
    issue_date: date
    invoice: str
    customer: str
    customer_vat_number: str
    kind: CreditReason
    reason: str
    currency: str
    line_no: int
    sku: str
    description: str
    quantity: Decimal | None
    unit: str
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal
    vat: Decimal
    gross: Decimal
