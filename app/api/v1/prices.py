"""A product's price per tier: what each kind of customer pays by default."""

from fastapi import status

from app.api.deps import CatalogReader, DbSession, PriceWriter
from app.api.responses import responses
from app.kit.routers import Router
from app.models.sales import PriceTier
from app.schemas.sales import TierPriceRead, TierPriceSet
from app.schemas.types import RecordId
from app.services import catalog, pricing

router = Router(prefix="/products/{product_id}/prices", tags=["catalog"])


@router.get("", responses=responses(404))
def list_prices(product_id: RecordId, _: CatalogReader, db: DbSession) -> list[TierPriceRead]:
    """The product's price in every tier (its list price where no tier price is set)."""
    product = catalog.products.get(db, product_id)
    return [TierPriceRead.model_validate(row) for row in pricing.price_list(db, product)]


@router.put("/{tier}", responses=responses(404))
def set_price(
    product_id: RecordId, tier: PriceTier, body: TierPriceSet, caller: PriceWriter, db: DbSession
) -> list[TierPriceRead]:
    """Set the product's price for one tier (audited with the price before)."""
    product = catalog.products.get(db, product_id)
    rows = pricing.set_price(db, caller.actor, product, tier, body.price)
    return [TierPriceRead.model_validate(row) for row in rows]


@router.delete("/{tier}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404))
def remove_price(product_id: RecordId, tier: PriceTier, caller: PriceWriter, db: DbSession) -> None:
    """Drop the product's price for one tier (if set): that tier pays the list price again."""
    product = catalog.products.get(db, product_id)
    pricing.remove_price(db, caller.actor, product, tier)
