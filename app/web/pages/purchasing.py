"""Purchase orders: the list, a new order, editing a draft, sending, cancelling and receiving
deliveries."""

from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.core.errors import InvalidRequestError, NotFoundError
from app.kit.downloads import pdf_response
from app.models.purchasing import OPEN_PURCHASE_STATUSES, PurchaseOrder, PurchaseStatus
from app.schemas.purchasing import DeliveryCreate, PurchaseCreate
from app.schemas.sales import OrderAction
from app.schemas.types import RecordId
from app.services import catalog, purchase_documents, purchasing, receiving
from app.services.permissions import Permission
from app.services.purchasing import PurchaseDraft, PurchaseFilter, PurchaseLineDraft
from app.services.sorting import Sort
from app.web.confirmation import confirmed
from app.web.forms import checked, form_values, line_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import FormUser, PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
NEW_ORDER_ROWS = 8
PAGE_SIZE = 50
NEWEST_ORDERS = Sort("created", descending=True)
DRAFT_FIELDS = ["supplier_id", "warehouse_id", "expected_date", "notes"]
LINE_FIELDS = ["product_id", "quantity", "unit_cost"]
RECEIVE_FIELDS = [
    "warehouse_id",
    "delivery_note",
    "received_date",
    "allow_over_receipt",
    "allow_repeated_delivery_note",
]


@router.get("/purchase-orders", response_class=HTMLResponse)
def list_orders(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.PURCHASING_READ),
    status: PurchaseStatus | None = None,
) -> Response:
    """Purchase orders, newest first or sorted, by status, found by number or supplier."""
    asked = list_query(
        request, size=PAGE_SIZE, sorts=purchasing.PURCHASE_SORTS, default=NEWEST_ORDERS
    )
    orders, total = purchasing.list_purchases(
        db,
        PurchaseFilter(status=status, search=asked.q or None),
        offset=asked.offset,
        limit=PAGE_SIZE,
        sort=asked.sort,
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(
        request,
        "purchasing/list.html",
        caller,
        orders=orders,
        total=total,
        listing=shown,
        status=status or "",
        statuses=list(PurchaseStatus),
        can_write=caller.can(Permission.PURCHASING_WRITE),
    )


def _new_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    values: dict[str, str],
    lines: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    order: PurchaseOrder | None = None,
) -> HTMLResponse:
    products = catalog.products.options(db)
    suppliers = catalog.suppliers.options(db)
    warehouses = catalog.warehouses.options(db)
    rows = max(NEW_ORDER_ROWS, len(order.lines) + 2 if order else 0)
    return render(
        request,
        "purchasing/new.html",
        caller,
        status_code=status_code,
        order=order,
        values=values,
        lines=lines,
        errors=errors,
        rows=range(rows),
        products=products,
        suppliers=suppliers,
        warehouses=warehouses,
    )


@router.get("/purchase-orders/new", response_class=HTMLResponse)
def new_order(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.PURCHASING_WRITE),
) -> HTMLResponse:
    """An empty purchase order."""
    return _new_page(request, db, caller, {}, {}, {})


@router.post("/purchase-orders/new", response_class=HTMLResponse)
def create_order(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.PURCHASING_WRITE),
) -> Response:
    """Draft the purchase order of the form, or show it again with what to correct."""
    values = form_values(form, DRAFT_FIELDS)
    rows, numbers = line_values(form, LINE_FIELDS)
    with refusals(db, numbers) as refused:
        order = purchasing.create_purchase(db, caller.actor, _draft(values, rows))
        return RedirectResponse(f"/purchase-orders/{order.id}?done=drafted", status_code=303)
    errors = _line_errors(refused.errors, rows)
    return _new_page(request, db, caller, values, _lines_of(form), errors, refused.status_code)


def _draft(values: dict[str, str], rows: list[dict[str, str]]) -> PurchaseDraft:
    """The draft the form describes, checked by the schema the API checks it with."""
    body = checked(PurchaseCreate, {**values, "lines": rows})
    return PurchaseDraft(
        supplier_id=body.supplier_id,
        warehouse_id=body.warehouse_id,
        expected_date=body.expected_date,
        notes=body.notes,
        lines=[
            PurchaseLineDraft(line.product_id, line.quantity, line.unit_cost) for line in body.lines
        ],
    )


def _line_errors(errors: dict[str, str], rows: list[dict[str, str]]) -> dict[str, str]:
    if errors.get("lines") and not rows:
        return {**errors, "form": "Add at least one line."}
    return errors


def _lines_of(form: FormData) -> dict[str, str]:
    return {key: str(value) for key, value in form.items() if key.startswith("lines.")}


def _plain(number: Decimal) -> str:
    """A stored number as a form shows it for editing: without trailing zeros."""
    return format(number.normalize(), "f")


@router.get("/purchase-orders/{order_id}/edit", response_class=HTMLResponse)
def edit_order(
    request: Request,
    order_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.PURCHASING_WRITE),
) -> HTMLResponse:
    """A draft's form, filled in with what it holds; an order already sent is not edited."""
    order = purchasing.get_purchase(db, order_id)
    if order.status != PurchaseStatus.DRAFT:
        status = str(order.status).replace("_", " ")
        refused = {"form": f"{order.number} is {status}; only a draft can be edited."}
        return _order_page(request, db, caller, order_id, errors=refused, status_code=409)
    values = {
        "supplier_id": str(order.supplier_id),
        "warehouse_id": str(order.warehouse_id),
        "expected_date": order.expected_date.isoformat() if order.expected_date else "",
        "notes": order.notes,
    }
    lines = {}
    for index, line in enumerate(order.lines):
        lines[f"lines.{index}.product_id"] = str(line.product_id)
        lines[f"lines.{index}.quantity"] = _plain(line.quantity)
        lines[f"lines.{index}.unit_cost"] = _plain(line.unit_cost)
    return _new_page(request, db, caller, values, lines, {}, order=order)


@router.post("/purchase-orders/{order_id}/edit", response_class=HTMLResponse)
def save_order(
    request: Request,
    form: SubmittedForm,
    order_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.PURCHASING_WRITE),
) -> Response:
    """Rewrite the draft with the form, or show it again with what to correct."""
    values = form_values(form, DRAFT_FIELDS)
    rows, numbers = line_values(form, LINE_FIELDS)
    with refusals(db, numbers) as refused:
        order = purchasing.get_purchase(db, order_id)
        purchasing.replace_draft(db, caller.actor, order, _draft(values, rows))
        return RedirectResponse(f"/purchase-orders/{order_id}?done=edited", status_code=303)
    errors = _line_errors(refused.errors, rows)
    order = purchasing.get_purchase(db, order_id)
    if order.status != PurchaseStatus.DRAFT:
        return _order_page(
            request, db, caller, order_id, errors=errors, status_code=refused.status_code
        )
    return _new_page(
        request, db, caller, values, _lines_of(form), errors, refused.status_code, order=order
    )


def _order_page(
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
    order = purchasing.get_purchase(db, order_id)
    warehouses = catalog.warehouses.options(db)
    can_write = caller.can(Permission.PURCHASING_WRITE)
    can_cancel = can_write and order.status in purchasing.CANCELLABLE
    asked = asked or request.query_params.get("confirm", "")
    return render(
        request,
        "purchasing/detail.html",
        caller,
        status_code=status_code,
        order=order,
        asking="cancel" if asked == "cancel" and can_cancel else "",
        can_cancel=can_cancel,
        receipts=receiving.receipts(db, order),
        warehouses=warehouses,
        values=values or {},
        errors=errors or {},
        notice=request.query_params.get("done", ""),
        can_write=can_write,
        can_receive=caller.can(Permission.PURCHASING_RECEIVE)
        and order.status in OPEN_PURCHASE_STATUSES,
    )


@router.get("/purchase-orders/{order_id}", response_class=HTMLResponse)
def order_detail(
    request: Request,
    order_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.PURCHASING_READ),
) -> HTMLResponse:
    """A purchase order: its lines, what arrived, and the next step; with ``?confirm=cancel``,
    what cancelling will do and the button to do it."""
    return _order_page(request, db, caller, order_id)


@router.get("/purchase-orders/{order_id}/pdf")
def order_pdf(
    order_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.PURCHASING_READ),
) -> Response:
    """The purchase order as sent to the supplier, as a PDF."""
    return pdf_response(purchase_documents.purchase_order_pdf(db, order_id))


@router.post("/purchase-orders/{order_id}/{action}", response_class=HTMLResponse)
def change_order(
    request: Request,
    form: SubmittedForm,
    order_id: RecordId,
    action: str,
    db: PageDb,
    caller: FormUser,
) -> Response:
    """Send or cancel the order, or receive a delivery against it."""
    order = purchasing.get_purchase(db, order_id)
    if action == "receive":
        caller.require(Permission.PURCHASING_RECEIVE, what="receive deliveries")
        return _receive(request, db, caller, order_id, form)
    with refusals(db) as refused:
        if action == "send":
            caller.require(Permission.PURCHASING_WRITE, what="send purchase orders")
            purchasing.send(db, caller.actor, order)
        elif action == "cancel":
            caller.require(Permission.PURCHASING_WRITE, what="cancel purchase orders")
            reason = checked(OrderAction, form_values(form, ["reason"])).reason
            confirmed(form)
            purchasing.cancel(db, caller.actor, order, reason)
        else:
            raise NotFoundError("There is no such action.")
        return RedirectResponse(f"/purchase-orders/{order_id}?done={action}", status_code=303)
    return _order_page(
        request,
        db,
        caller,
        order_id,
        asked=action,
        values=form_values(form, ["reason"]),
        errors=refused.errors,
        status_code=refused.status_code,
    )


def _receive(
    request: Request, db: PageDb, caller: PageCaller, order_id: RecordId, form: FormData
) -> Response:
    values = form_values(form, RECEIVE_FIELDS)
    fields = ["line_id", "quantity", "lot_code", "best_before", "unit_cost", "moisture_pct"]
    rows, numbers = line_values(form, fields, needs="quantity")
    with refusals(db, numbers) as refused:
        if not rows:
            raise InvalidRequestError("Enter the quantity that arrived on at least one line.")
        body = checked(DeliveryCreate, {**values, "lines": rows})
        order = purchasing.get_purchase(db, order_id)
        receiving.receive(db, caller.actor, order, receiving.delivery_of(body))
        return RedirectResponse(f"/purchase-orders/{order_id}?done=receive", status_code=303)
    submitted = {key: str(value) for key, value in form.items()}
    return _order_page(
        request,
        db,
        caller,
        order_id,
        values=submitted,
        errors=refused.errors,
        status_code=refused.status_code,
    )
