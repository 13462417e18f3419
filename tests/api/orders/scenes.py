"""The sales order tests' scenes: a priced catalog with customers, stocked, and shipped."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.support.callers import UNKNOWN_ID
from tests.support.sales import (
    ORDERS,
    Json,
    dec,
    order_action,
    order_body,
    order_line,
    return_goods,
    return_line,
)
from tests.support.stock import (
    LOTS,
    level_of,
    set_lot_dates,
)

DATES_PRICE = Decimal("12.50")
APRICOTS_PRICE = Decimal("3.20")
STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")


@dataclass(frozen=True)
class Shop:
    """Two priced products (dates by kg, apricots in packs of 0.5 kg), two warehouses and a
    retail customer."""

    dates: int
    apricots: int
    main: int
    spare: int
    customer: int


@dataclass(frozen=True)
class Stocked:
    """The shop with 50 kg of dates (lot D-1) and 20 packs of apricots (lot A-1) in MAIN."""

    shop: Shop
    dates_lot: int
    apricots_lot: int


def levels(
    client: TestClient, headers: dict[str, str], warehouse_id: int, *lot_ids: int
) -> list[tuple[Decimal, Decimal]]:
    """(on_hand, reserved) of each lot in a warehouse, (0, 0) where it has no level."""
    result = []
    for lot_id in lot_ids:
        level = level_of(client, headers, lot_id, warehouse_id)
        result.append(
            (dec(level["on_hand"]), dec(level["reserved"]))
            if level is not None
            else (Decimal(0), Decimal(0))
        )
    return result


def total_of(order: Json) -> Decimal:
    """An order's total as a Decimal."""
    return dec(order["total"])


def _quarantine(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "quarantine")


def _recall(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "recalled")


def _expire(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "expired")


def _past_best_before(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    today = date.today()
    set_lot_dates(lot_id, today - timedelta(days=200), today - timedelta(days=1))


def _set_lot_status(client: TestClient, headers: dict[str, str], lot_id: int, status: str) -> None:
    response = client.post(
        f"{LOTS}/{lot_id}/status", json={"status": status, "reason": "QA"}, headers=headers
    )
    assert response.status_code == 200, response.text


SPOILERS: dict[str, Callable[[TestClient, dict[str, str], int], None]] = {
    "quarantined": _quarantine,
    "recalled": _recall,
    "expired": _expire,
    "past-best-before": _past_best_before,
}


# =========================================================================== returns


@dataclass(frozen=True)
class Shipped:
    """An order shipped from MAIN: line 1 is 7 kg of dates (4 from EARLY, then 3 from LATE),
    line 2 is 4 packs of apricots from A-1. OTHER is a dates lot the order did not touch."""

    shop: Shop
    order: Json
    early: int
    late: int
    other: int
    packs: int

    @property
    def dates_line(self) -> int:
        return int(self.order["lines"][0]["id"])

    @property
    def packs_line(self) -> int:
        return int(self.order["lines"][1]["id"])


# =========================================================================== wrong state


def _patch(client: TestClient, headers: dict[str, str], order: Json) -> Any:
    return client.patch(f"{ORDERS}/{order['id']}", json={"notes": "late"}, headers=headers)


def _return(client: TestClient, headers: dict[str, str], order: Json) -> Any:
    return return_goods(client, headers, order["id"], [return_line(order["lines"][0]["id"], "1")])


def _transition(action: str) -> Callable[[TestClient, dict[str, str], Json], Any]:
    def run(client: TestClient, headers: dict[str, str], order: Json) -> Any:
        return order_action(client, headers, order["id"], action)

    return run


WRONG_STATE = {
    "confirm-twice": (("confirm",), _transition("confirm")),
    "confirm-cancelled": (("cancel",), _transition("confirm")),
    "ship-pending": ((), _transition("ship")),
    "ship-twice": (("confirm", "ship"), _transition("ship")),
    "ship-cancelled": (("confirm", "cancel"), _transition("ship")),
    "deliver-pending": ((), _transition("deliver")),
    "deliver-confirmed": (("confirm",), _transition("deliver")),
    "deliver-twice": (("confirm", "ship", "deliver"), _transition("deliver")),
    "cancel-shipped": (("confirm", "ship"), _transition("cancel")),
    "cancel-delivered": (("confirm", "ship", "deliver"), _transition("cancel")),
    "cancel-twice": (("cancel",), _transition("cancel")),
    "return-pending": ((), _return),
    "return-confirmed": (("confirm",), _return),
    "return-cancelled": (("cancel",), _return),
    "patch-confirmed": (("confirm",), _patch),
    "patch-shipped": (("confirm", "ship"), _patch),
    "patch-cancelled": (("cancel",), _patch),
}


# =========================================================================== bad input

BadBody = Callable[[Shop, int, int], Json]


BAD_ORDERS: dict[str, tuple[BadBody, str, str]] = {
    "inactive-product": (
        lambda s, retired, _: order_body(
            s.customer, [order_line(s.dates, "1"), order_line(retired, "1")]
        ),
        "invalid-request",
        "lines[1].product_id",
    ),
    "unknown-product": (
        lambda s, _, __: order_body(s.customer, [order_line(UNKNOWN_ID, "1")]),
        "invalid-request",
        "lines[0].product_id",
    ),
    "zero-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "0")]),
        "validation-error",
        "quantity",
    ),
    "negative-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "-2")]),
        "validation-error",
        "quantity",
    ),
    "too-precise-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "1.0005")]),
        "validation-error",
        "quantity",
    ),
    "negative-unit-price": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "1", "-0.01")]),
        "validation-error",
        "unit_price",
    ),
    "fractional-packs": (
        lambda s, _, __: order_body(
            s.customer, [order_line(s.dates, "1"), order_line(s.apricots, "2.5")]
        ),
        "invalid-request",
        "lines[1].quantity",
    ),
    "no-lines": (
        lambda s, _, __: order_body(s.customer, []),
        "validation-error",
        "lines",
    ),
    "unknown-customer": (
        lambda s, _, __: order_body(UNKNOWN_ID, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "inactive-customer": (
        lambda s, _, closed: order_body(closed, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "no-customer": (
        lambda s, _, __: order_body(None, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "unknown-warehouse": (
        lambda s, _, __: order_body(
            s.customer, [order_line(s.dates, "1")], warehouse_id=UNKNOWN_ID
        ),
        "invalid-request",
        "warehouse_id",
    ),
}
