"""Customers, their price tiers, sales orders with lines, and returns."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.database import Base
from app.models.catalog import MONEY, QUANTITY, Product, Warehouse
from app.models.inventory import BIG_ID, Lot
from app.models.mixins import StringEnum, TimestampMixin, UTCDateTime, values_of


class CustomerType(enum.StrEnum):
    """Who a customer is."""

    RETAIL = "retail"
    WHOLESALE = "wholesale"


class PriceTier(enum.StrEnum):
    """Which price list a customer buys from; a product without a tier price sells at list."""

    RETAIL = "retail"
    WHOLESALE = "wholesale"
    DISTRIBUTOR = "distributor"


class VatTreatment(enum.StrEnum):
    """How VAT applies to a customer's invoices."""

    STANDARD = "standard"
    ZERO_RATED = "zero_rated"
    REVERSE_CHARGE = "reverse_charge"


class AddressKind(enum.StrEnum):
    """What an address of a customer is for."""

    BILLING = "billing"
    DELIVERY = "delivery"


class OrderStatus(enum.StrEnum):
    """Where a sales order stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ShipmentStatus(enum.StrEnum):
    """Where a shipment stands: being picked, on its way (its lots issued), delivered, or
    cancelled before it left."""

    PICKING = "picking"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ReturnDisposition(enum.StrEnum):
    """What happens to returned goods."""

    RESTOCK = "restock"
    WASTE = "waste"


class Customer(TimestampMixin, Base):
    """Someone the business sells to; a customer user is linked to exactly one."""

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(f"customer_type IN ({values_of(CustomerType)})", name="type_known"),
        CheckConstraint(f"price_tier IN ({values_of(PriceTier)})", name="tier_known"),
        CheckConstraint("min_shelf_life_days >= 0", name="shelf_life_nonnegative"),
        CheckConstraint(
            "payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_range"
        ),
        CheckConstraint(f"vat_treatment IN ({values_of(VatTreatment)})", name="vat_known"),
        Index("ix_customers_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    customer_type: Mapped[CustomerType] = mapped_column(
        StringEnum(CustomerType, 20), default=CustomerType.RETAIL
    )
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    min_shelf_life_days: Mapped[int] = mapped_column(Integer, default=0)
    price_tier: Mapped[PriceTier] = mapped_column(
        StringEnum(PriceTier, 20), default=PriceTier.RETAIL
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True, default=None
    )
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    partial_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    vat_number: Mapped[str] = mapped_column(String(20), default="")
    vat_treatment: Mapped[VatTreatment] = mapped_column(
        StringEnum(VatTreatment, 20), default=VatTreatment.STANDARD
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    addresses: Mapped[list["CustomerAddress"]] = relationship(
        back_populates="customer",
        lazy="raise",
        order_by="CustomerAddress.id",
    )


# The order lines still waiting for stock, which filling backorders looks for.
BACKORDERED = text("backordered_quantity > 0")

# The one active default address of each kind per customer.
ONE_DEFAULT = text("is_default AND is_active")


class CustomerAddress(TimestampMixin, Base):
    """Where a customer is billed or delivered to; kept (inactive at most) once an order uses
    it."""

    __tablename__ = "customer_addresses"
    __table_args__ = (
        CheckConstraint(f"kind IN ({values_of(AddressKind)})", name="kind_known"),
        Index("ix_customer_addresses_customer_id_kind", "customer_id", "kind"),
        Index(
            "uq_customer_addresses_one_default",
            "customer_id",
            "kind",
            unique=True,
            sqlite_where=ONE_DEFAULT,
            postgresql_where=ONE_DEFAULT,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[AddressKind] = mapped_column(StringEnum(AddressKind, 20))
    label: Mapped[str] = mapped_column(String(100), default="")
    recipient: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    customer: Mapped[Customer] = relationship(back_populates="addresses", lazy="raise")


class TierPrice(TimestampMixin, Base):
    """The price of a product for one price tier."""

    __tablename__ = "tier_prices"
    __table_args__ = (
        UniqueConstraint("product_id", "tier"),
        CheckConstraint(f"tier IN ({values_of(PriceTier)})", name="tier_known"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    tier: Mapped[PriceTier] = mapped_column(StringEnum(PriceTier, 20))
    price: Mapped[Decimal] = mapped_column(MONEY)


class SalesOrder(Base):
    """An order from a customer; its number is the reference of its stock movements."""

    __tablename__ = "sales_orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({values_of(OrderStatus)})", name="status_known"),
        CheckConstraint("total >= 0", name="total_nonnegative"),
        Index("ix_sales_orders_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_sales_orders_status_created_at", "status", "created_at"),
        Index("ix_sales_orders_created_at", "created_at"),
        Index("ix_sales_orders_shipped_at", "shipped_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[OrderStatus] = mapped_column(
        StringEnum(OrderStatus, 20), default=OrderStatus.PENDING
    )
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    notes: Mapped[str] = mapped_column(Text, default="")
    # No ON DELETE action (SQLite adds the column in place only so): an address in use stays.
    delivery_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_addresses.id"), default=None
    )
    requested_delivery_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    customer: Mapped[Customer] = relationship(lazy="raise")
    warehouse: Mapped[Warehouse | None] = relationship(lazy="raise")
    delivery_address: Mapped[CustomerAddress | None] = relationship(lazy="raise")
    lines: Mapped[list["SalesOrderLine"]] = relationship(
        back_populates="order",
        lazy="raise",
        order_by="SalesOrderLine.line_no",
        cascade="all, delete-orphan",
    )


def line_reference(number: str, line_no: int) -> str:
    """The reservation reference of line ``line_no`` of order ``number``."""
    return f"{number}/{line_no}"


class SalesOrderLine(Base):
    """A product, quantity and unit price on a sales order."""

    __tablename__ = "sales_order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_nonnegative"),
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= quantity", name="returned_within"
        ),
        CheckConstraint(
            "shipped_quantity >= 0 AND backordered_quantity >= 0 AND cancelled_quantity >= 0 "
            "AND shipped_quantity + backordered_quantity + cancelled_quantity <= quantity",
            name="fulfilment_within",
        ),
        Index("ix_sales_order_lines_product_id", "product_id"),
        Index(
            "ix_sales_order_lines_backordered",
            "order_id",
            sqlite_where=BACKORDERED,
            postgresql_where=BACKORDERED,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    line_total: Mapped[Decimal] = mapped_column(MONEY)
    returned_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    shipped_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    backordered_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    cancelled_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    # A lot staff chose for the line instead of first-expired-first, and why. No ON DELETE
    # action (SQLite adds the column in place only so): a lot in use stays.
    pinned_lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), default=None)
    pin_reason: Mapped[str] = mapped_column(Text, default="")

    order: Mapped[SalesOrder] = relationship(back_populates="lines", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")
    pinned_lot: Mapped[Lot | None] = relationship(lazy="raise")

    def reference(self, number: str) -> str:
        """The reservation reference of this line on order ``number``."""
        return line_reference(number, self.line_no)

    @property
    def open_quantity(self) -> Decimal:
        """What is neither shipped nor backordered nor cancelled: what is held for the line
        once its order is confirmed."""
        return (
            self.quantity
            - self.shipped_quantity
            - self.backordered_quantity
            - self.cancelled_quantity
        )


class Shipment(Base):
    """Goods of one order leaving together under a number of their own: first picked (lot by
    lot, when the shipment is picked before it leaves), then issued in the ledger."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(f"status IN ({values_of(ShipmentStatus)})", name="status_known"),
        Index("ix_shipments_order_id", "order_id"),
        Index("ix_shipments_shipped_at", "shipped_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="RESTRICT"))
    status: Mapped[ShipmentStatus] = mapped_column(
        StringEnum(ShipmentStatus, 20), default=ShipmentStatus.SHIPPED
    )
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    order: Mapped[SalesOrder] = relationship(lazy="raise")
    lines: Mapped[list["ShipmentLine"]] = relationship(
        back_populates="shipment",
        lazy="raise",
        order_by="ShipmentLine.id",
        cascade="all, delete-orphan",
    )


class ShipmentLine(Base):
    """A quantity of one order line leaving from one lot in one warehouse."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_shipment_lines_shipment_id", "shipment_id"),
        Index("ix_shipment_lines_order_line_id", "order_line_id"),
        Index("ix_shipment_lines_lot_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("sales_order_lines.id", ondelete="RESTRICT")
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    # The ledger row that issued it: none while it is picked, nor for shipments recorded
    # before shipments existed.
    movement_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("stock_movements.id", ondelete="RESTRICT"), default=None
    )
    picked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    picked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    shipment: Mapped[Shipment] = relationship(back_populates="lines", lazy="raise")
    order_line: Mapped[SalesOrderLine] = relationship(lazy="raise")
    lot: Mapped[Lot] = relationship(lazy="raise")


class SalesReturn(Base):
    """Goods of a shipped order line coming back into their lot, or to waste."""

    __tablename__ = "sales_returns"
    __table_args__ = (
        CheckConstraint(f"disposition IN ({values_of(ReturnDisposition)})", name="disposition"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_sales_returns_order_id", "order_id"),
        Index("ix_sales_returns_lot_id", "lot_id"),
        Index("ix_sales_returns_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="RESTRICT"))
    line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_lines.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    credit: Mapped[Decimal] = mapped_column(MONEY)
    disposition: Mapped[ReturnDisposition] = mapped_column(StringEnum(ReturnDisposition, 20))
    reason: Mapped[str] = mapped_column(Text)
    group_id: Mapped[str] = mapped_column(String(36))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lot: Mapped[Lot] = relationship(lazy="raise")
