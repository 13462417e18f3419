"""Business reports, aggregated in SQL: KPIs, stock valuation, expiring stock, slow movers."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import InvalidRequestError
from app.core.read_sessions import writer
from app.models.catalog import Category, Product, UnitOfMeasure, Warehouse
from app.models.inventory import Lot, MovementKind, StockLevel, StockMovement
from app.models.mixins import scaled_product
from app.models.rollups import DailyKpi, DailyProductSales
from app.models.sales import Customer, SalesOrder, SalesOrderLine, SalesReturn
from app.schemas.reports import (
    CategoryStock,
    ExpiringReport,
    ExpiringRow,
    KpiDay,
    KpiReport,
    KpiTotals,
    ProductSales,
    SlowMoverReport,
    SlowMoverRow,
    ValuationReport,
    ValuationRow,
)
from app.services import expiry
from app.services.money import round_cents

ZERO = Decimal("0.000")
NO_MONEY = Decimal("0.00")
MAX_DAYS = 366
TOP_PRODUCTS = 10
ONE_DAY = timedelta(days=1)
# A day is closed, and rolled up, this long after its end: its last transactions are in.
SETTLE = timedelta(hours=1)
NO_SALES = {"quantity": ZERO, "weight_kg": Decimal(0), "revenue": NO_MONEY}
SALES_MEASURES = tuple(NO_SALES)
SALES_ROW = ("product_id", *SALES_MEASURES)


def utc_day(db: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in SQL."""
    if db.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def day_range(since: date, until: date) -> tuple[datetime, datetime]:
    """The UTC instants from the start of ``since`` to the end of ``until``, or a 422."""
    if until < since:
        raise InvalidRequestError("until must not be before since.", field="until")
    if (until - since).days >= MAX_DAYS:
        raise InvalidRequestError(f"A report covers at most {MAX_DAYS} days.", field="since")
    start = datetime.combine(since, time.min, UTC)
    return start, datetime.combine(until, time.min, UTC) + timedelta(days=1)


def kpis(db: Session, since: date, until: date) -> KpiReport:
    """Orders, revenue, margin, transactions and new customers per day: the closed days from
    their roll-up (summed from the ledger on first asking), the open ones summed live."""
    day_range(since, until)
    closed, first_open = _closed_and_open(since, until)
    summed: dict[date, KpiDay] = {}
    if since <= closed:
        summed |= _rolled_up_days(db, since, closed)
    if first_open <= until:
        summed |= _summed_days(db, first_open, until)
    days = [summed[since + timedelta(days=offset)] for offset in range((until - since).days + 1)]
    sales = _sales(db, since, until, closed, first_open)
    return KpiReport(
        since=since,
        until=until,
        totals=_totals(days),
        days=days,
        top_products_by_revenue=sorted(sales, key=lambda s: (-s.revenue, s.sku))[:TOP_PRODUCTS],
        top_products_by_weight=sorted(sales, key=lambda s: (-s.weight_kg, s.sku))[:TOP_PRODUCTS],
    )


def last_closed_day(now: datetime | None = None) -> date:
    """The last UTC day that has ended (long enough ago for every write of it to be in)."""
    return ((now or clock.utcnow()) - SETTLE).date() - ONE_DAY


def product_sales(db: Session, since: date, until: date) -> list[ProductSales]:
    """Per product, the quantity, weight and value of order lines shipped on the UTC days
    ``since`` to ``until``: closed days from their roll-up, open ones summed live."""
    day_range(since, until)
    closed, first_open = _closed_and_open(since, until)
    if since <= closed:
        _rolled_up_days(db, since, closed)
    return _sales(db, since, until, closed, first_open)


def forget_rolled_up_days(db: Session) -> None:
    """Drop every roll-up, for a load that writes history into closed days."""
    db.execute(delete(DailyProductSales))
    db.execute(delete(DailyKpi))


def _closed_and_open(since: date, until: date) -> tuple[date, date]:
    """The last closed day up to ``until`` and the first open one from ``since``."""
    closed = min(until, last_closed_day())
    return closed, max(since, closed + ONE_DAY)


def _sales(
    db: Session, since: date, until: date, closed: date, first_open: date
) -> list[ProductSales]:
    """``product_sales`` once the closed days of the range are rolled up, split where the
    caller split it: the clock read once, so no day closes between the two halves."""
    totals: dict[int, dict[str, Any]] = {}
    if since <= closed:
        rolled = select(
            DailyProductSales.product_id,
            func.sum(DailyProductSales.quantity).label("quantity"),
            func.sum(DailyProductSales.weight_kg).label("weight_kg"),
            func.sum(DailyProductSales.revenue).label("revenue"),
        ).where(DailyProductSales.day >= since, DailyProductSales.day <= closed)
        _add_sales(totals, db.execute(rolled.group_by(DailyProductSales.product_id)))
    if first_open <= until:
        _add_sales(totals, db.execute(_shipped_lines(*day_range(first_open, until))))
    if not totals:
        return []
    products = db.execute(
        select(Product.id, Product.sku, Product.name, Product.unit).where(Product.id.in_(totals))
    )
    return [
        ProductSales(
            product_id=product_id,
            sku=sku,
            name=name,
            unit=unit,
            quantity=totals[product_id]["quantity"],
            weight_kg=totals[product_id]["weight_kg"].quantize(Decimal("0.001")),
            revenue=totals[product_id]["revenue"],
        )
        for product_id, sku, name, unit in products
    ]


def _shipped_lines(start: datetime, end: datetime, *by: Any) -> Select[Any]:
    """Per product (and ``by``), the order lines of orders shipped from ``start`` to ``end``."""
    weight = scaled_product(SalesOrderLine.quantity, Product.net_weight_kg, 30, 6)
    return (
        select(
            *by,
            SalesOrderLine.product_id,
            func.sum(SalesOrderLine.quantity).label("quantity"),
            func.sum(weight).label("weight_kg"),
            func.sum(SalesOrderLine.line_total).label("revenue"),
        )
        .join(Product, Product.id == SalesOrderLine.product_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(SalesOrder.shipped_at >= start, SalesOrder.shipped_at < end)
        .group_by(*by, SalesOrderLine.product_id)
        .order_by(*by, SalesOrderLine.product_id)  # concurrent roll-ups insert in one order
    )


def _add_sales(totals: dict[int, dict[str, Any]], rows: Iterable[Any]) -> None:
    for row in rows:
        into = totals.setdefault(row.product_id, dict(NO_SALES))
        for measure in SALES_MEASURES:
            into[measure] += Decimal(getattr(row, measure))


def _rolled_up_days(db: Session, since: date, until: date) -> dict[date, KpiDay]:
    """The closed days ``since`` to ``until`` from their roll-up, summing and storing the days
    not rolled up yet (with their product sales) from the ledger first."""
    stored = {
        row.day: _kpi_day(row)
        for row in db.scalars(select(DailyKpi).where(DailyKpi.day.between(since, until)))
    }
    missing = [
        day
        for day in (since + timedelta(days=offset) for offset in range((until - since).days + 1))
        if day not in stored
    ]
    if not missing:
        return stored
    summed = _summed_days(db, missing[0], missing[-1])
    wanted = set(missing)
    days = [day for day in summed.values() if day.day in wanted]
    _insert_new(db, DailyKpi, ["day"], [_rolled_up_row(day) for day in days])
    shipped_day = utc_day(db, SalesOrder.shipped_at).label("day")
    sales = [
        {"day": as_date(row.day)} | {name: getattr(row, name) for name in SALES_ROW}
        for row in db.execute(_shipped_lines(*day_range(missing[0], missing[-1]), shipped_day))
        if as_date(row.day) in wanted
    ]
    _insert_new(db, DailyProductSales, ["day", "product_id"], sales)
    return stored | {day.day: day for day in days}


def _insert_new(db: Session, model: Any, key: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` of ``model`` on the primary, leaving those whose ``key`` a concurrent
    request stored."""
    if not rows:
        return
    into = writer(db)
    insert = postgresql.insert if into.get_bind().dialect.name == "postgresql" else sqlite.insert
    into.execute(insert(model).on_conflict_do_nothing(index_elements=key), rows)


def _rolled_up_row(day: KpiDay) -> dict[str, Any]:
    return day.model_dump(exclude={"gross_margin"}) | {"summed_at": clock.utcnow()}


def _kpi_day(row: DailyKpi) -> KpiDay:
    return KpiDay(
        day=row.day,
        orders_placed=row.orders_placed,
        orders_shipped=row.orders_shipped,
        revenue=row.revenue,
        returns_credit=row.returns_credit,
        cost_of_goods=row.cost_of_goods,
        gross_margin=row.revenue - row.returns_credit - row.cost_of_goods,
        transactions=row.transactions,
        new_customers=row.new_customers,
    )


def _summed_days(db: Session, since: date, until: date) -> dict[date, KpiDay]:
    """The days ``since`` to ``until`` summed from the ledger, orders, returns and customers."""
    start, end = day_range(since, until)
    placed = _per_day(db, SalesOrder.created_at, start, end, func.count())
    shipped_day = utc_day(db, SalesOrder.shipped_at)
    shipped = {
        as_date(day): (count, total)
        for day, count, total in db.execute(
            select(shipped_day, func.count(), func.sum(SalesOrder.total))
            .where(SalesOrder.shipped_at >= start, SalesOrder.shipped_at < end)
            .group_by(shipped_day)
        )
    }
    credits = _per_day(db, SalesReturn.created_at, start, end, func.sum(SalesReturn.credit))
    # One pass over the period's ledger: every movement counts as a transaction, issues and
    # returns also cost their lot's unit cost.
    cost = scaled_product(StockMovement.quantity, Lot.unit_cost, 30, 7)
    sold = StockMovement.kind.in_([MovementKind.ISSUE, MovementKind.RETURN])
    moved_day = utc_day(db, StockMovement.created_at)
    moves: dict[date, int] = {}
    costs: dict[date, Decimal] = {}
    for day, count, total in db.execute(
        select(moved_day, func.count(), func.sum(case((sold, cost))))
        .join(Lot, Lot.id == StockMovement.lot_id)
        .where(StockMovement.created_at >= start, StockMovement.created_at < end)
        .group_by(moved_day)
    ):
        moves[as_date(day)] = count
        if total is not None:
            costs[as_date(day)] = -Decimal(total)
    joined = _per_day(db, Customer.created_at, start, end, func.count())
    days = {}
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        count, revenue = shipped.get(day, (0, NO_MONEY))
        revenue = Decimal(revenue)
        credit = Decimal(credits.get(day, NO_MONEY))
        cogs = round_cents(costs.get(day, NO_MONEY))
        days[day] = KpiDay(
            day=day,
            orders_placed=int(placed.get(day, 0)),
            orders_shipped=int(count),
            revenue=revenue,
            returns_credit=credit,
            cost_of_goods=cogs,
            gross_margin=revenue - credit - cogs,
            transactions=int(moves.get(day, 0)),
            new_customers=int(joined.get(day, 0)),
        )
    return days


def stock_valuation(db: Session, warehouse_id: int | None = None) -> ValuationReport:
    """On-hand stock per product and warehouse, each lot at its own unit cost (one query)."""
    value = func.sum(scaled_product(StockLevel.on_hand, Lot.unit_cost, 30, 7))
    query = (
        select(
            Product.id,
            Product.sku,
            Product.name,
            Warehouse.id,
            Warehouse.code,
            func.sum(StockLevel.on_hand),
            func.count(Lot.id),
            value,
        )
        .join(Lot, Lot.id == StockLevel.lot_id)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.on_hand > 0)
        .group_by(Product.id, Product.sku, Product.name, Warehouse.id, Warehouse.code)
        .order_by(Product.sku, Warehouse.code)
    )
    if warehouse_id is not None:
        query = query.where(StockLevel.warehouse_id == warehouse_id)
    rows = [
        ValuationRow(
            product_id=product_id,
            sku=sku,
            name=name,
            warehouse_id=wid,
            warehouse_code=code,
            on_hand=Decimal(on_hand),
            lots=lots,
            value=round_cents(Decimal(total)),
        )
        for product_id, sku, name, wid, code, on_hand, lots, total in db.execute(query)
    ]
    return ValuationReport(total_value=_sum(row.value for row in rows), rows=rows)


def stock_by_category(db: Session) -> list[CategoryStock]:
    """Kilograms on hand per category, heaviest first (products without one: "Uncategorised")."""
    weight = scaled_product(StockLevel.on_hand, Product.net_weight_kg, 30, 6)
    query = (
        select(Category.name, Product.unit, func.sum(StockLevel.on_hand), func.sum(weight))
        .join(Product, Product.id == StockLevel.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(StockLevel.on_hand > 0)
        .group_by(Category.name, Product.unit)
    )
    totals: dict[str, Decimal] = {}
    for name, unit, on_hand, packed in db.execute(query):
        kilograms = Decimal(on_hand) if unit == UnitOfMeasure.KG else Decimal(packed)
        key = name or "Uncategorised"
        totals[key] = totals.get(key, ZERO) + kilograms
    return [
        CategoryStock(category=name, kilograms=kilograms.quantize(ZERO))
        for name, kilograms in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def expiring_stock(db: Session, within_days: int, today: date | None = None) -> ExpiringReport:
    """Per lot and warehouse, the stock expiring within ``within_days`` or expired, valued by
    the rule of ``expiry.watch``."""
    today = today or clock.today()
    rows = [
        ExpiringRow(
            lot_id=held.lot.id,
            lot_code=held.lot.lot_code,
            product_id=held.lot.product_id,
            sku=held.sku,
            warehouse_id=held.warehouse_id,
            warehouse_code=held.warehouse_code,
            best_before=held.lot.best_before,
            days_left=(held.lot.best_before - today).days,
            status=held.lot.status,
            on_hand=held.on_hand,
            unit_cost=held.lot.unit_cost,
            value=held.value,
        )
        for held in expiry.positions(db, today, within_days)
    ]
    return ExpiringReport(
        within_days=within_days, total_value=_sum(row.value for row in rows), rows=rows
    )


def slow_movers(
    db: Session, days: int, limit: int = 50, today: date | None = None
) -> SlowMoverReport:
    """Products holding stock, the least shipped over the last ``days`` first (two queries)."""
    since = datetime.combine(today or clock.today(), time.min, UTC) - timedelta(days=days - 1)
    value = func.sum(scaled_product(StockLevel.on_hand, Lot.unit_cost, 30, 7))
    stock = db.execute(
        select(Product.id, Product.sku, Product.name, func.sum(StockLevel.on_hand), value)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .join(Lot, Lot.id == StockLevel.lot_id)
        .where(StockLevel.on_hand > 0)
        .group_by(Product.id, Product.sku, Product.name)
    ).all()
    shipped = {
        product_id: (-Decimal(quantity), last)
        for product_id, quantity, last in db.execute(
            select(
                StockMovement.product_id,
                func.sum(StockMovement.quantity),
                func.max(StockMovement.created_at),
            )
            .where(
                StockMovement.kind == MovementKind.ISSUE,
                StockMovement.created_at >= since,
            )
            .group_by(StockMovement.product_id)
        )
    }
    rows = [
        SlowMoverRow(
            product_id=product_id,
            sku=sku,
            name=name,
            on_hand=Decimal(on_hand),
            value=round_cents(Decimal(total)),
            shipped=shipped.get(product_id, (ZERO, None))[0],
            last_shipped_at=shipped.get(product_id, (ZERO, None))[1],
        )
        for product_id, sku, name, on_hand, total in stock
    ]
    rows.sort(key=lambda row: (row.shipped, -row.value, row.sku))
    return SlowMoverReport(days=days, rows=rows[:limit])


def _per_day(
    db: Session, column: Any, start: datetime, end: datetime, measure: Any
) -> dict[date, Any]:
    day = utc_day(db, column)
    query = (
        select(day, measure)
        .select_from(column.class_)
        .where(column >= start, column < end)
        .group_by(day)
    )
    return {as_date(value): total for value, total in db.execute(query)}


def _totals(days: list[KpiDay]) -> KpiTotals:
    revenue = _sum(day.revenue for day in days)
    credit = _sum(day.returns_credit for day in days)
    cogs = _sum(day.cost_of_goods for day in days)
    net = revenue - credit
    margin = net - cogs
    return KpiTotals(
        orders_placed=sum(day.orders_placed for day in days),
        orders_shipped=sum(day.orders_shipped for day in days),
        revenue=revenue,
        returns_credit=credit,
        net_revenue=net,
        cost_of_goods=cogs,
        gross_margin=margin,
        gross_margin_pct=round_cents(margin * 100 / net) if net else None,
        transactions=sum(day.transactions for day in days),
        new_customers=sum(day.new_customers for day in days),
    )


def as_date(value: object) -> date:
    """A day read back from SQL (a date, or its ISO text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, NO_MONEY)
