"""A shipment's papers as PDFs: the pick list for the warehouse, the delivery note for the
customer."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.formatting import company_locale
from app.models.catalog import Product, UnitOfMeasure, Warehouse
from app.models.sales import ShipmentLine, ShipmentStatus
from app.services import orders, shipments
from app.services.documents import Document, render_pdf

STAMPS = {ShipmentStatus.CANCELLED: "Cancelled"}


@dataclass(frozen=True)
class PaperLine:
    """A lot of a shipment as its papers print it."""

    line_no: int
    product: Product
    lot_code: str
    best_before: date
    quantity: Decimal
    kilograms: Decimal
    packs: Decimal | None
    picked: bool


def pick_list_pdf(db: Session, shipment_id: int) -> Document:
    """What to pick for a shipment, warehouse by warehouse (by name), first to expire first."""
    shipment = shipments.get_shipment(db, shipment_id)
    order = orders.get_order(db, shipment.order_id)
    held_in = {line.warehouse_id for line in shipment.lines}
    query = select(Warehouse.id, Warehouse.name).where(Warehouse.id.in_(held_in))
    names: dict[int, str] = {row.id: row.name for row in db.execute(query)}
    by_warehouse: dict[int, list[PaperLine]] = {}
    for line in sorted(shipment.lines, key=lambda line: (line.lot.best_before, line.id)):
        by_warehouse.setdefault(line.warehouse_id, []).append(_paper_line(line))
    return render_pdf(
        "pick_list.html",
        f"{shipment.number}-pick-list.pdf",
        title="Pick list",
        number=shipment.number,
        shipment=shipment,
        order=order,
        groups=sorted(
            ((names[key], lines) for key, lines in by_warehouse.items()), key=lambda group: group[0]
        ),
        status=STAMPS.get(shipment.status, ""),
        language=company_locale().language,
    )


def delivery_note_pdf(db: Session, shipment_id: int) -> Document:
    """What a shipment brings the customer: each lot, its best-before, origin and weight."""
    shipment = shipments.get_shipment(db, shipment_id)
    order = orders.get_order(db, shipment.order_id)
    lines = _per_lot(
        _paper_line(line)
        for line in sorted(shipment.lines, key=lambda line: (line.order_line.line_no, line.id))
    )
    return render_pdf(
        "delivery_note.html",
        f"{shipment.number}-delivery-note.pdf",
        title="Delivery note",
        number=shipment.number,
        shipment=shipment,
        order=order,
        lines=lines,
        total_kg=sum((line.kilograms for line in lines), Decimal(0)),
        total_packs=_total_packs(lines),
        status=STAMPS.get(shipment.status, ""),
        language=company_locale().language,
    )


def _paper_line(line: ShipmentLine) -> PaperLine:
    product = line.order_line.product
    return PaperLine(
        line_no=line.order_line.line_no,
        product=product,
        lot_code=line.lot.lot_code,
        best_before=line.lot.best_before,
        quantity=line.quantity,
        kilograms=line.quantity * product.net_weight_kg,
        packs=line.quantity if product.unit == UnitOfMeasure.PACK else None,
        picked=line.picked_at is not None,
    )


def _per_lot(lines: Iterable[PaperLine]) -> list[PaperLine]:
    """One line per order line and lot: the customer does not see which warehouse it left."""
    merged: dict[tuple[int, str], PaperLine] = {}
    for line in lines:
        key = (line.line_no, line.lot_code)
        same = merged.get(key)
        merged[key] = (
            line
            if same is None
            else replace(
                same,
                quantity=same.quantity + line.quantity,
                kilograms=same.kilograms + line.kilograms,
                packs=None if same.packs is None or line.packs is None else same.packs + line.packs,
            )
        )
    return list(merged.values())


def _total_packs(lines: Sequence[PaperLine]) -> Decimal:
    return sum((line.packs for line in lines if line.packs is not None), Decimal(0))
