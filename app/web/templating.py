"""The pages' templates: Jinja2 with autoescaping, the locale's filters and the navigation."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from app.core.formatting import currency, day, moment, money, number, quantity
from app.services.expiry import days_left_text
from app.web.form_keys import FORM_KEY_FIELD, new_form_key
from app.web.menu import menu_for
from app.web.session import CSRF_FIELD, PageCaller

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=WEB_DIR / "templates")


templates.env.filters["money"] = money
templates.env.filters["quantity"] = quantity
templates.env.filters["date"] = day
templates.env.filters["moment"] = moment
templates.env.filters["number"] = number
templates.env.globals["currency"] = currency
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD
templates.env.globals["FORM_KEY_FIELD"] = FORM_KEY_FIELD
templates.env.globals["new_form_key"] = new_form_key
templates.env.globals["days_left_text"] = days_left_text


def render(
    request: Request,
    name: str,
    caller: PageCaller | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``name`` for ``caller`` (None before login)."""
    menu = menu_for(caller, request.url.path)
    # Pages hold business data: the security headers keep them out of the browser's cache
    # (Back after logout shows nothing).
    return templates.TemplateResponse(
        request,
        name,
        {"caller": caller, "menu": menu, "path": request.url.path, **context},
        status_code=status_code,
    )


def last_page_redirect(request: Request, page: int, pages: int) -> RedirectResponse | None:
    """A page number past the end goes to the last page."""
    if page <= pages:
        return None
    url = request.url.include_query_params(page=pages)
    return RedirectResponse(f"{url.path}?{url.query}", status_code=303)
