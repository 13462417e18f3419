"""Status workflows: which moves a record may make, each claimed by one guarded UPDATE."""

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.errors import ConflictError
from app.crud.base import update_if_status
from app.models.purchasing import PurchaseOrder
from app.models.sales import SalesOrder

RecordT = TypeVar("RecordT", SalesOrder, PurchaseOrder)
StatusT = TypeVar("StatusT", bound=enum.StrEnum)


class StateError(ConflictError):
    """The record is not in a state that allows this."""


def refusal(
    error: type[StateError], named: str, current: str, allowed: Sequence[str], purpose: str
) -> StateError:
    """The error refusing ``purpose`` to the record ``named``, which is ``current``."""
    expected = " or ".join(allowed)
    return error(
        f"{named} is {current}; it must be {expected} to {purpose}.", current_status=current
    )


@dataclass(frozen=True)
class Workflow(Generic[RecordT, StatusT]):
    """A record's statuses: where each may be reached from, and what a move stamps."""

    model: type[RecordT]
    moves: Mapping[StatusT, Sequence[StatusT]]
    stamps: Mapping[StatusT, Sequence[str]]
    error: type[StateError]
    name: Callable[[RecordT], str]
    load: Callable[[Session, int], RecordT]

    def claim(
        self,
        db: Session,
        record: RecordT | int,
        allowed: Sequence[StatusT],
        purpose: str,
        values: Mapping[str, object] | None = None,
    ) -> RecordT:
        """Lock the record (or the record of that id) in one of ``allowed`` with a guarded
        UPDATE; the record read afresh, or the loader's NotFoundError.

        Two requests can never both act on the same state, and what follows works on the
        record as it is once locked, not as it was read before.
        """
        record_id = record if isinstance(record, int) else record.id
        current = update_if_status(db, self.model, record_id, allowed, values or {})
        if current is not None:
            named = self.name(self.load(db, record_id) if isinstance(record, int) else record)
            raise refusal(self.error, named, current, allowed, purpose)
        return self.load(db, record_id)

    def move(
        self,
        db: Session,
        record: RecordT | int,
        target: StatusT,
        at: datetime | None = None,
        allowed: Sequence[StatusT] | None = None,
    ) -> RecordT:
        """Move the record to ``target`` (from where the table allows, or from ``allowed``),
        claimed so that two requests cannot both make the move; its stamps get ``at``."""
        moment = at or utcnow()
        values: dict[str, object] = {"status": target}
        values.update(dict.fromkeys(self.stamps.get(target, ()), moment))
        return self.claim(
            db,
            record,
            self.moves[target] if allowed is None else allowed,
            f"become {target}",
            values,
        )
