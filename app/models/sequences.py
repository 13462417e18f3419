"""Gapless numbers for documents that the law wants numbered without holes (invoices,
credit notes) and for shipments: one counter per kind of document and year."""

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base


class NumberSequence(Base):
    """The last number given to a kind of document in a year."""

    __tablename__ = "number_sequences"
    __table_args__ = (CheckConstraint("last_number > 0", name="last_number_positive"),)

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
