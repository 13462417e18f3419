"""Purchase orders to suppliers, and the deliveries received against them."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.database import Base
from app.models.catalog import MONEY, QUANTITY, UNIT_COST, Product, Supplier, Warehouse
from app.models.inventory import BIG_ID, Lot
from app.models.mixins import StringEnum, UTCDateTime, values_of


class PurchaseStatus(enum.StrEnum):
    """Where a purchase order stands."""

    DRAFT = "draft"
    ORDERED = "ordered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


OPEN_PURCHASE_STATUSES = (PurchaseStatus.ORDERED, PurchaseStatus.PARTIALLY_RECEIVED)


class PurchaseOrder(Base):
    """An order to a supplier; its number is the reference of the receipts booked against it."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({values_of(PurchaseStatus)})", name="status_known"),
        Index("ix_purchase_orders_supplier_id_created_at", "supplier_id", "created_at"),
        Index("ix_purchase_orders_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    status: Mapped[PurchaseStatus] = mapped_column(
        StringEnum(PurchaseStatus, 20), default=PurchaseStatus.DRAFT
    )
    expected_date: Mapped[date | None] = mapped_column(Date, default=None)
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    supplier: Mapped[Supplier] = relationship(lazy="raise")
    warehouse: Mapped[Warehouse] = relationship(lazy="raise")
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="order",
        lazy="raise",
        order_by="PurchaseOrderLine.line_no",
        cascade="all, delete-orphan",
    )


class PurchaseOrderLine(Base):
    """A product, quantity and unit cost ordered from the supplier."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_nonnegative"),
        CheckConstraint("received_quantity >= 0", name="received_nonnegative"),
        Index("ix_purchase_order_lines_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal] = mapped_column(UNIT_COST)
    received_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")


class PurchaseReceipt(Base):
    """One delivery received against a purchase order."""

    __tablename__ = "purchase_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="RESTRICT"), index=True
    )
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    delivery_note: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")

    lines: Mapped[list["PurchaseReceiptLine"]] = relationship(
        back_populates="receipt", lazy="raise", order_by="PurchaseReceiptLine.id"
    )


class PurchaseReceiptLine(Base):
    """What one delivery brought for one order line: the lot it went into and its movement."""

    __tablename__ = "purchase_receipt_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_receipts.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_lines.id", ondelete="RESTRICT")
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), index=True)
    movement_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("stock_movements.id", ondelete="RESTRICT")
    )
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)

    receipt: Mapped[PurchaseReceipt] = relationship(back_populates="lines", lazy="raise")
    lot: Mapped[Lot] = relationship(lazy="raise")
