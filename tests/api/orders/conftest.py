"""Fixtures of the sales order tests: the shop and its stock."""

import pytest
from fastapi.testclient import TestClient

from app.models.catalog import UnitOfMeasure
from tests.api.orders.scenes import APRICOTS_PRICE, DATES_PRICE, Shop, Stocked
from tests.support.callers import SignedIn
from tests.support.sales import (
    make_customer,
    make_priced_product,
    stock_lot,
)
from tests.support.stock import (
    PACK_WEIGHT,
    make_warehouse,
)


@pytest.fixture
def shop() -> Shop:
    """The catalog and a customer, without stock."""
    return Shop(
        dates=make_priced_product("DATE-MEDJOOL", str(DATES_PRICE)),
        apricots=make_priced_product(
            "APRICOT-500G",
            str(APRICOTS_PRICE),
            unit=UnitOfMeasure.PACK,
            net_weight_kg=PACK_WEIGHT,
        ),
        main=make_warehouse("MAIN"),
        spare=make_warehouse("SPARE"),
        customer=make_customer("Oasis Foods"),
    )


@pytest.fixture
def stocked(client: TestClient, admin: SignedIn, shop: Shop) -> Stocked:
    """The shop with stock in MAIN."""
    return Stocked(
        shop=shop,
        dates_lot=stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "50", days=90),
        apricots_lot=stock_lot(
            client, admin.headers, shop.apricots, shop.main, "A-1", "20", days=120
        ),
    )
