"""Request and response shapes for the catalog."""

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from app.models.catalog import UnitOfMeasure
from app.schemas.types import (
    Code,
    Country,
    Money,
    Name,
    NonNegativeQuantity,
    Percent,
    RecordId,
    ShelfLifeDays,
    ShortText,
    Text,
    UnitCost,
    Weight,
)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


VAT_RATE_HINT = "The VAT rate (percent) its products are invoiced at; null: DEFAULT_VAT_RATE."


class CategoryCreate(BaseModel):
    """A new category."""

    name: Name
    description: Text = ""
    vat_rate: Percent | None = Field(default=None, description=VAT_RATE_HINT)


class CategoryUpdate(BaseModel):
    """Changes to a category."""

    name: Name | None = None
    description: Text | None = None
    vat_rate: Percent | None = Field(default=None, description=VAT_RATE_HINT)


class CategoryRead(_Read):
    """A category."""

    name: str
    description: str
    vat_rate: Decimal | None


class ProductFields(BaseModel):
    """What describes a product, apart from its SKU."""

    name: Name
    category_id: RecordId | None = None
    variety: ShortText = ""
    origin_country: Country = ""
    grade: ShortText = ""
    is_organic: bool = False
    unit: UnitOfMeasure = UnitOfMeasure.KG
    net_weight_kg: Weight = Decimal(1)
    price: Money = Decimal(0)
    standard_cost: UnitCost = Decimal(0)
    reorder_point: NonNegativeQuantity = Decimal(0)
    reorder_quantity: NonNegativeQuantity = Decimal(0)
    shelf_life_days: ShelfLifeDays = 365
    description: Text = ""

    @field_validator("net_weight_kg")
    @classmethod
    def _kg_weighs_one(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if info.data.get("unit") == UnitOfMeasure.KG and value != 1:
            raise ValueError("must be 1 for a product sold by kg")
        return value


class ProductCreate(ProductFields):
    """A new product."""

    sku: Code


class ProductUpdate(BaseModel):
    """Changes to a product; unit and net weight change only while it has no stock."""

    name: Name | None = None
    category_id: RecordId | None = None
    variety: ShortText | None = None
    origin_country: Country | None = None
    grade: ShortText | None = None
    is_organic: bool | None = None
    unit: UnitOfMeasure | None = None
    net_weight_kg: Weight | None = None
    price: Money | None = None
    standard_cost: UnitCost | None = None
    reorder_point: NonNegativeQuantity | None = None
    reorder_quantity: NonNegativeQuantity | None = None
    shelf_life_days: ShelfLifeDays | None = None
    description: Text | None = None


class ProductRead(_Read):
    """A product."""

    sku: str
    name: str
    category_id: int | None
    variety: str
    origin_country: str
    grade: str
    is_organic: bool
    unit: UnitOfMeasure
    net_weight_kg: Decimal
    price: Decimal
    standard_cost: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal
    shelf_life_days: int
    description: str
    image_url: str | None = None


class SupplierCreate(BaseModel):
    """A new supplier."""

    code: Code
    name: Name
    country: Country = ""
    contact_name: ShortText = ""
    email: EmailStr | None = None
    phone: ShortText = ""
    address: Text = ""


class SupplierUpdate(BaseModel):
    """Changes to a supplier."""

    name: Name | None = None
    country: Country | None = None
    contact_name: ShortText | None = None
    email: EmailStr | None = None
    phone: ShortText | None = None
    address: Text | None = None


class SupplierRead(_Read):
    """A supplier."""

    code: str
    name: str
    country: str
    contact_name: str
    email: str
    phone: str
    address: str


class WarehouseCreate(BaseModel):
    """A new warehouse."""

    code: Code
    name: Name
    address: Text = ""


class WarehouseUpdate(BaseModel):
    """Changes to a warehouse."""

    name: Name | None = None
    address: Text | None = None


class WarehouseRead(_Read):
    """A warehouse."""

    code: str
    name: str
    address: str
