"""Alerts and what each calls for: reorder, quarantine, write off; reorder suggestions."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.schemas.purchasing import SuggestionsToOrder
from app.services import alerts, catalog, reorder
from app.services.permissions import Permission
from app.web.forms import checked, form_values, refusals
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()


@router.get("/alerts", response_class=HTMLResponse)
def show_alerts(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.STOCK_READ),
) -> HTMLResponse:
    """Low stock, lots expiring soon and expired stock, each with its next step."""
    return render(
        request,
        "alerts.html",
        caller,
        alerts=alerts.current(db),
        can_order=caller.can(Permission.PURCHASING_READ),
        can_quarantine=caller.can(Permission.LOTS_MANAGE),
        can_write_off=caller.can(Permission.STOCK_MOVE),
    )


def _reorder_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    cover_days: int,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    wanted = reorder.suggestions(db, cover_days=cover_days)
    suppliers = catalog.suppliers.options(db, active_only=False)
    warehouses = catalog.warehouses.options(db)
    names = {supplier.id: supplier.name for supplier in suppliers}
    by_supplier: dict[int | None, list[object]] = {}
    for suggestion in wanted:
        by_supplier.setdefault(suggestion.supplier_id, []).append(suggestion)
    return render(
        request,
        "reorder.html",
        caller,
        status_code=status_code,
        groups=sorted(by_supplier.items(), key=lambda item: names.get(item[0] or 0, "~")),
        supplier_names=names,
        warehouses=warehouses,
        cover_days=cover_days,
        errors=errors,
        can_order=caller.can(Permission.PURCHASING_WRITE),
    )


@router.get("/reorder", response_class=HTMLResponse)
def reorder_suggestions(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.PURCHASING_READ),
    cover_days: int = 30,
) -> HTMLResponse:
    """What to order, per supplier, to cover the coming days."""
    return _reorder_page(request, db, caller, max(1, min(cover_days, 365)), {})


@router.post("/reorder", response_class=HTMLResponse)
def order_suggestions(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.PURCHASING_WRITE),
) -> Response:
    """One supplier's suggestions as a draft purchase order."""
    values = form_values(form, ["supplier_id", "warehouse_id", "cover_days"])
    with refusals(db) as refused:
        body = checked(SuggestionsToOrder, values)
        order = reorder.order_suggestions(
            db,
            caller.actor,
            supplier_id=body.supplier_id,
            warehouse_id=body.warehouse_id,
            cover_days=body.cover_days,
        )
        return RedirectResponse(f"/purchase-orders/{order.id}?done=drafted", status_code=303)
    cover = int(values["cover_days"]) if values.get("cover_days", "").isdigit() else 30
    return _reorder_page(
        request, db, caller, max(1, min(cover, 365)), refused.errors, refused.status_code
    )
