"""Customers: records kept by staff, and the one a self-registered customer user owns."""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.metrics import CUSTOMER_REGISTRATIONS, after_commit
from app.core.programs import Program, run_on
from app.core.security import get_password_hash
from app.crud.crud_sales import customer_crud, customer_of_user
from app.crud.crud_user import user_crud
from app.models.catalog import Product
from app.models.inventory import Lot
from app.models.sales import (
    Customer,
    CustomerType,
    PriceTier,
    ReturnDisposition,
    SalesOrder,
    SalesOrderLine,
    SalesReturn,
)
from app.models.user import Role, User
from app.services import audit, login_throttle, users
from app.services.audit import Actor
from app.services.auth import ClientInfo
from app.services.passwords import check_password_policy
from app.services.permissions import Permission, role_allows
from app.services.sorting import Sort, order_by

RETURNS_SHOWN = 100
CUSTOMER_REQUIRED = "customer_id is required."
NOT_LINKED = "Your account is not linked to a customer record yet; ask the sales team."
OWN_CUSTOMER = select(Customer.id).where(Customer.user_id == bindparam("user_id"))
DEFAULT_TIER = {CustomerType.RETAIL: PriceTier.RETAIL, CustomerType.WHOLESALE: PriceTier.WHOLESALE}
logger = logging.getLogger("app.auth")


def get_customer(db: Session, customer_id: int) -> Customer:
    """The customer with ``customer_id``, its addresses loaded, or a 404."""
    query = (
        select(Customer)
        .options(selectinload(Customer.addresses))
        .where(Customer.id == customer_id)
        .execution_options(populate_existing=True)
    )
    customer = db.scalar(query)
    if customer is None:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return customer


def address_owner(db: Session, user: User, customer_id: int) -> Customer:
    """The customer whose addresses ``user`` works with: any for the sales team, its own for
    a customer user (another customer is a 404, as an unknown one is)."""
    if role_allows(user.role, Permission.CUSTOMERS_MANAGE):
        return get_customer(db, customer_id)
    own = own_customer(db, user)
    if own.id != customer_id:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return own


# The customers a listing may be sorted by, by the key a page names.
CUSTOMER_SORTS: Mapping[str, Any] = {
    "name": func.lower(Customer.name),
    "customer_type": Customer.customer_type,
    "email": func.lower(Customer.email),
    "price_tier": Customer.price_tier,
}


def list_customers(
    db: Session,
    *,
    offset: int,
    limit: int,
    search: str | None,
    is_active: bool | None,
    sort: Sort | None = None,
) -> tuple[Sequence[Customer], int]:
    """A page of customers, searched by name and email, in the order of ``sort`` (a key of
    CUSTOMER_SORTS; by id when None)."""
    where = [] if is_active is None else [Customer.is_active.is_(is_active)]
    ordering = order_by(sort, CUSTOMER_SORTS, Customer.id) if sort else ()
    return customer_crud.page(
        db,
        offset=offset,
        limit=limit,
        search=search,
        where=where,
        query=select(Customer).options(selectinload(Customer.addresses)),
        order_by=ordering,
    )


@dataclass(frozen=True)
class CustomerReturn:
    """Goods a customer sent back: from which order, product and lot, and the credit."""

    id: int
    order_id: int
    order_number: str
    product_sku: str
    lot_id: int
    lot_code: str
    quantity: Decimal
    credit: Decimal
    disposition: ReturnDisposition
    reason: str
    created_at: datetime


def customer_returns(db: Session, customer_id: int) -> list[CustomerReturn]:
    """The customer's latest returns, newest first."""
    query = (
        select(SalesReturn, SalesOrder.number, Product.sku, Lot.lot_code)
        .join(SalesOrder, SalesOrder.id == SalesReturn.order_id)
        .join(SalesOrderLine, SalesOrderLine.id == SalesReturn.line_id)
        .join(Product, Product.id == SalesOrderLine.product_id)
        .join(Lot, Lot.id == SalesReturn.lot_id)
        .where(SalesOrder.customer_id == customer_id)
        .order_by(SalesReturn.created_at.desc(), SalesReturn.id.desc())
        .limit(RETURNS_SHOWN)
    )
    return [
        CustomerReturn(
            id=row.id,
            order_id=row.order_id,
            order_number=number or "",
            product_sku=sku,
            lot_id=row.lot_id,
            lot_code=lot_code,
            quantity=row.quantity,
            credit=row.credit,
            disposition=row.disposition,
            reason=row.reason,
            created_at=row.created_at,
        )
        for row, number, sku, lot_code in db.execute(query)
    ]


def create_customer(db: Session, actor: Actor, values: Mapping[str, Any]) -> Customer:
    """Add a customer; the price tier follows the type unless given."""
    values = _checked(db, values, None)
    kind = CustomerType(values.get("customer_type", CustomerType.RETAIL))
    values.setdefault("price_tier", DEFAULT_TIER[kind])
    customer = customer_crud.add(db, Customer(**values, is_active=True))
    audit.record(
        db,
        actor,
        "customer.created",
        "customer",
        customer.id,
        **{key: audit.jsonable(value) for key, value in values.items()},
    )
    source = "staff" if customer.user_id is None else "linked"
    after_commit(db, lambda: CUSTOMER_REGISTRATIONS.labels(source).inc())
    return get_customer(db, customer.id)


def update_customer(
    db: Session, actor: Actor, customer: Customer, values: Mapping[str, Any]
) -> Customer:
    """Change a customer's details, tier, shelf-life demand or linked user."""
    values = _checked(db, values, customer)
    changes = audit.changes(customer, values)
    for key in changes:
        setattr(customer, key, values[key])
    if changes:
        db.flush()
        audit.record(db, actor, "customer.updated", "customer", customer.id, changes=changes)
    return customer


def set_active(db: Session, actor: Actor, customer: Customer, active: bool) -> Customer:
    """Switch a customer on or off; an inactive customer cannot order."""
    if customer.is_active != active:
        customer.is_active = active
        db.flush()
        verb = "activated" if active else "deactivated"
        audit.record(db, actor, f"customer.{verb}", "customer", customer.id)
    return customer


def register(
    db: Session, *, email: str, password: str, full_name: str, client: ClientInfo | None = None
) -> User | None:
    """Self-registration: a customer user and its customer record, or None for a taken email."""
    client = client or ClientInfo()
    normalized = users.account_email(email)
    check_password_policy(password, email=normalized)
    login_throttle.count_registration(client.ip_address)
    # Hashed for a taken email too: the same work, so the time taken does not tell either.
    hashed_password = get_password_hash(password)
    actor = Actor(user_id=None, label=normalized, ip_address=client.ip_address)
    existing = users.lookalike(db, normalized)
    if existing is not None:
        _taken(db, actor, existing)
        return None
    user = users.add_user(
        db,
        actor,
        email=normalized,
        hashed_password=hashed_password,
        role=Role.CUSTOMER,
        full_name=full_name,
    )
    customer = customer_crud.add(
        db,
        Customer(
            name=user.full_name or user.email,
            email=user.email,
            customer_type=CustomerType.RETAIL,
            price_tier=PriceTier.RETAIL,
            user_id=user.id,
            is_active=True,
        ),
    )
    audit.record(db, actor, "customer.registered", "customer", customer.id, user_id=user.id)
    after_commit(db, lambda: CUSTOMER_REGISTRATIONS.labels("self").inc())
    return user


def _taken(db: Session, actor: Actor, existing: User) -> None:
    """Change nothing, but keep for the admins (and the owner, once told) that someone tried."""
    if existing.email == actor.label:
        action, message = "auth.register_existing", "registration for an email that has an account"
    else:
        action, message = "auth.register_lookalike", "registration for an email like an account's"
    audit.record(db, actor, action, "user", existing.id, email=actor.label)
    logger.warning(message, extra={"email": actor.label, "client_ip": actor.ip_address})


def own_customer(db: Session, user: User) -> Customer:
    """The customer record of a customer user, or a 409 when none is linked."""
    customer = customer_of_user(db, user.id)
    if customer is None:
        raise ConflictError(NOT_LINKED)
    return get_customer(db, customer.id)


def order_scope(db: Session, user: User) -> int | None:
    """Whose orders ``user`` works with: None for the sales team (all), else its own customer."""
    if role_allows(user.role, Permission.SALES_MANAGE):
        return None
    return own_customer(db, user).id


def check_orderable(customer_id: int, is_active: bool | None) -> None:
    """A 422 unless the customer exists (``is_active`` is not None) and is active."""
    if is_active is None:
        raise InvalidRequestError(f"Customer {customer_id} does not exist.", field="customer_id")
    if not is_active:
        raise InvalidRequestError(f"Customer {customer_id} is inactive.", field="customer_id")


def ordering_customer(db: Session, user: User, customer_id: int | None) -> int:
    """``ordering`` in the session's unit of work."""
    return run_on(db.connection(), ordering(user.id, user.role, customer_id))


def ordering(user_id: int, role: str, customer_id: int | None) -> Program[int]:
    """Whom the user places an order for: the sales team names the customer (none is a 422),
    a customer user orders for itself (naming another customer is a 404)."""
    if role_allows(role, Permission.SALES_MANAGE):
        if customer_id is None:
            raise InvalidRequestError(CUSTOMER_REQUIRED, field="customer_id")
        return customer_id
    found = yield OWN_CUSTOMER, {"user_id": user_id}
    if not found:
        raise ConflictError(NOT_LINKED)
    own: int = found[0]["id"]
    if customer_id not in (None, own):
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return own


def _checked(db: Session, values: Mapping[str, Any], current: Customer | None) -> dict[str, Any]:
    checked = dict(values)
    if checked.get("email"):
        checked["email"] = users.valid_email(checked["email"])
    user_id = checked.get("user_id")
    if user_id is not None and (current is None or current.user_id != user_id):
        user = user_crud.get(db, user_id)
        if user is None or user.role != Role.CUSTOMER:
            raise InvalidRequestError(
                f"User {user_id} is not a customer user; only those can be linked.",
                field="user_id",
            )
        linked = customer_of_user(db, user_id)
        if linked is not None:
            raise ConflictError(
                f"User {user_id} is already linked to customer {linked.id}.", field="user_id"
            )
    return checked
