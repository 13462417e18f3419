"""Products: the list with search, filters and pages."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement

from app.api.deps import DbSession
from app.models.catalog import Product
from app.services import alerts, catalog
from app.services.permissions import Permission
from app.web.session import PageCaller, page_require
from app.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


@router.get("/products", response_class=HTMLResponse)
def list_products(
    request: Request,
    db: DbSession,
    caller: PageCaller = page_require(Permission.CATALOG_READ),
    q: Annotated[str, Query(max_length=100)] = "",
    category_id: Annotated[int | None, Query()] = None,
    low_stock: bool = False,
    show: Annotated[str, Query(pattern="^(active|inactive|all)$")] = "active",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Products matching the search and filters, a page at a time, with available stock."""
    where: list[ColumnElement[bool]] = []
    if category_id is not None:
        where.append(Product.category_id == category_id)
    if low_stock:
        where.append(Product.id.in_(alerts.low_stock_ids(db)))
    is_active = {"active": True, "inactive": False, "all": None}[show]
    rows, total = catalog.products.page(
        db,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        search=q or None,
        is_active=is_active,
        where=where,
    )
    available = alerts.sellable_by_product(db, [row.id for row in rows])
    categories, _ = catalog.categories.page(db, offset=0, limit=500, search=None, is_active=None)
    return render(
        request,
        "products/list.html",
        caller,
        products=rows,
        available=available,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        categories=categories,
        filters={"q": q, "category_id": category_id, "low_stock": low_stock, "show": show},
    )
