"""The catalog: categories, products, suppliers and warehouses."""

import enum
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base
from app.models.mixins import ExactDecimal, StringEnum, TimestampMixin

QUANTITY = ExactDecimal(14, 3)
QUANTITY_MAX = Decimal("99999999999.999")
MONEY = ExactDecimal(12, 2)
MONEY_MAX = Decimal("9999999999.99")
UNIT_COST = ExactDecimal(12, 4)
PERCENT = ExactDecimal(5, 2)


class UnitOfMeasure(enum.StrEnum):
    """How a product is counted: by weight, or in packs of a fixed net weight."""

    KG = "kg"
    PACK = "pack"


class Category(TimestampMixin, Base):
    """A group of products (dates, apricots, nuts, mixes ...)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # The VAT rate (percent) its products are invoiced at; none: DEFAULT_VAT_RATE.
    vat_rate: Mapped[Decimal | None] = mapped_column(PERCENT, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Product(TimestampMixin, Base):
    """Something the business buys in lots and sells by weight or by pack."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("unit IN ('kg', 'pack')", name="unit_known"),
        CheckConstraint("net_weight_kg > 0", name="net_weight_positive"),
        CheckConstraint("price >= 0 AND standard_cost >= 0", name="money_nonnegative"),
        CheckConstraint("reorder_point >= 0 AND reorder_quantity >= 0", name="reorder_nonnegative"),
        CheckConstraint("shelf_life_days > 0", name="shelf_life_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    variety: Mapped[str] = mapped_column(String(100), default="")
    origin_country: Mapped[str] = mapped_column(String(2), default="")
    grade: Mapped[str] = mapped_column(String(100), default="")
    is_organic: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[UnitOfMeasure] = mapped_column(
        StringEnum(UnitOfMeasure, 10), default=UnitOfMeasure.KG
    )
    net_weight_kg: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    price: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    standard_cost: Mapped[Decimal] = mapped_column(UNIT_COST, default=Decimal(0))
    reorder_point: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    reorder_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    shelf_life_days: Mapped[int] = mapped_column(Integer, default=365)
    description: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(300), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category | None] = relationship(lazy="raise")


class Supplier(TimestampMixin, Base):
    """Who the business buys lots from."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Warehouse(TimestampMixin, Base):
    """A place where stock is kept."""

    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
