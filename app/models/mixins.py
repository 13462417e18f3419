"""Columns shared by several tables."""

import enum
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Numeric, String, TypeDecorator, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, QueryableAttribute, mapped_column

from app.core.clock import utcnow

EnumT = TypeVar("EnumT", bound=enum.StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class StringEnum(TypeDecorator[EnumT]):
    """A StrEnum kept as its value in a plain VARCHAR column, read back as the member."""

    impl = String
    cache_ok = True

    def __init__(self, kind: type[EnumT], length: int) -> None:
        super().__init__(length)
        self.kind = kind

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return str(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Dialect) -> EnumT | None:
        return self.kind(value) if value is not None else None


class ExactDecimal(TypeDecorator[Decimal]):
    """A fixed-point number that stays exact on every database.

    PostgreSQL keeps NUMERIC exactly. SQLite would keep it as a binary float, so there the
    value is stored as a whole number of its smallest unit (thousandths for a scale of 3):
    sums, differences and comparisons in SQL stay exact. Never multiply two such columns in
    SQL: on SQLite the scales would multiply too.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self.factor = Decimal(10) ** scale
        self.quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return int((Decimal(value) * self.factor).to_integral_value(ROUND_HALF_EVEN))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name != "sqlite":
            return Decimal(value)
        return (Decimal(value) / self.factor).quantize(self.quantum)


def scaled_product(
    left: QueryableAttribute[Decimal],
    right: QueryableAttribute[Decimal],
    precision: int,
    scale: int,
) -> ColumnElement[Decimal]:
    """``left * right`` of two ExactDecimal columns whose scales add up to ``scale``.

    On SQLite the stored whole numbers multiply into a whole number of the combined scale,
    so the product (and its SUM) is read back exactly through ExactDecimal(precision, scale).
    """
    return type_coerce(left * right, ExactDecimal(precision, scale))


def values_of(kind: type[enum.StrEnum]) -> str:
    """The members of ``kind`` as a SQL list, for CHECK constraints."""
    return ", ".join(f"'{member.value}'" for member in kind)


class TimestampMixin:
    """created_at and updated_at, kept by the database session."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
