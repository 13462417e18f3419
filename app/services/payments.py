"""Payments against invoices, where each invoice stands, and what customers owe by age."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models.billing import CreditNote, Invoice, InvoiceStatus, Payment
from app.models.catalog import MONEY
from app.models.sales import Customer
from app.services import audit, customers
from app.services.audit import Actor

ZERO = Decimal(0)
# Receivables by days past due: the upper bound of each band (None: no bound).
AGEING = (("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90), ("90+", None))
BANDS = tuple(name for name, _ in AGEING)


@dataclass(frozen=True)
class PaymentDraft:
    """Money received: when, how much, and the bank's reference."""

    paid_on: date
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class Balance:
    """An invoice, what has been received and credited against it and what it still owes."""

    invoice: Invoice
    paid: Decimal
    credited: Decimal
    owed: Decimal


@dataclass(frozen=True)
class Standing:
    """What has been paid and credited of an invoice, what is left, and so its status."""

    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    status: InvoiceStatus


@dataclass(frozen=True)
class Ageing:
    """A customer's outstanding invoices on a day, by days past due, most overdue first."""

    customer_id: int
    customer_name: str
    on: date
    bands: dict[str, Decimal]
    total: Decimal
    invoices: tuple[Balance, ...]


@dataclass(frozen=True)
class Receivables:
    """What customers owe on a day: each one owing anything, most owed first, and the total
    of each band."""

    on: date
    customers: list[Ageing]
    bands: dict[str, Decimal]
    total: Decimal


def balances(
    db: Session,
    *,
    customer_id: int | None = None,
    invoice_ids: Sequence[int] | None = None,
    unpaid: bool = False,
) -> list[Balance]:
    """Invoices (of ``customer_id``, or those of ``invoice_ids``, or all) with what has been
    received and credited against each and what each still owes (gross less both), in one
    query; with ``unpaid``, only those still owing. Oldest due first."""
    received = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.invoice_id == Invoice.id)
        .scalar_subquery()
    )
    notes = (
        select(func.coalesce(func.sum(CreditNote.gross_total), 0))
        .where(CreditNote.invoice_id == Invoice.id)
        .scalar_subquery()
    )
    paid = type_coerce(received, MONEY)
    credited = type_coerce(notes, MONEY)
    owed = type_coerce(Invoice.gross_total - paid - credited, MONEY)
    query = select(Invoice, paid, credited, owed).order_by(Invoice.due_date, Invoice.id)
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    if invoice_ids is not None:
        query = query.where(Invoice.id.in_(invoice_ids))
    if unpaid:
        query = query.where(owed > 0)
    return [Balance(*row) for row in db.execute(query)]


def standing(balance: Balance, today: date | None = None) -> Standing:
    """The standing of an invoice with its ``balance``, on ``today``."""
    paid, owed, invoice = balance.paid, balance.owed, balance.invoice
    if owed <= 0 and paid == 0:
        status = InvoiceStatus.CREDITED
    elif owed <= 0:
        status = InvoiceStatus.PAID
    elif invoice.due_date < (today or clock.today()):
        status = InvoiceStatus.OVERDUE
    elif paid > 0:
        status = InvoiceStatus.PARTLY_PAID
    else:
        status = InvoiceStatus.OPEN
    return Standing(paid, balance.credited, max(owed, ZERO), status)


def days_late(due_date: date, today: date) -> int:
    """Days past ``due_date`` on ``today``; none before it."""
    return max((today - due_date).days, 0)


def record_payment(
    db: Session, actor: Actor, invoice_id: int, draft: PaymentDraft, at: datetime | None = None
) -> Payment:
    """Record money received against an invoice; more than it still owes is refused."""
    invoice = db.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise NotFoundError(f"Invoice {invoice_id} does not exist.")
    if draft.amount <= 0:
        raise InvalidRequestError("A payment needs a positive amount.", field="amount")
    if draft.paid_on > clock.today(at):
        raise InvalidRequestError(
            f"A payment cannot be dated after today ({clock.today(at)}).", field="paid_on"
        )
    if draft.paid_on < invoice.issue_date:
        raise InvalidRequestError(
            f"Invoice {invoice.number} was issued on {invoice.issue_date}; a payment of it "
            "cannot come before.",
            field="paid_on",
        )
    [balance] = balances(db, invoice_ids=[invoice.id])
    left = standing(balance).outstanding
    if draft.amount > left:
        raise ConflictError(
            f"Invoice {invoice.number} has {left} {invoice.currency} left to pay; "
            f"{draft.amount} is more.",
            outstanding=str(left),
        )
    payment = Payment(
        invoice_id=invoice.id,
        paid_on=draft.paid_on,
        amount=draft.amount,
        reference=draft.reference,
        created_by=actor.user_id,
    )
    if at is not None:
        payment.created_at = at
    db.add(payment)
    db.flush()
    audit.record(
        db,
        actor,
        "invoice.paid",
        "invoice",
        invoice.id,
        number=invoice.number,
        amount=str(draft.amount),
        paid_on=str(draft.paid_on),
        reference=draft.reference,
    )
    return payment


def invoice_payments(db: Session, invoice_id: int) -> Sequence[Payment]:
    """The payments of an invoice, oldest first."""
    query = select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)
    return db.scalars(query).all()


def receivables(db: Session, customer_id: int, today: date | None = None) -> Ageing:
    """What a customer owes, by days past due: current, 1-30, 31-60, 61-90 and 90+."""
    customer = customers.get_customer(db, customer_id)
    owing = balances(db, customer_id=customer.id, unpaid=True)
    return _aged(customer.id, customer.name, owing, today or clock.today())


def receivables_by_customer(db: Session, today: date | None = None) -> Receivables:
    """What every customer owing anything owes, by days past due, most owed first, with the
    total of each band."""
    today = today or clock.today()
    owing: dict[int, list[Balance]] = defaultdict(list)
    for balance in balances(db, unpaid=True):
        owing[balance.invoice.customer_id].append(balance)
    query = select(Customer.id, Customer.name).where(Customer.id.in_(list(owing)))
    names = dict(db.execute(query).all())
    aged = [_aged(id_, names[id_], rows, today) for id_, rows in owing.items()]
    aged.sort(key=lambda ageing: (-ageing.total, ageing.customer_name, ageing.customer_id))
    bands = {name: sum((ageing.bands[name] for ageing in aged), ZERO) for name in BANDS}
    return Receivables(today, aged, bands, sum(bands.values(), ZERO))


def band(due_date: date, today: date) -> str:
    """The ageing band of an invoice due on ``due_date``, on ``today``."""
    late = (today - due_date).days
    return next(name for name, upper in AGEING if upper is None or late <= upper)


def _aged(customer_id: int, name: str, owing: Sequence[Balance], today: date) -> Ageing:
    bands = dict.fromkeys(BANDS, ZERO)
    for balance in owing:
        bands[band(balance.invoice.due_date, today)] += balance.owed
    total = sum(bands.values(), ZERO)
    return Ageing(customer_id, name, today, bands, total, tuple(owing))
