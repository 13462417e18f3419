"""Property: over random order lines (quantity, unit price, the VAT rate of each product's
category) and customers of every VAT treatment, an invoice's lines and totals are what a
plain Decimal calculation finds, rounding half up to the cent on each line.

Each example works on its own uniquely named records, through the services, so the database
needs no cleaning between examples.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app.core.config import get_settings
from app.core.database import session_scope
from app.models.sales import VatTreatment
from app.services import catalog, credit_notes, customers, invoicing, orders, shipments
from app.services.audit import Actor
from app.services.credit_notes import CreditLineDraft
from app.services.order_placement import LineDraft, OrderDraft
from tests.support import factories
from tests.support.invoices import to_cent

ACTOR = Actor(user_id=None, label="invoice property tests")


@dataclass(frozen=True)
class Line:
    """An order line to invoice: quantity (kg), unit price and its category's VAT rate (None:
    a category without one, so DEFAULT_VAT_RATE)."""

    quantity: Decimal
    unit_price: Decimal
    rate: Decimal | None


RATES = st.sampled_from(
    [None, *(Decimal(rate) for rate in ("0", "5", "5.5", "7", "8.25", "10", "20", "21"))]
)
LINE = st.builds(
    Line,
    quantity=st.integers(min_value=1, max_value=99_999).map(lambda n: Decimal(n) / 1000),
    unit_price=st.integers(min_value=0, max_value=999_999).map(lambda n: Decimal(n) / 100),
    rate=RATES,
)
TREATMENT = st.sampled_from(list(VatTreatment))


def expected(lines: list[Line], treatment: VatTreatment) -> list[tuple[Decimal, ...]]:
    """(net, VAT rate, VAT, gross) of each line, worked out here."""
    default = get_settings().DEFAULT_VAT_RATE
    found = []
    for line in lines:
        rate = line.rate if line.rate is not None else default
        if treatment != VatTreatment.STANDARD:
            rate = Decimal(0)
        net = to_cent(line.quantity * line.unit_price)
        vat = to_cent(net * rate / 100)
        found.append((net, rate, vat, net + vat))
    return found


def invoice_of(lines: list[Line], treatment: VatTreatment, terms: int) -> int:
    """A customer of ``treatment`` orders ``lines`` (a product of its own for each, in a
    category at the line's rate), the order ships whole and is invoiced; the invoice id."""
    tag = uuid.uuid4().hex[:10]
    warehouse = factories.create_warehouse()
    drafts = []
    for number, line in enumerate(lines):
        with session_scope() as db:
            category = catalog.categories.create(
                db, ACTOR, {"name": f"Cat {tag} {number}", "description": "", "vat_rate": line.rate}
            ).id
        product = factories.create_product(sku=f"P-{tag}-{number}", category_id=category)
        factories.create_lot(product_id=product, warehouse_id=warehouse, quantity="100")
        drafts.append(LineDraft(product, line.quantity, line.unit_price))
    with session_scope() as db:
        customer = customers.create_customer(
            db,
            ACTOR,
            {"name": f"Customer {tag}", "vat_treatment": treatment, "payment_terms_days": terms},
        )
        order = orders.create_order(
            db, ACTOR, OrderDraft(customer.id, drafts, warehouse_id=warehouse)
        )
        order = orders.confirm(db, ACTOR, order)
        shipment = shipments.ship(db, ACTOR, order)
        return invoicing.invoice_shipment(db, ACTOR, shipment.id).id


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@example(  # 3 x 0.335 kg at 3.00: 1.01 and 0.20 a line; 0.61 if rounded once on the total
    lines=[Line(Decimal("0.335"), Decimal("3.00"), None)] * 3,
    treatment=VatTreatment.STANDARD,
    terms=30,
)
@example(  # 0.105 of VAT on a net of 1.50 at 7% is half a cent: up to 0.11
    lines=[Line(Decimal("1.5"), Decimal("1.00"), Decimal(7))],
    treatment=VatTreatment.STANDARD,
    terms=0,
)
@given(
    lines=st.lists(LINE, min_size=1, max_size=5),
    treatment=TREATMENT,
    terms=st.integers(min_value=0, max_value=365),
)
def test_invoice_totals_are_the_sums_of_lines_rounded_half_up_each(
    lines: list[Line], treatment: VatTreatment, terms: int
) -> None:
    invoice_id = invoice_of(lines, treatment, terms)

    with session_scope() as db:
        invoice = invoicing.get_invoice(db, invoice_id)
        got = [(line.net, line.vat_rate, line.vat, line.gross) for line in invoice.lines]
        sums = (invoice.net_total, invoice.vat_total, invoice.gross_total)
        dates = (invoice.issue_date, invoice.due_date)
        stored_treatment = invoice.vat_treatment
        notes = invoice.vat_note

    wanted = expected(lines, treatment)
    assert got == wanted
    assert sums == (
        sum((w[0] for w in wanted), Decimal(0)),
        sum((w[2] for w in wanted), Decimal(0)),
        sum((w[3] for w in wanted), Decimal(0)),
    )
    assert sums[2] == sums[0] + sums[1]
    assert dates[1] == dates[0] + timedelta(days=terms)
    assert stored_treatment == treatment
    assert (notes == "") == (treatment == VatTreatment.STANDARD)


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@example(  # 2.5 kg at 1.99 and 7%: 4.98 and 0.35; halves credited 2.49 + 0.17, 2.49 + 0.18
    line=Line(Decimal("2.5"), Decimal("1.99"), Decimal(7)), cuts=[Decimal("1.25")]
)
@given(
    line=LINE,
    cuts=st.lists(st.integers(min_value=1, max_value=99_998).map(lambda n: Decimal(n) / 1000)),
)
def test_a_line_credited_in_parts_gives_back_exactly_its_net_and_vat(
    line: Line, cuts: list[Decimal]
) -> None:
    assume(to_cent(line.quantity * line.unit_price) > 0)
    invoice_id = invoice_of([line], VatTreatment.STANDARD, 30)
    parts = worthy_parts(line, cuts)

    with session_scope() as db:
        billed = invoicing.get_invoice(db, invoice_id).lines[0]
        credited = []
        for part in parts:
            draft = [CreditLineDraft(billed.id, quantity=part)]
            note = credit_notes.issue_credit_note(db, ACTOR, invoice_id, draft, "Back")
            credited.append((note.net_total, note.vat_total))
        net, vat = billed.net, billed.vat

    assert sum(n for n, _ in credited) == net
    assert sum(v for _, v in credited) == vat
    running = Decimal(0)
    for (credit_net, _), part in zip(credited, parts, strict=True):
        worth = to_cent((running + part) * line.unit_price) - to_cent(running * line.unit_price)
        assert credit_net == worth
        running += part


def worthy_parts(line: Line, cuts: list[Decimal]) -> list[Decimal]:
    """The line's quantity cut at ``cuts``, a part worth nothing at its price joined to the
    next (the last to the one before), so each part credits at least a cent."""
    points = sorted({cut for cut in cuts if cut < line.quantity})
    bounds = zip([Decimal(0), *points], [*points, line.quantity], strict=True)
    parts: list[Decimal] = []
    running = pending = Decimal(0)
    for start, end in bounds:
        pending += end - start
        if to_cent((running + pending) * line.unit_price) > to_cent(running * line.unit_price):
            parts.append(pending)
            running += pending
            pending = Decimal(0)
    if pending:
        parts[-1] += pending
    return parts
