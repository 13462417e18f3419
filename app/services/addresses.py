"""Customer addresses: billing and delivery, one active default of each kind per customer."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core import formatting
from app.core.clock import utcnow
from app.core.errors import InvalidRequestError, NotFoundError
from app.models.sales import AddressKind, Customer, CustomerAddress
from app.services import audit
from app.services.audit import Actor

DELIVERY_FIELD = "delivery_address_id"
# What an address says, besides its kind: the fields an order shows of its delivery address.
ADDRESS_FIELDS = ("label", "recipient", "street", "postal_code", "city", "country")


def list_addresses(db: Session, customer_id: int) -> Sequence[CustomerAddress]:
    """The customer's addresses, billing first, then in the order they were added."""
    query = (
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == customer_id)
        .order_by(CustomerAddress.kind, CustomerAddress.id)
    )
    return db.scalars(query).all()


def delivery_choices(db: Session, customer_ids: Sequence[int]) -> dict[int, list[CustomerAddress]]:
    """The active delivery addresses of each of the customers, the default first."""
    query = (
        select(CustomerAddress)
        .where(
            CustomerAddress.customer_id.in_(customer_ids),
            CustomerAddress.kind == AddressKind.DELIVERY,
            CustomerAddress.is_active.is_(True),
        )
        .order_by(CustomerAddress.is_default.desc(), CustomerAddress.id)
    )
    found: dict[int, list[CustomerAddress]] = {customer_id: [] for customer_id in customer_ids}
    for address in db.scalars(query):
        found[address.customer_id].append(address)
    return found


def get_address(db: Session, customer_id: int, address_id: int) -> CustomerAddress:
    """The address ``address_id`` of the customer, or a 404 (another customer's too)."""
    address = db.get(CustomerAddress, address_id)
    if address is None or address.customer_id != customer_id:
        raise NotFoundError(f"Address {address_id} does not exist.")
    return address


def default_address(db: Session, customer_id: int, kind: AddressKind) -> CustomerAddress | None:
    """The customer's active default address of ``kind``, if it has one."""
    query = select(CustomerAddress).where(
        CustomerAddress.customer_id == customer_id,
        CustomerAddress.kind == kind,
        CustomerAddress.is_default.is_(True),
        CustomerAddress.is_active.is_(True),
    )
    return db.scalar(query)


def add_address(
    db: Session, actor: Actor, customer: Customer, values: Mapping[str, Any]
) -> CustomerAddress:
    """Add an address; the first active one of its kind, or one asked to be, is the default."""
    kind = AddressKind(values["kind"])
    fields = {key: value for key, value in values.items() if key != "is_default"}
    wanted = bool(values.get("is_default")) or default_address(db, customer.id, kind) is None
    if wanted:
        _unset_default(db, customer.id, kind)
    address = CustomerAddress(**fields, customer_id=customer.id, is_default=wanted, is_active=True)
    db.add(address)
    db.flush()
    audit.record(
        db,
        actor,
        "customer.address_added",
        "customer",
        customer.id,
        address_id=address.id,
        **{key: audit.jsonable(value) for key, value in fields.items()},
        is_default=wanted,
    )
    return address


def update_address(
    db: Session, actor: Actor, address: CustomerAddress, values: Mapping[str, Any]
) -> CustomerAddress:
    """Change an address; making it the default unsets the other one of its kind, and
    deactivating it (is_active false) also takes away its being the default."""
    values = dict(values)
    active = values.get("is_active", address.is_active)
    if not active:
        if values.get("is_default"):
            raise InvalidRequestError(
                "An inactive address cannot be the default.", field="is_default"
            )
        values["is_default"] = False
    changes = audit.changes(address, values)
    if changes.get("is_default", {}).get("after"):
        _unset_default(db, address.customer_id, address.kind)
    for key in changes:
        setattr(address, key, values[key])
    if changes:
        db.flush()
        audit.record(
            db,
            actor,
            "customer.address_updated",
            "customer",
            address.customer_id,
            address_id=address.id,
            changes=changes,
        )
    return address


def delivery_address(
    db: Session, customer_id: int, address_id: int | None
) -> CustomerAddress | None:
    """Where an order of the customer goes: the address named (an active delivery address of
    the customer, else a 422), or the customer's default one (None when it has none)."""
    if address_id is None:
        return default_address(db, customer_id, AddressKind.DELIVERY)
    address = db.get(CustomerAddress, address_id)
    found = None if address is None else (address.customer_id, address.kind, address.is_active)
    check_delivery(address_id, customer_id, found)
    return address


def check_delivery(address_id: int, customer_id: int, found: tuple[int, str, bool] | None) -> None:
    """A 422 unless the address ``found`` (its customer, kind and whether active; None: no
    such address) is an active delivery address of the customer."""
    if found is None or found[0] != customer_id:
        raise InvalidRequestError(
            f"Address {address_id} is not an address of this customer.", field=DELIVERY_FIELD
        )
    _, kind, is_active = found
    if kind != AddressKind.DELIVERY:
        raise InvalidRequestError(
            f"Address {address_id} is a billing address; choose a delivery address.",
            field=DELIVERY_FIELD,
        )
    if not is_active:
        raise InvalidRequestError(
            f"Address {address_id} is no longer in use; choose an active delivery address.",
            field=DELIVERY_FIELD,
        )


def _unset_default(db: Session, customer_id: int, kind: AddressKind) -> None:
    """No address of ``kind`` of the customer is the default any more (before another is)."""
    db.execute(
        update(CustomerAddress)
        .where(
            CustomerAddress.customer_id == customer_id,
            CustomerAddress.kind == kind,
            CustomerAddress.is_default.is_(True),
        )
        .values(is_default=False, updated_at=utcnow())
    )


def printed(address: CustomerAddress) -> str:
    """An address as a document prints it, line by line, the country by its name."""
    lines = [
        address.recipient,
        *address.street.splitlines(),
        f"{address.postal_code} {address.city}".strip(),
        formatting.country(address.country),
    ]
    return "\n".join(line.strip() for line in lines if line.strip())
