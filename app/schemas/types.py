"""Constrained field types shared by the schemas."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

# Record ids are 32-bit INTEGER columns; a number beyond them names nothing and is refused
# as invalid instead of reaching the database (which cannot even compare it).
ID_RANGE = (-(2**31), 2**31 - 1)
RecordId = Annotated[int, Field(ge=ID_RANGE[0], le=ID_RANGE[1])]
RowOffset = Annotated[int, Field(ge=0, le=ID_RANGE[1], description="Rows to skip.")]


def _decimal_input(
    digits: int, places: int, *, sign: str, maximum: str | None = None, pattern: str = ""
) -> WithJsonSchema:
    """How a decimal input is documented: a JSON number, or a string holding the decimal
    exactly (at most ``digits`` digits, ``places`` of them after the point). ``sign`` is "+"
    (above zero), "0+" (zero or more) or "+-" (either)."""
    whole = digits - places
    largest = Decimal(maximum) if maximum else Decimal(10) ** whole - Decimal(10) ** -places
    number: dict[str, Any] = {
        "type": "number",
        "maximum": float(largest),
        "multipleOf": float(Decimal(10) ** -places),
    }
    text = pattern or rf"[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?"
    if sign == "+":
        number["exclusiveMinimum"] = 0
        text = r"(?=[0-9.]*[1-9])" + text
    elif sign == "0+":
        number["minimum"] = 0
    else:
        number["minimum"] = -float(largest)
        text = "-?" + text
    string = {"type": "string", "pattern": f"^{text}$"}
    return WithJsonSchema({"anyOf": [number, string]}, mode="validation")


Quantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=3, description="A positive quantity (3 decimals)."),
    _decimal_input(14, 3, sign="+"),
]
SignedQuantity = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=3, description="A quantity, signed."),
    _decimal_input(14, 3, sign="+-"),
]
NonNegativeQuantity = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=3), _decimal_input(14, 3, sign="0+")
]
CountedQuantity = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=3, description="A counted quantity."),
    _decimal_input(14, 3, sign="0+"),
]
Weight = Annotated[
    Decimal, Field(gt=0, max_digits=14, decimal_places=3), _decimal_input(14, 3, sign="+")
]
Money = Annotated[
    Decimal, Field(ge=0, max_digits=12, decimal_places=2), _decimal_input(12, 2, sign="0+")
]
UnitCost = Annotated[
    Decimal, Field(ge=0, max_digits=12, decimal_places=4), _decimal_input(12, 4, sign="0+")
]
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    _decimal_input(
        5, 2, sign="0+", maximum="100", pattern=r"0*(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)"
    ),
]
ShelfLifeDays = Annotated[int, Field(gt=0, le=3650)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _no_control_characters(value: str) -> str:
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _text_input(max_length: int, *, required: bool = False) -> WithJsonSchema:
    """How free text is documented: no control characters but tab and line breaks and, when
    ``required``, something besides spaces."""
    pattern = r"[^\x00-\x08\x0b\x0c\x0e-\x1f]*"
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if required:
        schema["minLength"] = 1
        pattern = r"(?=[\s\S]*\S)" + pattern
    schema["pattern"] = f"^{pattern}$"
    return WithJsonSchema(schema, mode="validation")


Text = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(_no_control_characters),
    _text_input(2000),
]
RequiredText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_no_control_characters),
    _text_input(2000, required=True),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
    _text_input(200, required=True),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_no_control_characters),
    _text_input(100),
]
OptionalName = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(_no_control_characters),
    _text_input(200),
]
NoteText = Annotated[
    str,
    StringConstraints(max_length=300),
    AfterValidator(_no_control_characters),
    _text_input(300),
]
Code = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,39}$"),
]
Country = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^([A-Z]{2})?$"),
]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_no_control_characters),
    _text_input(100),
]
