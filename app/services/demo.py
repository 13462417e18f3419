"""A realistic demo data set: dried fruit and nuts, suppliers, warehouses, lots and history."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core import clock
from app.core.database import Base
from app.core.errors import ConflictError, DomainError
from app.models.catalog import Category, Product, Supplier, Warehouse
from app.models.inventory import Lot, LotStatus, StockMovement
from app.models.purchasing import PurchaseOrder
from app.models.sales import SalesOrder
from app.services import alerts, catalog, demo_sales, lots, reports, stock
from app.services.audit import Actor
from app.services.demo_sales import Timeline, moment
from app.services.receiving import DeliveryLine
from app.services.stock import MovementContext

HISTORY_DAYS = 150
SEED = 20240601

# Name, description and VAT rate: dried fruit is food, zero-rated; salted and roasted nuts and
# mixes sold as snacks take the default rate (DEFAULT_VAT_RATE).
CATEGORIES = [
    ("Dates", "Medjool and Deglet Nour dates", Decimal(0)),
    ("Apricots", "Sun-dried and sulphured apricots", Decimal(0)),
    ("Raisins", "Sultanas, Thompson and Flame raisins", Decimal(0)),
    ("Figs", "Smyrna and Calimyrna figs", Decimal(0)),
    ("Prunes", "Agen and California prunes", Decimal(0)),
    ("Berries", "Goji, cranberries, blueberries, mulberries", Decimal(0)),
    ("Tropical", "Mango, pineapple, papaya, banana", Decimal(0)),
    ("Nuts", "Almonds, walnuts, cashews, pistachios, hazelnuts", None),
    ("Mixes", "Trail mixes and fruit-and-nut blends", None),
]

SUPPLIERS = [
    (
        "TOZEUR-DATES",
        "Oasis Dattes de Tozeur",
        "TN",
        "Sami Ben Salah",
        "export@oasis-tozeur.example",
    ),
    ("MALATYA-KURU", "Malatya Kuru Meyve A.S.", "TR", "Elif Yilmaz", "sales@malatya-kuru.example"),
    (
        "VALLEY-HARVEST",
        "Valley Harvest Growers",
        "US",
        "Dana Ortiz",
        "orders@valleyharvest.example",
    ),
    (
        "AGEN-PRUNEAUX",
        "Cooperative des Pruneaux d'Agen",
        "FR",
        "Luc Martin",
        "contact@agen-coop.example",
    ),
    ("BINH-PHUOC", "Binh Phuoc Cashew & Fruit", "VN", "Nguyen Van An", "trade@binhphuoc.example"),
]

WAREHOUSES = [
    ("MAIN", "Central warehouse", "Unit 4, Harbour Road"),
    ("COLD", "Cold store", "Unit 7, Harbour Road"),
]


@dataclass(frozen=True)
class DemoProduct:
    """One catalog line of the demo."""

    sku: str
    name: str
    category: str
    variety: str
    origin: str
    supplier: str
    unit: str
    weight: str
    price: str
    cost: str
    shelf_life: int
    reorder_point: int
    reorder_quantity: int
    organic: bool = False
    grade: str = "A"


def _p(sku: str, name: str, category: str, variety: str, origin: str, supplier: str,
       unit: str, weight: str, price: str, cost: str, shelf_life: int, reorder: int,
       organic: bool = False) -> DemoProduct:  # fmt: skip
    return DemoProduct(
        sku, name, category, variety, origin, supplier, unit, weight, price, cost, shelf_life,
        reorder, reorder * 3, organic,
    )  # fmt: skip


PRODUCTS = [
    _p("DAT-MED-JUM-5KG", "Medjool dates, jumbo, 5 kg box", "Dates", "Medjool", "US", "VALLEY-HARVEST", "pack", "5", "54.00", "38.00", 365, 20),
    _p("DAT-MED-LRG-1KG", "Medjool dates, large, 1 kg", "Dates", "Medjool", "US", "VALLEY-HARVEST", "pack", "1", "12.90", "8.60", 365, 60),
    _p("DAT-DGN-BULK", "Deglet Nour dates, bulk", "Dates", "Deglet Nour", "TN", "TOZEUR-DATES", "kg", "1", "4.80", "2.90", 365, 200),
    _p("DAT-DGN-BRANCH-500", "Deglet Nour dates on the branch, 500 g", "Dates", "Deglet Nour", "TN", "TOZEUR-DATES", "pack", "0.5", "3.90", "2.10", 300, 80),
    _p("DAT-DGN-PITTED-1KG", "Deglet Nour dates, pitted, 1 kg", "Dates", "Deglet Nour", "TN", "TOZEUR-DATES", "pack", "1", "6.40", "3.80", 365, 60),
    _p("APR-TR-BULK", "Turkish apricots, sulphured, bulk", "Apricots", "Hacihaliloglu", "TR", "MALATYA-KURU", "kg", "1", "9.20", "5.70", 540, 150),
    _p("APR-TR-ORG-500", "Turkish apricots, unsulphured, organic, 500 g", "Apricots", "Kabaasi", "TR", "MALATYA-KURU", "pack", "0.5", "6.90", "3.90", 365, 60, True),
    _p("APR-TR-JUMBO-1KG", "Turkish apricots, jumbo No. 1, 1 kg", "Apricots", "Hacihaliloglu", "TR", "MALATYA-KURU", "pack", "1", "13.50", "8.20", 540, 40),
    _p("RAI-SUL-BULK", "Sultana raisins, bulk", "Raisins", "Sultana", "TR", "MALATYA-KURU", "kg", "1", "4.20", "2.40", 540, 250),
    _p("RAI-SUL-500", "Sultana raisins, 500 g", "Raisins", "Sultana", "TR", "MALATYA-KURU", "pack", "0.5", "2.60", "1.30", 540, 100),
    _p("RAI-THO-BULK", "Thompson seedless raisins, bulk", "Raisins", "Thompson Seedless", "US", "VALLEY-HARVEST", "kg", "1", "4.60", "2.70", 540, 200),
    _p("RAI-FLM-1KG", "Flame raisins, 1 kg", "Raisins", "Flame", "US", "VALLEY-HARVEST", "pack", "1", "5.90", "3.40", 540, 50),
    _p("FIG-SMY-BULK", "Smyrna figs, bulk", "Figs", "Sarilop", "TR", "MALATYA-KURU", "kg", "1", "11.80", "7.40", 365, 120),
    _p("FIG-SMY-LERIDA-500", "Smyrna figs, lerida, 500 g", "Figs", "Sarilop", "TR", "MALATYA-KURU", "pack", "0.5", "6.80", "4.10", 365, 60),
    _p("FIG-CAL-1KG", "Calimyrna figs, 1 kg", "Figs", "Calimyrna", "US", "VALLEY-HARVEST", "pack", "1", "14.90", "9.30", 365, 30),
    _p("PRU-AGEN-BULK", "Agen prunes, pitted, bulk", "Prunes", "Prune d'Ente", "FR", "AGEN-PRUNEAUX", "kg", "1", "10.40", "6.50", 540, 120),
    _p("PRU-AGEN-MI-CUIT-250", "Agen prunes, mi-cuit, 250 g", "Prunes", "Prune d'Ente", "FR", "AGEN-PRUNEAUX", "pack", "0.25", "4.50", "2.60", 180, 80),
    _p("PRU-CAL-1KG", "California prunes, 1 kg", "Prunes", "French", "US", "VALLEY-HARVEST", "pack", "1", "8.20", "5.10", 540, 40),
    _p("BER-GOJI-ORG-250", "Goji berries, organic, 250 g", "Berries", "Ningxia", "CN", "VALLEY-HARVEST", "pack", "0.25", "5.40", "2.90", 365, 80, True),
    _p("BER-GOJI-BULK", "Goji berries, bulk", "Berries", "Ningxia", "CN", "VALLEY-HARVEST", "kg", "1", "16.50", "10.20", 365, 40),
    _p("BER-CRAN-BULK", "Sweetened dried cranberries, bulk", "Berries", "Stevens", "US", "VALLEY-HARVEST", "kg", "1", "7.90", "4.60", 365, 150),
    _p("BER-CRAN-500", "Dried cranberries, 500 g", "Berries", "Stevens", "US", "VALLEY-HARVEST", "pack", "0.5", "4.60", "2.50", 365, 80),
    _p("BER-BLUE-250", "Dried wild blueberries, 250 g", "Berries", "Wild lowbush", "US", "VALLEY-HARVEST", "pack", "0.25", "7.20", "4.30", 365, 40),
    _p("BER-MUL-250", "White mulberries, 250 g", "Berries", "White", "TR", "MALATYA-KURU", "pack", "0.25", "4.20", "2.20", 365, 40),
    _p("TRO-MANGO-500", "Dried mango slices, 500 g", "Tropical", "Keo", "VN", "BINH-PHUOC", "pack", "0.5", "7.80", "4.40", 270, 60),
    _p("TRO-MANGO-BULK", "Dried mango slices, bulk", "Tropical", "Keo", "VN", "BINH-PHUOC", "kg", "1", "13.20", "8.10", 270, 60),
    _p("TRO-PINE-500", "Dried pineapple rings, 500 g", "Tropical", "Queen", "VN", "BINH-PHUOC", "pack", "0.5", "6.10", "3.40", 270, 40),
    _p("TRO-BANANA-250", "Banana chips, 250 g", "Tropical", "Cavendish", "VN", "BINH-PHUOC", "pack", "0.25", "2.40", "1.10", 240, 80),
    _p("NUT-ALM-NP-BULK", "Almonds, Nonpareil, bulk", "Nuts", "Nonpareil", "US", "VALLEY-HARVEST", "kg", "1", "11.90", "7.60", 365, 200),
    _p("NUT-ALM-500", "Almonds, whole natural, 500 g", "Nuts", "Nonpareil", "US", "VALLEY-HARVEST", "pack", "0.5", "6.90", "4.10", 365, 120),
    _p("NUT-WAL-HALVES-BULK", "Walnut halves, light, bulk", "Nuts", "Chandler", "US", "VALLEY-HARVEST", "kg", "1", "13.40", "8.70", 270, 100),
    _p("NUT-WAL-GRENOBLE-500", "Grenoble walnuts in shell, 500 g", "Nuts", "Franquette", "FR", "AGEN-PRUNEAUX", "pack", "0.5", "5.20", "3.00", 270, 40),
    _p("NUT-CASH-W320-BULK", "Cashews W320, bulk", "Nuts", "W320", "VN", "BINH-PHUOC", "kg", "1", "14.80", "9.60", 365, 150),
    _p("NUT-CASH-W240-500", "Cashews W240, 500 g", "Nuts", "W240", "VN", "BINH-PHUOC", "pack", "0.5", "9.40", "5.80", 365, 80),
    _p("NUT-PIS-RS-BULK", "Pistachios, roasted and salted, bulk", "Nuts", "Kerman", "US", "VALLEY-HARVEST", "kg", "1", "19.90", "13.10", 365, 100),
    _p("NUT-PIS-RS-250", "Pistachios, roasted and salted, 250 g", "Nuts", "Kerman", "US", "VALLEY-HARVEST", "pack", "0.25", "6.40", "3.80", 365, 100),
    _p("NUT-HAZ-BULK", "Hazelnuts, blanched, bulk", "Nuts", "Giresun", "TR", "MALATYA-KURU", "kg", "1", "12.60", "8.00", 365, 100),
    _p("MIX-TRAIL-CLASSIC-500", "Classic trail mix, 500 g", "Mixes", "Raisin, peanut, almond, cashew", "", "VALLEY-HARVEST", "pack", "0.5", "5.90", "3.20", 240, 100),
    _p("MIX-STUDENT-250", "Student mix, 250 g", "Mixes", "Walnut, hazelnut, raisin", "", "MALATYA-KURU", "pack", "0.25", "3.40", "1.80", 240, 120),
    _p("MIX-TROPICAL-500", "Tropical fruit mix, 500 g", "Mixes", "Mango, pineapple, papaya, coconut", "", "BINH-PHUOC", "pack", "0.5", "6.60", "3.60", 240, 60),
    _p("MIX-BERRY-NUT-ORG-250", "Berry and nut mix, organic, 250 g", "Mixes", "Goji, cranberry, almond", "", "VALLEY-HARVEST", "pack", "0.25", "5.80", "3.20", 240, 60, True),
]  # fmt: skip


@dataclass(frozen=True)
class DemoReport:
    """What the demo loader made."""

    products: int
    lots: int
    movements: int
    customers: int
    sales_orders: int
    purchase_orders: int


def is_empty(db: Session) -> bool:
    """Whether the catalog has no product yet."""
    return not db.scalar(select(func.count()).select_from(Product))


def load(db: Session, actor: Actor, today: date | None = None) -> DemoReport:
    """Fill an empty database with the demo catalog, customers and about five months of trade."""
    if not is_empty(db):
        raise ConflictError("The database already has products; the demo loads into an empty one.")
    today = today or clock.today()
    reports.forget_rolled_up_days(db)  # the history about to be written changes closed days
    rng = random.Random(SEED)
    category_ids = {
        name: catalog.categories.create(
            db, actor, {"name": name, "description": text, "vat_rate": rate}
        ).id
        for name, text, rate in CATEGORIES
    }
    supplier_ids = {
        code: catalog.suppliers.create(
            db, actor,
            {"code": code, "name": name, "country": country, "contact_name": contact,
             "email": email, "phone": "", "address": ""},
        ).id
        for code, name, country, contact, email in SUPPLIERS
    }  # fmt: skip
    warehouse_ids = [
        catalog.warehouses.create(db, actor, {"code": code, "name": name, "address": address}).id
        for code, name, address in WAREHOUSES
    ]
    buyers = demo_sales.make_customers(db, actor, rng, today, HISTORY_DAYS)
    timeline = Timeline()
    demand = []
    for index, item in enumerate(PRODUCTS):
        product = catalog.create_product(db, actor, _product_values(item, category_ids))
        supplier_id = supplier_ids[item.supplier]
        demand.append(
            _history(timeline, db, actor, rng, product, supplier_id, warehouse_ids, today, index)
        )
        _slow_lots(timeline, db, actor, rng, product, supplier_id, warehouse_ids[1], today, index)
    demo_sales.trade(timeline, db, actor, rng, demand, buyers, today, HISTORY_DAYS)
    opened = timeline.first() - timedelta(days=1)  # the catalog predates its first use
    for model, ids in (
        (Category, category_ids.values()),
        (Supplier, supplier_ids.values()),
        (Warehouse, warehouse_ids),
        (Product, [wanted.product.id for wanted in demand]),
    ):
        db.execute(
            update(model).where(model.id.in_(ids)).values(created_at=opened, updated_at=opened)
        )
    timeline.run()
    demo_sales.pipeline(db, actor, rng, demand, buyers, warehouse_ids[0], today)
    alerts.expire_lots(db, actor, today)
    return DemoReport(
        products=len(PRODUCTS),
        lots=_count(db, Lot),
        movements=_count(db, StockMovement),
        customers=len(buyers),
        sales_orders=_count(db, SalesOrder),
        purchase_orders=_count(db, PurchaseOrder),
    )


def _product_values(item: DemoProduct, category_ids: dict[str, int]) -> dict[str, object]:
    return {
        "sku": item.sku,
        "name": item.name,
        "category_id": category_ids[item.category],
        "variety": item.variety,
        "origin_country": item.origin,
        "grade": item.grade,
        "is_organic": item.organic,
        "unit": item.unit,
        "net_weight_kg": Decimal(item.weight),
        "price": Decimal(item.price),
        "standard_cost": Decimal(item.cost),
        "reorder_point": Decimal(item.reorder_point),
        "reorder_quantity": Decimal(item.reorder_quantity),
        "shelf_life_days": item.shelf_life,
        "description": "",
    }


def _history(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    rng: random.Random,
    product: Product,
    supplier_id: int,
    warehouse_ids: list[int],
    today: date,
    index: int,
) -> demo_sales.Demand:
    """Three lots bought over five months, some waste and transfers; the weekly demand."""
    received: list[int] = []
    for number, days_ago in enumerate((HISTORY_DAYS, 95, 40)):
        day = today - timedelta(days=days_ago + rng.randint(0, 6))
        quantity = Decimal(product.reorder_quantity * rng.choice((2, 3, 4)))
        _receive(timeline, db, actor, rng, product, supplier_id, warehouse_ids[0], moment(day, 8),
                 day + timedelta(days=product.shelf_life_days), quantity, f"{index:02d}{number}",
                 received.append)  # fmt: skip
    for days_ago in range(HISTORY_DAYS - 3, 0, -7):
        day = today - timedelta(days=days_ago)
        if rng.random() < 0.08:
            waste = partial(
                stock.waste,
                db,
                _at(actor, day, "", "torn bags found in picking"),
                product_id=product.id,
                warehouse_id=warehouse_ids[0],
                quantity=Decimal(rng.randint(1, 3)),
            )
            timeline.at(moment(day), partial(_from_latest, waste, received))
        if rng.random() < 0.1:
            transfer = partial(
                stock.transfer,
                db,
                _at(actor, day, f"TR-{day:%y%m%d}", "stock the cold store"),
                product_id=product.id,
                from_warehouse_id=warehouse_ids[0],
                to_warehouse_id=warehouse_ids[1],
                quantity=Decimal(rng.randint(5, 15)),
            )
            timeline.at(moment(day), partial(_from_latest, transfer, received))
    pace = Decimal(3) if index % 8 == 5 else Decimal(rng.uniform(0.4, 1.2))  # some run low
    return demo_sales.Demand(product, product.reorder_point * pace)


def _slow_lots(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    rng: random.Random,
    product: Product,
    supplier_id: int,
    warehouse_id: int,
    today: date,
    index: int,
) -> None:
    """Short-dated lots bought in yesterday, and one held in quarantine until it expired."""
    if index % 7 == 0:
        arrival = moment(today - timedelta(days=1), 16)
        best_before = today + timedelta(days=rng.randint(5, 28))
        quantity = Decimal(product.reorder_point)
        _receive(timeline, db, actor, rng, product, supplier_id, warehouse_id, arrival,
                 best_before, quantity, f"{index:02d}S")  # fmt: skip
    if index == 3:
        arrival = moment(today - timedelta(days=product.shelf_life_days + 6), 8)
        hold = partial(_quarantine, db, actor, "moisture above specification, claim with supplier")
        _receive(timeline, db, actor, rng, product, supplier_id, warehouse_id, arrival,
                 today - timedelta(days=6), Decimal(12), f"{index:02d}X", hold)  # fmt: skip


def _receive(
    timeline: Timeline,
    db: Session,
    actor: Actor,
    rng: random.Random,
    product: Product,
    supplier_id: int,
    warehouse_id: int,
    arrival: datetime,
    best_before: date,
    quantity: Decimal,
    suffix: str,
    then: Callable[[int], object] | None = None,
) -> None:
    line = DeliveryLine(
        line_id=0,
        quantity=quantity,
        lot_code=f"{product.sku.split('-')[0]}-{arrival:%y%m%d}-{suffix}",
        best_before=best_before,
        unit_cost=product.standard_cost,
        moisture_pct=Decimal(rng.randint(120, 220)) / 10,
    )
    demo_sales.purchase(
        timeline, db, actor, product, supplier_id, warehouse_id, arrival, line, then
    )


def _quarantine(db: Session, actor: Actor, reason: str, lot_id: int) -> None:
    lots.change_status(db, actor, db.get_one(Lot, lot_id), LotStatus.QUARANTINE, reason)


def _from_latest(action: Callable[..., object], received: list[int]) -> None:
    """Take ``action`` on the latest lot received so far, if it holds the stock."""
    if received:
        _try(partial(action, lot_id=received[-1]))


def _count(db: Session, model: type[Base]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _try(action: Callable[[], object]) -> int:
    try:
        action()
    except DomainError:
        return 0
    return 1


def _at(actor: Actor, day: date, reference: str, reason: str) -> MovementContext:
    return MovementContext(actor=actor, reference=reference, reason=reason, occurred_at=moment(day))
