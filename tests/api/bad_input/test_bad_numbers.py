"""Numbers at the API's edges that are huge, negative, not finite, in exponent notation or of
the wrong JSON type: refused with a problem that writes nothing, or stored as the number sent.

Each matrix of value x field runs as subtests of one test per field."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.api.bad_input.scene import (
    AUDIT,
    Call,
    Raw,
    Scene,
    Unchanged,
    _order,
    _product,
    _purchase,
    answer,
    assert_refusal,
    ids,
)
from tests.support.sales import (
    PRODUCTS,
)
from tests.support.stock import (
    ADJUSTMENTS,
    LEVELS,
    MOVEMENTS,
    RECEIPTS,
    TRANSFERS,
    receipt_body,
)

# =========================================================================== numbers


@dataclass(frozen=True)
class NumberField:
    """Where a number goes: ``call`` puts a value there; ``valid`` names the bad numbers that
    are in fact fine here (zero for a price, a negative adjustment, null for a default)."""

    field: str
    call: Callable[[Scene, Any], Call]
    valid: frozenset[str] = frozenset()


def _receipt(s: Scene, value: Any) -> Call:
    return Call("POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-NEW", value))


def _adjustment(s: Scene, value: Any) -> Call:
    body = {
        "product_id": s.product,
        "lot_id": s.lot,
        "warehouse_id": s.main,
        "quantity": value,
        "reason": "recount",
    }
    return Call("POST", ADJUSTMENTS, body)


def _transfer(s: Scene, value: Any) -> Call:
    body = {
        "product_id": s.product,
        "lot_id": s.lot,
        "from_warehouse_id": s.main,
        "to_warehouse_id": s.spare,
        "quantity": value,
    }
    return Call("POST", TRANSFERS, body)


def _tier_price(s: Scene, value: Any) -> Call:
    return Call("PUT", f"{PRODUCTS}/{s.product}/prices/wholesale", {"price": value})


FREE = frozenset({"zero", "negative-zero"})  # a price or a cost of nothing is allowed
NUMBER_FIELDS: dict[str, NumberField] = {
    "receipt-quantity": NumberField("quantity", _receipt),
    "adjustment-quantity": NumberField("quantity", _adjustment, frozenset({"negative"})),
    "transfer-quantity": NumberField("quantity", _transfer),
    "order-line-quantity": NumberField("quantity", lambda s, v: _order(s, {"quantity": v})),
    "order-line-unit-price": NumberField(
        "unit_price", lambda s, v: _order(s, {"unit_price": v}), FREE | {"null"}
    ),
    "purchase-line-quantity": NumberField("quantity", lambda s, v: _purchase(s, {"quantity": v})),
    "purchase-line-unit-cost": NumberField(
        "unit_cost", lambda s, v: _purchase(s, {"unit_cost": v}), FREE | {"null"}
    ),
    "tier-price": NumberField("price", _tier_price, FREE),
    "product-price": NumberField("price", lambda s, v: _product(s, price=v), FREE),
}
BAD_NUMBERS: dict[str, Any] = {
    "json-1e30": Raw("1e30"),
    "string-1e30": "1e30",
    "json-10**40": Raw(str(10**40)),
    "string-10**40": str(10**40),
    "400-digit-string": "9" * 400,
    "4400-digit-json-number": Raw("9" * 4400),
    "300-decimal-places": "0." + "1" * 300,
    "five-decimal-places": "1.00001",
    "exponent-1E-7": "1E-7",
    "json-exponent-1e-7": Raw("1e-7"),
    "json-1e400": Raw("1e400"),
    "exponent-1e999999999": "1e999999999",
    "exponent-1e-999999999": "1e-999999999",
    "negative": "-1",
    "zero": "0",
    "negative-zero": "-0",
    "json-NaN": Raw("NaN"),
    "string-NaN": "NaN",
    "string-sNaN": "sNaN",
    "json-Infinity": Raw("Infinity"),
    "string-Infinity": "Infinity",
    "json-minus-Infinity": Raw("-Infinity"),
    "string-minus-Infinity": "-Infinity",
    "word": "ten",
    "empty-string": "",
    "comma-decimal": "1,5",
    "hex": "0x10",
    "true": True,
    "false": False,
    "null": None,
    "list": [1],
    "object": {"value": 1},
}


@pytest.mark.parametrize("target", ids(NUMBER_FIELDS))
def test_bad_numbers_are_refused_and_write_nothing(
    scene: Scene, subtests: pytest.Subtests, target: NumberField
) -> None:
    with subtests.test("good-number-accepted"):  # the call is sound but for the number
        accepted = scene.send(target.call(scene, "5"))
        assert accepted.status_code in (200, 201), accepted.text
    unchanged = Unchanged()
    for name, value in BAD_NUMBERS.items():
        if name in target.valid:
            continue
        with subtests.test(name):
            response = scene.send(target.call(scene, value))
            written = unchanged.written()
            assert_refusal(response, target.field)
            assert written == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1e3", "1000", id="string-1e3"),
        pytest.param(Raw("1e3"), "1000", id="json-1e3"),
        pytest.param("1E+2", "100", id="string-1E+2"),
        pytest.param("25E-1", "2.5", id="string-25E-1"),
        pytest.param(Raw("2.5e-1"), "0.25", id="json-2.5e-1"),
    ],
)
def test_a_quantity_in_exponent_notation_is_the_number_it_writes(
    scene: Scene, value: Any, expected: str
) -> None:
    written = answer(scene.send(_receipt(scene, value)), 201)["movements"][0]
    [row] = scene.get(MOVEMENTS, lot_id=written["lot_id"])["items"]

    assert Decimal(written["quantity"]) == Decimal(expected)
    assert row["quantity"] == written["quantity"]
    assert "E" not in written["quantity"].upper()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1e3", "1000.00", id="exponent-1e3"),
        pytest.param("5E-1", "0.50", id="exponent-5E-1"),
        pytest.param("0.5", "0.50", id="one-decimal"),
    ],
)
def test_a_changed_tier_price_is_answered_as_a_later_read_answers_it(
    scene: Scene, value: str, expected: str
) -> None:
    """PUT answers the stored amount in plain two-decimal notation, as GET does after it."""
    answer(scene.send(_tier_price(scene, "2.00")))

    changed = answer(scene.send(_tier_price(scene, value)))
    read = scene.get(f"{PRODUCTS}/{scene.product}/prices")
    [audited, _] = scene.get(AUDIT, action="price.set")["items"]

    assert {row["tier"]: row["price"] for row in read}["wholesale"] == expected
    assert changed == read
    assert audited["details"]["changes"]["price"]["after"] == expected


def test_stock_beyond_the_storable_range_is_refused(scene: Scene) -> None:
    """A quantity has at most 14 digits (3 decimals); a level that would sum past that is
    refused, not stored out of range."""
    answer(scene.send(_receipt(scene, "99999999999.999")), 201)
    unchanged = Unchanged()

    response = scene.send(_receipt(scene, "1"))

    assert_refusal(response)
    assert unchanged.written() == []
    [level] = scene.get(LEVELS)["items"]
    assert level["on_hand"] == "99999999999.999"
