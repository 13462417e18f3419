"""Money: amounts rounded to the cent, and order totals an amount column can hold."""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from app.core.errors import InvalidRequestError
from app.models.catalog import MONEY_MAX

CENT = Decimal("0.01")


def round_cents(value: Decimal) -> Decimal:
    """``value`` rounded half up to the cent (two decimal places)."""
    return value.quantize(CENT, ROUND_HALF_UP)


def line_total(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's value: its quantity at its unit price, rounded half up to the cent."""
    return round_cents(quantity * unit_price)


def order_total(line_values: Iterable[Decimal], what: str) -> Decimal:
    """The sum of an order's line values, or a 422 when it is more than an amount can hold."""
    total = sum(line_values, Decimal(0))
    if total > MONEY_MAX:
        raise InvalidRequestError(
            f"The {what} comes to {total}, more than the largest amount kept ({MONEY_MAX}); "
            "split it into several orders.",
            field="lines",
        )
    return total
