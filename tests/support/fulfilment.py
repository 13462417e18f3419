"""Orders short of stock and what follows them (a shipment on its pick list or on its way,
its invoice), made through the services for the page-form tests."""

from typing import Any

from app.core.database import session_scope
from app.models.sales import OrderStatus
from app.services import invoicing, order_views, orders, shipments
from app.services.shipments import ShipmentDraft
from tests.support.factories import create_lot, create_order
from tests.support.refusals import ACTOR
from tests.support.sales import make_customer, make_priced_product
from tests.support.stock import make_warehouse


def short_order(
    *, partial_delivery: bool = True, status: OrderStatus = OrderStatus.CONFIRMED
) -> tuple[int, int, int]:
    """An order of 10 dates with 4 in stock (the rest backordered for a customer who takes
    partial deliveries); the ids of the order, its line and the product."""
    dates = make_priced_product("DATE", "12.50")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="4"
    )
    customer = make_customer(partial_delivery=partial_delivery)
    quantity = "10" if partial_delivery else "4"
    order = create_order(customer_id=customer, lines=[(dates, quantity)], status=status)
    return order.id, order.line_ids[0], dates


def picking_shipment() -> dict[str, Any]:
    """A shipment of 4 dates on its pick list, as the API reads it back."""
    order, _line, _product = short_order()
    with session_scope() as db:
        draft = ShipmentDraft(carrier="DPD", pick_first=True)
        shipment = shipments.ship(db, ACTOR, orders.get_order(db, order), draft)
        return order_views.shipment_view(db, shipment).model_dump(mode="json")


def sent_shipment() -> int:
    """A shipment of 4 dates that has left; its id."""
    order, _line, _product = short_order()
    with session_scope() as db:
        return shipments.ship(db, ACTOR, orders.get_order(db, order)).id


def invoiced_shipment() -> tuple[int, str]:
    """An invoice of a shipment of 4 dates; its id and total."""
    with session_scope() as db:
        invoice = invoicing.invoice_shipment(db, ACTOR, sent_shipment())
        return invoice.id, str(invoice.gross_total)
