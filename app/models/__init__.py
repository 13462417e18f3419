"""Every table, imported so that Alembic and the mappers see them all."""

from app.models.audit import AuditLog
from app.models.billing import Invoice, InvoiceLine, InvoiceStatus, Payment
from app.models.catalog import Category, Product, Supplier, UnitOfMeasure, Warehouse
from app.models.inventory import (
    IdempotencyRecord,
    Lot,
    LotDocument,
    LotStatus,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from app.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
    PurchaseStatus,
)
from app.models.sales import (
    Customer,
    CustomerType,
    OrderStatus,
    PriceTier,
    ReturnDisposition,
    SalesOrder,
    SalesOrderLine,
    SalesReturn,
    Shipment,
    ShipmentLine,
    TierPrice,
)
from app.models.sequences import NumberSequence
from app.models.user import RefreshToken, Role, User, UserSession

__all__ = [
    "AuditLog",
    "Category",
    "Customer",
    "CustomerType",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Lot",
    "LotDocument",
    "LotStatus",
    "MovementKind",
    "NumberSequence",
    "OrderStatus",
    "Payment",
    "PriceTier",
    "Product",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseReceipt",
    "PurchaseReceiptLine",
    "PurchaseStatus",
    "RefreshToken",
    "Reservation",
    "ReservationStatus",
    "ReturnDisposition",
    "Role",
    "SalesOrder",
    "SalesOrderLine",
    "SalesReturn",
    "Shipment",
    "ShipmentLine",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "TierPrice",
    "UnitOfMeasure",
    "User",
    "UserSession",
    "Warehouse",
]
