"""Payments against invoices, where each invoice stands, and what customers owe by age."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models.billing import Invoice, InvoiceStatus, Payment
from app.services import audit, credit_notes
from app.services.audit import Actor

ZERO = Decimal(0)
# Receivables by days past due: the upper bound of each band (None: no bound).
AGEING = (("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90), ("90+", None))


@dataclass(frozen=True)
class PaymentDraft:
    """Money received: when, how much, and the bank's reference."""

    paid_on: date
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class Standing:
    """What has been paid and credited of an invoice, what is left, and so its status."""

    paid: Decimal
    credited: Decimal
    outstanding: Decimal
    status: InvoiceStatus


@dataclass(frozen=True)
class Ageing:
    """A customer's outstanding invoices by days past due."""

    customer_id: int
    bands: dict[str, Decimal]
    total: Decimal


def standing(
    invoice: Invoice, paid: Decimal, credited: Decimal = ZERO, today: date | None = None
) -> Standing:
    """The standing of ``invoice`` with ``paid`` received and ``credited`` by credit notes."""
    outstanding = invoice.gross_total - paid - credited
    if outstanding <= 0 and paid == 0:
        status = InvoiceStatus.CREDITED
    elif outstanding <= 0:
        status = InvoiceStatus.PAID
    elif invoice.due_date < (today or clock.today()):
        status = InvoiceStatus.OVERDUE
    elif paid > 0:
        status = InvoiceStatus.PARTLY_PAID
    else:
        status = InvoiceStatus.OPEN
    return Standing(paid, credited, max(outstanding, ZERO), status)


def standings(db: Session, invoices: Sequence[Invoice]) -> dict[int, Standing]:
    """The standing of each invoice named, payments and credits summed in two queries."""
    ids = [invoice.id for invoice in invoices]
    paid = paid_totals(db, ids)
    credited = credit_notes.credited_totals(db, ids)
    return {
        invoice.id: standing(invoice, paid[invoice.id], credited[invoice.id])
        for invoice in invoices
    }


def paid_totals(db: Session, invoice_ids: Sequence[int]) -> dict[int, Decimal]:
    """What has been received against each invoice named, in one query."""
    if not invoice_ids:
        return {}
    query = (
        select(Payment.invoice_id, func.sum(Payment.amount))
        .where(Payment.invoice_id.in_(invoice_ids))
        .group_by(Payment.invoice_id)
    )
    totals = dict.fromkeys(invoice_ids, ZERO)
    for invoice_id, amount in db.execute(query):
        totals[invoice_id] = Decimal(amount)
    return totals


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
    left = standings(db, [invoice])[invoice.id].outstanding
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
    today = today or clock.today()
    paid = (
        select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
        .group_by(Payment.invoice_id)
        .subquery()
    )
    query = (
        select(Invoice.due_date, Invoice.gross_total, func.coalesce(paid.c.paid, 0))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.customer_id == customer_id)
    )
    bands = {name: ZERO for name, _ in AGEING}
    for due_date, gross, received in db.execute(query):
        owed = gross - Decimal(received)
        if owed <= 0:
            continue
        late = (today - due_date).days
        name = next(name for name, upper in AGEING if upper is None or late <= upper)
        bands[name] += owed
    return Ageing(customer_id, bands, sum(bands.values(), ZERO))
