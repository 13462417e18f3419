"""A thin generic data access layer for tables with an integer id."""

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import InstrumentedAttribute

from app.core.clock import utcnow
from app.core.database import Base

ModelT = TypeVar("ModelT", bound=Base)


class CRUDBase(Generic[ModelT]):
    """get, page through with filters and a text search, add."""

    def __init__(
        self, model: type[ModelT], search: Sequence[InstrumentedAttribute[str | None]]
    ) -> None:
        self.model = model
        self.search = search

    def get(self, db: Session, item_id: int) -> ModelT | None:
        """The row with ``item_id``, if any."""
        return db.get(self.model, item_id)

    def page(
        self,
        db: Session,
        *,
        offset: int,
        limit: int,
        search: str | None = None,
        where: Sequence[ColumnElement[bool]] = (),
        query: Select[Any] | None = None,
        order_by: Sequence[Any] = (),
    ) -> tuple[Sequence[ModelT], int]:
        """A page of rows matching ``where`` and ``search``, and how many matched in all."""
        statement = query if query is not None else select(self.model)
        for condition in where:
            statement = statement.where(condition)
        if search:
            statement = statement.where(text_match(self.search, search))
        total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
        ordering = order_by or (self.model.__table__.c.id,)
        rows = db.scalars(statement.order_by(*ordering).offset(offset).limit(limit)).all()
        return rows, total

    def add(self, db: Session, item: ModelT) -> ModelT:
        """Stage ``item``, give it an id and read back what the database stored."""
        db.add(item)
        db.flush()
        db.refresh(item)
        return item


def text_match(columns: Sequence[Any], search: str) -> ColumnElement[bool]:
    """Whether any of ``columns`` holds ``search``, in any case (wildcards taken literally)."""
    needle = search.lower()
    return or_(*(func.lower(column).contains(needle, autoescape=True) for column in columns))


def update_if_status(
    db: Session, model: Any, item_id: int, allowed: Sequence[str], values: Mapping[str, object]
) -> str | None:
    """Apply ``values`` to a row whose status is one of ``allowed``, in one guarded UPDATE that
    also locks the row; None when applied, else the status the row has."""
    result = db.execute(
        update(model)
        .where(model.id == item_id, model.status.in_(allowed))
        .values({"updated_at": utcnow(), **values})
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        return None
    current: str | None = db.scalar(select(model.status).where(model.id == item_id))
    return current
