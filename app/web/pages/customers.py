"""Customers: the sales team's list, a customer's page with its orders and returns, the forms."""

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.errors import NotFoundError
from app.models.sales import (
    AddressKind,
    Customer,
    CustomerAddress,
    CustomerType,
    PriceTier,
    VatTreatment,
)
from app.schemas.sales import AddressCreate, AddressUpdate, CustomerCreate, CustomerUpdate
from app.schemas.types import RecordId
from app.services import addresses, customers, orders
from app.services.orders import OrderFilter
from app.services.permissions import Permission
from app.web.form_pages import form_page
from app.web.forms import FormInvalidError, checked, form_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require

router = page_router()
PAGE_SIZE = 50
ORDERS_SHOWN = 50
SHOWN = {"active": True, "inactive": False, "all": None}
CUSTOMER_FIELDS = [
    "name",
    "customer_type",
    "email",
    "phone",
    "min_shelf_life_days",
    "payment_terms_days",
    "partial_delivery",
    "vat_number",
    "vat_treatment",
    "notes",
]
EDIT_FIELDS = [*CUSTOMER_FIELDS, "price_tier"]
# What a field emptied (or a box unticked) on the edit form stores.
CLEARED: dict[str, object] = {
    "email": "",
    "phone": "",
    "min_shelf_life_days": 0,
    "partial_delivery": False,
    "vat_number": "",
    "notes": "",
}
ADDRESS_FIELDS = ["kind", *addresses.ADDRESS_FIELDS]
ADDRESS_CLEARED: dict[str, object] = {"label": "", "recipient": "", "postal_code": "", "city": ""}
# What the address form says for a required field left empty.
REQUIRED = {"street": "Enter the street.", "country": "Enter the country, such as GB."}
# The address buttons of the customer page, and what each changes.
SWITCHES: dict[str, dict[str, object]] = {
    "default": {"is_default": True},
    "deactivate": {"is_active": False},
    "activate": {"is_active": True},
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
        vat_treatments=_vat_treatments(),
    )


def _vat_treatments() -> list[tuple[str, str]]:
    return [(treatment.value, treatment.value.replace("_", " ")) for treatment in VatTreatment]


@router.get("/customers", response_class=HTMLResponse)
def list_customers(
    request: Request,
    db: PageReadDb,
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
    """A customer: details, terms, addresses, notes, latest orders and returns, and
    (de)activation."""
    return _detail_page(request, db, caller, customer_id, {}, {})


def _detail_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    customer_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    customer = customers.get_customer(db, customer_id)
    placed, placed_total = orders.list_orders(
        db, OrderFilter(customer_id=customer.id), offset=0, limit=ORDERS_SHOWN
    )
    return form_page(
        request,
        "customers/detail.html",
        caller,
        values or {"kind": AddressKind.DELIVERY.value},
        errors,
        status_code,
        customer=customer,
        addresses=addresses.list_addresses(db, customer.id),
        kinds=[(kind.value, kind.value) for kind in AddressKind],
        orders=placed,
        orders_total=placed_total,
        returns=customers.customer_returns(db, customer.id),
        can_order=caller.can(Permission.SALES_MANAGE),
        can_bill=caller.can(Permission.SALES_MANAGE),
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
        vat_treatments=_vat_treatments(),
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
    values["partial_delivery"] = "true" if customer.partial_delivery else ""
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


@router.post("/customers/{customer_id}/addresses", response_class=HTMLResponse)
def add_address(
    request: Request,
    form: SubmittedForm,
    customer_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CUSTOMERS_MANAGE),
) -> Response:
    """Add the address of the form to the customer."""
    customer = customers.get_customer(db, customer_id)
    values = form_values(form, [*ADDRESS_FIELDS, "is_default"])
    with refusals(db) as refused:
        body = checked(AddressCreate, values)
        addresses.add_address(db, caller.actor, customer, body.model_dump())
        return RedirectResponse(f"/customers/{customer.id}?done=address#addresses", 303)
    return _detail_page(
        request, db, caller, customer_id, values, refused.errors, refused.status_code
    )


def _address_page(
    request: Request,
    caller: PageCaller,
    customer: Customer,
    address: CustomerAddress,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return form_page(
        request,
        "customers/address.html",
        caller,
        values,
        errors,
        status_code,
        customer=customer,
        address=address,
    )


@router.get("/customers/{customer_id}/addresses/{address_id}", response_class=HTMLResponse)
def edit_address(
    request: Request,
    customer_id: RecordId,
    address_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CUSTOMERS_MANAGE),
) -> HTMLResponse:
    """The address form, filled in."""
    customer = customers.get_customer(db, customer_id)
    address = addresses.get_address(db, customer.id, address_id)
    values = {name: str(getattr(address, name)) for name in ADDRESS_FIELDS}
    return _address_page(request, caller, customer, address, values, {})


@router.post("/customers/{customer_id}/addresses/{address_id}", response_class=HTMLResponse)
def update_address(
    request: Request,
    form: SubmittedForm,
    customer_id: RecordId,
    address_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CUSTOMERS_MANAGE),
) -> Response:
    """Save the address form, or make the address the default, retire it or take it up again
    (``action`` default, deactivate or activate)."""
    customer = customers.get_customer(db, customer_id)
    address = addresses.get_address(db, customer.id, address_id)
    action = str(form.get("action", "save"))
    values = form_values(form, ADDRESS_FIELDS[1:])
    with refusals(db) as refused:
        if action == "save":
            body = checked(AddressUpdate, values)
            if body.street is None or body.country is None:
                raise FormInvalidError(
                    {name: REQUIRED[name] for name in REQUIRED if getattr(body, name) is None}
                )
            changes = {**ADDRESS_CLEARED, **body.model_dump(exclude_unset=True)}
        elif action in SWITCHES:
            changes = SWITCHES[action]
        else:
            raise NotFoundError("There is no such action for an address.")
        addresses.update_address(db, caller.actor, address, changes)
        return RedirectResponse(f"/customers/{customer.id}?done=address#addresses", 303)
    if action != "save":
        message = next(iter(refused.errors.values()), "")
        return _detail_page(
            request, db, caller, customer_id, {}, {"form": message}, refused.status_code
        )
    return _address_page(
        request, caller, customer, address, values, refused.errors, refused.status_code
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
