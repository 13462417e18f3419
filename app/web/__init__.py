"""Server-rendered pages for staff, managers, admins and customers (Jinja2, no build step)."""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.web.pages import auth, dashboard, products
from app.web.session import CsrfRefusedError, LoginRequiredError, PageForbiddenError
from app.web.templating import STATIC_DIR, render


def mount(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, dashboard, products):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequiredError, _to_login)
    app.add_exception_handler(PageForbiddenError, _error_page)
    app.add_exception_handler(CsrfRefusedError, _error_page)


async def _to_login(_: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(exc.next_path, status_code=303)


async def _error_page(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageForbiddenError | CsrfRefusedError)
    return render(request, "error.html", None, exc.status_code, title=exc.title, detail=exc.detail)
