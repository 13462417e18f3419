"""A page form sent twice is applied once."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.models.purchasing import PurchaseStatus
from app.models.sales import OrderStatus
from app.models.user import Role, User
from app.services import invoicing, shipments, stock_queries
from tests.support.factories import create_lot, create_order, create_purchase_order
from tests.support.fulfilment import invoiced_shipment, picking_shipment, sent_shipment, short_order
from tests.support.pages import CONFIRMED, form_fields, page_login
from tests.support.refusals import ACTOR, Sent, account, changed, fingerprint, ids, lines_of, send
from tests.support.sales import make_address, make_customer
from tests.support.stock import make_product, make_warehouse

STAFF, MANAGER = Role.STAFF, Role.MANAGER


def receive_goods(_: User) -> Sent:
    """Goods received into a new lot."""
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    return Sent("/stock/receive", {**ids(dates, main), "lot_code": "LOT-1", "quantity": "5"})


def adjust_lot(direction: str) -> Callable[[User], Sent]:
    """An adjustment that adds stock to a lot or removes some from it."""

    def setup(_: User) -> Sent:
        dates, main = make_product("DATE"), make_warehouse("MAIN")
        lot = create_lot(product_id=dates, warehouse_id=main, lot_code="DATE-1", quantity="10")
        values = {"lot_id": str(lot), "direction": direction, "quantity": "2", "reason": "found"}
        return Sent("/stock/adjust", {**ids(dates, main), **values})

    return setup


def receive_delivery(_: User) -> Sent:
    """A delivery of every line of a purchase order."""
    purchase = create_purchase_order(
        lines=[(make_product("DATE"), "10"), (make_product("FIG"), "5")],
        status=PurchaseStatus.ORDERED,
    )
    order, (first, second) = purchase.id, purchase.line_ids
    fields = ("line_id", "quantity", "lot_code")
    values = lines_of(fields, [(first, "10", "PO-LOT-1"), (second, "5", "PO-LOT-2")])
    return Sent(f"/purchase-orders/{order}/receive", values)


def count_lot(_: User) -> Sent:
    """A count that finds a lot short."""
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="DATE-1", quantity="10")
    return Sent("/count", {"warehouse_id": str(main), f"lot_{lot}": "7"})


def confirm_order(_: User) -> Sent:
    """Confirming an order that is in stock."""
    dates = make_product("DATE")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="10"
    )
    order = create_order(customer_id=make_customer(), lines=[(dates, "4")]).id
    return Sent(f"/orders/{order}/confirm", {})


def ship_part(_: User) -> Sent:
    """Part of what an order holds, with its carrier and tracking reference."""
    order, line, _product = short_order()
    values = lines_of(("line_id", "quantity"), [(line, "3")])
    fields = {"carrier": "DPD", "tracking_reference": "DPD123", "reason": "first part"}
    return Sent(f"/orders/{order}/ship", {**fields, **values, **CONFIRMED})


def restocked_backorder() -> int:
    """A backordered order whose product has just been restocked; the order's id."""
    order, _line, dates = short_order()
    create_lot(product_id=dates, warehouse_id=make_warehouse("BACK"), lot_code="DATE-2")
    return order


def fill_order_backorders(_: User) -> Sent:
    """Filling the backorders of one order once stock has arrived."""
    return Sent(f"/orders/{restocked_backorder()}/fill-backorders", {})


def fill_all_backorders(_: User) -> Sent:
    """Filling every backorder once stock has arrived."""
    restocked_backorder()
    return Sent("/orders/fill-backorders", {})


def pick_and_dispatch(_: User) -> Sent:
    """A picked shipment sent on its way."""
    shipment = picking_shipment()
    with session_scope() as db:
        stored = shipments.get_shipment(db, shipment["id"])
        for line in stored.lines:
            shipments.pick(db, ACTOR, stored, line.id, line.lot.lot_code)
    return Sent(f"/shipments/{shipment['id']}/dispatch", {})


def pick_line(_: User) -> Sent:
    """A line of a pick list confirmed from its lot."""
    shipment = picking_shipment()
    line = shipment["lines"][0]
    return Sent(
        f"/shipments/{shipment['id']}/pick",
        {"line_id": str(line["id"]), "lot_code": line["lot_code"].lower()},
    )


def pin_lot(_: User) -> Sent:
    """A pending order's line pinned to a lot, with the reason."""
    order, line, dates = short_order(status=OrderStatus.PENDING)
    with session_scope() as db:
        lot = stock_queries.lot_choices(db, dates, with_stock=True)[0].lot_id
    return Sent(f"/orders/{order}/lines/{line}/lot", {"lot_id": str(lot), "reason": "same lot"})


def invoice_shipment(_: User) -> Sent:
    """Invoicing a shipment that has left."""
    return Sent(f"/shipments/{sent_shipment()}/invoice", {})


def pay_invoice(_: User) -> Sent:
    """Part of an invoice paid."""
    invoice, _total = invoiced_shipment()
    paid = {"paid_on": date.today().isoformat(), "amount": "1.00", "reference": "BANK-1"}
    return Sent(f"/invoices/{invoice}/payments", paid)


def credit_invoice(_: User) -> Sent:
    """A quantity of an invoice line credited by hand."""
    invoice, _total = invoiced_shipment()
    with session_scope() as db:
        line = invoicing.get_invoice(db, invoice).lines[0]
    credited = {"lines.0.invoice_line_id": str(line.id), "lines.0.quantity": "1"}
    return Sent(f"/invoices/{invoice}/credit-notes", {**credited, "reason": "Short weight"})


def return_invoiced_goods(_: User) -> Sent:
    """Part of an invoiced shipment taken back, which credits it."""
    invoice, _total = invoiced_shipment()
    with session_scope() as db:
        billed = invoicing.get_invoice(db, invoice)
        order, line = billed.order_id, billed.lines[0].order_line_id
    values = lines_of(("line_id", "quantity", "disposition"), [(line, "1", "restock")])
    return Sent(f"/orders/{order}/return", {"reason": "crushed", **values})


def give_up_shipment(_: User) -> Sent:
    """A shipment on its pick list given up."""
    return Sent(f"/shipments/{picking_shipment()['id']}/cancel", {"reason": "truck full"})


def place_order_for_delivery(_: User) -> Sent:
    """A new order to a chosen delivery address on a chosen day."""
    customer = make_customer()
    address = make_address(customer, default=True)
    values = {
        "customer_id": str(customer),
        "delivery_address_id": str(address),
        "requested_delivery_date": (date.today() + timedelta(days=3)).isoformat(),
        "lines.0.product_id": str(make_product("DATE")),
        "lines.0.quantity": "2",
    }
    return Sent("/orders/new", values)


def add_address(_: User) -> Sent:
    """A second delivery address, made the default."""
    customer = make_customer()
    make_address(customer, default=True)
    values = {"kind": "delivery", "street": "2 Canal Wharf", "country": "GB", "is_default": "true"}
    return Sent(f"/customers/{customer}/addresses", values)


def make_address_default(_: User) -> Sent:
    """Another delivery address made the default."""
    customer = make_customer()
    make_address(customer, default=True)
    other = make_address(customer, street="2 Canal Wharf")
    return Sent(f"/customers/{customer}/addresses/{other}", {"action": "default"})


# Adjusting stock is a manager's (STOCK_ADJUST): staff are refused it with a 403.
@pytest.mark.parametrize(
    ("setup", "role"),
    [
        pytest.param(receive_goods, STAFF, id="/stock/receive"),
        pytest.param(adjust_lot("add"), MANAGER, id="/stock/adjust add"),
        pytest.param(adjust_lot("remove"), MANAGER, id="/stock/adjust remove"),
        pytest.param(receive_delivery, STAFF, id="/purchase-orders/{order_id}/receive"),
        pytest.param(confirm_order, STAFF, id="/orders/{order_id}/confirm"),
        pytest.param(ship_part, STAFF, id="/orders/{order_id}/ship"),
        pytest.param(fill_order_backorders, STAFF, id="/orders/{order_id}/fill-backorders"),
        pytest.param(fill_all_backorders, STAFF, id="/orders/fill-backorders"),
        pytest.param(pick_line, STAFF, id="/shipments/{shipment_id}/pick"),
        pytest.param(pin_lot, STAFF, id="/orders/{order_id}/lines/{line_id}/lot"),
        pytest.param(invoice_shipment, STAFF, id="/shipments/{shipment_id}/invoice"),
        pytest.param(pay_invoice, STAFF, id="/invoices/{invoice_id}/payments"),
        pytest.param(credit_invoice, STAFF, id="/invoices/{invoice_id}/credit-notes"),
        pytest.param(return_invoiced_goods, STAFF, id="/orders/{order_id}/return"),
        pytest.param(pick_and_dispatch, STAFF, id="/shipments/{shipment_id}/dispatch"),
        pytest.param(give_up_shipment, STAFF, id="/shipments/{shipment_id}/cancel"),
        pytest.param(count_lot, STAFF, id="/count"),
        pytest.param(place_order_for_delivery, STAFF, id="/orders/new"),
        pytest.param(add_address, STAFF, id="/customers/{customer_id}/addresses"),
        pytest.param(
            make_address_default, STAFF, id="/customers/{customer_id}/addresses/{address_id}"
        ),
    ],
)
def test_a_form_sent_twice_is_applied_once(
    client: TestClient, setup: Callable[[User], Sent], role: Role
) -> None:
    user = account(role)
    sent = setup(user)
    page_login(client, user.email)
    hidden = form_fields(client, "/orders")
    before = fingerprint()

    first = send(client, sent, hidden)
    applied = fingerprint()
    again = send(client, sent, hidden)

    assert first.status_code == 303, first.text[:2000]
    assert again.status_code == 303, again.text[:2000]
    assert again.headers["location"] == first.headers["location"]
    assert changed(before, applied) != []
    assert changed(applied, fingerprint()) == []
