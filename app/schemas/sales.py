"""Request and response shapes for customers, prices, sales orders and returns."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from app.models.inventory import ReservationStatus
from app.models.sales import (
    AddressKind,
    CustomerType,
    OrderStatus,
    PriceTier,
    ReturnDisposition,
    ShipmentStatus,
    VatTreatment,
)
from app.schemas.billing import CreditNoteSummary
from app.schemas.countries import AddressCountry
from app.schemas.stock import LotCode
from app.schemas.types import (
    Money,
    Name,
    Quantity,
    RecordId,
    RequiredText,
    ShortText,
    Text,
)

ShelfLifeDemand = Annotated[int, Field(ge=0, le=3650)]
PaymentTerms = Annotated[int, Field(ge=0, le=365, description="Days to pay an invoice.")]


VatNumber = Annotated[
    str,
    BeforeValidator(lambda value: value.strip().upper() if isinstance(value, str) else value),
    StringConstraints(max_length=20, pattern=r"^[A-Z0-9]*$"),
    Field(description="Letters and digits as the tax office writes them; upper-cased."),
]
PostalCode = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20, pattern=r"^[A-Za-z0-9 -]*$")
]


class CustomerCreate(BaseModel):
    """A new customer."""

    name: Name
    customer_type: CustomerType = CustomerType.RETAIL
    email: EmailStr | None = None
    phone: ShortText = ""
    min_shelf_life_days: ShelfLifeDemand = 0
    price_tier: PriceTier | None = Field(
        default=None, description="Defaults to the tier of the customer type."
    )
    payment_terms_days: PaymentTerms = 30
    partial_delivery: bool = Field(
        default=False, description="Ship what is available and backorder the rest."
    )
    vat_number: VatNumber = ""
    vat_treatment: VatTreatment = VatTreatment.STANDARD
    user_id: RecordId | None = Field(default=None, description="A customer user to link.")
    notes: Text = ""


class CustomerUpdate(BaseModel):
    """Changes to a customer."""

    name: Name | None = None
    customer_type: CustomerType | None = None
    email: EmailStr | None = None
    phone: ShortText | None = None
    min_shelf_life_days: ShelfLifeDemand | None = None
    price_tier: PriceTier | None = None
    payment_terms_days: PaymentTerms | None = None
    partial_delivery: bool | None = None
    vat_number: VatNumber | None = None
    vat_treatment: VatTreatment | None = None
    user_id: RecordId | None = None
    notes: Text | None = None


class AddressCreate(BaseModel):
    """A new billing or delivery address of a customer."""

    kind: AddressKind
    label: ShortText = Field(default="", description="A name for it, such as 'Main warehouse'.")
    recipient: ShortText = ""
    street: RequiredText = Field(description="Street and house, on one or more lines.")
    postal_code: PostalCode = ""
    city: ShortText = ""
    country: AddressCountry
    is_default: bool = Field(
        default=False, description="The address of its kind used unless another is chosen."
    )


class AddressUpdate(BaseModel):
    """Changes to an address; is_active=false retires it (an address is never deleted)."""

    label: ShortText | None = None
    recipient: ShortText | None = None
    street: RequiredText | None = None
    postal_code: PostalCode | None = None
    city: ShortText | None = None
    country: AddressCountry | None = None
    is_default: bool | None = None
    is_active: bool | None = None


class AddressRead(BaseModel):
    """An address of a customer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    kind: AddressKind
    label: str
    recipient: str
    street: str
    postal_code: str
    city: str
    country: str
    is_default: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime


class OwnCustomerRead(BaseModel):
    """A customer's record as its own login sees it (without the sales team's notes)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    customer_type: CustomerType
    email: str
    phone: str
    min_shelf_life_days: int
    price_tier: PriceTier
    payment_terms_days: int
    partial_delivery: bool
    vat_number: str
    vat_treatment: VatTreatment
    user_id: int | None
    is_active: bool
    addresses: list[AddressRead]
    created_at: datetime
    updated_at: datetime


class CustomerRead(OwnCustomerRead):
    """A customer."""

    notes: str


class TierPriceRead(BaseModel):
    """A product's price in one tier."""

    model_config = ConfigDict(from_attributes=True)

    tier: PriceTier
    price: Decimal
    is_list_price: bool


class TierPriceSet(BaseModel):
    """The price of a product in one tier."""

    price: Money


class OrderLineIn(BaseModel):
    """A product and quantity to order; the unit price defaults from the price list."""

    product_id: RecordId
    quantity: Quantity
    unit_price: Money | None = Field(
        default=None, description="Staff only; defaults to the customer's tier price."
    )


class OrderCreate(BaseModel):
    """A new sales order; a customer user orders for itself and leaves customer_id out."""

    customer_id: RecordId | None = None
    warehouse_id: RecordId | None = Field(
        default=None, description="Reserve only from this warehouse (staff only)."
    )
    delivery_address_id: RecordId | None = Field(
        default=None, description="A delivery address of the customer; its default when left out."
    )
    requested_delivery_date: date | None = Field(
        default=None, description="Today or later; today (the company's day) when left out."
    )
    notes: Text = ""
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)


class OrderUpdate(BaseModel):
    """Changes to a pending order; lines, when sent, replace every line."""

    warehouse_id: RecordId | None = None
    delivery_address_id: RecordId | None = None
    requested_delivery_date: date | None = None
    notes: Text | None = None
    lines: list[OrderLineIn] | None = Field(default=None, min_length=1, max_length=200)


class OrderAction(BaseModel):
    """An optional note kept with a status change."""

    reason: Text = ""


class AllocationRead(BaseModel):
    """Stock of one lot held for, or shipped on, an order line: the pick list."""

    lot_id: int
    lot_code: str
    best_before: date
    warehouse_id: int
    quantity: Decimal
    status: ReservationStatus


class OrderLineRead(BaseModel):
    """A line of a sales order."""

    id: int
    line_no: int
    product_id: int
    sku: str
    product_name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal
    reserved_quantity: Decimal = Field(description="Held in lots for the line right now.")
    shipped_quantity: Decimal
    backordered_quantity: Decimal = Field(description="Waiting for stock to arrive.")
    cancelled_quantity: Decimal = Field(description="Cancelled before it shipped.")
    returned_quantity: Decimal
    pinned_lot_id: int | None = Field(description="The one lot the line takes, instead of FEFO.")
    pinned_lot_code: str | None
    pin_reason: str
    allocations: list[AllocationRead]


class CustomerRef(BaseModel):
    """Who an order is for."""

    id: int
    name: str


class DeliveryAddressRef(BaseModel):
    """Where an order goes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    recipient: str
    street: str
    postal_code: str
    city: str
    country: str


class OrderSummary(BaseModel):
    """A sales order in a list."""

    id: int
    number: str
    customer: CustomerRef
    status: OrderStatus
    warehouse_id: int | None
    delivery_address_id: int | None
    requested_delivery_date: date
    total: Decimal
    notes: str
    created_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None


class ShipmentLineRead(BaseModel):
    """A quantity of an order line that left from one lot."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    order_line_id: int
    line_no: int
    sku: str
    lot_id: int
    lot_code: str
    best_before: date
    warehouse_id: int
    quantity: Decimal
    picked_at: datetime | None
    movement_id: int | None


class ShipmentRead(BaseModel):
    """A shipment of an order: its number, status, carrier, tracking reference and lots."""

    id: int
    number: str
    order_id: int
    order_number: str
    status: ShipmentStatus
    carrier: str
    tracking_reference: str
    notes: str
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    lines: list[ShipmentLineRead]


class OrderRead(OrderSummary):
    """A sales order with its lines, what was picked for them and its shipments."""

    delivery_address: DeliveryAddressRef | None
    lines: list[OrderLineRead]
    shipments: list[ShipmentRead]


class LotPin(BaseModel):
    """The one lot an order line takes (null: first-expired-first again), and why."""

    lot_id: RecordId | None
    reason: Text = ""


class ShipmentLineIn(BaseModel):
    """A quantity of an order line to ship, within what it holds reserved."""

    line_id: RecordId
    quantity: Quantity


class ShipmentCreate(BaseModel):
    """A shipment to make; without lines, everything the order holds reserved."""

    carrier: ShortText = ""
    tracking_reference: ShortText = ""
    notes: Text = Field(default="", description="Kept as the reason of its ledger rows.")
    lines: list[ShipmentLineIn] | None = Field(default=None, min_length=1, max_length=200)
    pick_first: bool = Field(
        default=False,
        description="Picked lot by lot from its pick list before it leaves (POST "
        "/shipments/{id}/pick, then /dispatch); by default it leaves at once.",
    )


class ShipmentPick(BaseModel):
    """A line of a pick list picked, from the lot scanned or typed."""

    line_id: RecordId
    lot_code: LotCode


class BackorderFilled(BaseModel):
    """Stock reserved for a backordered line, and what it still waits for."""

    order_id: int
    order_number: str
    line_no: int
    sku: str
    reserved: Decimal
    still_backordered: Decimal


class BackordersFilled(BaseModel):
    """What filling backorders reserved."""

    filled: list[BackorderFilled]


class ReturnLineIn(BaseModel):
    """A quantity of an order line coming back."""

    line_id: RecordId
    quantity: Quantity
    disposition: ReturnDisposition = ReturnDisposition.RESTOCK
    lot_id: RecordId | None = Field(
        default=None, description="The lot it shipped from; by default the latest picked first."
    )


class ReturnCreate(BaseModel):
    """Goods of a shipped order sent back, with the reason."""

    reason: RequiredText
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)


class ReturnRead(BaseModel):
    """One share of a return: a lot, a quantity and where it went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    line_id: int
    lot_id: int
    warehouse_id: int
    quantity: Decimal
    credit: Decimal
    disposition: ReturnDisposition
    reason: str
    created_at: datetime


class ReturnBatch(BaseModel):
    """What a return booked, the credit notes for what had been invoiced, and the order."""

    returns: list[ReturnRead]
    credit_notes: list[CreditNoteSummary]
    order: OrderRead
