"""Products: the list, a product with its stock and ledger, the product form, its picture."""

from decimal import Decimal
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import ColumnElement
from starlette.datastructures import UploadFile

from app.core import clock
from app.core.errors import InvalidRequestError
from app.core.formatting import day_and_month, input_text
from app.kit.uploads import accepts_uploads
from app.models.catalog import Product, UnitOfMeasure
from app.schemas.catalog import ProductCreate, ProductFields
from app.schemas.types import RecordId
from app.services import (
    alerts,
    catalog,
    pricing,
    product_ledger,
    references,
    stock_queries,
    uploads,
)
from app.services.permissions import Permission
from app.web.charts import Measure, Point, line_chart
from app.web.forms import checked, form_values, refusals
from app.web.links import record_url
from app.web.listing import list_query, listing
from app.web.pages import prices as tier_prices
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 25


@router.get("/products", response_class=HTMLResponse)
def list_products(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.CATALOG_READ),
    category_id: Annotated[int | None, Query()] = None,
    low_stock: bool = False,
    show: Annotated[str, Query(pattern="^(active|inactive|all)$")] = "active",
) -> Response:
    """Products matching the search and filters, a page at a time, sorted, with available
    stock."""
    asked = list_query(request, size=PAGE_SIZE, sorts=catalog.PRODUCT_SORTS)
    where: list[ColumnElement[bool]] = []
    if category_id is not None:
        where.append(Product.category_id == category_id)
    if low_stock:
        where.append(Product.id.in_(alerts.low_stock_ids(db)))
    is_active = {"active": True, "inactive": False, "all": None}[show]
    rows, total = catalog.products.page(
        db,
        offset=asked.offset,
        limit=PAGE_SIZE,
        search=asked.q or None,
        is_active=is_active,
        where=where,
        sort=asked.sort,
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    available = alerts.sellable_by_product(db, [row.id for row in rows])
    categories = catalog.categories.options(db, active_only=False)
    return render(
        request,
        "products/list.html",
        caller,
        products=rows,
        available=available,
        total=total,
        listing=shown,
        categories=categories,
        filters={"category_id": category_id, "low_stock": low_stock, "show": show},
        can_create=caller.can(Permission.CATALOG_WRITE),
    )


PRODUCT_FIELDS = [
    "sku",
    "name",
    "category_id",
    "variety",
    "origin_country",
    "grade",
    "is_organic",
    "unit",
    "net_weight_kg",
    "price",
    "standard_cost",
    "reorder_point",
    "reorder_quantity",
    "shelf_life_days",
    "description",
]
HISTORY_DAYS = 90
LEDGER_ROWS = 50


def _form_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    *,
    product: Product | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    categories = catalog.categories.options(db)
    return render(
        request,
        "products/form.html",
        caller,
        status_code=status_code,
        product=product,
        values=values,
        errors=errors,
        categories=categories,
        units=list(UnitOfMeasure),
    )


def _product_values(product: Product) -> dict[str, str]:
    values = {name: input_text(getattr(product, name) or "") for name in PRODUCT_FIELDS}
    values["is_organic"] = "true" if product.is_organic else ""
    return values


@router.get("/products/new", response_class=HTMLResponse)
def new_product(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CATALOG_WRITE),
) -> HTMLResponse:
    """An empty product form."""
    return _form_page(request, db, caller, product=None, values={}, errors={})


@router.post("/products/new", response_class=HTMLResponse)
def create_product(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CATALOG_WRITE),
) -> Response:
    """Add the product of the form, or show the form again with what to correct."""
    values = form_values(form, PRODUCT_FIELDS)
    with refusals(db) as refused:
        body = checked(ProductCreate, values)
        product = catalog.create_product(db, caller.actor, body.model_dump())
        return RedirectResponse(f"/products/{product.id}", status_code=303)
    return _form_page(
        request,
        db,
        caller,
        product=None,
        values=values,
        errors=refused.errors,
        status_code=refused.status_code,
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
def product_detail(
    request: Request,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CATALOG_READ),
) -> HTMLResponse:
    """A product: its lots and levels per warehouse, its ledger and its stock over time."""
    product = catalog.products.get(db, product_id)
    category = catalog.categories.get(db, product.category_id) if product.category_id else None
    levels, _ = stock_queries.list_levels(
        db, stock_queries.LevelFilter(product_id=product_id), offset=0, limit=200
    )
    movements, moved = product_ledger.latest(db, product_id, LEDGER_ROWS)
    today = clock.today()
    prices = pricing.price_list(db, product)
    history = stock_queries.on_hand_history(db, product_id, HISTORY_DAYS, today)
    chart = line_chart(
        f"On hand, last {HISTORY_DAYS} days",
        product.unit,
        [Point(day_and_month(day.day), day.quantity) for day in history],
        Measure.WHOLE if product.unit == UnitOfMeasure.PACK else Measure.AMOUNT,
    )
    warehouses: dict[str, Decimal] = {}
    for level in levels:
        warehouses[level.warehouse_code] = warehouses.get(level.warehouse_code, Decimal(0)) + (
            level.on_hand
        )
    return render(
        request,
        "products/detail.html",
        caller,
        product=product,
        category=category,
        levels=levels,
        warehouses=warehouses,
        movements=movements,
        moved=moved,
        named=references.orders_named(db, (movement.reference for movement in movements)),
        record_url=record_url,
        chart=chart,
        today=today,
        prices=prices,
        price_values=tier_prices.form_values_of(prices),
        price_errors={},
        priced=bool(request.query_params.get("priced")),
        can_edit=caller.can(Permission.CATALOG_WRITE),
        can_move=caller.can(Permission.STOCK_MOVE),
        can_price=caller.can(Permission.PRICES_WRITE),
        booked=bool(request.query_params.get("booked")),
    )


@router.get("/products/{product_id}/edit", response_class=HTMLResponse)
def edit_product(
    request: Request,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CATALOG_WRITE),
) -> HTMLResponse:
    """The product form, filled in."""
    product = catalog.products.get(db, product_id)
    return _form_page(
        request, db, caller, product=product, values=_product_values(product), errors={}
    )


@router.post("/products/{product_id}/edit", response_class=HTMLResponse)
def update_product(
    request: Request,
    form: SubmittedForm,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CATALOG_WRITE),
) -> Response:
    """Save the changes of the form, or show it again with what to correct."""
    product = catalog.products.get(db, product_id)
    fields = [name for name in PRODUCT_FIELDS if name != "sku"]
    values = form_values(form, fields)
    values.setdefault("is_organic", "false")
    with refusals(db) as refused:
        body = checked(ProductFields, values)
        catalog.update_product(db, caller.actor, product, body.model_dump())
        return RedirectResponse(f"/products/{product.id}", status_code=303)
    values["sku"] = product.sku
    return _form_page(
        request,
        db,
        caller,
        product=product,
        values=values,
        errors=refused.errors,
        status_code=refused.status_code,
    )


@router.post("/products/{product_id}/image", response_class=HTMLResponse)
@accepts_uploads
def upload_image(
    request: Request,
    form: SubmittedForm,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.CATALOG_WRITE),
) -> Response:
    """Upload or replace the product's picture."""
    product = catalog.products.get(db, product_id)
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise InvalidRequestError("Choose a picture to upload.", field="image")
    data = upload.file.read(uploads.image_limit() + 1)
    catalog.set_product_image(db, caller.actor, product, data)
    return RedirectResponse(f"/products/{product.id}", status_code=303)


@router.get("/products/{product_id}/image")
def product_image(
    product_id: RecordId,
    db: PageDb,
    _: PageCaller = page_require(Permission.CATALOG_READ),
) -> FileResponse:
    """The product's picture."""
    path, media_type = catalog.product_image(db, product_id)
    return FileResponse(path, media_type=media_type)
