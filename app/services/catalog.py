"""Catalog rules: unique codes, existing references, audited changes, deactivation."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.crud.base import CRUDBase
from app.crud.crud_catalog import category_crud, product_crud, supplier_crud, warehouse_crud
from app.models.catalog import Category, Product, Supplier, UnitOfMeasure, Warehouse
from app.models.inventory import StockLevel
from app.services import audit, uploads
from app.services.audit import Actor
from app.services.sorting import Sort, order_by

ModelT = TypeVar("ModelT", Category, Product, Supplier, Warehouse)


@dataclass(frozen=True)
class CatalogKind(Generic[ModelT]):
    """One kind of catalog record: its table access, its name and its unique field."""

    crud: CRUDBase[ModelT]
    label: str
    unique_field: str
    sorts: Mapping[str, Any] = field(default_factory=dict)

    def get(self, db: Session, item_id: int) -> ModelT:
        """The record with ``item_id``, or a 404."""
        item = self.crud.get(db, item_id)
        if item is None:
            raise NotFoundError(f"{self.label.capitalize()} {item_id} does not exist.")
        return item

    def get_active(self, db: Session, item_id: int, field: str) -> ModelT:
        """The active record with ``item_id``, or a 422 naming ``field``."""
        item = self.crud.get(db, item_id)
        self.check_active(item_id, None if item is None else item.is_active, field)
        assert item is not None
        return item

    def check_active(self, item_id: int, is_active: bool | None, field: str) -> None:
        """A 422 naming ``field`` unless the record exists (``is_active`` is not None) and is
        active."""
        if is_active is None:
            raise InvalidRequestError(
                f"{self.label.capitalize()} {item_id} does not exist.", field=field
            )
        if not is_active:
            raise InvalidRequestError(
                f"{self.label.capitalize()} {item_id} is inactive.", field=field
            )

    def get_active_each(self, db: Session, item_ids: Sequence[int], fields: str) -> list[ModelT]:
        """The active record of each id, read in one query; a 422 naming the first that is
        missing or inactive (``fields`` names each: ``lines[{}].product_id``)."""
        model = self.crud.model
        found = {item.id: item for item in db.scalars(select(model).where(model.id.in_(item_ids)))}
        return [
            item
            if (item := found.get(item_id)) is not None and item.is_active
            else self.get_active(db, item_id, fields.format(index))  # refused, with the reason
            for index, item_id in enumerate(item_ids)
        ]

    def page(
        self,
        db: Session,
        *,
        offset: int,
        limit: int,
        search: str | None,
        is_active: bool | None,
        where: Sequence[ColumnElement[bool]] = (),
        sort: Sort | None = None,
    ) -> tuple[Sequence[ModelT], int]:
        """A page of records, optionally only active or inactive ones, in the order of ``sort``
        (a key of ``sorts``; by id when None)."""
        conditions = list(where)
        if is_active is not None:
            conditions.append(self.crud.model.is_active.is_(is_active))
        ordering = order_by(sort, self.sorts, self.crud.model.__table__.c.id) if sort else ()
        return self.crud.page(
            db, offset=offset, limit=limit, search=search, where=conditions, order_by=ordering
        )

    def options(self, db: Session, *, active_only: bool = True) -> Sequence[ModelT]:
        """Every record (the active ones by default), for a form's pick list."""
        rows, _ = self.page(
            db,
            offset=0,
            limit=PICK_LIST_LIMIT,
            search=None,
            is_active=True if active_only else None,
        )
        return rows

    def create(self, db: Session, actor: Actor, values: Mapping[str, Any]) -> ModelT:
        """Add a record after checking its unique field is free."""
        self._check_unique(db, values[self.unique_field])
        item = self.crud.add(db, self.crud.model(**values, is_active=True))
        audit.record(
            db,
            actor,
            f"{self.label}.created",
            self.label,
            item.id,
            **{key: audit.jsonable(value) for key, value in values.items()},
        )
        return item

    def update(self, db: Session, actor: Actor, item: ModelT, values: Mapping[str, Any]) -> ModelT:
        """Change the given fields of ``item``."""
        changes = audit.changes(item, values)
        if self.unique_field in changes:
            self._check_unique(db, values[self.unique_field])
        for key in changes:
            setattr(item, key, values[key])
        if changes:
            db.flush()
            db.refresh(item)
            audit.record(db, actor, f"{self.label}.updated", self.label, item.id, changes=changes)
        return item

    def set_active(self, db: Session, actor: Actor, item: ModelT, active: bool) -> ModelT:
        """Switch ``item`` on or off; history stays, new use is refused while off."""
        if item.is_active != active:
            item.is_active = active
            db.flush()
            verb = "activated" if active else "deactivated"
            audit.record(db, actor, f"{self.label}.{verb}", self.label, item.id)
        return item

    def _check_unique(self, db: Session, value: Any) -> None:
        column = getattr(self.crud.model, self.unique_field)
        if db.scalar(select(self.crud.model.id).where(column == value)) is not None:
            raise ConflictError(
                f"A {self.label} with {self.unique_field} {value} already exists.",
                field=self.unique_field,
            )


PICK_LIST_LIMIT = 5000

# The products a listing may be sorted by, by the key a page names.
PRODUCT_SORTS: Mapping[str, Any] = {
    "sku": Product.sku,
    "name": func.lower(Product.name),
    "unit": Product.unit,
    "reorder_point": Product.reorder_point,
    "price": Product.price,
}

CATEGORY_SORTS: Mapping[str, Any] = {
    "name": func.lower(Category.name),
    "description": func.lower(Category.description),
    "vat_rate": Category.vat_rate,
}
SUPPLIER_SORTS: Mapping[str, Any] = {
    "code": Supplier.code,
    "name": func.lower(Supplier.name),
    "country": Supplier.country,
    "email": func.lower(Supplier.email),
}
WAREHOUSE_SORTS: Mapping[str, Any] = {
    "code": Warehouse.code,
    "name": func.lower(Warehouse.name),
    "address": func.lower(Warehouse.address),
}

categories = CatalogKind(category_crud, "category", "name", CATEGORY_SORTS)
products = CatalogKind(product_crud, "product", "sku", PRODUCT_SORTS)
suppliers = CatalogKind(supplier_crud, "supplier", "code", SUPPLIER_SORTS)
warehouses = CatalogKind(warehouse_crud, "warehouse", "code", WAREHOUSE_SORTS)


def create_product(db: Session, actor: Actor, values: Mapping[str, Any]) -> Product:
    """Add a product whose category, if any, exists and is active."""
    if values.get("category_id") is not None:
        categories.get_active(db, values["category_id"], "category_id")
    return products.create(db, actor, values)


def update_product(
    db: Session, actor: Actor, product: Product, values: Mapping[str, Any]
) -> Product:
    """Change a product; its unit and net weight only while it holds no stock."""
    if values.get("category_id") is not None:
        categories.get_active(db, values["category_id"], "category_id")
    unit = values.get("unit", product.unit)
    weight = values.get("net_weight_kg", product.net_weight_kg)
    if unit == UnitOfMeasure.KG and "unit" in values:
        weight = values.get("net_weight_kg", Decimal(1))
    if unit == UnitOfMeasure.KG and weight != 1:
        raise InvalidRequestError(
            "net_weight_kg must be 1 for a product sold by kg.", field="net_weight_kg"
        )
    if (unit != product.unit or weight != product.net_weight_kg) and _has_stock_history(
        db, product
    ):
        raise ConflictError(
            "The unit and net weight of a product with stock cannot change; create a new SKU.",
            field="unit",
        )
    return products.update(db, actor, product, {**values, "unit": unit, "net_weight_kg": weight})


def set_product_image(db: Session, actor: Actor, product: Product, data: bytes) -> Product:
    """Keep ``data`` (a checked image) as the product's image."""
    stored = uploads.store(
        db, data, folder="products", allowed=uploads.IMAGE_TYPES, max_bytes=uploads.image_limit()
    )
    product.image_path = stored.stored_name
    db.flush()
    audit.record(db, actor, "product.image_set", "product", product.id, sha256=stored.sha256)
    return product


def product_image(db: Session, product_id: int) -> tuple[Path, str | None]:
    """The kept image of the product and its type, or a 404 when it has none."""
    product = products.get(db, product_id)
    if not product.image_path:
        raise NotFoundError(f"Product {product_id} has no image.")
    path = uploads.open_stored(product.image_path)
    return path, uploads.sniff_type(path.read_bytes()[:16])


def _has_stock_history(db: Session, product: Product) -> bool:
    query = select(func.count()).select_from(StockLevel).where(StockLevel.product_id == product.id)
    return bool(db.scalar(query))
