"""Sales orders: the sales team's lists and forms, and the customers' shop."""

from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.core import clock
from app.core.errors import InvalidRequestError, NotFoundError
from app.models.sales import OrderStatus, ReturnDisposition
from app.schemas.sales import LotPin, OrderAction, OrderCreate, ReturnCreate, ShipmentCreate
from app.schemas.types import RecordId
from app.services import (
    addresses,
    alerts,
    backorders,
    catalog,
    credit_notes,
    customers,
    invoicing,
    order_views,
    orders,
    pricing,
    returns,
    shipments,
    stock_queries,
)
from app.services.order_placement import LineDraft, OrderDraft
from app.services.orders import OrderFilter
from app.services.permissions import Permission
from app.services.returns import ReturnLine
from app.services.shipments import ShipmentDraft, ShipmentLineDraft
from app.services.sorting import Sort
from app.web.confirmation import confirmed
from app.web.forms import checked, form_values, line_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import (
    FormUser,
    PageCaller,
    PageForbiddenError,
    SubmittedForm,
    form_require,
    page_require,
)
from app.web.templating import render

router = page_router()
ORDER_ROWS = 8
PAGE_SIZE = 50
NEWEST_ORDERS = Sort("placed", descending=True)
# Steps the order page asks about before taking them (shipping has a form of its own).
ASKED_FIRST = ("cancel",)
SHIPMENT_FIELDS = ["carrier", "tracking_reference", "reason", "pick_first"]
ORDER_FIELDS = ["customer_id", "notes", "delivery_address_id", "requested_delivery_date"]


def _sales_team(caller: PageCaller) -> bool:
    return caller.can(Permission.SALES_MANAGE)


# -- orders --------------------------------------------------------------------------------


@router.get("/orders", response_class=HTMLResponse)
def list_orders(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
    status: OrderStatus | None = None,
) -> Response:
    """Orders, newest first or sorted, found by number or customer; a customer sees only its
    own."""
    own = customers.order_scope(db, caller.user)
    asked = list_query(request, size=PAGE_SIZE, sorts=orders.ORDER_SORTS, default=NEWEST_ORDERS)
    rows, total = orders.list_orders(
        db,
        OrderFilter(status, own, search=asked.q or None),
        offset=asked.offset,
        limit=PAGE_SIZE,
        sort=asked.sort,
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(
        request,
        "sales/orders.html",
        caller,
        orders=rows,
        total=total,
        listing=shown,
        status=status or "",
        statuses=list(OrderStatus),
        sales_team=_sales_team(caller),
        filled=request.query_params.get("lines", "") if request.query_params.get("done") else "",
    )


def _neworder_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    values: dict[str, str],
    lines: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    products = catalog.products.options(db)
    team = _sales_team(caller)
    buyers = (
        customers.list_customers(db, offset=0, limit=2000, search=None, is_active=True)[0]
        if team
        else []
    )
    chosen = [b for b in buyers if str(b.id) == values.get("customer_id")] or buyers
    if not team:
        chosen = [customers.own_customer(db, caller.user)]
    choices = addresses.delivery_choices(db, [buyer.id for buyer in chosen])
    return render(
        request,
        "sales/new_order.html",
        caller,
        status_code=status_code,
        values=values,
        lines=lines,
        errors=errors,
        rows=range(ORDER_ROWS),
        products=products,
        available=alerts.sellable_by_product(db, [product.id for product in products]),
        buyers=buyers,
        delivery_groups=[
            (buyer.name if team else "", choices[buyer.id]) for buyer in chosen if choices[buyer.id]
        ],
        sales_team=team,
    )


def _delivery_defaults(values: dict[str, str]) -> dict[str, str]:
    """The order form's values, delivery on the company's today unless another day is given."""
    return {"requested_delivery_date": clock.today().isoformat(), **values}


@router.get("/orders/new", response_class=HTMLResponse)
def new_order(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
) -> HTMLResponse:
    """An empty order (for a customer chosen beforehand, when given)."""
    values = {"customer_id": request.query_params.get("customer_id", "")}
    return _neworder_page(request, db, caller, _delivery_defaults(values), {}, {})


@router.post("/orders/new", response_class=HTMLResponse)
def place_order(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
) -> Response:
    """Place the order of the form; a customer orders for itself at its own prices."""
    team = _sales_team(caller)
    values = form_values(form, ORDER_FIELDS)
    fields = ["product_id", "quantity", "unit_price"] if team else ["product_id", "quantity"]
    # The shop lists every product with its id: only the rows given a quantity are ordered.
    rows, numbers = line_values(form, fields, needs=None if team else "quantity")
    with refusals(db, numbers) as refused:
        body = checked(OrderCreate, {**values, "lines": rows})
        customer_id = customers.ordering_customer(db, caller.user, body.customer_id)
        lines = [LineDraft(line.product_id, line.quantity, line.unit_price) for line in body.lines]
        draft = OrderDraft(
            customer_id,
            lines,
            None,
            body.notes,
            body.delivery_address_id,
            body.requested_delivery_date,
        )
        order = orders.create_order(db, caller.actor, draft)
        return RedirectResponse(f"/orders/{order.id}?done=placed", status_code=303)
    errors = refused.errors
    if errors.get("lines") and not rows:
        errors = {**errors, "form": "Add at least one line."}
    submitted = {key: str(value) for key, value in form.items() if key.startswith("lines.")}
    if not team:
        search = str(form.get("q", ""))[:100]
        return _shop_page(
            request,
            db,
            caller,
            search,
            submitted,
            errors,
            values=values,
            status_code=refused.status_code,
        )
    return _neworder_page(
        request, db, caller, values, submitted, errors, status_code=refused.status_code
    )


@router.post("/orders/fill-backorders", response_class=HTMLResponse)
def fill_backorders(
    request: Request,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE),
) -> Response:
    """Reserve what there now is for every backordered line, the earliest order first."""
    filled = backorders.fill(db, caller.actor)
    return RedirectResponse(f"/orders?done=filled&lines={len(filled)}", status_code=303)


def order_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    order_id: RecordId,
    *,
    asked: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """An order's page: lines, shipments and next steps (and the question ``asked``)."""
    own = customers.order_scope(db, caller.user)
    stored = orders.get_order(db, order_id, own)
    order = order_views.read(db, stored)
    team = own is None
    is_open = order.status in orders.OPEN
    can_ship = team and is_open and any(line.reserved_quantity > 0 for line in order.lines)
    can_cancel = order.status == OrderStatus.PENDING or (team and is_open)
    asked = asked or request.query_params.get("confirm", "")
    asking = asked if {"ship": can_ship, "cancel": can_cancel}.get(asked) else ""
    invoices = invoicing.shipment_invoices(db, [shipment.id for shipment in order.shipments])
    return render(
        request,
        "sales/order.html",
        caller,
        status_code=status_code,
        order=order,
        values=values or {},
        errors=errors or {},
        notice=request.query_params.get("done", ""),
        sales_team=team,
        can_ship=can_ship,
        can_cancel=can_cancel,
        can_fill=team and is_open and any(line.backordered_quantity > 0 for line in order.lines),
        can_return=team and any(line.shipped_quantity > 0 for line in order.lines),
        ships_complete=not stored.customer.partial_delivery,
        asking=asking,
        warehouses={w.id: w.code for w in catalog.warehouses.options(db)},
        invoices=invoices,
        credits=credit_notes.by_invoice(db, [invoice.id for invoice in invoices.values()]),
        dispositions=list(ReturnDisposition),
    )


def _pin_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    order_id: RecordId,
    line_id: RecordId,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    order = orders.get_order(db, order_id)
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise NotFoundError(f"Order {order.number} has no line {line_id}.")
    return render(
        request,
        "sales/pin_lot.html",
        caller,
        status_code=status_code,
        order=order,
        line=line,
        lots=stock_queries.lot_choices(db, line.product_id, with_stock=True),
        values=values or {"lot_id": str(line.pinned_lot_id or ""), "reason": line.pin_reason},
        errors=errors,
    )


@router.get("/orders/{order_id}/lines/{line_id}/lot", response_class=HTMLResponse)
def pin_lot_form(
    request: Request,
    order_id: RecordId,
    line_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> HTMLResponse:
    """Choose the one lot an order line takes instead of first-expired-first, and why."""
    return _pin_page(request, db, caller, order_id, line_id, {}, {})


@router.post("/orders/{order_id}/lines/{line_id}/lot", response_class=HTMLResponse)
def pin_lot(
    request: Request,
    form: SubmittedForm,
    order_id: RecordId,
    line_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE),
) -> Response:
    """Pin the line to the lot chosen (none: first-expired-first again)."""
    values = form_values(form, ["lot_id", "reason"])
    with refusals(db) as refused:
        pin = checked(LotPin, {**values, "lot_id": values.get("lot_id") or None})
        order = orders.get_order(db, order_id)
        orders.pin_lot(db, caller.actor, order, line_id, pin.lot_id, pin.reason)
        return RedirectResponse(f"/orders/{order_id}?done=pin", status_code=303)
    return _pin_page(
        request, db, caller, order_id, line_id, values, refused.errors, refused.status_code
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_detail(
    request: Request,
    order_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE, Permission.ORDERS_OWN),
) -> HTMLResponse:
    """An order: its lines, the lots picked for each (FEFO), and the next step; with
    ``?confirm=ship`` or ``?confirm=cancel``, what that step will do and the button to do it."""
    return order_page(request, db, caller, order_id)


@router.post("/orders/{order_id}/{action}", response_class=HTMLResponse)
def change_order(
    request: Request,
    form: SubmittedForm,
    order_id: RecordId,
    action: str,
    db: PageDb,
    caller: FormUser,
) -> Response:
    """Confirm, ship, deliver, cancel or take back goods of the order."""
    own = customers.order_scope(db, caller.user)
    order = orders.get_order(db, order_id, own)
    if action == "return":
        return _take_back(request, db, caller, order_id, form)
    if action == "ship":
        return _ship(request, db, caller, order_id, form)
    with refusals(db) as refused:
        reason = checked(OrderAction, form_values(form, ["reason"])).reason
        if own is not None and action != "cancel":
            raise PageForbiddenError("The sales team confirms, ships and takes back orders.")
        if action in ASKED_FIRST:
            confirmed(form)
        if action == "cancel":
            orders.cancel(db, caller.actor, order, reason, only_pending=own is not None)
        elif action == "confirm":
            orders.confirm(db, caller.actor, order)
        elif action == "fill-backorders":
            backorders.fill(db, caller.actor, order.id)
        elif action == "deliver":
            orders.deliver(db, caller.actor, order)
        else:
            raise NotFoundError("There is no such action.")
        return RedirectResponse(f"/orders/{order_id}?done={action}", status_code=303)
    return order_page(
        request,
        db,
        caller,
        order_id,
        asked=action,
        values=form_values(form, ["reason"]),
        errors=refused.errors,
        status_code=refused.status_code,
    )


def _ship(
    request: Request, db: PageDb, caller: PageCaller, order_id: RecordId, form: FormData
) -> Response:
    if customers.order_scope(db, caller.user) is not None:
        raise PageForbiddenError("The sales team confirms, ships and takes back orders.")
    rows, numbers = line_values(form, ["line_id", "quantity"], needs="quantity")
    values = form_values(form, SHIPMENT_FIELDS)
    with refusals(db, numbers) as refused:
        confirmed(form)
        # The page's note is the shipment's; a form without lines ships everything reserved.
        note = values.pop("reason", "")
        asked = {**values, "notes": note, "lines": rows or None}
        body = checked(ShipmentCreate, asked)
        lines = (
            [ShipmentLineDraft(line.line_id, line.quantity) for line in body.lines]
            if body.lines is not None
            else None
        )
        draft = ShipmentDraft(
            lines, body.carrier, body.tracking_reference, body.notes, body.pick_first
        )
        shipment = shipments.ship(db, caller.actor, orders.get_order(db, order_id), draft)
        done = "picking" if body.pick_first else "ship"
        return RedirectResponse(
            f"/orders/{order_id}?done={done}#{shipment.number}", status_code=303
        )
    submitted = {key: str(value) for key, value in form.items()}
    errors = {("reason" if key == "notes" else key): text for key, text in refused.errors.items()}
    return order_page(
        request,
        db,
        caller,
        order_id,
        asked="ship",
        values=submitted,
        errors=errors,
        status_code=refused.status_code,
    )


def _take_back(
    request: Request, db: PageDb, caller: PageCaller, order_id: RecordId, form: FormData
) -> Response:
    if customers.order_scope(db, caller.user) is not None:
        raise PageForbiddenError("The sales team confirms, ships and takes back orders.")
    rows, numbers = line_values(form, ["line_id", "quantity", "disposition"], needs="quantity")
    reason = str(form.get("reason", "")).strip()
    with refusals(db, numbers) as refused:
        if not rows:
            raise InvalidRequestError("Enter the quantity coming back on at least one line.")
        body = checked(ReturnCreate, {"reason": reason, "lines": rows})
        lines = [
            ReturnLine(line.line_id, line.quantity, line.disposition, line.lot_id)
            for line in body.lines
        ]
        order = orders.get_order(db, order_id)
        booked = returns.record_return(db, caller.actor, order, lines, body.reason)
        done = "return-credited" if booked.credit_notes else "return"
        return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)
    submitted = {key: str(value) for key, value in form.items()}
    return order_page(
        request,
        db,
        caller,
        order_id,
        values=submitted,
        errors=refused.errors,
        status_code=refused.status_code,
    )


# -- the customers' shop -------------------------------------------------------------------


@router.get("/shop", response_class=HTMLResponse)
def shop(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.ORDERS_OWN),
    q: str = "",
) -> HTMLResponse:
    """The catalog with availability and the customer's own prices; an order form."""
    return _shop_page(request, db, caller, q[:100], {}, {}, values={})


def _shop_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    q: str,
    lines: dict[str, str],
    errors: dict[str, str],
    *,
    values: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    customer = customers.own_customer(db, caller.user)
    products, _ = catalog.products.page(db, offset=0, limit=500, search=q or None, is_active=True)
    prices = pricing.default_prices(db, products, customer.price_tier)
    available = alerts.sellable_by_product(db, [product.id for product in products])
    mine, _ = orders.list_orders(db, OrderFilter(None, customer.id), offset=0, limit=10)
    return render(
        request,
        "sales/shop.html",
        caller,
        status_code=status_code,
        customer=customer,
        products=products,
        prices=prices,
        available={key: max(value, Decimal(0)) for key, value in available.items()},
        orders=mine,
        q=q,
        lines=lines,
        values=_delivery_defaults(values),
        destinations=addresses.delivery_choices(db, [customer.id])[customer.id],
        errors=errors,
    )
