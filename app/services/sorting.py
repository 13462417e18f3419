"""The order of a list: one key of the list's whitelist, ascending or descending."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.errors import InvalidRequestError


@dataclass(frozen=True)
class Sort:
    """A list's order: a key its service names, ascending unless ``descending``."""

    key: str
    descending: bool = False


def order_by(sort: Sort, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """ORDER BY terms for ``sort`` (a key of ``columns``), ``tiebreak`` the same way; a 422 for
    a key not in ``columns``. Empty values come last ascending and first descending."""
    if sort.key not in columns:
        raise InvalidRequestError(
            f"Cannot sort by {sort.key!r}; use one of {', '.join(columns)}.", field="sort"
        )
    column = columns[sort.key]
    if sort.descending:
        return [column.desc().nulls_first(), tiebreak.desc()]
    return [column.asc().nulls_last(), tiebreak.asc()]
