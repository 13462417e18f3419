"""Stock work: receive, adjust, transfer and write off, with messages beside the fields."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.core.errors import NotFoundError
from app.core.formatting import day, quantity
from app.schemas.stock import AdjustmentCreate, ReceiptCreate, TransferCreate, WasteCreate
from app.schemas.types import ID_RANGE
from app.services import catalog, stock, stock_queries
from app.services.permissions import Permission
from app.services.stock import MovementContext
from app.services.stock_queries import LotChoice
from app.web.form_pages import Field
from app.web.forms import FormInvalidError, form_values, parse, refusals
from app.web.routing import PageDb, page_router
from app.web.session import FormUser, PageCaller, PageUser, SubmittedForm
from app.web.templating import render

router = page_router()


@dataclass(frozen=True)
class StockForm:
    """One kind of stock work: its page, rule, schema, fields and the service it calls; the
    lots it offers are those with stock unless it may also add stock (``any_lot``)."""

    slug: str
    title: str
    permission: Permission
    schema: type[BaseModel]
    fields: tuple[Field, ...]
    book: Callable[[Session, MovementContext, Any], object]
    any_lot: bool = False

    @property
    def picks_lot(self) -> bool:
        """Whether the form books a lot chosen from the product's lots."""
        return any(field.kind == "lot" for field in self.fields)

    @property
    def source(self) -> str | None:
        """The warehouse field chosen by itself when only one warehouse holds the lot."""
        warehouses = [field.name for field in self.fields if field.kind == "warehouse"]
        return warehouses[0] if self.picks_lot else None


ONE_WAREHOUSE = "Chosen by itself when only one warehouse holds the lot"
PRODUCT = Field("product_id", "Product", "product", required=True)
LOT = Field("lot_id", "Lot", "lot", required=True)
WAREHOUSE = Field("warehouse_id", "Warehouse", "warehouse", required=True)
SOURCE = Field("warehouse_id", "Warehouse", "warehouse", hint=ONE_WAREHOUSE)
REFERENCE = Field("reference", "Reference", hint="Delivery note, order or count sheet number")
DIRECTION = Field(
    "direction",
    "Change",
    "choice",
    required=True,
    options=(("add", "Add: stock found"), ("remove", "Remove: stock lost or gone off")),
)
DECIMAL_FIELDS = frozenset({"quantity", "unit_cost", "moisture_pct"})


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
                Field("unit_cost", "Unit cost", hint="Per unit, in the company's currency"),
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
                SOURCE,
                DIRECTION,
                Field("quantity", "Quantity", required=True, hint="How much, e.g. 2.5"),
                REFERENCE,
                Field("reason", "Reason", required=True),
            ),
            _moves(stock.adjust, "product_id", "lot_id", "warehouse_id", "quantity"),
            any_lot=True,
        ),
        StockForm(
            "transfer",
            "Transfer between warehouses",
            Permission.STOCK_MOVE,
            TransferCreate,
            (
                PRODUCT,
                LOT,
                Field("from_warehouse_id", "From warehouse", "warehouse", hint=ONE_WAREHOUSE),
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
                SOURCE,
                Field("quantity", "Quantity", required=True),
                REFERENCE,
                Field("reason", "Reason", required=True, hint="Spoiled, damaged, pests ..."),
            ),
            _moves(stock.waste, "product_id", "lot_id", "warehouse_id", "quantity"),
        ),
    )
}


@dataclass(frozen=True)
class LotOption:
    """A lot in the lot picker: its id, its label and the warehouse that alone holds it."""

    value: str
    text: str
    warehouse: str


def _lot_label(lot: LotChoice) -> str:
    """A lot as the picker shows it: L-1 · best before 12 Mar 2027 · MAIN: 40 kg, COLD: 5 kg."""
    held = ", ".join(
        f"{place.warehouse_code}: {quantity(place.on_hand, lot.unit)}"
        + (f" ({quantity(place.reserved)} reserved)" if place.reserved else "")
        for place in lot.holdings
    )
    parts = [lot.lot_code, f"best before {day(lot.best_before)}", held or "no stock"]
    if lot.status != "available":
        parts.append(str(lot.status))
    return " · ".join(parts)


def _lots(db: Session, form: StockForm, product_id: str | None) -> list[LotChoice]:
    if not form.picks_lot or not _record_id(product_id):
        return []
    return stock_queries.lot_choices(db, int(str(product_id)), with_stock=not form.any_lot)


def _record_id(text: str | None) -> bool:
    """Whether ``text`` can name a record (a whole number in the ids' range)."""
    return bool(text) and str(text).isdigit() and int(str(text)) <= ID_RANGE[1]


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
    lots = _lots(db, form, values.get("product_id"))
    chosen = next((lot for lot in lots if str(lot.lot_id) == values.get("lot_id")), None)
    if form.source and not values.get(form.source) and chosen and chosen.sole_warehouse:
        values = {**values, form.source: str(chosen.sole_warehouse)}
    return render(
        request,
        "stock/form.html",
        caller,
        status_code=status_code,
        form=form,
        forms=[f for f in FORMS.values() if caller.can(f.permission)],
        values=values,
        errors=errors,
        decimal_fields=DECIMAL_FIELDS,
        choices={
            "product": [(str(p.id), f"{p.sku} · {p.name}") for p in catalog.products.options(db)],
            "warehouse": [
                (str(w.id), f"{w.code} · {w.name}") for w in catalog.warehouses.options(db)
            ],
            "supplier": [
                (str(s.id), f"{s.code} · {s.name}") for s in catalog.suppliers.options(db)
            ],
        },
        lots=[
            LotOption(str(lot.lot_id), _lot_label(lot), str(lot.sole_warehouse or ""))
            for lot in lots
        ],
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
        body = _checked(db, form, values)
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


def _checked(db: Session, form: StockForm, values: dict[str, str]) -> BaseModel:
    """The form's values checked by its schema, an adjustment's quantity signed by its
    direction, and a warehouse the form leaves out chosen by itself when one warehouse holds
    the lot (written into ``values``); or a refusal naming each field."""
    source, lot = form.source, values.get("lot_id")
    body, errors = _parsed(form, values)
    if source and not values.get(source) and _record_id(lot):
        errors.pop(source, None)
        if not errors:
            values[source] = str(stock_queries.holding_warehouse(db, int(str(lot)), source))
            body, errors = _parsed(form, values)
    if body is None or errors:
        raise FormInvalidError(errors)
    return body


def _parsed(form: StockForm, values: dict[str, str]) -> tuple[BaseModel | None, dict[str, str]]:
    """The form's values checked by its schema, and the message of each field."""
    sent = {name: value for name, value in values.items() if name != DIRECTION.name}
    errors: dict[str, str] = {}
    if DIRECTION in form.fields:
        sent["quantity"], errors = _signed(values)
    body, invalid = parse(form.schema, sent)
    return body, {**invalid, **errors}


def _signed(values: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An adjustment's quantity with the sign its direction gives, or what to correct."""
    amount, direction = values.get("quantity", ""), values.get("direction", "")
    if direction not in ("add", "remove"):
        return amount, {"direction": "Choose whether stock is added or removed."}
    if amount.startswith(("-", "+")):
        return amount, {
            "quantity": "Enter the quantity without a sign; Add or Remove says which way."
        }
    return ("-" + amount if direction == "remove" and amount else amount), {}
