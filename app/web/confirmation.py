"""Steps a page asks about first: their forms carry the answer, and are refused without it."""

from collections.abc import Mapping
from typing import Any

from app.core.errors import InvalidRequestError

CONFIRMED_FIELD = "confirmed"
CONFIRMED = "yes"


def confirmed(form: Mapping[str, Any]) -> None:
    """Refuse the form unless it comes from the page's question, answered yes."""
    if form.get(CONFIRMED_FIELD) != CONFIRMED:
        raise InvalidRequestError(
            "Nothing has been done yet. Read what will happen below, then confirm."
        )
