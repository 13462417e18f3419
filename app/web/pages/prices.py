"""A product's tier prices: what each kind of customer pays, and the form that sets them."""

from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.formatting import input_text
from app.models.catalog import Product
from app.models.sales import PriceTier
from app.schemas.sales import TierPriceSet
from app.schemas.types import RecordId
from app.services import catalog, pricing
from app.services.permissions import Permission
from app.web.forms import FormInvalidError, form_values, parse, refusals
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
FIELDS = [f"price_{tier}" for tier in PriceTier]


def form_values_of(prices: list[pricing.TierPriceView]) -> dict[str, str]:
    """The form's values: each tier's own price, empty where it pays the list price."""
    return {
        f"price_{row.tier}": "" if row.is_list_price else input_text(row.price) for row in prices
    }


def _prices_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    product: Product,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    prices = pricing.price_list(db, product)
    if values is None:
        values = form_values_of(prices)
    return render(
        request,
        "products/prices.html",
        caller,
        status_code=status_code,
        product=product,
        prices=prices,
        price_values=values,
        price_errors=errors or {},
        can_price=caller.can(Permission.PRICES_WRITE),
    )


@router.get("/products/{product_id}/prices", response_class=HTMLResponse)
def product_prices(
    request: Request,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.CATALOG_READ),
) -> HTMLResponse:
    """The product's price in every tier, and the form to change them."""
    return _prices_page(request, db, caller, catalog.products.get(db, product_id))


@router.post("/products/{product_id}/prices", response_class=HTMLResponse)
def set_prices(
    request: Request,
    form: SubmittedForm,
    product_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.PRICES_WRITE),
) -> Response:
    """Set the price of each tier filled in; a tier left empty pays the list price."""
    product = catalog.products.get(db, product_id)
    values = form_values(form, FIELDS)
    with refusals(db) as refused:
        wanted: dict[PriceTier, Decimal | None] = {}
        errors: dict[str, str] = {}
        for tier in PriceTier:
            text = values.get(f"price_{tier}", "")
            if not text:
                wanted[tier] = None
                continue
            body, problems = parse(TierPriceSet, {"price": text})
            if body is None:
                errors[f"price_{tier}"] = problems.get("price", "Enter a price.")
            else:
                wanted[tier] = body.price
        if errors:
            raise FormInvalidError(errors)
        for tier, price in wanted.items():
            if price is None:
                pricing.remove_price(db, caller.actor, product, tier)
            else:
                pricing.set_price(db, caller.actor, product, tier, price)
        return RedirectResponse(f"/products/{product.id}?priced=1", status_code=303)
    return _prices_page(
        request, db, caller, product, values, refused.errors, status_code=refused.status_code
    )
