"""The orders that ledger references name: an order's stock movements carry its number."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.purchasing import PurchaseOrder
from app.models.sales import SalesOrder


@dataclass(frozen=True)
class NamedRecord:
    """A record a reference names: its kind (as the audit trail names kinds) and id."""

    kind: str
    id: int


def orders_named(db: Session, references: Iterable[str]) -> dict[str, NamedRecord]:
    """The sales or purchase order each of ``references`` is the number of, by reference."""
    wanted = {reference for reference in references if reference}
    if not wanted:
        return {}
    named: dict[str, NamedRecord] = {}
    for model, kind in ((PurchaseOrder, "purchase_order"), (SalesOrder, "sales_order")):
        query = select(model.number, model.id).where(model.number.in_(wanted))
        for number, record_id in db.execute(query):
            if number is not None:
                named[number] = NamedRecord(kind, record_id)
    return named
