"""Request and response shapes for purchase orders, deliveries and reorder suggestions."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.models.purchasing import PurchaseStatus
from app.schemas.stock import LotCode
from app.schemas.types import Percent, Quantity, RecordId, Reference, ShortText, Text, UnitCost


class PurchaseLineIn(BaseModel):
    """A product, quantity and unit cost to order."""

    product_id: RecordId
    quantity: Quantity
    unit_cost: UnitCost | None = Field(
        default=None, description="Defaults to the product's standard cost."
    )


class PurchaseCreate(BaseModel):
    """A new purchase order (a draft until sent)."""

    supplier_id: RecordId
    warehouse_id: RecordId
    expected_date: date | None = None
    notes: Text = ""
    lines: list[PurchaseLineIn] = Field(min_length=1, max_length=500)


class PurchaseUpdate(BaseModel):
    """Changes to a draft; lines, when sent, replace every line."""

    warehouse_id: RecordId | None = None
    expected_date: date | None = None
    notes: Text | None = None
    lines: list[PurchaseLineIn] | None = Field(default=None, min_length=1, max_length=500)


class PurchaseLineRead(BaseModel):
    """A line of a purchase order."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    line_no: int
    product_id: int
    sku: str
    quantity: Decimal
    unit_cost: Decimal
    received_quantity: Decimal
    open_quantity: Decimal


class SupplierRef(BaseModel):
    """Who a purchase order goes to."""

    id: int
    code: str
    name: str


class PurchaseSummary(BaseModel):
    """A purchase order in a list."""

    id: int
    number: str
    supplier: SupplierRef
    warehouse_id: int
    status: PurchaseStatus
    expected_date: date | None
    total: Decimal
    notes: str
    created_at: datetime
    ordered_at: datetime | None
    closed_at: datetime | None


class PurchaseRead(PurchaseSummary):
    """A purchase order with its lines."""

    lines: list[PurchaseLineRead]


class DeliveryLineIn(BaseModel):
    """What arrived for one order line and the lot it goes into."""

    line_id: RecordId
    quantity: Quantity
    lot_code: LotCode
    best_before: date | None = Field(
        default=None, description="Defaults to the receipt date plus the product's shelf life."
    )
    unit_cost: UnitCost | None = Field(default=None, description="Defaults to the line's cost.")
    moisture_pct: Percent | None = None
    grade: ShortText = ""


class DeliveryCreate(BaseModel):
    """A delivery received against a purchase order."""

    warehouse_id: RecordId | None = Field(
        default=None, description="Defaults to the purchase order's warehouse."
    )
    delivery_note: Reference = Field(
        default="",
        description="The supplier's delivery note. A note that already brought a line's product "
        "into its lot (compared trimmed, in any case) is refused with a 409 unless "
        "allow_repeated_delivery_note.",
    )
    received_date: date | None = None
    allow_over_receipt: bool = False
    allow_repeated_delivery_note: bool = Field(
        default=False,
        description="Confirm that this is another delivery under a delivery note already "
        "received into the same lot.",
    )
    lines: list[DeliveryLineIn] = Field(min_length=1, max_length=500)


class ReceiptLineRead(BaseModel):
    """One line of a delivery: the lot it went into and its ledger row."""

    model_config = ConfigDict(from_attributes=True)

    order_line_id: int
    lot_id: int
    movement_id: int
    quantity: Decimal


class ReceiptRead(BaseModel):
    """A delivery received against a purchase order."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    warehouse_id: int
    delivery_note: str
    received_at: datetime
    actor_label: str
    lines: list[ReceiptLineRead]


class ReorderSuggestionRead(BaseModel):
    """Whether and how much of a product to order."""

    product_id: int
    sku: str
    name: str
    unit: str
    supplier_id: int | None
    available: Decimal
    on_order: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal
    avg_daily_sales_30d: Decimal
    avg_daily_sales_90d: Decimal
    days_of_cover: Decimal | None
    suggested_quantity: Decimal
    unit_cost: Decimal


class SuggestionsToOrder(BaseModel):
    """Turn one supplier's suggestions into a draft purchase order."""

    supplier_id: RecordId
    warehouse_id: RecordId
    cover_days: int = Field(default=30, ge=1, le=365)
    expected_date: date | None = None
