"""Messages the pages show about refused input: every kind of error the page forms' schemas
produce, and the services' refusals that name ids or API options, read in plain words."""

import re
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from app.core.config import get_settings
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.schemas.catalog import ProductCreate, SupplierCreate
from app.schemas.purchasing import DeliveryCreate, PurchaseCreate, SuggestionsToOrder
from app.schemas.sales import CustomerCreate, OrderAction, OrderCreate, ReturnCreate
from app.schemas.stock import LotStatusChange, ReceiptCreate
from app.schemas.user import UserCreate
from app.services.customers import CUSTOMER_REQUIRED
from app.services.repeated_deliveries import RepeatedDeliveryNoteError
from app.web.forms import parse
from app.web.messages import BY_TYPE, field_message, page_detail

LIBRARY_WORDS = (
    "Input should",
    "Field required",
    "valid decimal",
    "String should",
    "List should",
    "Value error",
    "should have",
    "Decimal input",
    "unable to",
    "pattern",
)
PATTERN_SIGNS = re.compile(r"[\^$\\]|\[[^\]]*\]|\{\d|\(\?")
UNKNOWN_ID = "987654"
RECEIPT = {"product_id": "1", "warehouse_id": "1", "lot_code": "LOT-1", "quantity": "5"}
PRODUCT = {"sku": "DATE-1", "name": "Dates"}
PURCHASE = {"supplier_id": "1", "warehouse_id": "1"}


def assert_plain(message: str) -> None:
    """A message a person can read: no library phrase, no pattern, no id of a record."""
    assert message, "no message"
    assert message[0].isupper(), message
    assert message.endswith("."), message
    for words in LIBRARY_WORDS:
        assert words.lower() not in message.lower(), message
    assert not PATTERN_SIGNS.search(message), message
    assert UNKNOWN_ID not in message, message
    assert "_" not in message, message


# (schema, the form's values, the field, the type of the error the schema finds there)
FORM_ERRORS: list[tuple[type[BaseModel], dict[str, Any], str, str]] = [
    (ReceiptCreate, {**RECEIPT, "lot_code": ""}, "lot_code", "missing"),
    (ReceiptCreate, {**RECEIPT, "lot_code": "-x"}, "lot_code", "string_pattern_mismatch"),
    (ReceiptCreate, {**RECEIPT, "quantity": "lots"}, "quantity", "decimal_parsing"),
    (ReceiptCreate, {**RECEIPT, "quantity": "1,5,0"}, "quantity", "decimal_parsing"),
    (ReceiptCreate, {**RECEIPT, "quantity": "1.0001"}, "quantity", "decimal_max_places"),
    (ReceiptCreate, {**RECEIPT, "quantity": "1" * 15}, "quantity", "decimal_max_digits"),
    (ReceiptCreate, {**RECEIPT, "quantity": "1" * 12 + ".5"}, "quantity", "decimal_whole_digits"),
    (ReceiptCreate, {**RECEIPT, "quantity": "0"}, "quantity", "greater_than"),
    (ReceiptCreate, {**RECEIPT, "quantity": "inf"}, "quantity", "finite_number"),
    (ReceiptCreate, {**RECEIPT, "moisture_pct": "101"}, "moisture_pct", "less_than_equal"),
    (ReceiptCreate, {**RECEIPT, "unit_cost": "-1"}, "unit_cost", "greater_than_equal"),
    (
        ReceiptCreate,
        {**RECEIPT, "received_date": "31/12/2026"},
        "received_date",
        "date_from_datetime_parsing",
    ),
    (
        ReceiptCreate,
        {**RECEIPT, "best_before": "2026-12-06T10:00"},
        "best_before",
        "date_from_datetime_inexact",
    ),
    (
        ReceiptCreate,
        {**RECEIPT, "allow_repeated_delivery_note": "maybe"},
        "allow_repeated_delivery_note",
        "bool_parsing",
    ),
    (ReceiptCreate, {**RECEIPT, "product_id": "dates"}, "product_id", "int_parsing"),
    (
        ReceiptCreate,
        {**RECEIPT, "warehouse_id": "-3000000000"},
        "warehouse_id",
        "greater_than_equal",
    ),
    (ReceiptCreate, {**RECEIPT, "supplier_id": UNKNOWN_ID * 3}, "supplier_id", "less_than_equal"),
    (ReceiptCreate, {**RECEIPT, "warehouse_id": ""}, "warehouse_id", "missing"),
    (ReceiptCreate, {**RECEIPT, "grade": "x" * 101}, "grade", "string_too_long"),
    (ReceiptCreate, {**RECEIPT, "reason": "Late\x07"}, "reason", "value_error"),
    (ProductCreate, {**PRODUCT, "sku": "a b"}, "sku", "string_pattern_mismatch"),
    (
        ProductCreate,
        {**PRODUCT, "origin_country": "TUR"},
        "origin_country",
        "string_pattern_mismatch",
    ),
    (ProductCreate, {**PRODUCT, "unit": "ton"}, "unit", "enum"),
    (ProductCreate, {**PRODUCT, "net_weight_kg": "2"}, "net_weight_kg", "value_error"),
    (ProductCreate, {**PRODUCT, "shelf_life_days": "1.5"}, "shelf_life_days", "int_parsing"),
    (ProductCreate, {**PRODUCT, "shelf_life_days": "0"}, "shelf_life_days", "greater_than"),
    (ProductCreate, {**PRODUCT, "shelf_life_days": "4000"}, "shelf_life_days", "less_than_equal"),
    (ProductCreate, {**PRODUCT, "is_organic": "perhaps"}, "is_organic", "bool_parsing"),
    (ProductCreate, {**PRODUCT, "name": "x" * 201}, "name", "string_too_long"),
    (ProductCreate, {**PRODUCT, "category_id": "fruit"}, "category_id", "int_parsing"),
    (SupplierCreate, {"code": "NUTS", "name": "Nuts", "email": "nope"}, "email", "value_error"),
    (CustomerCreate, {"name": "Shop", "customer_type": "vip"}, "customer_type", "enum"),
    (CustomerCreate, {"name": "Shop", "price_tier": "gold"}, "price_tier", "enum"),
    (
        CustomerCreate,
        {"name": "Shop", "min_shelf_life_days": "-1"},
        "min_shelf_life_days",
        "greater_than_equal",
    ),
    (PurchaseCreate, {**PURCHASE, "lines": []}, "lines", "too_short"),
    (
        PurchaseCreate,
        {**PURCHASE, "lines": [{"product_id": "1", "quantity": "1"}] * 501},
        "lines",
        "too_long",
    ),
    (
        PurchaseCreate,
        {**PURCHASE, "expected_date": "soon", "lines": []},
        "expected_date",
        "date_from_datetime_parsing",
    ),
    (
        PurchaseCreate,
        {**PURCHASE, "lines": [{"product_id": "1", "quantity": "1", "unit_cost": "0.00001"}]},
        "lines.0.unit_cost",
        "decimal_max_places",
    ),
    (PurchaseCreate, {**PURCHASE, "lines": [{"product_id": "1"}]}, "lines.0.quantity", "missing"),
    (SuggestionsToOrder, {**PURCHASE, "cover_days": "a month"}, "cover_days", "int_parsing"),
    (SuggestionsToOrder, {**PURCHASE, "cover_days": "400"}, "cover_days", "less_than_equal"),
    (
        DeliveryCreate,
        {"lines": [{"line_id": "1", "quantity": "1", "lot_code": "/x"}]},
        "lines.0.lot_code",
        "string_pattern_mismatch",
    ),
    (
        DeliveryCreate,
        {"lines": [{"line_id": "x", "quantity": "1", "lot_code": "A"}]},
        "lines.0.line_id",
        "int_parsing",
    ),
    (
        OrderCreate,
        {"lines": [{"product_id": "1", "quantity": "1", "unit_price": "-2"}]},
        "lines.0.unit_price",
        "greater_than_equal",
    ),
    (
        ReturnCreate,
        {"reason": "damp", "lines": [{"line_id": "1", "quantity": "1", "disposition": "bin"}]},
        "lines.0.disposition",
        "enum",
    ),
    (LotStatusChange, {"status": "gone", "reason": "x"}, "status", "enum"),
    (LotStatusChange, {"status": "recalled", "reason": " "}, "reason", "string_too_short"),
    (OrderAction, {"reason": "x" * 2001}, "reason", "string_too_long"),
    (UserCreate, {"email": "a@example.com", "password": "x" * 129}, "password", "string_too_long"),
    (UserCreate, {"email": "a@example.com", "password": "p", "role": "boss"}, "role", "enum"),
]


def _case_id(case: tuple[type[BaseModel], dict[str, Any], str, str]) -> str:
    return f"{case[0].__name__}-{case[2]}-{case[3]}"


@pytest.mark.parametrize("locale", ["en_GB", "de_DE"])
@pytest.mark.parametrize(
    ("schema", "values", "field", "kind"), FORM_ERRORS, ids=map(_case_id, FORM_ERRORS)
)
def test_each_error_a_form_can_meet_reads_plainly(
    monkeypatch: pytest.MonkeyPatch,
    locale: str,
    schema: type[BaseModel],
    values: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", locale)
    with pytest.raises(ValidationError) as refused:
        schema.model_validate({key: value for key, value in values.items() if value != ""})
    kinds = {".".join(map(str, error["loc"])): error["type"] for error in refused.value.errors()}
    assert kinds.get(field) == kind, kinds

    body, errors = parse(schema, values)

    assert body is None
    assert_plain(errors[field])


def test_the_table_covers_every_kind_of_error_the_messages_know() -> None:
    met = {case[3] for case in FORM_ERRORS}
    reachable_only_from_other_clients = {
        "string_type", "decimal_type", "float_parsing", "int_type", "int_from_float",
        "int_parsing_size", "less_than", "date_parsing", "date_type", "datetime_parsing",
        "datetime_from_date_parsing", "literal_error", "bool_type", "extra_forbidden",
    }  # fmt: skip

    assert set(BY_TYPE) - met == reachable_only_from_other_clients


@pytest.mark.parametrize("kind", sorted(BY_TYPE))
def test_every_known_kind_reads_plainly_without_its_context(kind: str) -> None:
    context = {"min_length": 2, "max_length": 3, "gt": 0, "ge": 0, "lt": 9, "le": 9}
    error: Any = {"type": kind, "loc": ("quantity",), "msg": "Input should be", "ctx": context}

    assert_plain(field_message("quantity", {**error, "ctx": {**context, "decimal_places": 3}}))


def test_an_unknown_kind_of_error_names_the_field_not_the_library() -> None:
    error: Any = {"type": "uuid_parsing", "loc": ("lot_code",), "msg": "Input should be a UUID"}

    assert field_message("lot_code", error) == "Check the lot code."


@pytest.mark.parametrize(
    ("field", "kind", "message"),
    [
        ("quantity", "decimal_parsing", "Enter the quantity as a number, such as 12.5."),
        ("lines.3.quantity", "greater_than", "The quantity must be more than 0."),
        ("lot_code", "missing", "Enter the lot code."),
        ("product_id", "missing", "Choose the product."),
        ("product_id", "int_parsing", "Choose the product from the list."),
        (
            "sku",
            "string_pattern_mismatch",
            "Enter the SKU as letters, digits, dots, dashes and underscores, up to 40, "
            "starting with a letter or digit.",
        ),
        ("best_before", "date_from_datetime_parsing", "Enter the best-before date as a date."),
        ("lines", "too_short", "Fill in at least one line."),
    ],
)
def test_messages_name_the_field_by_its_label(field: str, kind: str, message: str) -> None:
    error: Any = {"type": kind, "loc": tuple(field.split(".")), "msg": "", "ctx": {"gt": 0}}

    assert field_message(field, error) == message


def test_de_de_gives_its_example_with_a_decimal_comma(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "COMPANY_LOCALE", "de_DE")
    error: Any = {"type": "decimal_parsing", "loc": ("quantity",), "msg": ""}

    assert field_message("quantity", error) == "Enter the quantity as a number, such as 12,5."


@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        (
            InvalidRequestError(CUSTOMER_REQUIRED, field="customer_id"),
            "Choose the customer.",
        ),
        (
            InvalidRequestError(f"Warehouse {UNKNOWN_ID} does not exist.", field="warehouse_id"),
            "This warehouse no longer exists; choose another.",
        ),
        (
            InvalidRequestError(f"Product {UNKNOWN_ID} is inactive.", field="lines[0].product_id"),
            "This product is no longer in use; choose another.",
        ),
        (
            NotFoundError(f"Sales order {UNKNOWN_ID} does not exist."),
            "This sales order does not exist, or you cannot see it.",
        ),
        (NotFoundError(f"Product {UNKNOWN_ID} has no image."), "This product has no image."),
        (
            NotFoundError(f"Lot {UNKNOWN_ID} has no document 12."),
            "This lot has no such document.",
        ),
        (
            InvalidRequestError(f"Order SO-1 has no line {UNKNOWN_ID}.", field="lines[0].line_id"),
            "This line is no longer on the order; reload the page and try again.",
        ),
        (
            ConflictError(
                f"The email a@example.com looks like a@examp1e.com, the email of user "
                f"{UNKNOWN_ID}; choose another.",
                field="email",
                looks_like="a@examp1e.com",
            ),
            "This email looks like a@examp1e.com, which another account has; choose another.",
        ),
    ],
)
def test_service_refusals_naming_ids_or_options_read_plainly(
    refusal: InvalidRequestError, message: str
) -> None:
    assert page_detail(refusal) == message
    assert_plain(message)


def test_a_repeated_delivery_note_names_the_box_to_tick_not_the_option() -> None:
    refusal = RepeatedDeliveryNoteError(
        f"Delivery note DN-7 was already received for DATES lot L-1 on 2026-12-01 10:00 UTC "
        f"(movement #{UNKNOWN_ID}). Confirm that this is another delivery under the same note.",
        field="allow_repeated_delivery_note",
        delivery_note="DN-7",
        sku="DATES",
        lot_code="L-1",
        received_at="2026-12-01T10:00:00+00:00",
        movement_id=int(UNKNOWN_ID),
    )

    message = page_detail(refusal)

    assert message.startswith(
        "Delivery note DN-7 was already received for DATES lot L-1 on 1 Dec 2026."
    )
    assert "Another delivery under the same note" in message
    assert_plain(message)


def test_a_plain_refusal_keeps_the_services_words() -> None:
    refusal = ConflictError("Lot L-1 is recalled; it cannot take more stock.")

    assert page_detail(refusal) == refusal.detail
