"""Price tiers: a product's price for each tier, and the price an order line defaults to."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crud.crud_sales import tier_prices
from app.models.catalog import Product
from app.models.sales import PriceTier, TierPrice
from app.services import audit
from app.services.audit import Actor
from app.services.money import CENT


@dataclass(frozen=True)
class TierPriceView:
    """What a product sells for in one tier, and whether that is its list price."""

    tier: PriceTier
    price: Decimal
    is_list_price: bool


def price_list(db: Session, product: Product) -> list[TierPriceView]:
    """The product's price in every tier (the list price where no tier price is set)."""
    rows = db.scalars(select(TierPrice).where(TierPrice.product_id == product.id))
    set_prices = {row.tier: row.price for row in rows}
    return [
        TierPriceView(tier, set_prices.get(tier, product.price), tier not in set_prices)
        for tier in PriceTier
    ]


def set_price(
    db: Session, actor: Actor, product: Product, tier: PriceTier, price: Decimal
) -> list[TierPriceView]:
    """Set the product's price for ``tier``; audited with the price before."""
    price = price.quantize(CENT)  # "1e3" is stored, answered and audited as 1000.00
    row = db.scalar(
        select(TierPrice).where(TierPrice.product_id == product.id, TierPrice.tier == tier)
    )
    before = row.price if row is not None else None
    if row is None:
        db.add(TierPrice(product_id=product.id, tier=tier, price=price))
    else:
        row.price = price
    db.flush()
    if before != price:
        audit.record(
            db,
            actor,
            "price.set",
            "product",
            product.id,
            tier=tier,
            changes={"price": {"before": audit.jsonable(before), "after": str(price)}},
        )
    return price_list(db, product)


def remove_price(db: Session, actor: Actor, product: Product, tier: PriceTier) -> None:
    """Drop the product's price for ``tier`` (if set): it sells at list price again."""
    row = db.scalar(
        select(TierPrice).where(TierPrice.product_id == product.id, TierPrice.tier == tier)
    )
    if row is None:
        return
    audit.record(
        db,
        actor,
        "price.removed",
        "product",
        product.id,
        tier=tier,
        changes={"price": {"before": str(row.price), "after": None}},
    )
    db.delete(row)
    db.flush()


def default_prices(db: Session, products: Sequence[Product], tier: str) -> dict[int, Decimal]:
    """The unit price each product defaults to on an order of a ``tier`` customer."""
    prices = tier_prices(db, [product.id for product in products], tier)
    return {
        product.id: prices[product.id].price if product.id in prices else product.price
        for product in products
    }
