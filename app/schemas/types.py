"""Constrained field types shared by the schemas."""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

Quantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=3, description="A positive quantity (3 decimals)."),
]
SignedQuantity = Annotated[
    Decimal, Field(max_digits=14, decimal_places=3, description="A quantity, signed.")
]
NonNegativeQuantity = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3)]
CountedQuantity = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=3, description="A counted quantity.")
]
Weight = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=3)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
UnitCost = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
ShelfLifeDays = Annotated[int, Field(gt=0, le=3650)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _no_control_characters(value: str) -> str:
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_control_characters)]
RequiredText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_no_control_characters),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_no_control_characters),
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
]
