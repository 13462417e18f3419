"""Shapes of the traceability reports: a lot up- and downstream, a customer's lots."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from typing_extensions import TypedDict


class TraceProduct(BaseModel):
    """The product a lot holds."""

    id: int
    sku: str
    name: str
    unit: str


class TraceSupplier(BaseModel):
    """Who supplied a lot."""

    id: int
    code: str
    name: str
    country: str


class TraceLot(BaseModel):
    """The lot being traced."""

    id: int
    lot_code: str
    status: str
    received_date: date
    best_before: date
    unit_cost: Decimal
    moisture_pct: Decimal | None
    grade: str
    product: TraceProduct
    supplier: TraceSupplier | None


class TraceReceipt(BaseModel):
    """A delivery against a purchase order that brought goods into the lot."""

    purchase_order_id: int
    purchase_order_number: str
    receipt_id: int
    received_at: datetime
    delivery_note: str
    quantity: Decimal
    movement_id: int


class TraceDocument(BaseModel):
    """A certificate attached to the lot."""

    id: int
    filename: str
    content_type: str
    sha256: str
    description: str
    uploaded_at: datetime


class TraceEvent(TypedDict):
    """One ledger row of the lot, with the order and customer it served, if any: a plain row,
    a lot sold over months has thousands."""

    movement_id: int
    occurred_at: datetime
    kind: str
    warehouse_id: int
    warehouse_code: str
    quantity: Decimal
    reference: str
    reason: str
    actor: str
    order_id: int | None
    order_number: str | None
    customer_id: int | None
    customer_name: str | None


class TraceCustomerShare(BaseModel):
    """How much of the lot one customer took, net of returns."""

    customer_id: int
    customer_name: str
    orders: list[str]
    shipped: Decimal
    returned: Decimal
    net: Decimal
    first_shipped_at: datetime
    last_shipped_at: datetime


class TraceHolding(BaseModel):
    """What the lot still holds in one warehouse."""

    warehouse_id: int
    warehouse_code: str
    on_hand: Decimal
    reserved: Decimal


class TraceReservation(BaseModel):
    """Stock of the lot held for an order not yet shipped."""

    order_id: int
    order_number: str
    customer_id: int
    customer_name: str
    warehouse_id: int
    quantity: Decimal


class TraceTotals(BaseModel):
    """The lot's ledger, summed by movement kind, and what is left."""

    received: Decimal
    shipped: Decimal
    returned: Decimal
    wasted: Decimal
    adjusted: Decimal
    counted: Decimal
    transferred_in: Decimal
    transferred_out: Decimal
    on_hand: Decimal


class LotTrace(BaseModel):
    """The mock-recall report of one lot: upstream and downstream in one answer."""

    lot: TraceLot
    receipts: list[TraceReceipt]
    documents: list[TraceDocument]
    customers: list[TraceCustomerShare]
    events: list[TraceEvent]
    holdings: list[TraceHolding]
    reservations: list[TraceReservation]
    totals: TraceTotals


class CustomerLotRow(BaseModel):
    """One ledger row of goods a customer received (or sent back), with its lot's origin."""

    movement_id: int
    occurred_at: datetime
    order_id: int
    order_number: str
    kind: str
    quantity: Decimal
    warehouse_id: int
    lot_id: int
    lot_code: str
    best_before: date
    lot_status: str
    product_id: int
    sku: str
    supplier_id: int | None
    supplier_code: str | None


class CustomerTrace(BaseModel):
    """Every lot a customer received, row by row."""

    customer_id: int
    customer_name: str
    rows: list[CustomerLotRow]
