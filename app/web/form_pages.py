"""What the record pages' forms share: a field's description and the form page's rendering."""

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.web.session import PageCaller
from app.web.templating import render


@dataclass(frozen=True)
class Field:
    """A form field: its name, label and kind (text, email, textarea, date, product, warehouse,
    lot, supplier, checkbox, choice), whether it must be filled and, for a choice, its options."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    # What an emptied field stores: blank text, or no value at all (a number).
    cleared: str | None = ""


def form_page(
    request: Request,
    template: str,
    caller: PageCaller,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The form of ``template`` filled with ``values``, each error beside its field."""
    return render(
        request,
        template,
        caller,
        status_code=status_code,
        values=values,
        errors=errors,
        **context,
    )
