"""Customers: staff keep the records; a customer user reads its own."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.api.deps import CustomerManager, CustomerSelf, DbSession, require
from app.api.idempotency import Idempotent
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.callers import Caller
from app.kit.routers import Router
from app.schemas.common import Page
from app.schemas.sales import (
    AddressCreate,
    AddressRead,
    AddressUpdate,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    OwnCustomerRead,
)
from app.schemas.types import RecordId
from app.services import addresses, customers
from app.services.permissions import Permission

router = Router(prefix="/customers", tags=["sales"])
# The sales team for any customer, a customer user for its own.
AddressCaller = Annotated[
    Caller, Depends(require(Permission.CUSTOMERS_MANAGE, Permission.ORDERS_OWN))
]


@router.get("")
def list_customers(
    _: CustomerManager,
    db: DbSession,
    paging: PageQuery,
    q: Annotated[str | None, Query(max_length=100, description="Search name and email")] = None,
    is_active: bool | None = None,
) -> Page[CustomerRead]:
    """List customers, searchable by name and email."""
    rows, total = customers.list_customers(
        db, offset=paging.offset, limit=paging.limit, search=q, is_active=is_active
    )
    items = [CustomerRead.model_validate(row) for row in rows]
    return paging.page(items, total)


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_customer(body: CustomerCreate, caller: CustomerManager, db: DbSession) -> CustomerRead:
    """Add a customer; its price tier follows its type unless given."""
    values = body.model_dump(exclude_none=True)
    return CustomerRead.model_validate(customers.create_customer(db, caller.actor, values))


@router.get("/me", responses=responses(409))
def read_own_customer(caller: CustomerSelf, db: DbSession) -> OwnCustomerRead:
    """The customer record of the signed-in customer user (without the sales team's notes)."""
    return OwnCustomerRead.model_validate(customers.own_customer(db, caller.user))


@router.get("/{customer_id}", responses=responses(404))
def read_customer(customer_id: RecordId, _: CustomerManager, db: DbSession) -> CustomerRead:
    """One customer."""
    return CustomerRead.model_validate(customers.get_customer(db, customer_id))


@router.patch("/{customer_id}", responses=responses(404, 409))
def update_customer(
    customer_id: RecordId, body: CustomerUpdate, caller: CustomerManager, db: DbSession
) -> CustomerRead:
    """Change a customer; edits are audited with the values before and after."""
    values = {
        key: value
        for key, value in body.model_dump(exclude_unset=True).items()
        if value is not None or key == "user_id"
    }
    customer = customers.get_customer(db, customer_id)
    return CustomerRead.model_validate(
        customers.update_customer(db, caller.actor, customer, values)
    )


@router.post("/{customer_id}/deactivate", responses=responses(404))
def deactivate_customer(
    customer_id: RecordId, caller: CustomerManager, db: DbSession
) -> CustomerRead:
    """Deactivate a customer: kept for history, no new orders."""
    customer = customers.get_customer(db, customer_id)
    return CustomerRead.model_validate(customers.set_active(db, caller.actor, customer, False))


@router.post("/{customer_id}/activate", responses=responses(404))
def activate_customer(
    customer_id: RecordId, caller: CustomerManager, db: DbSession
) -> CustomerRead:
    """Activate a customer again."""
    customer = customers.get_customer(db, customer_id)
    return CustomerRead.model_validate(customers.set_active(db, caller.actor, customer, True))


@router.get("/{customer_id}/addresses", responses=responses(404, 409))
def list_addresses(
    customer_id: RecordId, caller: AddressCaller, db: DbSession
) -> list[AddressRead]:
    """The customer's billing and delivery addresses, inactive ones included."""
    customer = customers.address_owner(db, caller.user, customer_id)
    return [AddressRead.model_validate(row) for row in addresses.list_addresses(db, customer.id)]


@router.post(
    "/{customer_id}/addresses",
    status_code=status.HTTP_201_CREATED,
    response_model=AddressRead,
    responses=responses(404, 409),
)
def add_address(
    customer_id: RecordId,
    body: AddressCreate,
    caller: AddressCaller,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Add an address; the first of its kind, or one sent as the default, is the default."""

    def act() -> AddressRead:
        customer = customers.address_owner(db, caller.user, customer_id)
        address = addresses.add_address(db, caller.actor, customer, body.model_dump())
        return AddressRead.model_validate(address)

    return once.respond(body, act)


@router.patch("/{customer_id}/addresses/{address_id}", responses=responses(404, 409))
def update_address(
    customer_id: RecordId,
    address_id: RecordId,
    body: AddressUpdate,
    caller: AddressCaller,
    db: DbSession,
) -> AddressRead:
    """Change an address, make it the default of its kind, or retire it (is_active false):
    an address is never deleted, orders keep pointing at it."""
    customer = customers.address_owner(db, caller.user, customer_id)
    address = addresses.get_address(db, customer.id, address_id)
    values = {
        key: value
        for key, value in body.model_dump(exclude_unset=True).items()
        if value is not None
    }
    return AddressRead.model_validate(addresses.update_address(db, caller.actor, address, values))
