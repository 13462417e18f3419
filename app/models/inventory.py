"""Lots, the append-only stock ledger, the stock-level projection and reservations."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
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
from app.models.catalog import QUANTITY, UNIT_COST, Product, Supplier, Warehouse
from app.models.mixins import ExactDecimal, StringEnum, UTCDateTime, values_of

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class LotStatus(enum.StrEnum):
    """Whether a lot may be sold."""

    AVAILABLE = "available"
    QUARANTINE = "quarantine"
    EXPIRED = "expired"
    RECALLED = "recalled"


class MovementKind(enum.StrEnum):
    """Why stock changed; the sign of the quantity says which way."""

    RECEIPT = "receipt"
    ISSUE = "issue"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    WASTE = "waste"
    RETURN = "return"
    COUNT = "count"


class ReservationStatus(enum.StrEnum):
    """Where a reservation stands."""

    ACTIVE = "active"
    RELEASED = "released"
    ISSUED = "issued"


class Lot(Base):
    """A quantity of one product received together, with one best-before date."""

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("product_id", "lot_code"),
        CheckConstraint(f"status IN ({values_of(LotStatus)})", name="status_known"),
        CheckConstraint("best_before >= received_date", name="best_before_after_receipt"),
        CheckConstraint("moisture_pct IS NULL OR moisture_pct >= 0", name="moisture_nonnegative"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_nonnegative"),
        Index("ix_lots_product_id_best_before", "product_id", "best_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    lot_code: Mapped[str] = mapped_column(String(60))
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True
    )
    received_date: Mapped[date] = mapped_column(Date)
    best_before: Mapped[date] = mapped_column(Date)
    unit_cost: Mapped[Decimal] = mapped_column(UNIT_COST, default=Decimal(0))
    moisture_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal(5, 2), default=None)
    grade: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[LotStatus] = mapped_column(
        StringEnum(LotStatus, 20), default=LotStatus.AVAILABLE, index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(lazy="raise")
    supplier: Mapped[Supplier | None] = relationship(lazy="raise")


class LotDocument(Base):
    """A file attached to a lot: a certificate of analysis, a phytosanitary certificate ..."""

    __tablename__ = "lot_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StockMovement(Base):
    """One row of the append-only ledger: a signed quantity of a lot in a warehouse."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(f"kind IN ({values_of(MovementKind)})", name="kind_known"),
        CheckConstraint("quantity <> 0", name="quantity_nonzero"),
        Index("ix_stock_movements_product_id_created_at", "product_id", "created_at"),
        Index("ix_stock_movements_lot_id_created_at", "lot_id", "created_at"),
        Index("ix_stock_movements_warehouse_id_created_at", "warehouse_id", "created_at"),
        Index("ix_stock_movements_kind_created_at", "kind", "created_at"),
        Index("ix_stock_movements_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[MovementKind] = mapped_column(StringEnum(MovementKind, 20))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    reference: Mapped[str] = mapped_column(String(100), default="", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    group_id: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")


class StockLevel(Base):
    """What a lot holds in a warehouse right now, kept in step with the ledger."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id", "lot_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonnegative"),
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_levels_lot_id", "lot_id"),
        Index("ix_stock_levels_warehouse_id", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"))
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(lazy="raise")
    warehouse: Mapped[Warehouse] = relationship(lazy="raise")
    lot: Mapped[Lot] = relationship(lazy="raise")


class Reservation(Base):
    """Stock of one lot in one warehouse held for a reference (an order line)."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(f"status IN ({values_of(ReservationStatus)})", name="status_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_reference_status", "reference", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id", ondelete="RESTRICT"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    status: Mapped[ReservationStatus] = mapped_column(
        StringEnum(ReservationStatus, 20), default=ReservationStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    lot: Mapped[Lot] = relationship(lazy="raise")


class IdempotencyRecord(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
