"""CSV import and export of products, suppliers and opening stock.

An import validates and writes every row inside the caller's unit of work; if any row is
wrong, every error is reported with its line number and the unit of work rolls back, so
nothing is kept. (No per-row savepoints: SQLite's driver commits on releasing one.)
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import problem_types
from app.core.errors import DomainError, InvalidRequestError
from app.models.catalog import Category, Product, Supplier, Warehouse
from app.schemas.catalog import ProductFields, SupplierCreate
from app.schemas.exports import Dataset
from app.schemas.stock import LotCode
from app.schemas.types import Code, Percent, Quantity, Reference, ShortText, UnitCost
from app.services import catalog, stock, stock_queries
from app.services.audit import Actor
from app.services.csv_writer import write_csv
from app.services.stock import MovementContext, ReceiptLine
from app.services.stock_queries import LevelFilter

MAX_REPORTED_ERRORS = 50
Progress = Callable[[int], None]

PRODUCT_COLUMNS = [
    "sku", "name", "category", "variety", "origin_country", "grade", "is_organic", "unit",
    "net_weight_kg", "price", "standard_cost", "reorder_point", "reorder_quantity",
    "shelf_life_days", "description",
]  # fmt: skip
SUPPLIER_COLUMNS = ["code", "name", "country", "contact_name", "email", "phone", "address"]
STOCK_COLUMNS = [
    "sku", "warehouse", "lot_code", "quantity", "received_date", "best_before", "supplier",
    "unit_cost", "moisture_pct", "grade", "reference",
]  # fmt: skip
LEVEL_COLUMNS = [
    "sku", "warehouse", "lot_code", "best_before", "lot_status", "unit", "on_hand", "reserved",
    "available", "on_hand_kg",
]  # fmt: skip


@dataclass
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class ImportFailedError(InvalidRequestError):
    """Some rows are wrong; nothing was imported."""

    problem = problem_types.IMPORT_FAILED


class ProductRow(ProductFields):
    """A product line of a CSV file."""

    sku: Code
    category: ShortText = ""


class StockRow(BaseModel):
    """An opening-stock line of a CSV file."""

    sku: Code
    warehouse: Code
    lot_code: LotCode
    quantity: Quantity
    received_date: date | None = None
    best_before: date | None = None
    supplier: Code | None = None
    unit_cost: UnitCost | None = None
    moisture_pct: Percent | None = None
    grade: ShortText = ""
    reference: Reference = "OPENING-STOCK"


def import_products(
    db: Session, actor: Actor, source: TextIO, progress: Progress | None = None
) -> ImportReport:
    """Create or update products by SKU; categories are found (or created) by name."""

    def apply(row: dict[str, str], report: ImportReport) -> None:
        existing = db.scalar(select(Product).where(Product.sku == row.get("sku", "").upper()))
        if existing is None:
            data = ProductRow.model_validate(_blank_to_default(row))
            values = data.model_dump(exclude={"category"})
            values["category_id"] = (
                _category_id(db, actor, data.category) if data.category else None
            )
            catalog.create_product(db, actor, values)
            report.created += 1
            return
        # An update changes only the columns the file has, checked against the rest as stored.
        current = {
            column: getattr(existing, column)
            for column in PRODUCT_COLUMNS[:-1]
            if column != "category"
        }
        data = ProductRow.model_validate(
            {**current, "description": existing.description, **_blank_to_default(row)}
        )
        values = data.model_dump(include=set(row) - {"sku", "category"})
        if "category" in row:
            values["category_id"] = (
                _category_id(db, actor, data.category) if data.category else None
            )
        catalog.update_product(db, actor, existing, values)
        report.updated += 1

    return _run(db, source, PRODUCT_COLUMNS, ["sku", "name"], apply, progress)


def import_suppliers(
    db: Session, actor: Actor, source: TextIO, progress: Progress | None = None
) -> ImportReport:
    """Create or update suppliers by code."""

    def apply(row: dict[str, str], report: ImportReport) -> None:
        existing = db.scalar(select(Supplier).where(Supplier.code == row.get("code", "").upper()))
        stored: dict[str, Any] = {}
        if existing is not None:
            stored = {column: getattr(existing, column) for column in SUPPLIER_COLUMNS}
            stored["email"] = existing.email or None
        data = SupplierCreate.model_validate({**stored, **_blank_to_default(row)})
        if existing is None:
            catalog.suppliers.create(db, actor, {**data.model_dump(), "email": data.email or ""})
            report.created += 1
            return
        values = data.model_dump(include=set(row) - {"code"})
        if "email" in values:
            values["email"] = values["email"] or ""
        catalog.suppliers.update(db, actor, existing, values)
        report.updated += 1

    return _run(db, source, SUPPLIER_COLUMNS, ["code", "name"], apply, progress)


def import_stock(
    db: Session, actor: Actor, source: TextIO, progress: Progress | None = None
) -> ImportReport:
    """Receive opening stock: one receipt per row, into lots created as needed."""

    def apply(row: dict[str, str], report: ImportReport) -> None:
        data = StockRow.model_validate(_blank_to_default(row))
        product = _by_code(db, Product, Product.sku, data.sku, "sku")
        warehouse = _by_code(db, Warehouse, Warehouse.code, data.warehouse, "warehouse")
        supplier = (
            _by_code(db, Supplier, Supplier.code, data.supplier, "supplier")
            if data.supplier
            else None
        )
        line = ReceiptLine(
            product_id=product.id,
            warehouse_id=warehouse.id,
            lot_code=data.lot_code,
            quantity=data.quantity,
            received_date=data.received_date,
            best_before=data.best_before,
            supplier_id=supplier.id if supplier else None,
            unit_cost=data.unit_cost,
            moisture_pct=data.moisture_pct,
            grade=data.grade,
        )
        context = MovementContext(actor=actor, reference=data.reference, reason="stock import")
        stock.receive(db, context, line)
        report.created += 1

    required = ["sku", "warehouse", "lot_code", "quantity"]
    return _run(db, source, STOCK_COLUMNS, required, apply, progress)


def export_products(db: Session) -> str:
    """Every product as CSV, in the import's columns."""
    rows = db.execute(
        select(Product, Category.name)
        .outerjoin(Category, Category.id == Product.category_id)
        .order_by(Product.sku)
    ).all()
    records = (
        {
            **{
                column: getattr(product, column)
                for column in PRODUCT_COLUMNS
                if column != "category"
            },
            "category": category or "",
        }
        for product, category in rows
    )
    return write_csv(PRODUCT_COLUMNS, records)


def export_suppliers(db: Session) -> str:
    """Every supplier as CSV, in the import's columns."""
    suppliers = db.scalars(select(Supplier).order_by(Supplier.code)).all()
    return write_csv(
        SUPPLIER_COLUMNS, ({c: getattr(s, c) for c in SUPPLIER_COLUMNS} for s in suppliers)
    )


def export_stock(db: Session) -> str:
    """Every stock level holding stock, as CSV."""
    records: list[dict[str, Any]] = []
    offset = 0
    while True:
        page, _ = stock_queries.list_levels(db, LevelFilter(), offset=offset, limit=1000)
        records.extend(
            {
                "sku": level.sku,
                "warehouse": level.warehouse_code,
                "lot_code": level.lot_code,
                "best_before": level.best_before,
                "lot_status": level.lot_status,
                "unit": level.unit,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "available": level.available,
                "on_hand_kg": level.on_hand_kg,
            }
            for level in page
        )
        if len(page) < 1000:
            return write_csv(LEVEL_COLUMNS, records)
        offset += 1000


def export(db: Session, dataset: Dataset) -> str:
    """``dataset`` as CSV text."""
    exporters = {
        Dataset.PRODUCTS: export_products,
        Dataset.SUPPLIERS: export_suppliers,
        Dataset.STOCK: export_stock,
    }
    return exporters[dataset](db)


def _run(
    db: Session,
    source: TextIO,
    columns: list[str],
    required: list[str],
    apply: Callable[[dict[str, str], ImportReport], None],
    progress: Progress | None,
) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(source)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in columns]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise ImportFailedError(
            f"line 1: {'; '.join(problems)}.", errors=[f"line 1: {p}" for p in problems]
        )
    reader.fieldnames = header
    for line, row in _numbered(reader, report):
        try:
            apply({k: (v or "").strip() for k, v in row.items() if k is not None}, report)
        except ValidationError as exc:
            report.errors.extend(f"line {line}: {_describe(error)}" for error in exc.errors())
        except DomainError as exc:
            report.errors.append(f"line {line}: {exc.detail}")
        if progress is not None:
            progress(1)
    if report.errors:
        shown = report.errors[:MAX_REPORTED_ERRORS]
        more = len(report.errors) - len(shown)
        raise ImportFailedError(
            f"{len(report.errors)} error(s); nothing was imported. First: {shown[0]}",
            errors=shown + ([f"... and {more} more"] if more else []),
        )
    return report


def _numbered(
    reader: "csv.DictReader[str]", report: ImportReport
) -> Iterator[tuple[int, dict[str, str]]]:
    for row in reader:
        if row.get(None):  # DictReader keeps surplus values under the key None
            report.errors.append(f"line {reader.line_num}: more values than columns")
            continue
        yield reader.line_num, row


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


def _blank_to_default(row: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in row.items() if value != ""}


def _category_id(db: Session, actor: Actor, name: str) -> int:
    existing = db.scalar(select(Category).where(Category.name == name))
    if existing is not None:
        return existing.id
    return catalog.categories.create(db, actor, {"name": name, "description": ""}).id


def _by_code(db: Session, model: Any, column: Any, code: str, name: str) -> Any:
    item = db.scalar(select(model).where(column == code))
    if item is None:
        raise InvalidRequestError(f"{name}: no {model.__tablename__[:-1]} with code {code}.")
    return item
