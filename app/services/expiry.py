"""Expiry: the lots holding stock that expire within the alert window or already did, valued."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.config import get_settings
from app.models.catalog import Product, Warehouse
from app.models.inventory import Lot, LotStatus, StockLevel
from app.models.mixins import scaled_product
from app.schemas.alerts import LotAlert
from app.services.money import round_cents

NO_MONEY = Decimal("0.00")


@dataclass(frozen=True)
class Position:
    """A watched lot's stock in one warehouse, valued at the lot's unit cost."""

    lot: Lot
    sku: str
    warehouse_id: int
    warehouse_code: str
    on_hand: Decimal
    cost: Decimal

    @property
    def value(self) -> Decimal:
        """The position's cost to the cent."""
        return round_cents(self.cost)


@dataclass(frozen=True)
class Watch:
    """The lots expiring within ``window_days`` and those already expired, soonest first."""

    today: date
    window_days: int
    expiring: list[LotAlert]
    expired: list[LotAlert]

    @property
    def expiring_value(self) -> Decimal:
        """What the expiring lots' stock cost."""
        return sum((lot.value for lot in self.expiring), NO_MONEY)

    @property
    def expired_value(self) -> Decimal:
        """What the expired lots' stock cost."""
        return sum((lot.value for lot in self.expired), NO_MONEY)


def positions(db: Session, today: date, within_days: int) -> list[Position]:
    """Every warehouse's stock of the lots to watch: see ``watch`` for the rule."""
    horizon = today + timedelta(days=within_days)
    value = scaled_product(StockLevel.on_hand, Lot.unit_cost, 30, 7)
    query = (
        select(Lot, Product.sku, Warehouse.id, Warehouse.code, StockLevel.on_hand, value)
        .join(StockLevel, StockLevel.lot_id == Lot.id)
        .join(Product, Product.id == Lot.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(
            StockLevel.on_hand > 0,
            Lot.status != LotStatus.RECALLED,
            or_(Lot.best_before <= horizon, Lot.status == LotStatus.EXPIRED),
        )
        .order_by(Lot.best_before, Lot.id, Warehouse.code)
    )
    return [
        Position(lot, sku, wid, code, Decimal(on_hand), Decimal(total))
        for lot, sku, wid, code, on_hand, total in db.execute(query)
    ]


def watch(db: Session, today: date | None = None, within_days: int | None = None) -> Watch:
    """The one rule for "expiring" and "expired" that every page, report and alert uses.

    A lot is watched while it holds stock (on hand above zero in a warehouse) and is not
    recalled (a recall deals with it). It is expired when its status is expired or its
    best-before is before today; otherwise it is expiring when its best-before is at most
    ``within_days`` (default: the setting EXPIRY_ALERT_DAYS) after today, both days included.
    Value: the lot's on-hand in every warehouse, reserved included, at the lot's unit cost,
    rounded to the cent per lot; a figure's value is the sum of its lots' values.
    """
    today = today or clock.today()
    days = get_settings().EXPIRY_ALERT_DAYS if within_days is None else within_days
    lots: dict[int, LotAlert] = {}
    costs: dict[int, Decimal] = {}
    for position in positions(db, today, days):
        lot = position.lot
        costs[lot.id] = costs.get(lot.id, Decimal(0)) + position.cost
        held = lots.get(lot.id)
        if held is None:
            lots[lot.id] = LotAlert(
                lot_id=lot.id,
                lot_code=lot.lot_code,
                product_id=lot.product_id,
                sku=position.sku,
                best_before=lot.best_before,
                days_left=(lot.best_before - today).days,
                status=lot.status,
                on_hand=position.on_hand,
                value=NO_MONEY,
            )
        else:
            held.on_hand += position.on_hand
    for lot_id, alert in lots.items():
        alert.value = round_cents(costs[lot_id])
    expiring = [alert for alert in lots.values() if not _expired(alert, today)]
    expired = [alert for alert in lots.values() if _expired(alert, today)]
    return Watch(today=today, window_days=days, expiring=expiring, expired=expired)


def days_left_text(days: int, status: str = LotStatus.AVAILABLE) -> str:
    """How a person reads a lot's days left: "expires in 3 days", "expired 6 days ago"."""
    if status == LotStatus.EXPIRED and days >= 0:
        return "marked expired"
    if days == 0:
        return "expires today"
    if days == 1:
        return "expires tomorrow"
    if days == -1:
        return "expired yesterday"
    if days > 0:
        return f"expires in {days} days"
    return f"expired {-days} days ago"


def _expired(alert: LotAlert, today: date) -> bool:
    return alert.status == LotStatus.EXPIRED or alert.best_before < today
