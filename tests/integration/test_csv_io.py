"""``dfims import`` and ``dfims export``, and GET /api/v1/exports/{dataset}.csv."""

import csv
import io
import re
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope
from app.models.audit import AuditLog
from app.models.catalog import Category, Product, Supplier, UnitOfMeasure, Warehouse
from app.models.inventory import Lot, StockLevel, StockMovement
from app.models.user import Role
from app.schemas.catalog import ProductCreate, SupplierCreate
from app.services import catalog, stock
from app.services.audit import Actor
from app.services.stock import MovementContext, ReceiptLine
from tests.conftest import AuthHeaders
from tests.support.servers import error_lines, run_dfims
from tests.support.stock import make_category, make_warehouse

ACTOR = Actor(user_id=None, label="csv-tests")
EXPORTS = "/api/v1/exports"
TODAY = date.today()

PRODUCT_HEADER = [
    "sku", "name", "category", "variety", "origin_country", "grade", "is_organic", "unit",
    "net_weight_kg", "price", "standard_cost", "reorder_point", "reorder_quantity",
    "shelf_life_days", "description",
]  # fmt: skip
SUPPLIER_HEADER = ["code", "name", "country", "contact_name", "email", "phone", "address"]
STOCK_HEADER = [
    "sku", "warehouse", "lot_code", "best_before", "lot_status", "unit", "on_hand", "reserved",
    "available", "on_hand_kg",
]  # fmt: skip
SUMMARY = re.compile(r"^Imported (\w+): (\d+) created, (\d+) updated\.$")


# -- setup through the services ----------------------------------------------------------------


def make_product(
    sku: str,
    *,
    name: str | None = None,
    unit: UnitOfMeasure = UnitOfMeasure.KG,
    net_weight_kg: str = "1",
    category_id: int | None = None,
    **extra: Any,
) -> int:
    values = ProductCreate(
        sku=sku,
        name=name or f"Product {sku}",
        unit=unit,
        net_weight_kg=Decimal(net_weight_kg),
        category_id=category_id,
        **extra,
    ).model_dump()
    with session_scope() as db:
        return catalog.create_product(db, ACTOR, values).id


def make_supplier(code: str, *, name: str | None = None, **extra: Any) -> int:
    with session_scope() as db:
        values = SupplierCreate(code=code, name=name or f"Supplier {code}", **extra).model_dump()
        values["email"] = values["email"] or ""
        return catalog.suppliers.create(db, ACTOR, values).id


def receive(product_id: int, warehouse_id: int, lot_code: str, quantity: str) -> int:
    line = ReceiptLine(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_code=lot_code,
        quantity=Decimal(quantity),
        best_before=TODAY + timedelta(days=120),
    )
    with session_scope() as db:
        return stock.receive(db, MovementContext(actor=ACTOR, reference="PO-1"), line).lot_id


@dataclass(frozen=True)
class Catalog:
    """Dates (kg) and apricot packs of 0.5 kg, warehouses MAIN and COLD, supplier SUN."""

    dates: int
    apricots: int
    main: int
    cold: int
    sun: int


def make_catalog() -> Catalog:
    dried = make_category("Dried fruit")
    return Catalog(
        dates=make_product(
            "DAT-1",
            name="Deglet Nour dates",
            category_id=dried,
            price=Decimal("4.80"),
            standard_cost=Decimal("2.9"),
            shelf_life_days=300,
        ),
        apricots=make_product(
            "APR-500",
            name="Apricots, 500 g",
            unit=UnitOfMeasure.PACK,
            net_weight_kg="0.5",
            category_id=dried,
            standard_cost=Decimal("1.75"),
            is_organic=True,
        ),
        main=make_warehouse("MAIN"),
        cold=make_warehouse("COLD"),
        sun=make_supplier("SUN", country="TR"),
    )


# -- reading the database ----------------------------------------------------------------------

COUNTED = {
    "products": Product,
    "categories": Category,
    "suppliers": Supplier,
    "warehouses": Warehouse,
    "lots": Lot,
    "movements": StockMovement,
    "levels": StockLevel,
    "audit": AuditLog,
}


def counts() -> dict[str, int]:
    with session_scope() as db:
        return {
            name: int(db.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in COUNTED.items()
        }


def product(sku: str) -> Product:
    with session_scope() as db:
        item = db.scalar(select(Product).where(Product.sku == sku))
        assert item is not None, sku
        return item


def category_names() -> dict[int, str]:
    with session_scope() as db:
        return {item.id: item.name for item in db.scalars(select(Category)).all()}


def supplier(code: str) -> Supplier:
    with session_scope() as db:
        item = db.scalar(select(Supplier).where(Supplier.code == code))
        assert item is not None, code
        return item


def lots_by_code() -> dict[str, Lot]:
    with session_scope() as db:
        return {lot.lot_code: lot for lot in db.scalars(select(Lot)).all()}


def receipts() -> list[tuple[int, int, Decimal, str, str]]:
    """(lot_id, warehouse_id, quantity, kind, reference) of every ledger row."""
    with session_scope() as db:
        rows = db.scalars(select(StockMovement).order_by(StockMovement.id)).all()
        return [(r.lot_id, r.warehouse_id, r.quantity, r.kind, r.reference) for r in rows]


def audit_actions(action: str) -> int:
    with session_scope() as db:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
        return int(db.scalar(query) or 0)


# -- running the commands ----------------------------------------------------------------------


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert error_lines(result) == []
    return result.stdout


def import_ok(env: dict[str, str], kind: str, path: Path) -> tuple[int, int]:
    """Import ``path``; the (created, updated) counts it printed."""
    lines = assert_ok(run_dfims(env, "import", kind, str(path))).splitlines()
    summaries = [SUMMARY.match(line.strip()) for line in lines]
    found = [match for match in summaries if match]
    assert len(found) == 1, lines
    assert found[0].group(1) == kind
    return int(found[0].group(2)), int(found[0].group(3))


def import_fails(env: dict[str, str], kind: str, path: Path) -> list[str]:
    """Import ``path``, which must fail with one ``error:`` line; the row problems printed."""
    result = run_dfims(env, "import", kind, str(path))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0]
    return lines[:-1]


def export(env: dict[str, str], dataset: str) -> str:
    return assert_ok(run_dfims(env, "export", dataset))


def parse(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# -- import products ---------------------------------------------------------------------------


def test_import_products_creates_then_updates_by_sku(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    nuts = make_category("Nuts")
    first = write(
        tmp_path,
        "products.csv",
        "sku,name,category,unit,net_weight_kg,price,standard_cost,reorder_point,"
        "reorder_quantity,shelf_life_days,is_organic,origin_country,variety\n"
        "DAT-1,Deglet Nour dates,Dates,kg,1,4.80,2.90,100,300,365,false,tn,Deglet Nour\n"
        'DAT-2,"Medjool dates, 1 kg",Dates,pack,1,12.90,8.60,60,180,300,true,US,Medjool\n'
        "ALM-1,Almonds,Nuts,kg,,11.90,7.60,,,,,,\n"
        "MIX-1,Trail mix,,pack,0.5,5.90,3.20,10,20,240,false,,\n",
    )

    assert import_ok(test_env, "products", first) == (4, 0)

    names = category_names()
    assert sorted(names.values()) == ["Dates", "Nuts"]  # Dates created, Nuts found by name
    dates = product("DAT-1")
    assert dates.name == "Deglet Nour dates"
    assert names[dates.category_id or 0] == "Dates"
    assert dates.unit == "kg"
    assert dates.price == Decimal("4.80")
    assert dates.standard_cost == Decimal("2.9")
    assert dates.reorder_point == 100
    assert dates.reorder_quantity == 300
    assert dates.origin_country == "TN"
    assert dates.variety == "Deglet Nour"
    assert dates.is_organic is False
    medjool = product("DAT-2")
    assert medjool.name == "Medjool dates, 1 kg"
    assert medjool.category_id == dates.category_id
    assert medjool.unit == "pack"
    assert medjool.is_organic is True
    assert medjool.shelf_life_days == 300
    almonds = product("ALM-1")
    assert almonds.category_id == nuts
    assert almonds.net_weight_kg == 1
    assert almonds.reorder_point == 0
    assert almonds.shelf_life_days == 365  # blank cells take the defaults
    mix = product("MIX-1")
    assert mix.category_id is None
    assert mix.net_weight_kg == Decimal("0.5")

    changed = write(
        tmp_path,
        "products-2.csv",
        "sku,name,category,price,reorder_point\n"
        "DAT-1,Deglet Nour dates (new crop),Dates,5.20,120\n"
        "dat-2,Medjool dates 1 kg,Dates,13.50,60\n"
        "ALM-1,Almonds,Figs,11.90,0\n"
        "FIG-1,Smyrna figs,Figs,9.00,15\n",
    )

    assert import_ok(test_env, "products", changed) == (1, 3)

    assert counts()["products"] == 5
    assert sorted(category_names().values()) == ["Dates", "Figs", "Nuts"]
    dates = product("DAT-1")
    assert dates.name == "Deglet Nour dates (new crop)"
    assert dates.price == Decimal("5.20")
    assert dates.reorder_point == 120
    assert product("DAT-2").name == "Medjool dates 1 kg"
    assert product("DAT-2").price == Decimal("13.50")
    assert category_names()[product("ALM-1").category_id or 0] == "Figs"
    assert product("FIG-1").category_id == product("ALM-1").category_id


def test_update_keeps_the_columns_the_file_does_not_have(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    scene = make_catalog()
    receive(scene.apricots, scene.main, "A-1", "10")  # a pack product holding stock
    with session_scope() as db:
        item = db.get(Product, scene.dates)
        assert item is not None
        catalog.update_product(
            db,
            ACTOR,
            item,
            {"variety": "Deglet Nour", "reorder_point": Decimal(50), "origin_country": "TN"},
        )
    before = {sku: product(sku) for sku in ("DAT-1", "APR-500")}
    path = write(
        tmp_path, "prices.csv", "sku,name,price\nDAT-1,Dates,5.10\nAPR-500,Apricots,3.30\n"
    )

    assert import_ok(test_env, "products", path) == (0, 2)

    kept = [
        "category_id", "variety", "origin_country", "is_organic", "unit", "net_weight_kg",
        "standard_cost", "reorder_point", "reorder_quantity", "shelf_life_days",
    ]  # fmt: skip
    for sku, price in {"DAT-1": Decimal("5.10"), "APR-500": Decimal("3.30")}.items():
        new, old = product(sku), before[sku]
        assert new.price == price
        assert {c: getattr(new, c) for c in kept} == {c: getattr(old, c) for c in kept}


def test_supplier_update_keeps_the_columns_the_file_does_not_have(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    make_supplier(
        "SUN", country="TR", contact_name="Elif", email="elif@sun.example", address="Malatya"
    )
    path = write(tmp_path, "names.csv", "code,name\nSUN,Sun Dried Fruit\n")

    assert import_ok(test_env, "suppliers", path) == (0, 1)

    sun = supplier("SUN")
    assert sun.name == "Sun Dried Fruit"
    assert (sun.country, sun.contact_name, sun.email, sun.address) == (
        "TR",
        "Elif",
        "elif@sun.example",
        "Malatya",
    )


def test_import_products_file_with_bom(test_env: dict[str, str], tmp_path: Path) -> None:
    path = write(
        tmp_path, "bom.csv", "\ufeffsku,name,price\r\nBOM-1,With a byte order mark,3.50\r\n"
    )

    assert import_ok(test_env, "products", path) == (1, 0)

    assert product("BOM-1").name == "With a byte order mark"
    assert product("BOM-1").price == Decimal("3.50")


# -- import suppliers --------------------------------------------------------------------------


def test_import_suppliers_creates_then_updates_by_code(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "suppliers.csv",
        "code,name,country,contact_name,email,phone,address\n"
        "TOZEUR,Oasis Dattes de Tozeur,TN,Sami,export@tozeur.example,+216 1,Tozeur\n"
        'malatya,"Malatya Kuru, A.S.",tr,,,,\n',
    )

    assert import_ok(test_env, "suppliers", first) == (2, 0)

    tozeur = supplier("TOZEUR")
    assert tozeur.name == "Oasis Dattes de Tozeur"
    assert tozeur.country == "TN"
    assert tozeur.contact_name == "Sami"
    assert tozeur.email == "export@tozeur.example"
    assert tozeur.phone == "+216 1"
    malatya = supplier("MALATYA")
    assert malatya.name == "Malatya Kuru, A.S."
    assert malatya.country == "TR"
    assert malatya.email == ""

    second = write(
        tmp_path,
        "suppliers-2.csv",
        "code,name,email\n"
        "MALATYA,Malatya Kuru Meyve,sales@malatya.example\n"
        "AGEN,Pruneaux d'Agen,\n",
    )

    assert import_ok(test_env, "suppliers", second) == (1, 1)

    assert counts()["suppliers"] == 3
    assert supplier("MALATYA").name == "Malatya Kuru Meyve"
    assert supplier("MALATYA").email == "sales@malatya.example"
    assert supplier("MALATYA").id == malatya.id
    assert supplier("AGEN").name == "Pruneaux d'Agen"


# -- import stock ------------------------------------------------------------------------------


def test_import_stock_creates_lots_and_receipts(test_env: dict[str, str], tmp_path: Path) -> None:
    scene = make_catalog()
    received = TODAY - timedelta(days=20)
    best_before = TODAY + timedelta(days=200)
    path = write(
        tmp_path,
        "stock.csv",
        "sku,warehouse,lot_code,quantity,received_date,best_before,supplier,unit_cost,"
        "moisture_pct,grade,reference\n"
        "DAT-1,MAIN,D-001,120.5,,,,,,,\n"
        f"APR-500,MAIN,A-001,40,{received},{best_before},SUN,1.80,18.5,Jumbo,INV-77\n"
        f"APR-500,COLD,A-001,10,{received},{best_before},SUN,,,,\n",
    )

    assert import_ok(test_env, "stock", path) == (3, 0)

    found = lots_by_code()
    assert sorted(found) == ["A-001", "D-001"]
    dates_lot = found["D-001"]
    assert dates_lot.product_id == scene.dates
    assert dates_lot.received_date == TODAY
    assert dates_lot.best_before == TODAY + timedelta(days=300)  # the product's shelf life
    assert dates_lot.unit_cost == Decimal("2.9")  # the product's standard cost
    assert dates_lot.supplier_id is None
    apricot_lot = found["A-001"]
    assert apricot_lot.product_id == scene.apricots
    assert apricot_lot.received_date == received
    assert apricot_lot.best_before == best_before
    assert apricot_lot.supplier_id == scene.sun
    assert apricot_lot.unit_cost == Decimal("1.8")
    assert apricot_lot.moisture_pct == Decimal("18.5")
    assert apricot_lot.grade == "Jumbo"
    assert receipts() == [
        (dates_lot.id, scene.main, Decimal("120.5"), "receipt", "OPENING-STOCK"),
        (apricot_lot.id, scene.main, Decimal(40), "receipt", "INV-77"),
        (apricot_lot.id, scene.cold, Decimal(10), "receipt", "OPENING-STOCK"),
    ]
    with session_scope() as db:
        held = {
            (row.lot_id, row.warehouse_id): row.on_hand
            for row in db.scalars(select(StockLevel)).all()
        }
    assert held == {
        (dates_lot.id, scene.main): Decimal("120.5"),
        (apricot_lot.id, scene.main): Decimal(40),
        (apricot_lot.id, scene.cold): Decimal(10),
    }


# -- broken files: nothing is imported ---------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    """A file that must be refused, and the row problems it must report, in order."""

    kind: str
    content: str | bytes
    problems: list[tuple[str, str]]  # (line prefix, text the message contains)


GOOD_STOCK = "sku,warehouse,lot_code,quantity\nDAT-1,MAIN,NEW-LOT,5\n"

BROKEN = {
    "missing required column": Broken(
        "products", "sku,price\nNEW-1,4.00\n", [("line 1:", "missing column(s) name")]
    ),
    "missing stock column": Broken(
        "stock", "sku,warehouse,quantity\nDAT-1,MAIN,5\n", [("line 1:", "lot_code")]
    ),
    "unknown column": Broken(
        "products", "sku,name,colour\nNEW-1,New,red\n", [("line 1:", "unknown column(s) colour")]
    ),
    "bad number": Broken(
        "products", "sku,name,price\nNEW-1,New,4.00\nNEW-2,Newer,twelve\n", [("line 3:", "price")]
    ),
    "pack quantity not whole": Broken(
        "stock",
        "sku,warehouse,lot_code,quantity\nDAT-1,MAIN,NEW-LOT,5\nAPR-500,MAIN,A-9,2.5\n",
        [("line 3:", "not a whole number")],
    ),
    "unknown sku": Broken(
        "stock", "sku,warehouse,lot_code,quantity\nNOPE,MAIN,L-1,5\n", [("line 2:", "NOPE")]
    ),
    "unknown warehouse": Broken(
        "stock",
        "sku,warehouse,lot_code,quantity\nDAT-1,MAIN,NEW-LOT,5\nDAT-1,ATTIC,L-2,5\n",
        [("line 3:", "ATTIC")],
    ),
    "unknown supplier": Broken(
        "stock",
        "sku,warehouse,lot_code,quantity,supplier\nDAT-1,MAIN,L-1,5,NOBODY\n",
        [("line 2:", "NOBODY")],
    ),
    "more values than columns": Broken(
        "products",
        "sku,name,price\nNEW-1,New,4.00\nNEW-2,Newer,4.00,extra\n",
        [("line 3:", "more values than columns")],
    ),
    "good row then bad row": Broken(
        "products",
        "sku,name,category,shelf_life_days\nNEW-1,New,Brand new category,200\nNEW-2,Newer,,0\n",
        [("line 3:", "shelf_life_days")],
    ),
    "good stock row then bad stock row": Broken(
        "stock", GOOD_STOCK + "DAT-1,MAIN,L-2,-3\n", [("line 3:", "quantity")]
    ),
    "every bad row reported": Broken(
        "products",
        "sku,name,price\nNEW-1,,4.00\nNEW-2,Fine,4.00\nNEW-3,Bad,x\nNEW-4,Bad,-1\n"
        "NEW-5,Also fine,1\n",
        [("line 2:", "name"), ("line 4:", "price"), ("line 5:", "price")],
    ),
    "bad supplier email": Broken(
        "suppliers", "code,name,email\nNEWSUP,New supplier,not-an-email\n", [("line 2:", "email")]
    ),
}


@pytest.mark.parametrize("case", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_file_imports_nothing(
    test_env: dict[str, str], tmp_path: Path, case: Broken
) -> None:
    make_catalog()
    path = write(tmp_path, f"{case.kind}.csv", case.content)
    before = counts()

    problems = import_fails(test_env, case.kind, path)

    assert len(problems) == len(case.problems), problems
    for line, (prefix, text) in zip(problems, case.problems, strict=True):
        assert line.startswith(prefix + " "), problems
        assert text in line, problems
    assert counts() == before


def test_every_row_error_is_reported_alongside_too_many_values(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    make_catalog()
    path = write(
        tmp_path,
        "products.csv",
        "sku,name,price\nNEW-1,New,x\nNEW-2,Newer,4.00,extra\nNEW-3,Newest,y\n",
    )
    before = counts()

    problems = import_fails(test_env, "products", path)

    assert [line.split(":")[0] for line in problems] == ["line 2", "line 3", "line 4"], problems
    assert counts() == before


def test_non_utf8_file_imports_nothing(test_env: dict[str, str], tmp_path: Path) -> None:
    make_catalog()
    path = write(tmp_path, "latin1.csv", "sku,name\nABR-1,Abricots séchés\n".encode("latin-1"))
    before = counts()

    result = run_dfims(test_env, "import", "products", str(path))

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "UTF-8" in lines[0]
    assert counts() == before


# -- export ------------------------------------------------------------------------------------


def make_exportable() -> Catalog:
    scene = make_catalog()
    make_supplier(
        "ZEST", name="Zest & Co", country="FR", email="hello@zest.example", address="1 Rue"
    )
    receive(scene.dates, scene.main, "D-1", "25.5")
    receive(scene.apricots, scene.cold, "A-1", "12")
    gone = receive(scene.apricots, scene.main, "A-2", "3")
    with session_scope() as db:
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="mould"),
            product_id=scene.apricots,
            lot_id=gone,
            warehouse_id=scene.main,
            quantity=Decimal(3),
        )
    return scene


def test_export_products(test_env: dict[str, str], tmp_path: Path) -> None:
    make_exportable()
    make_product("LONE", name="No category, no stock")

    text = export(test_env, "products")

    header, rows = parse(text)
    assert header == PRODUCT_HEADER
    assert [row["sku"] for row in rows] == ["APR-500", "DAT-1", "LONE"]
    apricots, dates, lone = rows
    assert apricots["name"] == "Apricots, 500 g"
    assert apricots["category"] == "Dried fruit"
    assert apricots["unit"] == "pack"
    assert Decimal(apricots["net_weight_kg"]) == Decimal("0.5")
    assert apricots["is_organic"] == "true"
    assert Decimal(apricots["standard_cost"]) == Decimal("1.75")
    assert dates["is_organic"] == "false"
    assert Decimal(dates["price"]) == Decimal("4.80")
    assert dates["shelf_life_days"] == "300"
    assert lone["category"] == ""

    output = tmp_path / "out" / "products.csv"
    output.parent.mkdir()
    written = assert_ok(run_dfims(test_env, "export", "products", "--output", str(output)))

    assert output.read_text(encoding="utf-8") == text
    assert f"Wrote {output} (3 rows)." in written


def test_export_suppliers(test_env: dict[str, str], tmp_path: Path) -> None:
    make_exportable()

    text = export(test_env, "suppliers")

    header, rows = parse(text)
    assert header == SUPPLIER_HEADER
    assert rows == [
        {
            "code": "SUN",
            "name": "Supplier SUN",
            "country": "TR",
            "contact_name": "",
            "email": "",
            "phone": "",
            "address": "",
        },
        {
            "code": "ZEST",
            "name": "Zest & Co",
            "country": "FR",
            "contact_name": "",
            "email": "hello@zest.example",
            "phone": "",
            "address": "1 Rue",
        },
    ]
    output = tmp_path / "suppliers.csv"
    assert_ok(run_dfims(test_env, "export", "suppliers", "-o", str(output)))
    assert output.read_text(encoding="utf-8") == text


def test_export_stock(test_env: dict[str, str], tmp_path: Path) -> None:
    make_exportable()

    text = export(test_env, "stock")

    header, rows = parse(text)
    assert header == STOCK_HEADER
    assert [(row["sku"], row["warehouse"], row["lot_code"]) for row in rows] == [
        ("APR-500", "COLD", "A-1"),
        ("DAT-1", "MAIN", "D-1"),
    ]  # the emptied lot A-2 is left out
    apricots, dates = rows
    assert apricots["best_before"] == (TODAY + timedelta(days=120)).isoformat()
    assert apricots["lot_status"] == "available"
    assert apricots["unit"] == "pack"
    assert Decimal(apricots["on_hand"]) == 12
    assert Decimal(apricots["reserved"]) == 0
    assert Decimal(apricots["available"]) == 12
    assert Decimal(apricots["on_hand_kg"]) == 6
    assert Decimal(dates["on_hand"]) == Decimal("25.5")
    assert Decimal(dates["on_hand_kg"]) == Decimal("25.5")
    output = tmp_path / "stock.csv"
    assert_ok(run_dfims(test_env, "export", "stock", "--output", str(output)))
    assert output.read_text(encoding="utf-8") == text


def test_products_round_trip_changes_nothing(test_env: dict[str, str], tmp_path: Path) -> None:
    make_exportable()
    make_product(
        "FULL",
        name='Figs "Smyrna", lerida\nsecond line',
        variety="Sarilop",
        origin_country="TR",
        grade="No. 1",
        reorder_point=Decimal("12.5"),
        reorder_quantity=Decimal(40),
        description="Sun-dried, 500 g",
    )
    output = tmp_path / "products.csv"
    assert_ok(run_dfims(test_env, "export", "products", "--output", str(output)))
    exported = output.read_text(encoding="utf-8")
    before = counts()

    assert import_ok(test_env, "products", output) == (0, 3)

    assert counts() == before  # no product, category or audit entry added
    assert audit_actions("product.updated") == 0
    assert export(test_env, "products") == exported


# -- spreadsheet formula injection -------------------------------------------------------------

FORMULAS = {
    "F-EQ": '=HYPERLINK("http://evil.example","click")',
    "F-PLUS": "+SUM(1,2)",
    "F-MINUS": "-2+3",
    "F-AT": "@SUM(1)",
}


def test_formula_like_text_is_neutralised(
    test_env: dict[str, str], client: TestClient, auth_headers: AuthHeaders
) -> None:
    for sku, name in FORMULAS.items():
        make_product(sku, name=name)
    make_supplier("EVIL", name="=1+1")

    _, cli_rows = parse(export(test_env, "products"))
    response = client.get(f"{EXPORTS}/products.csv", headers=auth_headers(Role.STAFF))
    assert response.status_code == 200
    _, api_rows = parse(response.text)

    for rows in (cli_rows, api_rows):
        assert {row["sku"]: row["name"] for row in rows} == {
            sku: "'" + name for sku, name in FORMULAS.items()
        }
    _, suppliers = parse(export(test_env, "suppliers"))
    assert suppliers[0]["name"] == "'=1+1"


# -- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["products", "suppliers", "stock"])
def test_api_export_matches_the_cli(
    test_env: dict[str, str], client: TestClient, auth_headers: AuthHeaders, dataset: str
) -> None:
    make_exportable()

    response = client.get(f"{EXPORTS}/{dataset}.csv", headers=auth_headers(Role.MANAGER))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{dataset}.csv"' in response.headers["content-disposition"]
    assert response.text == export(test_env, dataset)
    _, rows = parse(response.text)
    assert rows


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.STAFF, 200), (Role.CUSTOMER, 403)],
)
@pytest.mark.parametrize("dataset", ["products", "suppliers", "stock"])
def test_api_export_roles(
    client: TestClient, auth_headers: AuthHeaders, role: Role, status: int, dataset: str
) -> None:
    make_catalog()

    response = client.get(f"{EXPORTS}/{dataset}.csv", headers=auth_headers(role))

    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"].startswith("text/csv")
    else:
        assert "sku" not in response.text


@pytest.mark.parametrize("dataset", ["products", "suppliers", "stock"])
def test_api_export_anonymous(client: TestClient, dataset: str) -> None:
    make_catalog()

    response = client.get(f"{EXPORTS}/{dataset}.csv")

    assert response.status_code == 401
    assert "DAT-1" not in response.text


@pytest.mark.parametrize("name", ["lots", "users", "PRODUCTS"])
def test_api_export_unknown_dataset(
    client: TestClient, auth_headers: AuthHeaders, name: str
) -> None:
    response = client.get(f"{EXPORTS}/{name}.csv", headers=auth_headers(Role.ADMIN))

    assert response.status_code == 422, response.text
