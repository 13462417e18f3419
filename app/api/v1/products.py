"""Products: list, read, create, update, (de)activate, and the product image."""

from typing import Annotated

from fastapi import File, Query, UploadFile, status
from fastapi.responses import FileResponse

from app.api.deps import CatalogReader, CatalogWriter, DbSession
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.routers import Router
from app.kit.uploads import accepts_uploads
from app.models.catalog import Product, UnitOfMeasure
from app.schemas.catalog import ProductCreate, ProductRead, ProductUpdate
from app.schemas.common import Page
from app.schemas.types import RecordId
from app.services import catalog, uploads

router = Router(prefix="/products", tags=["catalog"])
ONE = responses(404)


def _read(product: Product) -> ProductRead:
    item = ProductRead.model_validate(product)
    if product.image_path:
        item.image_url = f"/api/v1/products/{product.id}/image"
    return item


@router.get("")
def list_products(
    _: CatalogReader,
    db: DbSession,
    paging: PageQuery,
    q: Annotated[str | None, Query(max_length=100, description="Search SKU, name, variety")] = None,
    category_id: RecordId | None = None,
    unit: UnitOfMeasure | None = None,
    is_active: bool | None = None,
) -> Page[ProductRead]:
    """List products, filtered by category, unit and active flag, searchable by SKU and name."""
    where = []
    if category_id is not None:
        where.append(Product.category_id == category_id)
    if unit is not None:
        where.append(Product.unit == unit)
    rows, total = catalog.products.page(
        db, offset=paging.offset, limit=paging.limit, search=q, is_active=is_active, where=where
    )
    return paging.page([_read(row) for row in rows], total)


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_product(body: ProductCreate, caller: CatalogWriter, db: DbSession) -> ProductRead:
    """Create a product."""
    return _read(catalog.create_product(db, caller.actor, body.model_dump()))


@router.get("/{product_id}", responses=ONE)
def read_product(product_id: RecordId, _: CatalogReader, db: DbSession) -> ProductRead:
    """One product."""
    return _read(catalog.products.get(db, product_id))


@router.patch("/{product_id}", responses=responses(404, 409))
def update_product(
    product_id: RecordId, body: ProductUpdate, caller: CatalogWriter, db: DbSession
) -> ProductRead:
    """Change a product; unit and net weight only while it has no stock."""
    values = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "category_id" in body.model_fields_set and body.category_id is None:
        values["category_id"] = None
    product = catalog.update_product(db, caller.actor, catalog.products.get(db, product_id), values)
    return _read(product)


@router.post("/{product_id}/deactivate", responses=ONE)
def deactivate_product(product_id: RecordId, caller: CatalogWriter, db: DbSession) -> ProductRead:
    """Deactivate a product: kept for history, refused for receipts and sales."""
    product = catalog.products.get(db, product_id)
    return _read(catalog.products.set_active(db, caller.actor, product, False))


@router.post("/{product_id}/activate", responses=ONE)
def activate_product(product_id: RecordId, caller: CatalogWriter, db: DbSession) -> ProductRead:
    """Activate a product again."""
    product = catalog.products.get(db, product_id)
    return _read(catalog.products.set_active(db, caller.actor, product, True))


@router.put("/{product_id}/image", responses=responses(404, 415))
@accepts_uploads
def upload_image(
    product_id: RecordId,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most MAX_IMAGE_BYTES")],
    caller: CatalogWriter,
    db: DbSession,
) -> ProductRead:
    """Upload or replace the product image."""
    product = catalog.products.get(db, product_id)
    data = file.file.read(uploads.image_limit() + 1)
    return _read(catalog.set_product_image(db, caller.actor, product, data))


@router.get(
    "/{product_id}/image",
    response_class=FileResponse,
    responses={**ONE, 200: {"content": {kind: {} for kind in uploads.IMAGE_TYPES}}},
)
def read_image(product_id: RecordId, _: CatalogReader, db: DbSession) -> FileResponse:
    """The product image."""
    path, media_type = catalog.product_image(db, product_id)
    return FileResponse(path, media_type=media_type)
