"""Stock movements: every change writes the ledger and the projection in one transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.core import clock, problem_types
from app.core.errors import ConflictError, InvalidRequestError
from app.core.metrics import STOCK_MOVEMENTS_TOTAL, after_commit
from app.crud import crud_stock
from app.models.catalog import QUANTITY_MAX, Product, UnitOfMeasure, Warehouse
from app.models.inventory import Lot, LotStatus, MovementKind, StockLevel, StockMovement
from app.schemas.stock import ReceiptCreate
from app.services import audit
from app.services.audit import Actor
from app.services.catalog import products, suppliers, warehouses
from app.services.repeated_deliveries import refuse_repeated

QUANTUM = Decimal("0.001")


class InsufficientStockError(ConflictError):
    """Less stock is available than the request needs."""

    problem = problem_types.INSUFFICIENT_STOCK


@dataclass(frozen=True)
class MovementContext:
    """Who moves stock, under which reference and why (and when, for back-dated history)."""

    actor: Actor
    reference: str = ""
    reason: str = ""
    occurred_at: datetime | None = None

    def row(
        self,
        kind: MovementKind,
        *,
        product_id: int,
        lot_id: int,
        warehouse_id: int,
        quantity: Decimal,
        reference: str | None = None,
    ) -> StockMovement:
        """A ledger row for this context."""
        movement = StockMovement(
            kind=kind,
            product_id=product_id,
            lot_id=lot_id,
            warehouse_id=warehouse_id,
            quantity=quantity.quantize(QUANTUM),
            reference=self.reference if reference is None else reference,
            reason=self.reason,
            actor_id=self.actor.user_id,
            actor_label=self.actor.label,
        )
        if self.occurred_at is not None:
            movement.created_at = self.occurred_at
        return movement


@dataclass(frozen=True)
class ReceiptLine:
    """Goods arriving into a lot (created on first receipt, topped up after).

    A ``delivery_note`` that already brought the product into the lot is refused unless
    ``allow_repeated_delivery_note``; without a note nothing is checked.
    """

    product_id: int
    warehouse_id: int
    lot_code: str
    quantity: Decimal
    received_date: date | None = None
    best_before: date | None = None
    supplier_id: int | None = None
    unit_cost: Decimal | None = None
    moisture_pct: Decimal | None = None
    grade: str = ""
    delivery_note: str = ""
    allow_repeated_delivery_note: bool = False


def receipt_of(body: ReceiptCreate) -> ReceiptLine:
    """The receipt a request (API body or page form) describes; its reference is the note."""
    return ReceiptLine(
        **body.model_dump(exclude={"reference", "reason"}), delivery_note=body.reference
    )


@dataclass(frozen=True)
class CountLine:
    """A counted quantity of one lot."""

    lot_id: int
    counted: Decimal


def check_quantity(
    product: Product, quantity: Decimal, field: str = "quantity", **extensions: Any
) -> None:
    """Refuse a quantity that does not fit the product's unit (packs are whole)."""
    check_unit(product.sku, product.unit, quantity, field, **extensions)


def check_unit(sku: str, unit: str, quantity: Decimal, field: str, **extensions: Any) -> None:
    """``check_quantity`` for a product known by its SKU and unit."""
    if unit == UnitOfMeasure.PACK and quantity != quantity.to_integral_value():
        raise InvalidRequestError(
            f"{sku} is counted in packs; {quantity} is not a whole number.",
            field=field,
            **extensions,
        )


def receive(db: Session, context: MovementContext, line: ReceiptLine) -> StockMovement:
    """Book goods into a warehouse and lot; the lot is created on its first receipt."""
    product = products.get_active(db, line.product_id, "product_id")
    warehouse = warehouses.get_active(db, line.warehouse_id, "warehouse_id")
    check_quantity(product, line.quantity)
    lot = _receiving_lot(db, product, line)
    _give(db, lot, warehouse.id, line.quantity)
    if not line.allow_repeated_delivery_note:
        # After _give: its lock on the level row makes a copy sent at once wait and see this one.
        refuse_repeated(db, line.delivery_note, [(product.id, line.lot_code)])
    movement = _record(db, context, MovementKind.RECEIPT, lot, warehouse.id, line.quantity)
    _audit(db, context, "stock.received", lot, [movement])
    return movement


def _receiving_lot(db: Session, product: Product, line: ReceiptLine) -> Lot:
    received = line.received_date or clock.today()
    if received > clock.today():
        raise InvalidRequestError(
            "The received date cannot be in the future.", field="received_date"
        )
    best_before = line.best_before or received + timedelta(days=product.shelf_life_days)
    if best_before < received:
        raise InvalidRequestError(
            f"The best-before date {best_before} is before the received date {received}.",
            field="best_before",
        )
    if line.supplier_id is not None:
        suppliers.get_active(db, line.supplier_id, "supplier_id")
    lot = db.scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_code == line.lot_code))
    if lot is None:
        lot = Lot(
            product_id=product.id,
            lot_code=line.lot_code,
            supplier_id=line.supplier_id,
            received_date=received,
            best_before=best_before,
            unit_cost=line.unit_cost if line.unit_cost is not None else product.standard_cost,
            moisture_pct=line.moisture_pct,
            grade=line.grade or product.grade,
            status=LotStatus.AVAILABLE,
        )
        db.add(lot)
        db.flush()
        return lot
    if line.best_before is not None and line.best_before != lot.best_before:
        raise ConflictError(
            f"Lot {lot.lot_code} exists with best-before {lot.best_before}; "
            "a receipt with another date needs another lot code.",
            field="best_before",
        )
    if line.supplier_id is not None and line.supplier_id != lot.supplier_id:
        raise ConflictError(
            f"Lot {lot.lot_code} comes from another supplier; use another lot code.",
            field="supplier_id",
        )
    if lot.status in (LotStatus.RECALLED, LotStatus.EXPIRED):
        raise ConflictError(f"Lot {lot.lot_code} is {lot.status}; it cannot take more stock.")
    return lot


def adjust(
    db: Session,
    context: MovementContext,
    *,
    product_id: int,
    lot_id: int,
    warehouse_id: int,
    quantity: Decimal,
) -> StockMovement:
    """Correct on-hand by a signed quantity (found or lost stock), with a reason."""
    if quantity == 0:
        raise InvalidRequestError("An adjustment needs a non-zero quantity.", field="quantity")
    _require_reason(context)
    lot, warehouse = _lot_and_warehouse(db, product_id, lot_id, warehouse_id)
    check_quantity(lot.product, abs(quantity))
    if quantity > 0:
        _give(db, lot, warehouse.id, quantity)
    else:
        _take(db, lot, warehouse.id, -quantity)
    movement = _record(db, context, MovementKind.ADJUSTMENT, lot, warehouse.id, quantity)
    _audit(db, context, "stock.adjusted", lot, [movement])
    return movement


def waste(
    db: Session,
    context: MovementContext,
    *,
    product_id: int,
    lot_id: int,
    warehouse_id: int,
    quantity: Decimal,
) -> StockMovement:
    """Write off spoiled or damaged stock, with a reason."""
    _require_reason(context)
    lot, warehouse = _lot_and_warehouse(db, product_id, lot_id, warehouse_id)
    check_quantity(lot.product, quantity)
    _take(db, lot, warehouse.id, quantity)
    movement = _record(db, context, MovementKind.WASTE, lot, warehouse.id, -quantity)
    _audit(db, context, "stock.wasted", lot, [movement])
    return movement


def return_goods(
    db: Session,
    context: MovementContext,
    *,
    lot_id: int,
    warehouse_id: int,
    quantity: Decimal,
    to_waste: bool,
) -> list[StockMovement]:
    """Book goods a customer sent back into their lot; to waste, they are written off at once."""
    lot = _lot(db, lot_id)
    check_quantity(lot.product, quantity)
    _give(db, lot, warehouse_id, quantity)
    back = _record(db, context, MovementKind.RETURN, lot, warehouse_id, quantity)
    movements = [back]
    if to_waste:
        _take(db, lot, warehouse_id, quantity)
        movements.append(
            _record(db, context, MovementKind.WASTE, lot, warehouse_id, -quantity, back.group_id)
        )
    _audit(db, context, "stock.returned", lot, movements)
    return movements


def transfer(
    db: Session,
    context: MovementContext,
    *,
    product_id: int,
    lot_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    quantity: Decimal,
) -> tuple[StockMovement, StockMovement]:
    """Move unreserved stock of a lot between warehouses: two ledger rows, one group."""
    if from_warehouse_id == to_warehouse_id:
        raise InvalidRequestError(
            "A transfer needs two different warehouses.", field="to_warehouse_id"
        )
    lot, source = _lot_and_warehouse(
        db, product_id, lot_id, from_warehouse_id, field="from_warehouse_id"
    )
    target = warehouses.get_active(db, to_warehouse_id, "to_warehouse_id")
    check_quantity(lot.product, quantity)
    # Touch the two level rows in warehouse order, so opposite transfers cannot deadlock.
    if target.id < source.id:
        _give(db, lot, target.id, quantity)
        _take(db, lot, source.id, quantity)
    else:
        _take(db, lot, source.id, quantity)
        _give(db, lot, target.id, quantity)
    out = _record(db, context, MovementKind.TRANSFER_OUT, lot, source.id, -quantity)
    into = _record(db, context, MovementKind.TRANSFER_IN, lot, target.id, quantity, out.group_id)
    _audit(db, context, "stock.transferred", lot, [out, into])
    return out, into


def count(
    db: Session,
    context: MovementContext,
    *,
    warehouse_id: int,
    lines: Sequence[CountLine],
    complete: bool = False,
) -> list[StockMovement]:
    """A stocktake: each counted quantity that differs from on-hand becomes a count movement.

    With ``complete``, lots in the warehouse that were not counted are counted as zero.
    """
    warehouse = warehouses.get_active(db, warehouse_id, "warehouse_id")
    counted = {line.lot_id: line.counted for line in lines}
    if len(counted) != len(lines):
        raise InvalidRequestError("Each lot may be counted once per stocktake.", field="lines")
    if complete:
        held = db.scalars(
            select(StockLevel.lot_id).where(
                StockLevel.warehouse_id == warehouse.id, StockLevel.on_hand > 0
            )
        ).all()
        for lot_id in held:
            counted.setdefault(lot_id, Decimal(0))
    movements: list[StockMovement] = []
    group_id: str | None = None
    for lot_id in sorted(counted):
        lot = _lot(db, lot_id, field="lines")
        check_quantity(lot.product, counted[lot_id], field="lines", lot_id=lot.id)
        movement = _count_lot(db, context, lot, warehouse, counted[lot_id], group_id)
        if movement is not None:
            group_id = movement.group_id
            movements.append(movement)
    if not movements:
        return movements
    audit.record(
        db,
        context.actor,
        "stock.counted",
        "warehouse",
        warehouse.id,
        movement_ids=[movement.id for movement in movements],
        lots_counted=len(counted),
        reference=context.reference,
    )
    return movements


def _count_lot(
    db: Session,
    context: MovementContext,
    lot: Lot,
    warehouse: Warehouse,
    counted: Decimal,
    group_id: str | None,
) -> StockMovement | None:
    level = crud_stock.get_level(
        db, product_id=lot.product_id, warehouse_id=warehouse.id, lot_id=lot.id
    )
    on_hand = level.on_hand if level is not None else Decimal(0)
    difference = counted - on_hand
    if difference == 0:
        return None
    if level is None:
        _give(db, lot, warehouse.id, counted)
    elif not crud_stock.set_counted(
        db, level_id=level.id, expected_on_hand=on_hand, counted=counted
    ):
        if level.reserved > counted:
            raise ConflictError(
                f"Lot {lot.lot_code} has {level.reserved} reserved, more than the {counted} "
                "counted; release reservations before booking this count.",
                field="lines",
                lot_id=lot.id,
            )
        raise ConflictError(
            f"Stock of lot {lot.lot_code} changed during the count; count again.", lot_id=lot.id
        )
    return _record(db, context, MovementKind.COUNT, lot, warehouse.id, difference, group_id)


def _give(db: Session, lot: Lot, warehouse_id: int, quantity: Decimal) -> None:
    on_hand = crud_stock.add_on_hand(
        db, product_id=lot.product_id, warehouse_id=warehouse_id, lot_id=lot.id, quantity=quantity
    )
    if on_hand > QUANTITY_MAX:  # PostgreSQL refuses it itself; SQLite would keep it
        raise InvalidRequestError(
            f"Lot {lot.lot_code} would hold {on_hand} in one warehouse, more than the "
            f"{QUANTITY_MAX} a stock level can hold.",
            field="quantity",
        )


def _take(db: Session, lot: Lot, warehouse_id: int, quantity: Decimal) -> None:
    if not crud_stock.remove_available(
        db, product_id=lot.product_id, warehouse_id=warehouse_id, lot_id=lot.id, quantity=quantity
    ):
        raise insufficient(db, lot, warehouse_id, quantity)


def insufficient(
    db: Session, lot: Lot, warehouse_id: int, quantity: Decimal
) -> InsufficientStockError:
    """The refusal for taking ``quantity`` of a lot that holds less available stock."""
    level = crud_stock.get_level(
        db, product_id=lot.product_id, warehouse_id=warehouse_id, lot_id=lot.id
    )
    available = level.on_hand - level.reserved if level is not None else Decimal(0)
    warehouse = db.get(Warehouse, warehouse_id)
    where = warehouse.code if warehouse is not None else f"warehouse {warehouse_id}"
    return InsufficientStockError(
        f"Lot {lot.lot_code} has {available} available in {where}; {quantity} was asked for.",
        available=str(available),
        requested=str(quantity),
    )


def _require_reason(context: MovementContext) -> None:
    if not context.reason.strip():
        raise InvalidRequestError("A reason is required for this movement.", field="reason")


def _lot(db: Session, lot_id: int, product_id: int | None = None, field: str = "lot_id") -> Lot:
    lot = db.scalar(select(Lot).options(joinedload(Lot.product)).where(Lot.id == lot_id))
    if lot is None:
        raise InvalidRequestError(f"Lot {lot_id} does not exist.", field=field)
    if product_id is not None and lot.product_id != product_id:
        chosen = db.get(Product, product_id)
        other = chosen.sku if chosen is not None else f"product {product_id}"
        raise InvalidRequestError(
            f"Lot {lot.lot_code} belongs to {lot.product.sku}, not to {other}.",
            field=field,
        )
    return lot


def _lot_and_warehouse(
    db: Session, product_id: int, lot_id: int, warehouse_id: int, field: str = "warehouse_id"
) -> tuple[Lot, Warehouse]:
    return _lot(db, lot_id, product_id), warehouses.get_active(db, warehouse_id, field)


def _record(
    db: Session,
    context: MovementContext,
    kind: MovementKind,
    lot: Lot,
    warehouse_id: int,
    quantity: Decimal,
    group_id: str | None = None,
) -> StockMovement:
    movement = context.row(
        kind,
        product_id=lot.product_id,
        lot_id=lot.id,
        warehouse_id=warehouse_id,
        quantity=quantity,
    )
    if group_id is not None:
        movement.group_id = group_id
    return append(db, movement)


def append(db: Session, movement: StockMovement) -> StockMovement:
    """Write ``movement`` to the ledger; it is counted in the metrics once committed."""
    kind = movement.kind
    after_commit(db, lambda: STOCK_MOVEMENTS_TOTAL.labels(kind).inc())
    return crud_stock.add_movement(db, movement)


def _audit(
    db: Session, context: MovementContext, action: str, lot: Lot, movements: list[StockMovement]
) -> None:
    audit.record(
        db,
        context.actor,
        action,
        "lot",
        lot.id,
        movements=[
            {"id": m.id, "warehouse_id": m.warehouse_id, "quantity": str(m.quantity)}
            for m in movements
        ],
        reference=context.reference,
        reason=context.reason,
    )
