"""Shared setup for the stock and lot API tests: catalog records made through the services,
goods received through the API, reservations, and snapshots of everything stock writes."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.core.formatting import day
from app.models.audit import AuditLog
from app.models.catalog import UnitOfMeasure
from app.models.inventory import (
    IdempotencyRecord,
    Lot,
    LotDocument,
    LotStatus,
    StockLevel,
    StockMovement,
)
from app.schemas.catalog import CategoryCreate
from app.services import allocation, catalog, lots, stock
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.stock import MovementContext
from tests.support import factories
from tests.support.problems import assert_problem

API = "/api/v1"
STOCK = f"{API}/stock"
LOTS = f"{API}/lots"
RECEIPTS = f"{STOCK}/receipts"
ADJUSTMENTS = f"{STOCK}/adjustments"
TRANSFERS = f"{STOCK}/transfers"
WASTE = f"{STOCK}/waste"
COUNTS = f"{STOCK}/counts"
LEVELS = f"{STOCK}/levels"
MOVEMENTS = f"{STOCK}/movements"
PACK_WEIGHT = Decimal("0.5")
SHELF_LIFE_DAYS = 180
SETUP_ACTOR = Actor(user_id=None, label="stock-tests")


# --------------------------------------------------------------------------- catalog


def make_category(name: str = "Dates") -> int:
    """A committed active category; its id."""
    with SessionLocal() as db:
        item = catalog.categories.create(db, SETUP_ACTOR, CategoryCreate(name=name).model_dump())
        db.commit()
        return item.id


def make_product(
    sku: str,
    *,
    unit: UnitOfMeasure = UnitOfMeasure.KG,
    net_weight_kg: Decimal = Decimal(1),
    shelf_life_days: int = SHELF_LIFE_DAYS,
    active: bool = True,
    standard_cost: Decimal = Decimal("2.5000"),
    grade: str = "A",
) -> int:
    """A committed product without a list price (inactive when asked); its id."""
    return factories.create_product(
        sku=sku,
        price=None,
        unit=unit,
        net_weight_kg=net_weight_kg,
        shelf_life_days=shelf_life_days,
        active=active,
        standard_cost=standard_cost,
        grade=grade,
    )


def make_warehouse(code: str, *, active: bool = True) -> int:
    """A committed warehouse (inactive when asked); its id."""
    return factories.create_warehouse(code=code, active=active)


def make_supplier(code: str, *, active: bool = True) -> int:
    """A committed supplier (inactive when asked); its id."""
    return factories.create_supplier(code=code, active=active)


@dataclass(frozen=True)
class World:
    """A small catalog: a kg product, a pack product of 0.5 kg, two warehouses, a supplier."""

    kg_product: int
    pack_product: int
    main: int
    spare: int
    supplier: int


def make_world() -> World:
    """Create the small catalog every stock test starts from."""
    return World(
        kg_product=make_product("DATE-MEDJOOL"),
        pack_product=make_product(
            "APRICOT-500G", unit=UnitOfMeasure.PACK, net_weight_kg=PACK_WEIGHT
        ),
        main=make_warehouse("MAIN"),
        spare=make_warehouse("SPARE"),
        supplier=make_supplier("SUNNY"),
    )


# --------------------------------------------------------------------------- stock


def receipt_body(
    product_id: int, warehouse_id: int, lot_code: str, quantity: str = "10", **extra: Any
) -> dict[str, Any]:
    """The JSON body of a receipt."""
    return {
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "lot_code": lot_code,
        "quantity": quantity,
        **extra,
    }


def receive(
    client: TestClient,
    headers: dict[str, str],
    product_id: int,
    warehouse_id: int,
    lot_code: str,
    quantity: str = "10",
    **extra: Any,
) -> dict[str, Any]:
    """Receive goods through the API; the one movement written."""
    body = receipt_body(product_id, warehouse_id, lot_code, quantity, **extra)
    response = client.post(RECEIPTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    movements = response.json()["movements"]
    assert len(movements) == 1
    return dict(movements[0])


def get_levels(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every stock level the API lists for ``params``."""
    response = client.get(LEVELS, params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def level_of(
    client: TestClient, headers: dict[str, str], lot_id: int, warehouse_id: int
) -> dict[str, Any] | None:
    """The level of a lot in a warehouse as the API shows it (empty levels included)."""
    rows = get_levels(
        client, headers, lot_id=lot_id, warehouse_id=warehouse_id, include_empty="true"
    )
    assert len(rows) <= 1
    return rows[0] if rows else None


def on_hand(client: TestClient, headers: dict[str, str], lot_id: int, warehouse_id: int) -> Decimal:
    """On-hand of a lot in a warehouse (0 when it has no level)."""
    level = level_of(client, headers, lot_id, warehouse_id)
    return Decimal(level["on_hand"]) if level is not None else Decimal(0)


def get_movements(
    client: TestClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every ledger row the API lists for ``params``, newest first."""
    response = client.get(MOVEMENTS, params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def reserve(product_id: int, quantity: str, reference: str, warehouse_id: int) -> None:
    """Reserve stock FEFO through the allocation service, committed."""
    with SessionLocal() as db:
        request = AllocationRequest(
            product_id=product_id,
            quantity=Decimal(quantity),
            reference=reference,
            warehouse_id=warehouse_id,
        )
        allocation.reserve(db, request)
        db.commit()


def set_lot_dates(lot_id: int, received: date, best_before: date) -> None:
    """Move a lot's dates (for expiry tests), committed."""
    with SessionLocal() as db:
        lot = db.get(Lot, lot_id)
        assert lot is not None
        lot.received_date = received
        lot.best_before = best_before
        db.commit()


def ledger_sums() -> dict[tuple[int, int, int], Decimal]:
    """Sum of the ledger per (product, warehouse, lot), read from the database."""
    with SessionLocal() as db:
        query = select(
            StockMovement.product_id,
            StockMovement.warehouse_id,
            StockMovement.lot_id,
            func.sum(StockMovement.quantity),
        ).group_by(StockMovement.product_id, StockMovement.warehouse_id, StockMovement.lot_id)
        return {(p, w, lot): Decimal(str(total)) for p, w, lot, total in db.execute(query).all()}


def level_rows() -> dict[tuple[int, int, int], tuple[Decimal, Decimal]]:
    """(on_hand, reserved) per (product, warehouse, lot), read from the database."""
    with SessionLocal() as db:
        rows = db.scalars(select(StockLevel)).all()
        return {
            (row.product_id, row.warehouse_id, row.lot_id): (
                Decimal(str(row.on_hand)),
                Decimal(str(row.reserved)),
            )
            for row in rows
        }


def assert_projection_matches_ledger() -> None:
    """The levels projection holds exactly what the ledger sums to, per lot and warehouse."""
    ledger = {key: total for key, total in ledger_sums().items() if total != 0}
    levels = {key: held for key, (held, _) in level_rows().items() if held != 0}
    assert levels == ledger


@dataclass(frozen=True)
class Snapshot:
    """Everything a stock request may write, counted."""

    movements: int
    levels: dict[tuple[int, int, int], tuple[Decimal, Decimal]]
    lots: int
    idempotency_keys: int
    documents: int
    audit_rows: int


def snapshot() -> Snapshot:
    """What the stock tables hold right now."""

    def count(model: Any) -> int:
        with SessionLocal() as db:
            return int(db.scalar(select(func.count()).select_from(model)) or 0)

    return Snapshot(
        movements=count(StockMovement),
        levels=level_rows(),
        lots=count(Lot),
        idempotency_keys=count(IdempotencyRecord),
        documents=count(LotDocument),
        audit_rows=count(AuditLog),
    )


def lot_id_of(product_id: int, lot_code: str) -> int:
    """The id of a product's lot by its code."""
    with SessionLocal() as db:
        query = select(Lot.id).where(Lot.product_id == product_id, Lot.lot_code == lot_code)
        lot_id = db.scalar(query)
        assert lot_id is not None
        return lot_id


# --------------------------------------------------------------------------- stocked scene


@dataclass(frozen=True)
class Stocked:
    """The small catalog with stock: 100 kg of KG-LOT-1 and 20 packs of PACK-LOT-1 in MAIN,
    plus an inactive warehouse, product and supplier."""

    world: World
    kg_lot: int
    pack_lot: int
    closed_warehouse: int
    retired_product: int
    retired_supplier: int


KG_STOCK = Decimal(100)
PACK_STOCK = Decimal(20)


def make_stocked(client: TestClient, headers: dict[str, str]) -> Stocked:
    """Create the stocked scene through the services and the receipts API."""
    world = make_world()
    kg = receive(client, headers, world.kg_product, world.main, "KG-LOT-1", str(KG_STOCK))
    pack = receive(client, headers, world.pack_product, world.main, "PACK-LOT-1", str(PACK_STOCK))
    return Stocked(
        world=world,
        kg_lot=kg["lot_id"],
        pack_lot=pack["lot_id"],
        closed_warehouse=make_warehouse("CLOSED", active=False),
        retired_product=make_product("FIG-RETIRED", active=False),
        retired_supplier=make_supplier("GONE", active=False),
    )


def assert_refused(
    client: TestClient,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    *,
    slug: str | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """POST ``body`` to ``path``: a problem of ``status``, and nothing written at all."""
    before = snapshot()
    problem = assert_problem(client.post(path, json=body, headers=headers), status, slug, field)
    assert snapshot() == before
    return problem


# --------------------------------------------------------------------------- shelves for pages


@dataclass(frozen=True)
class Shelves:
    """A product with three lots, in order of best-before: GONE-1 (emptied), EARLY-1 (10 kg in
    MAIN, 2 of them reserved) and LATE-1 (40 kg in MAIN, 5 kg in COLD); the ISO best-before
    dates by code (GONE, EARLY, LATE)."""

    product: int
    main: int
    cold: int
    gone: int
    early: int
    late: int
    dates: dict[str, str]

    def shown(self, code: str) -> str:
        """The best-before date of lot ``code`` as the pages show it."""
        return day(date.fromisoformat(self.dates[code]))


def make_shelves() -> Shelves:
    """Create the shelves through the stock service, committed."""
    product, main, cold = make_product("DATE"), make_warehouse("MAIN"), make_warehouse("COLD")
    days = {"GONE": 60, "EARLY": 90, "LATE": 300}
    dates = {code: date.today() + timedelta(days=ahead) for code, ahead in days.items()}

    def lot(code: str, warehouse: int, quantity: str) -> int:
        return factories.create_lot(
            product_id=product,
            warehouse_id=warehouse,
            lot_code=f"{code}-1",
            quantity=quantity,
            best_before=dates[code],
        )

    late = lot("LATE", main, "40")
    lot("LATE", cold, "5")
    early, gone = lot("EARLY", main, "10"), lot("GONE", main, "3")
    with SessionLocal() as db:
        context = MovementContext(actor=SETUP_ACTOR, reason="spoiled")
        stock.waste(
            db, context, product_id=product, lot_id=gone, warehouse_id=main, quantity=Decimal(3)
        )
        db.commit()
    reserve(product, "2", "HOLD-1", main)
    iso = {code: day.isoformat() for code, day in dates.items()}
    return Shelves(product, main, cold, gone, early, late, iso)


def set_lot_status(lot_id: int, status: LotStatus) -> None:
    """Change a lot's status through the lot service."""
    with SessionLocal() as db:
        lots.change_status(db, SETUP_ACTOR, lots.get_lot(db, lot_id), status, "test")
        db.commit()
