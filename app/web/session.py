"""The pages' login: a signed session cookie bound to a revocable user session, and CSRF."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.core import problem_types
from app.core.config import get_settings
from app.core.errors import AuthenticationError, DomainError, PermissionDeniedError
from app.core.security import (
    create_web_session_token,
    csrf_matches,
    csrf_token,
    decode_web_session_token,
)
from app.kit.callers import Caller
from app.kit.clients import Client
from app.models.user import User, UserSession
from app.services import auth
from app.services.auth import ClientInfo
from app.services.permissions import Permission, role_allows
from app.web.form_keys import applied_once
from app.web.routing import PageDb

SESSION_COOKIE = "dfims_session"
LOGIN_CSRF_COOKIE = "dfims_login_csrf"
CSRF_FIELD = "csrf_token"
SESSION_FORMS = "session"
LOGIN_FORM = "login"


class LoginRequiredError(Exception):
    """The page needs a logged-in user; the handler sends the browser to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeFirstError(LoginRequiredError):
    """The user's password was set by an administrator: the browser goes to the form that
    changes it, and to no other page until it is changed."""


# The pages a user who must change their password can open: the form and logging out.
PROFILE_PATH = "/profile"
OPEN_BEFORE_PASSWORD_CHANGE = frozenset({PROFILE_PATH, f"{PROFILE_PATH}/password", "/logout"})


class PageForbiddenError(PermissionDeniedError):
    """The user's role does not open this page."""


class CsrfRefusedError(DomainError):
    """A form came without this session's anti-forgery token."""

    problem = problem_types.CSRF_REFUSED


@dataclass(frozen=True)
class PageCaller(Caller):
    """The logged-in user of a page, with the anti-forgery token of their forms."""

    csrf: str

    def can(self, permission: Permission) -> bool:
        """Whether the user's role carries ``permission`` (the API's own rule)."""
        return role_allows(self.user.role, permission)

    def require(self, *permissions: Permission, what: str = "open this page") -> None:
        """Refuse (403) unless the user's role carries any of ``permissions``."""
        if not any(self.can(permission) for permission in permissions):
            raise PageForbiddenError(f"Your role ({self.user.role}) may not {what}.")


def login_redirect_target(request: Request) -> str:
    """The login page, coming back to this page afterwards (a form's target: the start page)."""
    if request.method not in ("GET", "HEAD"):
        return "/login"
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(path, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site only."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def caller_from_cookie(request: Request, db: Session, client: ClientInfo) -> PageCaller | None:
    """The logged-in user behind the session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    claims = decode_web_session_token(token) if token else None
    if claims is None:
        return None
    try:
        user, session = auth.authenticate_session(db, claims.session_id, claims.user_id)
    except AuthenticationError:
        return None
    auth.mark_seen(db, session)
    request.state.user_id = user.id
    return PageCaller(
        user=user, session=session, client=client, csrf=csrf_token(SESSION_FORMS, session.id)
    )


def get_page_caller(request: Request, db: PageDb, client: Client) -> PageCaller:
    """The logged-in user, or a trip to the login page."""
    caller = caller_from_cookie(request, db, client)
    if caller is None:
        raise LoginRequiredError(login_redirect_target(request))
    if caller.user.must_change_password and request.url.path not in OPEN_BEFORE_PASSWORD_CHANGE:
        raise PasswordChangeFirstError(PROFILE_PATH)
    return caller


PageUser = Annotated[PageCaller, Depends(get_page_caller)]


def page_require(*permissions: Permission) -> Any:
    """A dependency admitting users whose role carries any of ``permissions`` (as the API)."""

    def check(caller: PageUser) -> PageCaller:
        caller.require(*permissions)
        return caller

    return Depends(check)


async def submitted_form(request: Request) -> FormData:
    """The form the page was sent (read once per request)."""
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(submitted_form)]


def verify_csrf(form: SubmittedForm, caller: PageUser) -> PageCaller:
    """Refuse a form without this session's anti-forgery token."""
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not csrf_matches(SESSION_FORMS, caller.session.id, token):
        raise CsrfRefusedError(
            "The form is out of date or not from this site; reload and try again."
        )
    return caller


def apply_once(
    request: Request,
    db: PageDb,
    form: SubmittedForm,
    caller: Annotated[PageCaller, Depends(verify_csrf)],
) -> Iterator[PageCaller]:
    """A form of this session, applied at most once (its one-time key)."""
    with applied_once(request, db, caller.user.id, form, frozenset({CSRF_FIELD})):
        yield caller


FormUser = Annotated[PageCaller, Depends(apply_once, scope="function")]


def form_require(*permissions: Permission) -> Any:
    """A form's dependency: this session's anti-forgery token, its one-time key, and a role
    carrying any of ``permissions``."""

    def check(caller: FormUser) -> PageCaller:
        caller.require(*permissions, what="do this")
        return caller

    return Depends(check)


def login_csrf(request: Request) -> str:
    """The pre-login cookie value the login form's token is bound to (new when missing)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf_cookie(response: Response, value: str) -> None:
    """The pre-login cookie: only sent back to /login, never to another site."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=get_settings().session_cookie_secure,
        path="/login",
    )


def open_page_session(
    response: Response, db: Session, email: str, password: str, client: ClientInfo
) -> User:
    """Log in for the pages: a user session of WEB_SESSION_HOURS and its cookie."""
    settings = get_settings()
    lifetime = timedelta(hours=settings.WEB_SESSION_HOURS)
    user, session = auth.sign_in(db, email, password, client, lifetime)
    response.set_cookie(
        SESSION_COOKIE,
        create_web_session_token(user.id, session.id, user.role, lifetime),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return user


def close_page_session(response: Response, db: Session, session: UserSession) -> None:
    """Log out: the user session ends and the cookie goes."""
    auth.logout(db, session)
    response.delete_cookie(SESSION_COOKIE, path="/")
