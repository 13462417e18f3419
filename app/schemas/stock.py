"""Request and response shapes for lots, stock movements and stock levels."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.inventory import LotStatus, MovementKind
from app.schemas.types import (
    CountedQuantity,
    Percent,
    Quantity,
    RecordId,
    Reference,
    RequiredText,
    ShortText,
    SignedQuantity,
    Text,
    UnitCost,
)

LotCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,59}$")
]


class _Movement(BaseModel):
    reference: Reference = ""
    reason: Text = ""


class ReceiptCreate(_Movement):
    """Goods received into a warehouse and lot."""

    reference: Reference = Field(
        default="",
        description="The delivery note. A note that already brought the product into the lot "
        "(compared trimmed, in any case) is refused with a 409 unless "
        "allow_repeated_delivery_note.",
    )
    product_id: RecordId
    warehouse_id: RecordId
    lot_code: LotCode
    quantity: Quantity
    received_date: date | None = None
    best_before: date | None = Field(
        default=None, description="Defaults to received_date plus the product's shelf life."
    )
    supplier_id: RecordId | None = None
    unit_cost: UnitCost | None = None
    moisture_pct: Percent | None = None
    grade: ShortText = ""
    allow_repeated_delivery_note: bool = Field(
        default=False,
        description="Confirm that this is another delivery under a delivery note already "
        "received into the same lot.",
    )


class AdjustmentCreate(_Movement):
    """A signed correction of a lot's on-hand stock; the reason is required."""

    product_id: RecordId
    lot_id: RecordId
    warehouse_id: RecordId
    quantity: SignedQuantity


class WasteCreate(_Movement):
    """Spoiled or damaged stock written off; the reason is required."""

    product_id: RecordId
    lot_id: RecordId
    warehouse_id: RecordId
    quantity: Quantity


class TransferCreate(_Movement):
    """Unreserved stock of a lot moved between warehouses."""

    product_id: RecordId
    lot_id: RecordId
    from_warehouse_id: RecordId
    to_warehouse_id: RecordId
    quantity: Quantity


class CountLineIn(BaseModel):
    """A counted quantity of one lot."""

    lot_id: RecordId
    counted_quantity: CountedQuantity


class CountCreate(_Movement):
    """A stocktake of a warehouse; differences become count movements."""

    warehouse_id: RecordId
    lines: list[CountLineIn] = Field(min_length=1, max_length=5000)
    complete: bool = Field(
        default=False, description="Count lots of this warehouse that are not listed as zero."
    )


class MovementRead(BaseModel):
    """One ledger row."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    kind: MovementKind
    product_id: int
    lot_id: int
    warehouse_id: int
    quantity: Decimal
    quantity_kg: Decimal
    reference: str
    reason: str
    group_id: str
    actor_id: int | None
    actor_label: str


class MovementBatch(BaseModel):
    """The ledger rows one request wrote."""

    movements: list[MovementRead]


class StockLevelRead(BaseModel):
    """What a lot holds in a warehouse, in the product's unit and in kg."""

    product_id: int
    sku: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    lot_id: int
    lot_code: str
    best_before: date
    lot_status: LotStatus
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    on_hand_kg: Decimal
    available_kg: Decimal


class LotRead(BaseModel):
    """A lot."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    lot_code: str
    supplier_id: int | None
    received_date: date
    best_before: date
    unit_cost: Decimal
    moisture_pct: Decimal | None
    grade: str
    status: LotStatus
    notes: str
    created_at: datetime


class LotStatusChange(BaseModel):
    """A new status for a lot, with the reason."""

    status: LotStatus
    reason: RequiredText


class LotDocumentRead(BaseModel):
    """A document attached to a lot."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    lot_id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    description: str
    uploaded_at: datetime


class DayQuantity(BaseModel):
    """A quantity at the end of a day."""

    day: date
    quantity: Decimal
