"""Request and response shapes for invoices."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models.billing import InvoiceStatus
from app.models.sales import VatTreatment
from app.schemas.types import Money, ShortText


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


class ReceivablesRead(BaseModel):
    """What a customer owes, by days past due."""

    customer_id: int
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal


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
