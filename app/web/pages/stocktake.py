"""Stocktake: the count form (open or blind), its printable count sheet, booking the count."""

from copy import copy
from decimal import Decimal, InvalidOperation
from itertools import groupby
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.core.errors import DomainError
from app.schemas.stock import CountCreate
from app.schemas.types import RecordId
from app.services import catalog, stock, stock_queries
from app.services.permissions import Permission
from app.services.stock import CountLine, MovementContext
from app.web.forms import LINE_FIELD, FormInvalidError, parse, refusals
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()


@router.get("/count", response_class=HTMLResponse)
def count_form(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.STOCK_MOVE),
    warehouse_id: RecordId | None = None,
    blind: bool = False,
) -> HTMLResponse:
    """A stocktake: every lot with stock in the warehouse, its book quantity (hidden in a blind
    count) and a box for the counted quantity."""
    return _count_page(request, db, caller, warehouse_id, blind, {}, {})


@router.get("/count/sheet", response_class=HTMLResponse)
def count_sheet(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.STOCK_MOVE),
    warehouse_id: RecordId | None = None,
    blind: bool = False,
) -> HTMLResponse:
    """A count sheet to print: the lots of a warehouse (of each warehouse when none is chosen)
    with an empty column to write the counted quantities in."""
    rows = stock_queries.count_lines(db, warehouse_id)
    return render(
        request,
        "stock/count_sheet.html",
        caller,
        warehouse_id=warehouse_id,
        warehouses=_warehouses(db),
        blind=blind,
        sections=[
            (code, list(lines)) for code, lines in groupby(rows, lambda row: row.warehouse_code)
        ],
    )


@router.post("/count", response_class=HTMLResponse)
def book_count(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.STOCK_MOVE),
) -> Response:
    """Book the counted quantities; each difference becomes a count movement."""
    warehouse = str(form.get("warehouse_id", ""))
    blind = str(form.get("blind", "")) in ("1", "true")
    reference = str(form.get("reference", "")).strip()
    counted = {
        key.removeprefix("lot_"): str(value).strip()
        for key, value in form.items()
        if key.startswith("lot_") and str(value).strip()
    }
    with refusals(db) as refused:
        body = _count_body(warehouse, counted, reference)
        try:
            stock.count(
                db,
                MovementContext(actor=caller.actor, reference=body.reference, reason="stocktake"),
                warehouse_id=body.warehouse_id,
                lines=[CountLine(line.lot_id, line.counted_quantity) for line in body.lines],
            )
        except DomainError as exc:
            raise _beside_its_lot(exc) from exc
        query = {"warehouse_id": body.warehouse_id, "booked": 1} | ({"blind": 1} if blind else {})
        return RedirectResponse(f"/count?{urlencode(query)}", 303)
    chosen = int(warehouse) if warehouse.isdigit() else None
    return _count_page(
        request,
        db,
        caller,
        chosen,
        blind,
        {**counted, "reference": reference},
        refused.errors,
        status_code=refused.status_code,
    )


def _beside_its_lot(exc: DomainError) -> DomainError:
    """A refusal of the services that names a counted lot, to go beside that lot's box."""
    lot_id = exc.extensions.get("lot_id")
    if lot_id is None:
        return exc
    moved = copy(exc)
    moved.extensions = {**exc.extensions, "field": f"lot_{lot_id}"}
    return moved


def _count_body(warehouse: str, counted: dict[str, str], reference: str) -> CountCreate:
    """The count sheet's filled-in boxes checked, or a refusal naming the boxes to correct."""
    errors: dict[str, str] = {}
    lines: list[dict[str, object]] = []
    lots: list[str] = []
    for lot_id, text in counted.items():
        try:
            lines.append({"lot_id": int(lot_id), "counted_quantity": Decimal(text)})
            lots.append(lot_id)
        except (ValueError, InvalidOperation):
            errors[f"lot_{lot_id}"] = "Enter a number, e.g. 12.5"
    if not lines and not errors:
        errors["form"] = "Enter at least one counted quantity."
    if errors:
        raise FormInvalidError(errors)
    body, invalid = parse(
        CountCreate, {"warehouse_id": warehouse, "lines": lines, "reference": reference}
    )
    for key, message in invalid.items():
        line = LINE_FIELD.match(key)
        errors.setdefault(f"lot_{lots[int(line.group(1))]}" if line else key, message)
    if body is None or errors:
        raise FormInvalidError(errors)
    return body


def _warehouses(db: Session) -> list[tuple[str, str]]:
    return [(str(w.id), f"{w.code} · {w.name}") for w in catalog.warehouses.options(db)]


def _count_page(
    request: Request,
    db: Session,
    caller: PageCaller,
    warehouse_id: int | None,
    blind: bool,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    rows = stock_queries.count_lines(db, warehouse_id) if warehouse_id is not None else []
    return render(
        request,
        "stock/count.html",
        caller,
        status_code=status_code,
        warehouse_id=warehouse_id,
        warehouses=_warehouses(db),
        blind=blind,
        rows=rows,
        values=values,
        errors=errors,
        booked=request.query_params.get("booked") == "1",
    )
