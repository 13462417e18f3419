"""Categories, suppliers and warehouses: list, read, create, update, (de)activate."""

from typing import Annotated, Any

from fastapi import Query, status
from pydantic import BaseModel

from app.api.deps import CatalogReader, CatalogWriter, DbSession
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.routers import Router
from app.schemas.catalog import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    SupplierCreate,
    SupplierRead,
    SupplierUpdate,
    WarehouseCreate,
    WarehouseRead,
    WarehouseUpdate,
)
from app.schemas.common import Page
from app.schemas.types import RecordId
from app.services import catalog
from app.services.catalog import CatalogKind

Search = Annotated[str | None, Query(max_length=100, description="Search code and name")]


def catalog_router(
    path: str,
    kind: CatalogKind[Any],
    read: type[BaseModel],
    create: type[BaseModel],
    change: type[BaseModel],
) -> Router:
    """The five routes of one simple catalog kind."""
    router = Router(prefix=path, tags=["catalog"])
    label = kind.label
    page_model: Any = Page[read]  # type: ignore[valid-type]
    create_model: Any = create
    change_model: Any = change

    @router.get(
        "",
        response_model=page_model,
        name=f"list_{label}",
        summary=f"List {label} records",
    )
    def list_items(
        _: CatalogReader,
        db: DbSession,
        paging: PageQuery,
        q: Search = None,
        is_active: bool | None = None,
    ) -> Any:
        rows, total = kind.page(
            db, offset=paging.offset, limit=paging.limit, search=q, is_active=is_active
        )
        items = [read.model_validate(row, from_attributes=True) for row in rows]
        return paging.page(items, total)

    @router.get(
        "/{item_id}",
        response_model=read,
        responses=responses(404),
        name=f"read_{label}",
        summary=f"One {label}",
    )
    def read_item(item_id: RecordId, _: CatalogReader, db: DbSession) -> Any:
        return read.model_validate(kind.get(db, item_id), from_attributes=True)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=read,
        responses=responses(409),
        name=f"create_{label}",
        summary=f"Create a {label}",
    )
    def create_item(body: create_model, caller: CatalogWriter, db: DbSession) -> Any:
        item = kind.create(db, caller.actor, body.model_dump())
        return read.model_validate(item, from_attributes=True)

    @router.patch(
        "/{item_id}",
        response_model=read,
        responses=responses(404, 409),
        name=f"update_{label}",
        summary=f"Change a {label}",
    )
    def update_item(
        item_id: RecordId, body: change_model, caller: CatalogWriter, db: DbSession
    ) -> Any:
        values = _present(body.model_dump(exclude_unset=True))
        item = kind.update(db, caller.actor, kind.get(db, item_id), values)
        return read.model_validate(item, from_attributes=True)

    @router.post(
        "/{item_id}/deactivate",
        response_model=read,
        responses=responses(404),
        name=f"deactivate_{label}",
        summary=f"Deactivate a {label}: kept for history, refused for new use",
    )
    def deactivate_item(item_id: RecordId, caller: CatalogWriter, db: DbSession) -> Any:
        item = kind.set_active(db, caller.actor, kind.get(db, item_id), False)
        return read.model_validate(item, from_attributes=True)

    @router.post(
        "/{item_id}/activate",
        response_model=read,
        responses=responses(404),
        name=f"activate_{label}",
        summary=f"Activate a {label} again",
    )
    def activate_item(item_id: RecordId, caller: CatalogWriter, db: DbSession) -> Any:
        item = kind.set_active(db, caller.actor, kind.get(db, item_id), True)
        return read.model_validate(item, from_attributes=True)

    return router


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Fields sent as null mean "leave as is" for required columns."""
    return {key: value for key, value in values.items() if value is not None}


categories_router = catalog_router(
    "/categories", catalog.categories, CategoryRead, CategoryCreate, CategoryUpdate
)
suppliers_router = catalog_router(
    "/suppliers", catalog.suppliers, SupplierRead, SupplierCreate, SupplierUpdate
)
warehouses_router = catalog_router(
    "/warehouses", catalog.warehouses, WarehouseRead, WarehouseCreate, WarehouseUpdate
)
