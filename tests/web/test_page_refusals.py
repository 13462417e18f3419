"""Refused page forms keep nothing."""

# Every POST page route of the application (and every action or form it takes) is sent a
# submission its service refuses, where possible after the service has written, and every table
# must be as it was.

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response

from app.core.database import SessionLocal, session_scope
from app.main import app
from app.models.inventory import LotStatus
from app.models.purchasing import PurchaseStatus
from app.models.sales import OrderStatus
from app.models.user import Role, User
from app.services import customers, invoicing, orders, shipments, stock_queries
from app.web import NOT_PAGES
from app.web.pages import stock as stock_pages
from tests.conftest import PASSWORD, ROOT
from tests.support.callers import UNKNOWN_ID
from tests.support.factories import (
    create_lot,
    create_order,
    create_purchase_order,
    create_stocked_product,
)
from tests.support.fulfilment import invoiced_shipment, picking_shipment, sent_shipment, short_order
from tests.support.pages import CONFIRMED, CSRF_FIELD, form_fields, login_form, page_login, page_of
from tests.support.refusals import ACTOR, Sent, account, changed, fingerprint, ids, lines_of, send
from tests.support.sales import make_address, make_customer
from tests.support.stock import (
    make_category,
    make_product,
    make_supplier,
    make_warehouse,
    reserve,
    set_lot_status,
)

WEB = ROOT / "app" / "web"
# Forms whose {slug} is looked up in a table rather than compared in the handler.
FORM_TABLES: dict[str, dict[str, Any]] = {"/stock/{slug}": stock_pages.FORMS}


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Refused:
    """A POST page route and its action, its sender's role, a refused submission, and why."""

    route: str
    value: str
    role: Role
    setup: Callable[[User], Sent]
    status: int
    message: str
    note: str
    # columns ("table.column") the refusal writes on purpose: a keep_changes error
    kept: tuple[str, ...] = ()
    signed_in: bool = True

    @property
    def name(self) -> str:
        """The route with its action filled in, and the role."""
        path = re.sub(r"\{(action|slug)\}", self.value, self.route)
        return f"{path} as {self.role.value}"


# --------------------------------------------------------------------------- setup helpers


def own_customer(user: User) -> int:
    """The customer record of a customer user."""
    with SessionLocal() as db:
        return customers.own_customer(db, user).id


def in_days(days: int) -> str:
    """The ISO date ``days`` from today."""
    return (date.today() + timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------- the setups


def wrong_password(user: User) -> Sent:
    """The login form with the wrong password of an existing account."""
    return Sent("/login", {"email": user.email, "password": "not the password at all"})


def forged_logout(_: User) -> Sent:
    """The logout form with another anti-forgery token."""
    return Sent("/logout", {CSRF_FIELD: "forged"})


def wrong_current_password(_: User) -> Sent:
    """One's own password change with a wrong current password."""
    new = "a fresh and long passphrase"
    return Sent(
        "/profile/password",
        {"current_password": "not my password", "new_password": new, "new_password_again": new},
    )


def taken_email(_: User) -> Sent:
    """A new account with the email of an existing one."""
    other = account(Role.STAFF)
    return Sent(
        "/admin/users",
        {"email": other.email, "password": PASSWORD, "full_name": "Twin", "role": "staff"},
    )


def demote_last_admin(user: User) -> Sent:
    """The only admin takes the manager role."""
    return Sent(f"/admin/users/{user.id}/role", {"role": "manager"})


def deactivate_last_admin(user: User) -> Sent:
    """The only admin switches their own account off."""
    return Sent(f"/admin/users/{user.id}/deactivate", {})


def activate_nobody(_: User) -> Sent:
    """Switching on an account that does not exist."""
    return Sent(f"/admin/users/{UNKNOWN_ID}/activate", {})


def unlock_nobody(_: User) -> Sent:
    """Unlocking an account that does not exist."""
    return Sent(f"/admin/users/{UNKNOWN_ID}/unlock", {})


def guessable_password(_: User) -> Sent:
    """A new password the password policy finds too easy to guess."""
    other = account(Role.STAFF)
    return Sent(f"/admin/users/{other.id}/password", {"new_password": "aaaaaaaaaaaaaaaa"})


def revoke_unknown_session(_: User) -> Sent:
    """Ending a session the account does not have."""
    other = account(Role.STAFF)
    return Sent(f"/admin/users/{other.id}/revoke", {"session_id": "no-such-session"})


def nothing_to_reorder(_: User) -> Sent:
    """Reorder suggestions of a supplier nothing is bought from."""
    supplier, warehouse = make_supplier("SUNNY"), make_warehouse("MAIN")
    return Sent("/reorder", {"supplier_id": str(supplier), "warehouse_id": str(warehouse)})


def release_recalled_lot(_: User) -> Sent:
    """Making a recalled lot available again."""
    lot = create_stocked_product(quantity="10").lot_id
    set_lot_status(lot, LotStatus.RECALLED)
    return Sent(f"/lots/{lot}/status", {"status": "available", "reason": "found"})


def text_as_document(_: User) -> Sent:
    """A plain-text file attached to a lot as a certificate."""
    lot = create_stocked_product(quantity="10").lot_id
    files = {"document": ("certificate.txt", b"not a pdf", "text/plain")}
    return Sent(f"/lots/{lot}/documents", {"description": "certificate"}, files)


def taken_sku(_: User) -> Sent:
    """A new product with the SKU of an existing one."""
    make_product("DATE")
    return Sent("/products/new", {"sku": "DATE", "name": "Dates again", "unit": "kg"})


def unit_of_stocked_product(_: User) -> Sent:
    """Selling a product with stock by the pack instead of by the kilogram."""
    product = make_product("DATE")
    create_lot(
        product_id=product, warehouse_id=make_warehouse("MAIN"), lot_code="LOT-1", quantity="10"
    )
    values = {"name": "Dates", "unit": "pack", "net_weight_kg": "0.5"}
    return Sent(f"/products/{product}/edit", values)


def text_as_image(_: User) -> Sent:
    """A product picture that is not a picture."""
    product = make_product("DATE")
    files = {"image": ("date.png", b"not a picture", "image/png")}
    return Sent(f"/products/{product}/image", {}, files)


def purchase_of_retired_product(_: User) -> Sent:
    """A purchase order whose second line is a product no longer sold."""
    active, retired = make_product("DATE"), make_product("FIG", active=False)
    values = {
        "supplier_id": str(make_supplier("SUNNY")),
        "warehouse_id": str(make_warehouse("MAIN")),
        **lines_of(("product_id", "quantity"), [(active, "5"), (retired, "5")]),
    }
    return Sent("/purchase-orders/new", values)


def send_sent_purchase(_: User) -> Sent:
    """Sending a purchase order that is already on order."""
    order = create_purchase_order(
        lines=[(make_product("DATE"), "5")], status=PurchaseStatus.ORDERED
    ).id
    return Sent(f"/purchase-orders/{order}/send", {})


def edit_sent_purchase(_: User) -> Sent:
    """Rewriting a purchase order that is already on order."""
    dates = make_product("DATE")
    order = create_purchase_order(lines=[(dates, "5")], status=PurchaseStatus.ORDERED)
    values = {
        "supplier_id": str(make_supplier("LATE")),
        "warehouse_id": str(make_warehouse("SPARE")),
        "notes": "too late",
        **lines_of(("product_id", "quantity"), [(dates, "50")]),
    }
    return Sent(f"/purchase-orders/{order.id}/edit", values)


def cancel_received_purchase(_: User) -> Sent:
    """Cancelling a purchase order that arrived in full."""
    order = create_purchase_order(
        lines=[(make_product("DATE"), "5")], status=PurchaseStatus.RECEIVED
    ).id
    return Sent(f"/purchase-orders/{order}/cancel", {"reason": "too late", **CONFIRMED})


def over_delivery(_: User) -> Sent:
    """A delivery whose first line is fine and whose second brings more than was ordered."""
    purchase = create_purchase_order(
        lines=[(make_product("DATE"), "10"), (make_product("FIG"), "5")],
        status=PurchaseStatus.ORDERED,
    )
    order, (first, second) = purchase.id, purchase.line_ids
    fields = ("line_id", "quantity", "lot_code")
    values = lines_of(fields, [(first, "10", "PO-LOT-1"), (second, "6", "PO-LOT-2")])
    return Sent(f"/purchase-orders/{order}/receive", values)


def customer_without_email(_: User) -> Sent:
    """A new customer whose email is not an email address."""
    return Sent("/customers", {"name": "Oasis Foods", "email": "not an email"})


def customer_with_bad_email(_: User) -> Sent:
    """A customer's edit form with an email address that is not one."""
    customer = make_customer()
    return Sent(f"/customers/{customer}/edit", {"name": "Oasis Foods", "email": "not an email"})


def address_in_no_country(_: User) -> Sent:
    """A new address of a customer in a country that does not exist."""
    customer = make_customer()
    values = {"kind": "delivery", "street": "1 Dock Road", "country": "ZZ"}
    return Sent(f"/customers/{customer}/addresses", values)


def retired_address_made_default(_: User) -> Sent:
    """Making a deactivated address the customer's default delivery address."""
    customer = make_customer()
    make_address(customer, default=True)
    retired = make_address(customer, street="2 Old Road", active=False)
    return Sent(f"/customers/{customer}/addresses/{retired}", {"action": "default"})


def switch_unknown(base: str, action: str) -> Callable[[User], Sent]:
    """(De)activating a record under ``base`` that does not exist."""

    def setup(_: User) -> Sent:
        return Sent(f"{base}/{UNKNOWN_ID}/{action}", {})

    setup.__doc__ = f"{action} an unknown record of {base}"
    return setup


def taken_supplier_code(_: User) -> Sent:
    """A new supplier with the code of another."""
    make_supplier("SUNNY")
    return Sent("/suppliers/new", {"code": "SUNNY", "name": "Sunny again"})


def supplier_with_bad_email(_: User) -> Sent:
    """A supplier's form with an email address that is not one."""
    supplier = make_supplier("SUNNY")
    return Sent(f"/suppliers/{supplier}", {"name": "Sunny", "email": "not an email"})


def taken_warehouse_code(_: User) -> Sent:
    """A new warehouse with the code of another."""
    make_warehouse("MAIN")
    return Sent("/warehouses/new", {"code": "MAIN", "name": "Main again"})


def warehouse_without_name(_: User) -> Sent:
    """A warehouse's form with its name emptied."""
    warehouse = make_warehouse("MAIN")
    return Sent(f"/warehouses/{warehouse}", {"name": "", "address": "Harbour road 1"})


def taken_category_name(_: User) -> Sent:
    """A new category with the name of another."""
    make_category("Dates")
    return Sent("/categories/new", {"name": "Dates"})


def category_renamed_to_taken_name(_: User) -> Sent:
    """A category renamed to the name of another."""
    make_category("Dates")
    figs = make_category("Figs")
    return Sent(f"/categories/{figs}", {"name": "Dates", "description": "dried"})


def negative_tier_price(_: User) -> Sent:
    """Tier prices where one is below zero, after a valid one."""
    product = make_product("DATE")
    return Sent(f"/products/{product}/prices", {"price_retail": "9.50", "price_wholesale": "-1"})


def order_of_retired_product(_: User) -> Sent:
    """An order whose second line is a product no longer sold."""
    active, retired = make_product("DATE"), make_product("FIG", active=False)
    values = lines_of(("product_id", "quantity"), [(active, "2"), (retired, "2")])
    return Sent("/orders/new", {"customer_id": str(make_customer()), **values})


def shop_order_of_retired_product(_: User) -> Sent:
    """A customer's own order whose second line is a product no longer sold."""
    active, retired = make_product("DATE"), make_product("FIG", active=False)
    values = lines_of(("product_id", "quantity"), [(active, "2"), (retired, "2")])
    return Sent("/orders/new", values)


def confirm_beyond_stock(_: User) -> Sent:
    """Confirming an order whose first line is in stock and whose second is not."""
    dates, figs, main = make_product("DATE"), make_product("FIG"), make_warehouse("MAIN")
    create_lot(product_id=dates, warehouse_id=main, lot_code="DATE-1", quantity="10")
    create_lot(product_id=figs, warehouse_id=main, lot_code="FIG-1", quantity="10")
    order = create_order(customer_id=make_customer(), lines=[(dates, "5"), (figs, "50")]).id
    return Sent(f"/orders/{order}/confirm", {})


def ship_from_quarantine(_: User) -> Sent:
    """Shipping an order whose only lot went into quarantine after it was confirmed."""
    dates = make_product("DATE")
    lot = create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="10"
    )
    order = create_order(
        customer_id=make_customer(), lines=[(dates, "4")], status=OrderStatus.CONFIRMED
    ).id
    set_lot_status(lot, LotStatus.QUARANTINE)
    return Sent(f"/orders/{order}/ship", {"reason": "truck 1", **CONFIRMED})


def ship_beyond_reserved(_: User) -> Sent:
    """A shipment of more of a line than it holds reserved."""
    order, line, _product = short_order()
    values = lines_of(("line_id", "quantity"), [(line, "6")])
    return Sent(f"/orders/{order}/ship", {"carrier": "DPD", **values, **CONFIRMED})


def ship_part_of_complete_order(_: User) -> Sent:
    """Part of an order of a customer who takes complete deliveries only."""
    order, line, _product = short_order(partial_delivery=False)
    values = lines_of(("line_id", "quantity"), [(line, "1")])
    return Sent(f"/orders/{order}/ship", {**values, **CONFIRMED})


def fill_pending_order(_: User) -> Sent:
    """Filling the backorders of an order not yet confirmed."""
    order, _line, _product = short_order(status=OrderStatus.PENDING)
    return Sent(f"/orders/{order}/fill-backorders", {})


def fill_as_customer(_: User) -> Sent:
    """A customer user asking to fill every backorder."""
    short_order()
    return Sent("/orders/fill-backorders", {})


def pick_wrong_lot(_: User) -> Sent:
    """A line of a pick list confirmed from a lot other than the one on the list."""
    shipment = picking_shipment()
    line = shipment["lines"][0]["id"]
    return Sent(f"/shipments/{shipment['id']}/pick", {"line_id": str(line), "lot_code": "OTHER"})


def dispatch_unpicked(_: User) -> Sent:
    """A shipment sent before its lines are picked."""
    return Sent(f"/shipments/{picking_shipment()['id']}/dispatch", {})


def cancel_sent_shipment(_: User) -> Sent:
    """Giving up a shipment that has left."""
    order, _line, _product = short_order()
    with session_scope() as db:
        shipment = shipments.ship(db, ACTOR, orders.get_order(db, order))
        return Sent(f"/shipments/{shipment.id}/cancel", {"reason": "not needed"})


def pin_short_lot(_: User) -> Sent:
    """A confirmed line pinned to a lot that cannot give all of it."""
    order, line, dates = short_order(partial_delivery=False)
    with session_scope() as db:
        warehouse = stock_queries.lot_choices(db, dates, with_stock=True)[0].holdings[0]
    small = create_lot(
        product_id=dates, warehouse_id=warehouse.warehouse_id, lot_code="DATE-S", quantity="1"
    )
    return Sent(f"/orders/{order}/lines/{line}/lot", {"lot_id": str(small), "reason": "same"})


def invoice_twice(_: User) -> Sent:
    """Invoicing a shipment invoiced already."""
    shipment = sent_shipment()
    with session_scope() as db:
        invoicing.invoice_shipment(db, ACTOR, shipment)
    return Sent(f"/shipments/{shipment}/invoice", {})


def overpay(_: User) -> Sent:
    """A payment of more than an invoice owes."""
    invoice, total = invoiced_shipment()
    paid = {"paid_on": date.today().isoformat(), "amount": str(Decimal(total) + 1)}
    return Sent(f"/invoices/{invoice}/payments", paid)


def overcredit(_: User) -> Sent:
    """A credit note of more than an invoice line billed."""
    invoice, _total = invoiced_shipment()
    with session_scope() as db:
        line = invoicing.get_invoice(db, invoice).lines[0]
        credited = {"lines.0.invoice_line_id": str(line.id), "lines.0.amount": str(line.net + 1)}
    return Sent(f"/invoices/{invoice}/credit-notes", {**credited, "reason": "Price agreed"})


def deliver_unshipped(_: User) -> Sent:
    """Delivering an order that has not shipped."""
    dates = make_product("DATE")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="10"
    )
    order = create_order(
        customer_id=make_customer(), lines=[(dates, "4")], status=OrderStatus.CONFIRMED
    ).id
    return Sent(f"/orders/{order}/deliver", {})


def cancel_shipped(_: User) -> Sent:
    """Cancelling an order that has shipped."""
    dates = make_product("DATE")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="10"
    )
    order = create_order(
        customer_id=make_customer(), lines=[(dates, "4")], status=OrderStatus.SHIPPED
    ).id
    return Sent(f"/orders/{order}/cancel", {"reason": "changed mind", **CONFIRMED})


def cancel_own_confirmed(user: User) -> Sent:
    """A customer cancelling its own order once the sales team confirmed it."""
    dates = make_product("DATE")
    create_lot(
        product_id=dates, warehouse_id=make_warehouse("MAIN"), lot_code="DATE-1", quantity="10"
    )
    order = create_order(
        customer_id=own_customer(user), lines=[(dates, "4")], status=OrderStatus.CONFIRMED
    ).id
    return Sent(f"/orders/{order}/cancel", {"reason": "changed mind", **CONFIRMED})


def return_beyond_shipped(_: User) -> Sent:
    """A return whose first line is fine and whose second sends back more than shipped."""
    dates, figs, main = make_product("DATE"), make_product("FIG"), make_warehouse("MAIN")
    create_lot(product_id=dates, warehouse_id=main, lot_code="DATE-1", quantity="10")
    create_lot(product_id=figs, warehouse_id=main, lot_code="FIG-1", quantity="10")
    shipped = create_order(
        customer_id=make_customer(),
        lines=[(dates, "2"), (figs, "2")],
        status=OrderStatus.SHIPPED,
    )
    order, (first, second) = shipped.id, shipped.line_ids
    fields = ("line_id", "quantity", "disposition")
    values = lines_of(fields, [(first, "1", "restock"), (second, "5", "restock")])
    return Sent(f"/orders/{order}/return", {"reason": "damaged", **values})


def receive_into_lot_of_other_date(_: User) -> Sent:
    """Goods received into an existing lot under another best-before date."""
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    create_lot(
        product_id=dates,
        warehouse_id=main,
        lot_code="LOT-1",
        quantity="10",
        best_before=date.today() + timedelta(days=90),
    )
    values = {"lot_code": "LOT-1", "quantity": "5", "best_before": in_days(91)}
    return Sent("/stock/receive", {**ids(dates, main), **values})


def adjust_below_zero(_: User) -> Sent:
    """Removing more than a lot holds."""
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="LOT-1", quantity="10")
    values = {
        **ids(dates, main),
        "lot_id": str(lot),
        "direction": "remove",
        "quantity": "50",
        "reason": "lost",
    }
    return Sent("/stock/adjust", values)


def transfer_beyond_stock(_: User) -> Sent:
    """Moving more than a lot holds to a warehouse of lower id (booked into it first)."""
    near, far = make_warehouse("NEAR"), make_warehouse("FAR")
    dates = make_product("DATE")
    lot = create_lot(product_id=dates, warehouse_id=far, lot_code="LOT-1", quantity="10")
    values = {
        "product_id": str(dates),
        "lot_id": str(lot),
        "from_warehouse_id": str(far),
        "to_warehouse_id": str(near),
        "quantity": "15",
    }
    return Sent("/stock/transfer", values)


def waste_beyond_stock(_: User) -> Sent:
    """Writing off more than a lot holds."""
    dates, main = make_product("DATE"), make_warehouse("MAIN")
    lot = create_lot(product_id=dates, warehouse_id=main, lot_code="LOT-1", quantity="10")
    values = {**ids(dates, main), "lot_id": str(lot), "quantity": "15", "reason": "pests"}
    return Sent("/stock/waste", values)


def count_below_reserved(_: User) -> Sent:
    """A count whose first lot is booked and whose second is counted below its reservations."""
    main = make_warehouse("MAIN")
    dates, figs = make_product("DATE"), make_product("FIG")
    first, second = (
        create_lot(product_id=dates, warehouse_id=main, lot_code="DATE-1", quantity="10"),
        create_lot(product_id=figs, warehouse_id=main, lot_code="FIG-1", quantity="10"),
    )
    reserve(figs, "5", "HOLD-1", main)
    values = {"warehouse_id": str(main), f"lot_{first}": "7", f"lot_{second}": "1"}
    return Sent("/count", values)


# Every POST page route, and every action or form of the routes that take one. A new page
# form needs its row here before the suite passes.
ADMIN, MANAGER, STAFF, CUSTOMER = Role.ADMIN, Role.MANAGER, Role.STAFF, Role.CUSTOMER
USER_ACTION = "/admin/users/{user_id}/{action}"
PURCHASE_ACTION = "/purchase-orders/{order_id}/{action}"
ORDER_ACTION = "/orders/{order_id}/{action}"
SHIPMENT_ACTION = "/shipments/{shipment_id}/{action}"
NOT_WRITTEN = "the service refuses before it writes; the form's one-time key was claimed"
# fmt: off
ROWS = [
    Refused(
        "/login", "", STAFF, wrong_password, 401, "Incorrect email or password",
        "keep_changes by design: the failed login is counted on the account",
        kept=(
            "users.failed_login_attempts", "users.last_failed_login", "users.updated_at"
        ),
        signed_in=False,
    ),
    Refused(
        "/logout", "", STAFF, forged_logout, 403, "not from this site",
        "no business refusal: logging out always succeeds; the anti-forgery check refuses",
    ),
    Refused(
        "/profile/password", "", STAFF, wrong_current_password, 422,
        "The current password is not correct",
        "keep_changes by design: the wrong password is counted on the account, as at login",
        kept=(
            "users.failed_login_attempts", "users.last_failed_login", "users.updated_at"
        ),
    ),
    Refused("/admin/users", "", ADMIN, taken_email, 409, "already exists", NOT_WRITTEN),
    Refused(
        USER_ACTION, "role", ADMIN, demote_last_admin, 409, "Cannot demote the last", NOT_WRITTEN
    ),
    Refused(
        USER_ACTION, "deactivate", ADMIN, deactivate_last_admin, 409, "Cannot deactivate",
        NOT_WRITTEN,
    ),
    Refused(
        USER_ACTION, "activate", ADMIN, activate_nobody, 404, "does not exist",
        "no business refusal: activating an active account changes nothing; unknown account",
    ),
    Refused(
        USER_ACTION, "unlock", ADMIN, unlock_nobody, 404, "does not exist",
        "no business refusal: unlocking an unlocked account changes nothing; unknown account",
    ),
    Refused(
        USER_ACTION, "password", ADMIN, guessable_password, 422, "too easy to guess",
        "the password policy refuses before the password or sessions change",
    ),
    Refused(
        USER_ACTION, "revoke", ADMIN, revoke_unknown_session, 404, "has no session", NOT_WRITTEN
    ),
    Refused(
        "/reorder", "", MANAGER, nothing_to_reorder, 409, "Nothing needs ordering", NOT_WRITTEN
    ),
    Refused(
        "/lots/{lot_id}/status", "", MANAGER, release_recalled_lot, 409,
        "A recalled lot cannot become available", NOT_WRITTEN,
    ),
    Refused(
        "/lots/{lot_id}/documents", "", STAFF, text_as_document, 415, "files are accepted",
        "answered by the error page, not the form",
    ),
    Refused("/products/new", "", MANAGER, taken_sku, 409, "already exists", NOT_WRITTEN),
    Refused(
        "/products/{product_id}/edit", "", MANAGER, unit_of_stocked_product, 409,
        "cannot change", NOT_WRITTEN,
    ),
    Refused(
        "/products/{product_id}/image", "", MANAGER, text_as_image, 415, "files are accepted",
        "answered by the error page, not the form",
    ),
    Refused(
        "/purchase-orders/new", "", MANAGER, purchase_of_retired_product, 422, "no longer in use",
        "every line is checked before the order is written",
    ),
    Refused(
        PURCHASE_ACTION, "send", MANAGER, send_sent_purchase, 409, "must be draft", NOT_WRITTEN
    ),
    Refused(
        "/purchase-orders/{order_id}/edit", "", MANAGER, edit_sent_purchase, 409,
        "must be draft", NOT_WRITTEN,
    ),
    Refused(
        PURCHASE_ACTION, "cancel", MANAGER, cancel_received_purchase, 409, "is received",
        NOT_WRITTEN,
    ),
    Refused(
        PURCHASE_ACTION, "receive", STAFF, over_delivery, 409, "still to receive",
        "refused after the order, the receipt and line 1's lot and movement were written",
    ),
    Refused(
        "/customers", "", STAFF, customer_without_email, 422, "Please correct the fields",
        "no service refusal is reachable from this form's fields; the schema's refusal",
    ),
    Refused(
        "/customers/{customer_id}/edit", "", STAFF, customer_with_bad_email, 422,
        "Please correct the fields", "the schema refuses before the service writes",
    ),
    Refused(
        "/customers/{customer_id}/addresses", "", STAFF, address_in_no_country, 422,
        "Please correct the fields", "the schema refuses before the service writes",
    ),
    Refused(
        "/customers/{customer_id}/addresses/{address_id}", "", STAFF,
        retired_address_made_default, 422, "cannot be the default", NOT_WRITTEN,
    ),
    Refused("/suppliers/new", "", MANAGER, taken_supplier_code, 409, "already exists", NOT_WRITTEN),
    Refused(
        "/suppliers/{item_id}", "", MANAGER, supplier_with_bad_email, 422,
        "Please correct the fields", "the schema refuses before the service writes",
    ),
    Refused(
        "/warehouses/new", "", MANAGER, taken_warehouse_code, 409, "already exists", NOT_WRITTEN
    ),
    Refused(
        "/warehouses/{item_id}", "", MANAGER, warehouse_without_name, 422,
        "Please correct the fields", "the form's own check refuses before the service writes",
    ),
    Refused(
        "/categories/new", "", MANAGER, taken_category_name, 409, "already exists", NOT_WRITTEN
    ),
    Refused(
        "/categories/{item_id}", "", MANAGER, category_renamed_to_taken_name, 409,
        "already exists", NOT_WRITTEN,
    ),
    Refused(
        "/products/{product_id}/prices", "", MANAGER, negative_tier_price, 422,
        "Please correct the fields", "every price is checked before any is written",
    ),
    Refused(
        "/orders/new", "", STAFF, order_of_retired_product, 422, "no longer in use",
        "every line is checked before the order is written",
    ),
    Refused(
        "/orders/new", "", CUSTOMER, shop_order_of_retired_product, 422, "no longer in use",
        "the shop's order form, drawn again on the shop page",
    ),
    Refused(
        ORDER_ACTION, "confirm", STAFF, confirm_beyond_stock, 409, "cannot be confirmed",
        "refused after the order became confirmed and line 1 was reserved",
    ),
    Refused(
        ORDER_ACTION, "ship", STAFF, ship_from_quarantine, 409, "can be reserved",
        "refused after the order became shipped and the quarantined reservation was let go",
    ),
    Refused(
        ORDER_ACTION, "ship", STAFF, ship_beyond_reserved, 422, "cannot ship", NOT_WRITTEN
    ),
    Refused(
        ORDER_ACTION, "ship", STAFF, ship_part_of_complete_order, 409,
        "complete deliveries only", NOT_WRITTEN,
    ),
    Refused(
        ORDER_ACTION, "fill-backorders", STAFF, fill_pending_order, 409, "to fill backorders",
        NOT_WRITTEN,
    ),
    Refused("/orders/fill-backorders", "", CUSTOMER, fill_as_customer, 403, "may not", NOT_WRITTEN),
    Refused(
        "/orders/{order_id}/lines/{line_id}/lot", "", STAFF, pin_short_lot, 409,
        "the pinned lot", "refused after the line's FEFO reservation was let go",
    ),
    Refused(
        SHIPMENT_ACTION, "pick", STAFF, pick_wrong_lot, 422, "not the lot on the pick list",
        NOT_WRITTEN,
    ),
    Refused(
        SHIPMENT_ACTION, "dispatch", STAFF, dispatch_unpicked, 409, "not picked yet", NOT_WRITTEN
    ),
    Refused(
        SHIPMENT_ACTION, "invoice", STAFF, invoice_twice, 409, "invoiced already", NOT_WRITTEN
    ),
    Refused(
        "/invoices/{invoice_id}/payments", "", STAFF, overpay, 409, "left to pay", NOT_WRITTEN
    ),
    Refused(
        "/invoices/{invoice_id}/credit-notes", "", STAFF, overcredit, 409, "left to credit",
        NOT_WRITTEN,
    ),
    Refused(
        SHIPMENT_ACTION, "cancel", STAFF, cancel_sent_shipment, 409, "must be picking",
        NOT_WRITTEN,
    ),
    Refused(
        ORDER_ACTION, "deliver", STAFF, deliver_unshipped, 409, "must be shipped", NOT_WRITTEN
    ),
    Refused(
        ORDER_ACTION, "cancel", STAFF, cancel_shipped, 409,
        "must be pending or confirmed or partially_shipped", NOT_WRITTEN,
    ),
    Refused(
        ORDER_ACTION, "cancel", CUSTOMER, cancel_own_confirmed, 409, "must be pending",
        "a customer cancels only pending orders",
    ),
    Refused(
        ORDER_ACTION, "return", STAFF, return_beyond_shipped, 409, "can still be returned",
        "refused after line 1 came back into its lot",
    ),
    Refused(
        "/stock/{slug}", "receive", STAFF, receive_into_lot_of_other_date, 409,
        "exists with best-before", NOT_WRITTEN,
    ),
    Refused(
        "/stock/{slug}", "adjust", MANAGER, adjust_below_zero, 409, "available in", NOT_WRITTEN
    ),
    Refused(
        "/stock/{slug}", "transfer", STAFF, transfer_beyond_stock, 409, "available in",
        "refused after the stock was booked into the target warehouse",
    ),
    Refused("/stock/{slug}", "waste", STAFF, waste_beyond_stock, 409, "available in", NOT_WRITTEN),
    Refused(
        "/count", "", STAFF, count_below_reserved, 409, "reserved, more than",
        "refused after the first lot's count was booked",
    ),
]
# fmt: on
# Switching a customer or a catalog record off or on refuses nothing but an unknown record.
ROWS += [
    Refused(
        f"{base}/{{{parameter}}}/{{action}}",
        action,
        role,
        switch_unknown(base, action),
        404,
        "does not exist",
        "no business refusal: switching a record to the state it has changes nothing",
    )
    for base, parameter, role in (
        ("/customers", "customer_id", STAFF),
        ("/suppliers", "item_id", MANAGER),
        ("/warehouses", "item_id", MANAGER),
        ("/categories", "item_id", MANAGER),
    )
    for action in ("deactivate", "activate")
]


# --------------------------------------------------------------------------- sending forms


def hidden_fields(client: TestClient, row: Refused, user: User) -> dict[str, str]:
    """Log ``user`` in (unless the row is the login form) and read the forms' hidden fields."""
    if not row.signed_in:
        return {CSRF_FIELD: login_form(client)[1]}
    page_login(client, user.email)
    return form_fields(client, "/orders")


def alerts_of(response: Response, status: int) -> list[str]:
    """The texts of the alerts of the page answered with ``status``."""
    return [node.text for node in page_of(response, status).find_all(role="alert")]


# --------------------------------------------------------------------------- the routes


def page_post_routes() -> dict[str, Callable[..., Any]]:
    """Every POST route of the pages (not under the API's or the tools' paths), by path."""
    return {
        str(route.path): route.endpoint
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        and "POST" in (route.methods or ())
        and not str(route.path).startswith(NOT_PAGES)
        and route.endpoint is not None
    }


def choice_parameter(path: str) -> str | None:
    """The path parameter choosing what the route does ({action}, {slug}), if any."""
    names = [name for name in re.findall(r"\{(\w+)\}", path) if not name.endswith("_id")]
    assert len(names) <= 1, path
    return names[0] if names else None


def accepted_values(path: str, endpoint: Callable[..., Any], parameter: str) -> set[str]:
    """The values of ``parameter`` the route's form table holds or its handler compares with."""
    if path in FORM_TABLES:
        return set(FORM_TABLES[path])
    tree = ast.parse(textwrap.dedent(inspect.getsource(endpoint)))
    values = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(isinstance(side, ast.Name) and side.id == parameter for side in sides):
            values |= {
                side.value
                for side in sides
                if isinstance(side, ast.Constant) and isinstance(side.value, str)
            }
    return values


def test_every_page_form_has_a_row() -> None:
    routes = page_post_routes()
    rows = {row.route for row in ROWS}

    assert sorted(routes.keys() - rows) == [], "POST page routes without a row in ROWS"
    assert sorted(rows - routes.keys()) == [], "ROWS names routes that do not exist"


def test_every_action_and_form_of_a_route_has_a_row() -> None:
    for path, endpoint in page_post_routes().items():
        parameter = choice_parameter(path)
        values = {row.value for row in ROWS if row.route == path}
        if parameter is None:
            assert values == {""}, path
            continue
        accepted = accepted_values(path, endpoint, parameter)
        assert accepted, f"no values of {{{parameter}}} found in the handler of {path}"
        assert values == accepted, path


# --------------------------------------------------------------------------- the refusals


@pytest.mark.parametrize("row", [pytest.param(row, id=row.name) for row in ROWS])
def test_a_refused_form_keeps_nothing(client: TestClient, row: Refused) -> None:
    user = account(row.role)
    sent = row.setup(user)
    hidden = hidden_fields(client, row, user)
    before, everything = fingerprint(row.kept), fingerprint()

    response = send(client, sent, hidden)

    alerts = alerts_of(response, row.status)
    assert any(row.message in alert for alert in alerts), alerts
    assert changed(before, fingerprint(row.kept)) == []
    if row.kept:
        assert fingerprint() != everything, "the kept changes were not kept"
