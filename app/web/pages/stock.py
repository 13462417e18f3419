"""Stock work: receive, adjust, transfer, write off and count, with messages beside the fields."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.core.errors import NotFoundError
from app.schemas.stock import (
    AdjustmentCreate,
    CountCreate,
    ReceiptCreate,
    StockLevelRead,
    TransferCreate,
    WasteCreate,
)
from app.schemas.types import RecordId
from app.services import catalog, stock, stock_queries
from app.services.permissions import Permission
from app.services.stock import CountLine, MovementContext
from app.web.forms import FormInvalidError, checked, form_values, refusals
from app.web.routing import PageDb, page_router
from app.web.session import (
    FormUser,
    PageCaller,
    PageUser,
    SubmittedForm,
    form_require,
    page_require,
)
from app.web.templating import render

router = page_router()


@dataclass(frozen=True)
class Field:
    """A form field: its name, label and kind (text, date, product, warehouse, lot, supplier)."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class StockForm:
    """One kind of stock work: its page, rule, schema, fields and the service it calls."""

    slug: str
    title: str
    permission: Permission
    schema: type[BaseModel]
    fields: tuple[Field, ...]
    book: Callable[[Session, MovementContext, Any], object]


PRODUCT = Field("product_id", "Product", "product", required=True)
LOT = Field("lot_id", "Lot", "lot", required=True)
WAREHOUSE = Field("warehouse_id", "Warehouse", "warehouse", required=True)
REFERENCE = Field("reference", "Reference", hint="Delivery note, order or count sheet number")


def _receive(db: Session, context: MovementContext, body: ReceiptCreate) -> object:
    return stock.receive(db, context, stock.receipt_of(body))


def _moves(action: Callable[..., object], *names: str) -> Callable[..., object]:
    def book(db: Session, context: MovementContext, body: BaseModel) -> object:
        return action(db, context, **{name: getattr(body, name) for name in names})

    return book


FORMS = {
    form.slug: form
    for form in (
        StockForm(
            "receive",
            "Receive goods",
            Permission.STOCK_MOVE,
            ReceiptCreate,
            (
                PRODUCT,
                WAREHOUSE,
                Field("lot_code", "Lot code", required=True, hint="From the supplier's label"),
                Field("quantity", "Quantity", required=True),
                Field("received_date", "Received on", "date", hint="Today when empty"),
                Field("best_before", "Best before", "date", hint="From the shelf life when empty"),
                Field("supplier_id", "Supplier", "supplier"),
                Field("unit_cost", "Unit cost (EUR)"),
                Field("moisture_pct", "Moisture (%)"),
                Field("grade", "Quality grade"),
                REFERENCE,
                Field("reason", "Note"),
                Field(
                    "allow_repeated_delivery_note",
                    "Another delivery under the same note",
                    "checkbox",
                    hint="Tick only when the supplier delivered again under a reference "
                    "already received into the same lot",
                ),
            ),
            _receive,
        ),
        StockForm(
            "adjust",
            "Adjust stock",
            Permission.STOCK_ADJUST,
            AdjustmentCreate,
            (
                PRODUCT,
                LOT,
                WAREHOUSE,
                Field("quantity", "Change", required=True, hint="Negative to remove, e.g. -2.5"),
                REFERENCE,
                Field("reason", "Reason", required=True),
            ),
            _moves(stock.adjust, "product_id", "lot_id", "warehouse_id", "quantity"),
        ),
        StockForm(
            "transfer",
            "Transfer between warehouses",
            Permission.STOCK_MOVE,
            TransferCreate,
            (
                PRODUCT,
                LOT,
                Field("from_warehouse_id", "From warehouse", "warehouse", required=True),
                Field("to_warehouse_id", "To warehouse", "warehouse", required=True),
                Field("quantity", "Quantity", required=True),
                REFERENCE,
                Field("reason", "Note"),
            ),
            _moves(
                stock.transfer,
                "product_id",
                "lot_id",
                "from_warehouse_id",
                "to_warehouse_id",
                "quantity",
            ),
        ),
        StockForm(
            "waste",
            "Write off waste",
            Permission.STOCK_MOVE,
            WasteCreate,
            (
                PRODUCT,
                LOT,
                WAREHOUSE,
                Field("quantity", "Quantity", required=True),
                REFERENCE,
                Field("reason", "Reason", required=True, hint="Spoiled, damaged, pests ..."),
            ),
            _moves(stock.waste, "product_id", "lot_id", "warehouse_id", "quantity"),
        ),
    )
}


def _choices(db: Session, product_id: str | None) -> dict[str, list[tuple[str, str]]]:
    """The options of the select fields (lots: those of the chosen product with stock)."""
    products = catalog.products.options(db)
    warehouses = catalog.warehouses.options(db)
    suppliers = catalog.suppliers.options(db)
    lots: list[tuple[str, str]] = []
    if product_id and product_id.isdigit():
        levels, _ = stock_queries.list_levels(
            db, stock_queries.LevelFilter(product_id=int(product_id)), offset=0, limit=500
        )
        seen: dict[int, str] = {}
        for level in levels:
            seen.setdefault(level.lot_id, f"{level.lot_code} · best before {level.best_before}")
        lots = [(str(lot_id), label) for lot_id, label in seen.items()]
    return {
        "product": [(str(p.id), f"{p.sku} · {p.name}") for p in products],
        "warehouse": [(str(w.id), f"{w.code} · {w.name}") for w in warehouses],
        "supplier": [(str(s.id), f"{s.code} · {s.name}") for s in suppliers],
        "lot": lots,
    }


def _form(slug: str, caller: PageCaller) -> StockForm:
    form = FORMS.get(slug)
    if form is None:
        raise NotFoundError("There is no such stock form.")
    caller.require(form.permission, what=form.title.lower())
    return form


def _page(
    request: Request,
    db: Session,
    caller: PageCaller,
    form: StockForm,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "stock/form.html",
        caller,
        status_code=status_code,
        form=form,
        forms=[f for f in FORMS.values() if caller.can(f.permission)],
        values=values,
        errors=errors,
        choices=_choices(db, values.get("product_id")),
    )


@router.get("/stock/{slug}", response_class=HTMLResponse)
def stock_form(request: Request, slug: str, db: PageDb, caller: PageUser) -> HTMLResponse:
    """The form of one kind of stock work (product, lot and warehouse may come filled in)."""
    form = _form(slug, caller)
    names = [field.name for field in form.fields]
    values = {key: value for key, value in request.query_params.items() if key in names}
    return _page(request, db, caller, form, values, {})


@router.post("/stock/{slug}", response_class=HTMLResponse)
def book_stock(
    request: Request, slug: str, submitted: SubmittedForm, db: PageDb, caller: FormUser
) -> Response:
    """Book the stock work of the form; back to the product, or the form with what to correct."""
    form = _form(slug, caller)
    values = form_values(submitted, [field.name for field in form.fields])
    with refusals(db) as refused:
        body = checked(form.schema, values)
        context = MovementContext(
            actor=caller.actor,
            reference=getattr(body, "reference", ""),
            reason=getattr(body, "reason", ""),
        )
        form.book(db, context, body)
        return RedirectResponse(
            f"/products/{values['product_id']}?booked={form.slug}", status_code=303
        )
    return _page(request, db, caller, form, values, refused.errors, refused.status_code)


@router.get("/count", response_class=HTMLResponse)
def count_sheet(
    request: Request,
    db: PageDb,
    caller: PageCaller = page_require(Permission.STOCK_MOVE),
    warehouse_id: RecordId | None = None,
) -> HTMLResponse:
    """A stocktake sheet: every lot with stock in the warehouse, its book quantity, a count box."""
    return _count_page(request, db, caller, warehouse_id, {}, {})


@router.post("/count", response_class=HTMLResponse)
def book_count(
    request: Request,
    form: SubmittedForm,
    db: PageDb,
    caller: PageCaller = form_require(Permission.STOCK_MOVE),
) -> Response:
    """Book the counted quantities; each difference becomes a count movement."""
    warehouse = str(form.get("warehouse_id", ""))
    counted = {
        key.removeprefix("lot_"): str(value).strip()
        for key, value in form.items()
        if key.startswith("lot_") and str(value).strip()
    }
    with refusals(db) as refused:
        body = checked(
            CountCreate,
            {
                "warehouse_id": warehouse,
                "lines": _counted_lines(counted),
                "reference": form.get("reference", ""),
            },
        )
        stock.count(
            db,
            MovementContext(actor=caller.actor, reference=body.reference, reason="stocktake"),
            warehouse_id=body.warehouse_id,
            lines=[
                CountLine(lot_id=line.lot_id, counted=line.counted_quantity) for line in body.lines
            ],
        )
        return RedirectResponse(f"/count?warehouse_id={body.warehouse_id}&booked=1", 303)
    chosen = int(warehouse) if warehouse.isdigit() else None
    return _count_page(
        request, db, caller, chosen, counted, refused.errors, status_code=refused.status_code
    )


def _counted_lines(counted: dict[str, str]) -> list[dict[str, object]]:
    """The count sheet's filled-in boxes as lines, or a refusal naming the boxes to correct."""
    errors: dict[str, str] = {}
    lines: list[dict[str, object]] = []
    for lot_id, text in counted.items():
        try:
            lines.append({"lot_id": int(lot_id), "counted_quantity": Decimal(text)})
        except (ValueError, InvalidOperation):
            errors[f"lot_{lot_id}"] = "Enter a number, e.g. 12.5"
    if not lines and not errors:
        errors["form"] = "Enter at least one counted quantity."
    if errors:
        raise FormInvalidError(errors)
    return lines


def _count_page(
    request: Request,
    db: Session,
    caller: PageCaller,
    warehouse_id: RecordId | None,
    counted: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    levels: list[StockLevelRead] = []
    if warehouse_id is not None:
        levels, _ = stock_queries.list_levels(
            db, stock_queries.LevelFilter(warehouse_id=warehouse_id), offset=0, limit=5000
        )
    return render(
        request,
        "stock/count.html",
        caller,
        status_code=status_code,
        warehouse_id=warehouse_id,
        warehouses=_choices(db, None)["warehouse"],
        levels=levels,
        counted=counted,
        errors=errors,
        booked=request.query_params.get("booked") == "1",
    )
