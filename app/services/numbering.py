"""Gapless document numbers (INV-2026-000001): the counter of the kind and year is moved in
the transaction that writes the document, so a rollback gives its number back and two
transactions never take the same one (the second waits for the first's row lock)."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core import clock
from app.models.sequences import NumberSequence

_UPSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_number(db: Session, kind: str, year: int | None = None) -> int:
    """The next number of ``kind`` in ``year`` (the company's current year by default)."""
    upsert = _UPSERTS[db.get_bind().dialect.name]
    statement = (
        upsert(NumberSequence)
        .values(kind=kind, year=year or clock.today().year, last_number=1)
        .on_conflict_do_update(
            index_elements=["kind", "year"],
            set_={"last_number": NumberSequence.last_number + 1},
        )
        .returning(NumberSequence.last_number)
    )
    number: int = db.execute(statement).scalar_one()
    return number


def document_number(db: Session, prefix: str, year: int | None = None) -> str:
    """The next gapless number of the documents ``prefix`` names, as PREFIX-YEAR-NNNNNN."""
    year = year or clock.today().year
    return f"{prefix}-{year}-{next_number(db, prefix, year):06d}"
