"""Invoices: what a shipment bills the customer, numbered without gaps, never changed."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.database import Base
from app.models.catalog import MONEY, PERCENT, QUANTITY
from app.models.mixins import StringEnum, UTCDateTime, values_of
from app.models.sales import VatTreatment


class Invoice(Base):
    """An issued invoice: the customer's billing details and the company's as they were on
    the day, its lines and totals; a correction is a credit note, never an edit."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(f"vat_treatment IN ({values_of(VatTreatment)})", name="vat_known"),
        CheckConstraint("gross_total = net_total + vat_total", name="totals_add_up"),
        CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        Index("ix_invoices_customer_id_issue_date", "customer_id", "issue_date"),
        Index("ix_invoices_order_id", "order_id"),
        Index("ix_invoices_issue_date", "issue_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="RESTRICT"), unique=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    customer_name: Mapped[str] = mapped_column(String(200))
    billing_address: Mapped[str] = mapped_column(Text, default="")
    customer_vat_number: Mapped[str] = mapped_column(String(20), default="")
    vat_treatment: Mapped[VatTreatment] = mapped_column(StringEnum(VatTreatment, 20))
    vat_note: Mapped[str] = mapped_column(Text, default="")
    company_name: Mapped[str] = mapped_column(String(200))
    company_address: Mapped[str] = mapped_column(Text, default="")
    company_vat_number: Mapped[str] = mapped_column(String(20), default="")
    net_total: Mapped[Decimal] = mapped_column(MONEY)
    vat_total: Mapped[Decimal] = mapped_column(MONEY)
    gross_total: Mapped[Decimal] = mapped_column(MONEY)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice",
        lazy="raise",
        order_by="InvoiceLine.line_no",
        cascade="all, delete-orphan",
    )


class InvoiceLine(Base):
    """A billed quantity of an order line: its net, VAT rate, VAT and gross, each to the cent."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("vat_rate >= 0", name="vat_rate_nonnegative"),
        CheckConstraint("gross = net + vat", name="gross_adds_up"),
        Index("ix_invoice_lines_invoice_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("sales_order_lines.id", ondelete="RESTRICT")
    )
    sku: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    lots: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY)
    vat_rate: Mapped[Decimal] = mapped_column(PERCENT)
    vat: Mapped[Decimal] = mapped_column(MONEY)
    gross: Mapped[Decimal] = mapped_column(MONEY)

    invoice: Mapped[Invoice] = relationship(back_populates="lines", lazy="raise")


class InvoiceStatus(enum.StrEnum):
    """Where an invoice stands with its payments."""

    OPEN = "open"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    CREDITED = "credited"


class Payment(Base):
    """Money received against an invoice."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_invoice_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CreditReason(enum.StrEnum):
    """Why a credit note was issued: goods came back, or a correction made by hand."""

    RETURN = "return"
    ADJUSTMENT = "adjustment"


class CreditNote(Base):
    """Money given back against one invoice, numbered in its own gapless sequence; the
    invoice is never changed."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        CheckConstraint(f"kind IN ({values_of(CreditReason)})", name="kind_known"),
        CheckConstraint("gross_total = net_total + vat_total", name="totals_add_up"),
        CheckConstraint("net_total > 0", name="net_positive"),
        Index("ix_credit_notes_invoice_id", "invoice_id"),
        Index("ix_credit_notes_customer_id", "customer_id"),
        Index("ix_credit_notes_issue_date", "issue_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    issue_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[CreditReason] = mapped_column(StringEnum(CreditReason, 20))
    reason: Mapped[str] = mapped_column(Text)
    net_total: Mapped[Decimal] = mapped_column(MONEY)
    vat_total: Mapped[Decimal] = mapped_column(MONEY)
    gross_total: Mapped[Decimal] = mapped_column(MONEY)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice: Mapped[Invoice] = relationship(lazy="raise")
    lines: Mapped[list["CreditNoteLine"]] = relationship(
        back_populates="credit_note",
        lazy="raise",
        order_by="CreditNoteLine.line_no",
        cascade="all, delete-orphan",
    )


class CreditNoteLine(Base):
    """What is credited of one invoice line: a quantity at its price, or an amount, with
    its VAT at the invoice line's rate."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        CheckConstraint("net > 0", name="net_positive"),
        CheckConstraint("gross = net + vat", name="gross_adds_up"),
        Index("ix_credit_note_lines_credit_note_id", "credit_note_id"),
        Index("ix_credit_note_lines_invoice_line_id", "invoice_line_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="RESTRICT")
    )
    return_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_returns.id", ondelete="RESTRICT"), default=None
    )
    quantity: Mapped[Decimal | None] = mapped_column(QUANTITY, nullable=True, default=None)
    net: Mapped[Decimal] = mapped_column(MONEY)
    vat_rate: Mapped[Decimal] = mapped_column(PERCENT)
    vat: Mapped[Decimal] = mapped_column(MONEY)
    gross: Mapped[Decimal] = mapped_column(MONEY)

    credit_note: Mapped[CreditNote] = relationship(back_populates="lines", lazy="raise")
    invoice_line: Mapped[InvoiceLine] = relationship(lazy="raise")
