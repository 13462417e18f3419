"""Customers: the sales team's list, a customer's page with its orders and returns, the forms."""

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.errors import NotFoundError
from app.models.sales import Customer, CustomerType, PriceTier
from app.schemas.sales import CustomerCreate, CustomerUpdate
from app.schemas.types import RecordId
from app.services import customers, orders
from app.services.orders import OrderFilter
from app.services.permissions import Permission
from app.web.form_pages import form_page
from app.web.forms import FormInvalidError, checked, form_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 50
ORDERS_SHOWN = 50
SHOWN = {"active": True, "inactive": False, "all": None}
CUSTOMER_FIELDS = [
    "name",
    "customer_type",
    "email",
    "phone",
    "billing_address",
    "shipping_address",
    "min_shelf_life_days",
    "notes",
]
EDIT_FIELDS = [*CUSTOMER_FIELDS, "price_tier"]
# What a field emptied on the edit form stores.
CLEARED: dict[str, object] = {
    "email": "",
    "phone": "",
    "billing_address": "",
    "shipping_address": "",
    "min_shelf_life_days": 0,
    "notes": "",
}


def _customers_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    show: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    asked = list_query(request, size=PAGE_SIZE, sorts=customers.CUSTOMER_SORTS)
    rows, total = customers.list_customers(
        db,
        offset=asked.offset,
        limit=PAGE_SIZE,
        search=asked.q or None,
        is_active=SHOWN[show],
        sort=asked.sort,
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return form_page(
        request,
        "customers/list.html",
        caller,
        values,
        errors,
        status_code,
        customers=rows,
        total=total,
        listing=shown,
        show=show,
        types=list(CustomerType),
    )


@router.get("/customers", response_class=HTMLResponse)
def list_customers(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CUSTOMERS_MANAGE),
    show: Annotated[str, Query(pattern="^(active|inactive|all)$")] = "all",
) -> Response:
    """Customers, searched by name or email, a page at a time, sorted, and the form for a new
    one."""
    return _customers_page(request, db, caller, show, {}, {})


@router.post("/customers", response_class=HTMLResponse)
def create_customer(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CUSTOMERS_MANAGE),
) -> Response:
    """Add the customer of the form."""
    values = form_values(form, CUSTOMER_FIELDS)
    with refusals(db) as refused:
        body = checked(CustomerCreate, values)
        customer = customers.create_customer(db, caller.actor, body.model_dump(exclude_none=True))
        return RedirectResponse(f"/orders/new?customer_id={customer.id}", status_code=303)
    return _customers_page(
        request, db, caller, "all", values, refused.errors, status_code=refused.status_code
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_detail(
    request: Request,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CUSTOMERS_MANAGE),
) -> HTMLResponse:
    """A customer: details, notes, latest orders and returns, and (de)activation."""
    customer = customers.get_customer(db, customer_id)
    placed, placed_total = orders.list_orders(
        db, OrderFilter(customer_id=customer.id), offset=0, limit=ORDERS_SHOWN
    )
    return render(
        request,
        "customers/detail.html",
        caller,
        customer=customer,
        orders=placed,
        orders_total=placed_total,
        returns=customers.customer_returns(db, customer.id),
        can_order=caller.can(Permission.SALES_MANAGE),
        notice=request.query_params.get("done", ""),
    )


def _form_page(
    request: Request,
    caller: PageCaller,
    customer: Customer,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return form_page(
        request,
        "customers/form.html",
        caller,
        values,
        errors,
        status_code,
        customer=customer,
        types=[(kind.value, kind.value) for kind in CustomerType],
        tiers=[(tier.value, tier.value) for tier in PriceTier],
    )


@router.get("/customers/{customer_id}/edit", response_class=HTMLResponse)
def edit_customer(
    request: Request,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CUSTOMERS_MANAGE),
) -> HTMLResponse:
    """The customer form, filled in."""
    customer = customers.get_customer(db, customer_id)
    values = {name: str(getattr(customer, name)) for name in EDIT_FIELDS}
    return _form_page(request, caller, customer, values, {})


@router.post("/customers/{customer_id}/edit", response_class=HTMLResponse)
def update_customer(
    request: Request,
    form: SubmittedForm,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CUSTOMERS_MANAGE),
) -> Response:
    """Save the changes of the form, or show it again with what to correct."""
    customer = customers.get_customer(db, customer_id)
    values = form_values(form, EDIT_FIELDS)
    with refusals(db) as refused:
        body = checked(CustomerUpdate, values)
        if body.name is None:
            raise FormInvalidError({"name": "Enter the customer's name."})
        changes = {**CLEARED, **body.model_dump(exclude_unset=True)}
        customers.update_customer(db, caller.actor, customer, changes)
        return RedirectResponse(f"/customers/{customer.id}?done=saved", status_code=303)
    return _form_page(
        request, caller, customer, values, refused.errors, status_code=refused.status_code
    )


@router.post("/customers/{customer_id}/{action}", response_class=HTMLResponse)
def switch_customer(
    action: str,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CUSTOMERS_MANAGE),
) -> Response:
    """Deactivate the customer (kept for history, no new orders) or activate it again."""
    customer = customers.get_customer(db, customer_id)
    if action == "deactivate":
        customers.set_active(db, caller.actor, customer, False)
    elif action == "activate":
        customers.set_active(db, caller.actor, customer, True)
    else:
        raise NotFoundError("There is no such action for a customer.")
    return RedirectResponse(f"/customers/{customer.id}?done={action}", status_code=303)
