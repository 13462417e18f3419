"""The demo's customers, purchase orders and sales orders, spread over its history."""

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from itertools import count

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import DomainError
from app.crud import crud_stock
from app.models.billing import Invoice, Payment
from app.models.catalog import Product
from app.models.inventory import Lot, Reservation
from app.models.purchasing import PurchaseOrder
from app.models.sales import (
    AddressKind,
    Customer,
    CustomerType,
    OrderStatus,
    ReturnDisposition,
    SalesOrder,
    VatTreatment,
)
from app.services import (
    addresses,
    credit_notes,
    customers,
    invoicing,
    orders,
    payments,
    purchasing,
    receiving,
    reorder,
    returns,
    shipments,
)
from app.services.audit import Actor
from app.services.credit_notes import CreditLineDraft
from app.services.money import round_cents
from app.services.order_placement import LineDraft, OrderDraft
from app.services.orders import OrderFilter
from app.services.payments import PaymentDraft
from app.services.purchasing import PurchaseDraft, PurchaseLineDraft
from app.services.receiving import Delivery, DeliveryLine
from app.services.returns import ReturnLine
from app.services.shipments import ShipmentDraft

CUSTOMERS = [
    ("Green Basket Grocers", CustomerType.WHOLESALE, 60),
    ("Harbour Health Foods", CustomerType.WHOLESALE, 90),
    ("Nutty Professor Bakery", CustomerType.WHOLESALE, 30),
    ("Sunrise Cafe Chain", CustomerType.WHOLESALE, 45),
    ("Atlas Trail Mix Co.", CustomerType.WHOLESALE, 60),
    ("Corner Deli", CustomerType.RETAIL, 0),
    ("Maison Fruits Secs", CustomerType.RETAIL, 30),
    ("Village Market", CustomerType.RETAIL, 0),
    ("Oak Street Co-op", CustomerType.RETAIL, 14),
    ("Little Pantry", CustomerType.RETAIL, 0),
]
# The terms of the customers in turn: payment days and whether they take partial deliveries.
TERMS = [(30, True), (60, False), (14, False), (45, True), (30, False), (0, False), (7, True)]
# The one customer abroad, invoiced without VAT (the customer accounts for it).
REVERSE_CHARGE = {"Maison Fruits Secs": ("FR40303265045", "FR", "75011", "Paris")}
HOME = ("GB", "Leeds")
CARRIERS = ["DPD", "Royal Mail", "DHL Freight", "Palletways"]


@dataclass(frozen=True)
class Demand:
    """How much of a product the demo's customers buy in a week."""

    product: Product
    weekly: Decimal


class Timeline:
    """Steps of the demo's history, each taken in the order of the moment it is dated."""

    def __init__(self) -> None:
        self._due: list[tuple[datetime, int, Callable[[], object]]] = []
        self._order = count()

    def at(self, when: datetime, step: Callable[[], object]) -> None:
        """Take ``step`` at ``when``, after the steps due earlier or added before it."""
        heapq.heappush(self._due, (when, next(self._order), step))

    def first(self) -> datetime:
        """The moment of the earliest step."""
        return self._due[0][0]

    def run(self) -> None:
        """Take every step, the ones the steps add too."""
        while self._due:
            heapq.heappop(self._due)[2]()


def moment(day: date, hour: int = 10) -> datetime:
    """``day`` at ``hour`` UTC."""
    return datetime.combine(day, time(hour=hour), tzinfo=UTC)


def make_customers(
    db: Session, actor: Actor, rng: random.Random, today: date, history_days: int
) -> list[Customer]:
    """The demo's customers, joined over the history (the first one before it)."""
    made = []
    for number, (name, kind, shelf_life) in enumerate(CUSTOMERS):
        slug = name.lower().replace(" ", "-").replace(".", "").replace("'", "")
        payment_days, partial = TERMS[number % len(TERMS)]
        vat_number, country, postal_code, city = REVERSE_CHARGE.get(
            name, ("", HOME[0], f"LS{number + 1} 4AB", HOME[1])
        )
        treatment = VatTreatment.REVERSE_CHARGE if vat_number else VatTreatment.STANDARD
        customer = customers.create_customer(
            db,
            actor,
            {
                "name": name,
                "customer_type": kind,
                "email": f"orders@{slug}.example",
                "min_shelf_life_days": shelf_life,
                "payment_terms_days": payment_days,
                "partial_delivery": partial,
                "vat_number": vat_number,
                "vat_treatment": treatment,
            },
        )
        place = {"postal_code": postal_code, "city": city, "country": country}
        street = f"{rng.randint(1, 99)} Market Street"
        _address(db, actor, customer, AddressKind.BILLING, "Head office", street, place)
        _address(db, actor, customer, AddressKind.DELIVERY, "Shop", street, place)
        if kind == CustomerType.WHOLESALE and number % 2 == 0:
            dock = f"Unit {number + 3}, Canal Wharf\nGoods in, door 2"
            _address(db, actor, customer, AddressKind.DELIVERY, "Warehouse", dock, place)
        joined = history_days if number == 0 else rng.randint(1, history_days)
        customer.created_at = moment(today - timedelta(days=joined), 9)
        made.append(customer)
    db.flush()
    return made


def _address(
    db: Session,
    actor: Actor,
    customer: Customer,
    kind: AddressKind,
    label: str,
    street: str,
    place: dict[str, str],
) -> None:
    values = {"kind": kind, "label": label, "recipient": customer.name, "street": street}
    addresses.add_address(db, actor, customer, {**values, **place})


def delivery(db: Session, customer_id: int, order_number: int) -> int | None:
    """A delivery address of the customer: its warehouse for every third order, if it has one."""
    choices = addresses.delivery_choices(db, [customer_id])[customer_id]
    if not choices:
        return None
    return (choices[-1] if order_number % 3 == 0 else choices[0]).id


def purchase(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    product: Product,
    supplier_id: int,
    warehouse_id: int,
    arrival: datetime,
    line: DeliveryLine,
    then: Callable[[int], object] | None = None,
) -> None:
    """Order goods a week before ``arrival``, then receive them; ``then`` gets their lot's id."""
    draft = PurchaseDraft(
        supplier_id=supplier_id,
        warehouse_id=warehouse_id,
        lines=[PurchaseLineDraft(product.id, line.quantity, line.unit_cost)],
        expected_date=arrival.date(),
    )
    ordered = moment(arrival.date() - timedelta(days=7))
    timeline.at(ordered, partial(_order, timeline, db, actor, draft, ordered, arrival, line, then))


def _order(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    draft: PurchaseDraft,
    ordered: datetime,
    arrival: datetime,
    line: DeliveryLine,
    then: Callable[[int], object] | None,
) -> None:
    order = purchasing.create_purchase(db, actor, draft, at=ordered)
    purchasing.send(db, actor, order, at=ordered)
    delivery = Delivery(lines=[replace(line, line_id=order.lines[0].id)])
    timeline.at(arrival, partial(_arrive, db, actor, order, delivery, arrival, then))


def _arrive(
    db: Session,
    actor: Actor,
    order: PurchaseOrder,
    delivery: Delivery,
    arrival: datetime,
    then: Callable[[int], object] | None,
) -> None:
    done = receiving.receive(db, actor, order, delivery, at=arrival)
    lot_id = receiving.receipts(db, done)[0].lines[0].lot_id
    db.execute(update(Lot).where(Lot.id == lot_id).values(created_at=arrival))
    if then is not None:
        then(lot_id)


def trade(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    rng: random.Random,
    demand: Sequence[Demand],
    buyers: Sequence[Customer],
    today: date,
    history_days: int,
) -> None:
    """Weekly orders from the customers who have joined, confirmed FEFO, shipped and delivered."""
    for days_ago in range(history_days - 2, 0, -7):  # the last week ends yesterday
        day = today - timedelta(days=days_ago)
        timeline.at(
            moment(day, 9), partial(_week, timeline, db, actor, rng, demand, buyers, day, today)
        )


def _week(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    rng: random.Random,
    demand: Sequence[Demand],
    buyers: Sequence[Customer],
    day: date,
    today: date,
) -> None:
    """One week's orders, each as big as the stock on hand that day allows."""
    joined = [customer for customer in buyers if customer.created_at.date() <= day]
    if not joined:
        return
    baskets: dict[int, list[LineDraft]] = {}
    for item in demand:
        buyer = rng.choice(joined)
        wanted = Decimal(max(1, int(item.weekly * Decimal(rng.uniform(0.6, 1.4)))))
        good_until = _delivery_day(day, buyer.id) + timedelta(days=buyer.min_shelf_life_days)
        quantity = min(
            wanted, _available(db, item.product.id, good_until).to_integral_value(ROUND_FLOOR)
        )
        if quantity > 0:
            baskets.setdefault(buyer.id, []).append(LineDraft(item.product.id, quantity))
    for customer_id, lines in baskets.items():
        draft = OrderDraft(
            customer_id,
            lines,
            delivery_address_id=delivery(db, customer_id, day.toordinal() // 7),
            requested_delivery_date=_delivery_day(day, customer_id),
        )
        _sell(timeline, db, actor, draft, day, today)


def _delivery_day(day: date, customer_id: int) -> date:
    """When a customer ordering on ``day`` wants the goods: the next day or the one after."""
    return day + timedelta(days=1 + customer_id % 2)


def pipeline(
    db: Session,
    actor: Actor,
    rng: random.Random,
    demand: Sequence[Demand],
    buyers: Sequence[Customer],
    warehouse_id: int,
    today: date,
) -> None:
    """Today's open work: pending and confirmed orders, a return, purchase orders on order."""
    for number, customer in enumerate(rng.sample(list(buyers), 3)):
        items = rng.sample(list(demand), 3)
        lines = [LineDraft(item.product.id, max(Decimal(1), item.weekly // 2)) for item in items]
        wanted = OrderDraft(
            customer.id,
            lines,
            delivery_address_id=delivery(db, customer.id, number),
            requested_delivery_date=max(today, clock.today()) + timedelta(days=2 + number),
        )
        placed = orders.create_order(db, actor, wanted)
        if number == 0:
            _try(partial(orders.confirm, db, actor, placed))
    _backorders(db, actor, demand, [buyer for buyer in buyers if buyer.partial_delivery], today)
    delivered, _ = orders.list_orders(
        db, OrderFilter(status=OrderStatus.DELIVERED), offset=0, limit=1
    )
    if delivered:
        order = orders.get_order(db, delivered[0].id)
        back = [ReturnLine(order.lines[0].id, Decimal(1), ReturnDisposition.WASTE)]
        _try(partial(returns.record_return, db, actor, order, back, "crushed in transit"))
    _corrections(db, actor)
    suggested = reorder.suggestions(db, today=today)
    sources = sorted({item.supplier_id for item in suggested if item.supplier_id is not None})
    for number, supplier_id in enumerate(sources[:2]):
        draft = reorder.order_suggestions(
            db, actor, supplier_id=supplier_id, warehouse_id=warehouse_id,
            expected_date=today + timedelta(days=10),
        )  # fmt: skip
        if number == 0:
            purchasing.send(db, actor, draft)


def _corrections(db: Session, actor: Actor) -> None:
    """Two credit notes by hand: an invoice never paid credited in full (goods refused)
    and a discount of 5% granted on the first line of another invoice."""
    never_paid = ~select(Payment.id).where(Payment.invoice_id == Invoice.id).exists()
    unpaid = db.scalar(select(Invoice).where(never_paid).order_by(Invoice.id))
    first = db.scalar(select(Invoice).order_by(Invoice.id))
    if unpaid is None or first is None:
        return
    refused = invoicing.get_invoice(db, unpaid.id)
    whole = [CreditLineDraft(line.id, quantity=line.quantity) for line in refused.lines]
    credit_notes.issue_credit_note(db, actor, refused.id, whole, "Goods refused on delivery")
    line = invoicing.get_invoice(db, first.id).lines[0]
    discount = [CreditLineDraft(line.id, amount=round_cents(line.net / 20))]
    credit_notes.issue_credit_note(db, actor, first.id, discount, "5% discount agreed")


def _backorders(
    db: Session,
    actor: Actor,
    demand: Sequence[Demand],
    buyers: Sequence[Customer],
    today: date,
) -> None:
    """Orders of customers who take partial deliveries for more than there is: one shipped in
    part with the rest waiting (its invoice half paid), one confirmed and waiting for stock
    with what there is on a pick list."""
    for number, customer in enumerate(buyers[:2]):
        item = demand[number]
        delivered_on = max(today, clock.today()) + timedelta(days=3)
        good_until = delivered_on + timedelta(days=customer.min_shelf_life_days)
        have = _available(db, item.product.id, good_until)
        wanted = (have + max(Decimal(1), item.weekly)).to_integral_value(ROUND_FLOOR)
        draft = OrderDraft(
            customer.id,
            [LineDraft(item.product.id, wanted)],
            delivery_address_id=delivery(db, customer.id, number),
            requested_delivery_date=delivered_on,
        )
        order = orders.create_order(db, actor, draft)
        if not _try(partial(orders.confirm, db, actor, order)) or have < 1:
            continue
        if number == 0:
            invoice = _ship(db, actor, orders.get_order(db, order.id))
            half = (invoice.gross_total / 2).quantize(Decimal("0.01"))
            if half > 0:
                part = PaymentDraft(invoice.issue_date, half, f"BACS {invoice.number}/1")
                payments.record_payment(db, actor, invoice.id, part)
        else:
            picking = ShipmentDraft(carrier=CARRIERS[0], pick_first=True)
            shipments.ship(db, actor, orders.get_order(db, order.id), picking)


def _available(db: Session, product_id: int, good_until: date) -> Decimal:
    """What FEFO could still reserve of a product for a buyer's shelf-life demand."""
    levels = crud_stock.allocatable_levels(db, product_id=product_id, good_until=good_until)
    return sum((level.on_hand - level.reserved for level in levels), Decimal(0))


def _sell(
    timeline: Timeline, db: Session, actor: Actor, draft: OrderDraft, day: date, today: date
) -> None:
    order = orders.create_order(db, actor, draft, at=moment(day, 9))
    if not _try(partial(orders.confirm, db, actor, order, at=moment(day, 10))):
        orders.cancel(db, actor, order, "not enough stock", at=moment(day, 11))
        return
    _date_reservations(db, order, created_at=moment(day, 10))
    timeline.at(moment(day, 14), partial(_ship_and_deliver, timeline, db, actor, order, day, today))


def _ship(db: Session, actor: Actor, order: SalesOrder, at: datetime | None = None) -> Invoice:
    """Ship what the order holds, with a carrier and a tracking reference, and invoice it."""
    carrier = CARRIERS[order.id % len(CARRIERS)]
    tracking = f"{carrier[:3].upper()}{order.id * 7919 % 10**8:08d}"
    draft = ShipmentDraft(carrier=carrier, tracking_reference=tracking)
    shipment = shipments.ship(db, actor, order, draft, at=at)
    return invoicing.invoice_shipment(db, actor, shipment.id, at=at)


def _ship_and_deliver(
    timeline: Timeline, db: Session, actor: Actor, order: SalesOrder, day: date, today: date
) -> None:
    invoice = _ship(db, actor, order, at=moment(day, 14))
    _settle(timeline, db, actor, invoice, today)
    _date_reservations(db, order, closed_at=moment(day, 14))
    delivered = moment(day + timedelta(days=2), 12)
    if delivered.date() < today:
        timeline.at(delivered, partial(orders.deliver, db, actor, order, at=delivered))


def _settle(timeline: Timeline, db: Session, actor: Actor, invoice: Invoice, today: date) -> None:
    """Most customers pay by the due date; every seventh invoice is paid in two parts, and
    every eleventh is never paid (overdue once its due date passes)."""
    if invoice.id % 11 == 0:
        return
    parts = [invoice.gross_total]
    if invoice.id % 7 == 0:
        half = (invoice.gross_total / 2).quantize(Decimal("0.01"))
        parts = [half, invoice.gross_total - half]
    for number, amount in enumerate(parts):
        paid_on = invoice.issue_date + timedelta(days=min(invoice.id % 9 + 7 * number, 20))
        if paid_on >= today or amount <= 0:
            return
        draft = PaymentDraft(paid_on, amount, f"BACS {invoice.number}/{number + 1}")
        when = moment(paid_on, 11)
        timeline.at(when, partial(payments.record_payment, db, actor, invoice.id, draft, when))


def _date_reservations(db: Session, order: SalesOrder, **moments: datetime) -> None:
    """Date the reservations of the order's lines when the order was confirmed or shipped."""
    references = [line.reference(order.number or "") for line in order.lines]
    db.execute(update(Reservation).where(Reservation.reference.in_(references)).values(**moments))


def _try(action: Callable[[], object]) -> bool:
    try:
        action()
    except DomainError:
        return False
    return True
