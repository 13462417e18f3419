"""Every table, imported so that Alembic and the mappers see them all."""

from app.models.audit import AuditLog
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
from app.models.user import RefreshToken, Role, User, UserSession

__all__ = [
    "AuditLog",
    "Category",
    "IdempotencyRecord",
    "Lot",
    "LotDocument",
    "LotStatus",
    "MovementKind",
    "Product",
    "RefreshToken",
    "Reservation",
    "ReservationStatus",
    "Role",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "UnitOfMeasure",
    "User",
    "UserSession",
    "Warehouse",
]
