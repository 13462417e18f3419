"""Credit notes: money given back against one invoice, for goods returned or a correction by
hand, under their own gapless number; an invoice line is never credited beyond what it billed."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from app.core import clock
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.crud.crud_billing import credit_note_crud
from app.models.billing import CreditNote, CreditNoteLine, CreditReason, Invoice, InvoiceLine
from app.models.sales import SalesReturn, ShipmentLine
from app.schemas.billing import CreditNoteCsvRow
from app.services import audit, numbering
from app.services.audit import Actor
from app.services.invoicing import vat_amount
from app.services.money import line_total

CREDIT_NOTE_PREFIX = "CN"
ZERO = Decimal(0)


@dataclass(frozen=True)
class CreditLineDraft:
    """What to credit of one invoice line: a quantity at its price, or an amount (net)."""

    invoice_line_id: int
    quantity: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class CreditFilter:
    """Which credit notes a listing shows."""

    customer_id: int | None = None
    invoice_id: int | None = None
    since: date | None = None
    until: date | None = None
    search: str | None = None


@dataclass
class _Credited:
    """What an invoice line has been credited so far."""

    quantity: Decimal = ZERO
    net: Decimal = ZERO


def issue_credit_note(
    db: Session,
    actor: Actor,
    invoice_id: int,
    drafts: Sequence[CreditLineDraft],
    reason: str,
    at: datetime | None = None,
) -> CreditNote:
    """Credit lines of an invoice by hand, with the reason; more than a line billed is refused."""
    if not reason.strip():
        raise InvalidRequestError("A credit note needs a reason.", field="reason")
    if not drafts:
        raise InvalidRequestError("A credit note needs at least one line.", field="lines")
    invoice = _lock(db, [invoice_id])[0]
    by_id = {line.id: line for line in invoice.lines}
    credited = _credited(db, list(by_id))
    lines = []
    for index, draft in enumerate(drafts):
        line = by_id.get(draft.invoice_line_id)
        if line is None:
            raise InvalidRequestError(
                f"Invoice {invoice.number} has no line {draft.invoice_line_id}.",
                field=f"lines[{index}].invoice_line_id",
            )
        if (draft.quantity is None) == (draft.amount is None):
            raise InvalidRequestError(
                f"Line {line.line_no}: credit either a quantity or an amount.",
                field=f"lines[{index}].amount",
            )
        credit = _credit_line(line, credited[line.id], draft, index)
        if credit is not None:
            lines.append(credit)
    return _issue(db, actor, invoice, lines, CreditReason.ADJUSTMENT, reason, at)


def credit_returns(
    db: Session, actor: Actor, entries: Sequence[SalesReturn], reason: str
) -> list[CreditNote]:
    """Credit what came back of invoiced goods: one credit note per invoice the lots were
    billed on, latest invoice first; what was not invoiced yet is not credited."""
    billed = _billed(db, entries)
    if not billed:
        return []
    invoices = {invoice.id: invoice for invoice in _lock(db, sorted({i for i, _, _ in billed}))}
    lines = {line.id: line for invoice in invoices.values() for line in invoice.lines}
    credited = _credited(db, list(lines))
    drafts: dict[int, list[CreditNoteLine]] = {}
    for entry in entries:
        wanted = entry.quantity
        for invoice_id, line_id, lot_quantity in billed:
            line = lines[line_id]
            if wanted <= 0 or line.order_line_id != entry.line_id:
                continue
            room = line.quantity - credited[line_id].quantity
            take = min(wanted, lot_quantity.get(entry.lot_id, ZERO), room)
            if take <= 0:
                continue
            credit = _credit_line(line, credited[line_id], CreditLineDraft(line_id, take))
            if credit is None:
                continue
            credit.return_id = entry.id
            drafts.setdefault(invoice_id, []).append(credit)
            lot_quantity[entry.lot_id] -= take
            wanted -= take
    return [
        _issue(db, actor, invoices[invoice_id], lines_, CreditReason.RETURN, reason, None)
        for invoice_id, lines_ in sorted(drafts.items(), reverse=True)
    ]


def get_credit_note(db: Session, credit_note_id: int, customer_id: int | None = None) -> CreditNote:
    """A credit note with its lines and the invoice it refers to; a customer only sees its
    own (others are a 404)."""
    query = (
        select(CreditNote)
        .options(
            selectinload(CreditNote.lines).selectinload(CreditNoteLine.invoice_line),
            selectinload(CreditNote.invoice),
        )
        .where(CreditNote.id == credit_note_id)
    )
    note = db.scalar(query)
    if note is None or customer_id not in (None, note.customer_id):
        raise NotFoundError(f"Credit note {credit_note_id} does not exist.")
    return note


def list_credit_notes(
    db: Session, where: CreditFilter, *, offset: int, limit: int
) -> tuple[Sequence[CreditNote], int]:
    """A page of credit notes, newest first."""
    return credit_note_crud.page(
        db,
        offset=offset,
        limit=limit,
        search=where.search,
        where=_conditions(where),
        query=select(CreditNote).join(Invoice).options(contains_eager(CreditNote.invoice)),
        order_by=[CreditNote.issue_date.desc(), CreditNote.id.desc()],
    )


def export_rows(db: Session, where: CreditFilter) -> list[CreditNoteCsvRow]:
    """One row per credited line of the credit notes ``where`` names, oldest first."""
    query = (
        select(CreditNote, CreditNoteLine, Invoice, InvoiceLine)
        .join(CreditNoteLine, CreditNoteLine.credit_note_id == CreditNote.id)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .join(InvoiceLine, InvoiceLine.id == CreditNoteLine.invoice_line_id)
        .where(*_conditions(where))
        .order_by(CreditNote.issue_date, CreditNote.id, CreditNoteLine.line_no)
    )
    return [
        CreditNoteCsvRow(
            credit_note=note.number,
            issue_date=note.issue_date,
            invoice=invoice.number,
            customer=invoice.customer_name,
            customer_vat_number=invoice.customer_vat_number,
            kind=note.kind,
            reason=note.reason,
            currency=note.currency,
            line_no=line.line_no,
            sku=billed.sku,
            description=billed.description,
            quantity=line.quantity,
            unit=billed.unit,
            unit_price=billed.unit_price,
            net=line.net,
            vat_rate=line.vat_rate,
            vat=line.vat,
            gross=line.gross,
        )
        for note, line, invoice, billed in db.execute(query)
    ]


def by_invoice(db: Session, invoice_ids: Sequence[int]) -> dict[int, list[CreditNote]]:
    """The credit notes of each invoice named, oldest first, in one query."""
    found: dict[int, list[CreditNote]] = {invoice_id: [] for invoice_id in invoice_ids}
    if not invoice_ids:
        return found
    query = select(CreditNote).where(CreditNote.invoice_id.in_(invoice_ids)).order_by(CreditNote.id)
    for note in db.scalars(query):
        found[note.invoice_id].append(note)
    return found


def _conditions(where: CreditFilter) -> list[ColumnElement[bool]]:
    """What ``where`` asks of a credit note, as conditions of a query."""
    conditions = []
    if where.customer_id is not None:
        conditions.append(CreditNote.customer_id == where.customer_id)
    if where.invoice_id is not None:
        conditions.append(CreditNote.invoice_id == where.invoice_id)
    if where.since is not None:
        conditions.append(CreditNote.issue_date >= where.since)
    if where.until is not None:
        conditions.append(CreditNote.issue_date < where.until)
    return conditions


def _issue(
    db: Session,
    actor: Actor,
    invoice: Invoice,
    lines: list[CreditNoteLine],
    kind: CreditReason,
    reason: str,
    at: datetime | None,
) -> CreditNote:
    issue_date = max(clock.today(at), invoice.issue_date)
    for number, line in enumerate(lines, start=1):
        line.line_no = number
    note = CreditNote(
        invoice=invoice,
        customer_id=invoice.customer_id,
        issue_date=issue_date,
        currency=invoice.currency,
        kind=kind,
        reason=reason.strip(),
        net_total=sum((line.net for line in lines), ZERO),
        vat_total=sum((line.vat for line in lines), ZERO),
        gross_total=sum((line.gross for line in lines), ZERO),
        created_by=actor.user_id,
        lines=lines,
    )
    if at is not None:
        note.created_at = at
    note.number = numbering.document_number(db, CREDIT_NOTE_PREFIX, issue_date.year)
    db.add(note)
    db.flush()
    audit.record(
        db,
        actor,
        "credit_note.issued",
        "credit_note",
        note.id,
        number=note.number,
        invoice=invoice.number,
        kind=kind,
        reason=note.reason,
        gross_total=str(note.gross_total),
    )
    return note


def _credit_line(
    line: InvoiceLine, credited: _Credited, draft: CreditLineDraft, index: int | None = None
) -> CreditNoteLine | None:
    """A credit of ``line`` after what it was credited before; the running totals move on.

    Asked by hand (``index`` given) more than is left is refused; a return credits at most
    what is left, and nothing (None) when the line was credited in full already.
    """
    field = f"lines[{index}].{'quantity' if draft.quantity is not None else 'amount'}"
    if draft.quantity is not None:
        if draft.quantity <= 0:
            raise InvalidRequestError(
                f"Line {line.line_no}: a credited quantity must be positive.", field=field
            )
        left = line.quantity - credited.quantity
        if draft.quantity > left:
            raise ConflictError(
                f"Line {line.line_no} ({line.sku}) has {left} {line.unit} left to credit; "
                f"{draft.quantity} is more.",
                field=field,
            )
        before = line_total(credited.quantity, line.unit_price)
        net = line_total(credited.quantity + draft.quantity, line.unit_price) - before
        if net == 0 and index is not None:
            raise InvalidRequestError(
                f"Line {line.line_no}: {draft.quantity} {line.unit} at {line.unit_price} "
                "is worth less than a cent; credit more, or an amount.",
                field=field,
            )
    else:
        net = draft.amount or ZERO
        if net <= 0:
            raise InvalidRequestError(
                f"Line {line.line_no}: a credited amount must be positive.", field=field
            )
    left_net = line.net - credited.net
    if index is None:
        net = min(net, left_net)
        if net <= 0:
            return None
    elif net > left_net:
        raise ConflictError(
            f"Line {line.line_no} ({line.sku}) has {left_net} left to credit; {net} is more.",
            field=field,
        )
    vat = vat_amount(credited.net + net, line.vat_rate) - vat_amount(credited.net, line.vat_rate)
    credited.quantity += draft.quantity or ZERO
    credited.net += net
    return CreditNoteLine(
        invoice_line_id=line.id,
        invoice_line=line,
        quantity=draft.quantity,
        net=net,
        vat_rate=line.vat_rate,
        vat=vat,
        gross=net + vat,
    )


def _lock(db: Session, invoice_ids: Sequence[int]) -> list[Invoice]:
    """The invoices named with their lines, their rows held so that credits never race."""
    query = (
        select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.id.in_(invoice_ids))
        .order_by(Invoice.id)
        .with_for_update(of=Invoice)
    )
    found = db.scalars(query).all()
    if len(found) != len(invoice_ids):
        raise NotFoundError(f"Invoice {invoice_ids[0]} does not exist.")
    return list(found)


def _credited(db: Session, line_ids: Sequence[int]) -> dict[int, _Credited]:
    """What each invoice line named has been credited so far."""
    credited = {line_id: _Credited() for line_id in line_ids}
    query = (
        select(
            CreditNoteLine.invoice_line_id,
            func.sum(CreditNoteLine.quantity),
            func.sum(CreditNoteLine.net),
        )
        .where(CreditNoteLine.invoice_line_id.in_(line_ids))
        .group_by(CreditNoteLine.invoice_line_id)
    )
    for line_id, quantity, net in db.execute(query):
        credited[line_id] = _Credited(Decimal(quantity or 0), Decimal(net or 0))
    return credited


def _billed(
    db: Session, entries: Sequence[SalesReturn]
) -> list[tuple[int, int, dict[int, Decimal]]]:
    """For the order lines returned: each invoice line that billed them, latest invoice
    first, with the quantity of each lot its shipment carried."""
    line_ids = {entry.line_id for entry in entries}
    query = (
        select(
            Invoice.id,
            InvoiceLine.id,
            ShipmentLine.lot_id,
            func.sum(ShipmentLine.quantity),
        )
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .join(
            ShipmentLine,
            (ShipmentLine.shipment_id == Invoice.shipment_id)
            & (ShipmentLine.order_line_id == InvoiceLine.order_line_id),
        )
        .where(InvoiceLine.order_line_id.in_(line_ids))
        .group_by(Invoice.id, InvoiceLine.id, ShipmentLine.lot_id)
        .order_by(Invoice.id.desc(), InvoiceLine.id)
    )
    billed: dict[tuple[int, int], dict[int, Decimal]] = {}
    for invoice_id, line_id, lot_id, quantity in db.execute(query):
        billed.setdefault((invoice_id, line_id), {})[lot_id] = Decimal(quantity)
    return [(invoice_id, line_id, lots) for (invoice_id, line_id), lots in billed.items()]
