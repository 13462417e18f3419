"""Logging in and out of the pages."""

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.security import csrf_matches, csrf_token
from app.kit.clients import Client
from app.services.permissions import Permission, role_allows
from app.web.forms import refusals
from app.web.routing import PageDb, page_router
from app.web.session import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    LOGIN_FORM,
    PROFILE_PATH,
    FormUser,
    caller_from_cookie,
    close_page_session,
    login_csrf,
    open_page_session,
    safe_next,
    set_login_csrf_cookie,
)
from app.web.templating import render

router = page_router()


def home_for(role: str) -> str:
    """The first page of a role."""
    if role_allows(role, Permission.REPORTS_READ):
        return "/dashboard"
    if role_allows(role, Permission.CATALOG_READ):
        return "/products"
    return "/shop"


def _login_page(
    request: Request, next_path: str, *, email: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    binding = login_csrf(request)
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf=csrf_token(LOGIN_FORM, binding),
        next_path=next_path,
        email=email,
        error=error,
    )
    set_login_csrf_cookie(response, binding)
    return response


@router.get("/", response_class=RedirectResponse)
def root(request: Request, db: PageDb, client: Client) -> RedirectResponse:
    """The home page of the logged-in user, else the login page."""
    caller = caller_from_cookie(request, db, client)
    return RedirectResponse(home_for(caller.user.role) if caller else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: PageDb, client: Client, next: str = "/") -> Response:
    """The login form (or straight on when already logged in)."""
    caller = caller_from_cookie(request, db, client)
    if caller is not None:
        return RedirectResponse(safe_next(next) if next != "/" else home_for(caller.user.role), 303)
    return _login_page(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: PageDb,
    client: Client,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials; the home page (or ``next``) with a session cookie."""
    binding = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not binding or not csrf_matches(LOGIN_FORM, binding, csrf_token_field):
        return _login_page(
            request,
            safe_next(next),
            email=email,
            error="The form expired; please log in again.",
            status_code=403,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    with refusals(db) as refused:
        user = open_page_session(response, db, email, password, client)
        if user.must_change_password:
            response.headers["location"] = PROFILE_PATH
        elif safe_next(next) == "/":
            response.headers["location"] = home_for(user.role)
        return response
    page = _login_page(
        request,
        safe_next(next),
        email=email,
        error=refused.errors["form"],
        status_code=refused.status_code,
    )
    if "Retry-After" in refused.headers:
        page.headers["Retry-After"] = refused.headers["Retry-After"]
    return page


@router.post("/logout")
def logout(caller: FormUser, db: PageDb) -> RedirectResponse:
    """End the session; back to the login page."""
    response = RedirectResponse("/login", status_code=303)
    close_page_session(response, db, caller.session)
    return response
