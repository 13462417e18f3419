"""Inventory alerts."""

from app.api.deps import DbSession, StockReader
from app.kit.routers import Router
from app.schemas.alerts import Alerts
from app.services import alerts

router = Router(prefix="/alerts", tags=["alerts"])


@router.get("")
def list_alerts(_: StockReader, db: DbSession) -> Alerts:
    """Low-stock products (with a suggested order), lots expiring soon, and expired stock."""
    return alerts.current(db)
