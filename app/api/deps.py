"""Dependencies shared by the routers: the unit of work, the caller and permission checks."""

import hmac
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import get_db
from app.core.errors import (
    AuthenticationError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
)
from app.core.read_sessions import read_session
from app.kit.callers import Caller
from app.kit.clients import Client
from app.services import auth
from app.services.auth import Reader
from app.services.permissions import Permission, role_allows

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=f"{get_settings().API_V1_PREFIX}/auth/login", auto_error=False
)

# The unit of work ends (commit or rollback) before the response is sent, so nothing
# is acknowledged that was not stored.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_read_db(db: DbSession) -> Iterator[Session]:
    """A session for reads that may lag: the replica's while it is fit (``read_session``)."""
    yield from read_session(db)


ReadDbSession = Annotated[Session, Depends(get_read_db, scope="function")]


NOT_AUTHENTICATED = "Not authenticated: send a bearer access token."
SET_BY_AN_ADMIN = (
    "This account's password was set by an administrator: change it first with PATCH "
    "/api/v1/users/me (current_password and new_password), then try again."
)


def get_account_caller(
    request: Request,
    db: DbSession,
    client: Client,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    """The caller behind the bearer token, or a 401; also one who must change their password
    (their own account and logging out are open to them)."""
    if not token:
        raise AuthenticationError(NOT_AUTHENTICATED)
    user, session = auth.authenticate_token(db, token)
    request.state.user_id = user.id
    return Caller(user=user, session=session, client=client)


AccountCaller = Annotated[Caller, Depends(get_account_caller)]


async def get_caller(caller: AccountCaller) -> Caller:
    """The caller behind the bearer token, or a 401; a 403 while they must change their
    password."""
    if caller.user.must_change_password:
        raise PasswordChangeRequiredError(SET_BY_AN_ADMIN)
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_reader(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Reader:
    """The caller of an asynchronous read, as ``get_caller`` admits them, without the ORM."""
    if not token:
        raise AuthenticationError(NOT_AUTHENTICATED)
    reader = await auth.authenticate_reader(token)
    request.state.user_id = reader.user_id
    if reader.must_change_password:
        raise PasswordChangeRequiredError(SET_BY_AN_ADMIN)
    return reader


def metrics_reader(authorization: Annotated[str, Header(include_in_schema=False)] = "") -> None:
    """Admit a scrape of /metrics: anyone while METRICS_TOKEN is unset, else its bearer."""
    expected = get_settings().METRICS_TOKEN
    if not expected:
        return
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise AuthenticationError("Metrics need the bearer token METRICS_TOKEN.")


MetricsReader = Annotated[None, Depends(metrics_reader)]


def require(*permissions: Permission) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits callers whose role carries any of ``permissions``."""

    async def check(caller: CurrentCaller) -> Caller:
        _check_role(caller.user.role, permissions)
        return caller

    check.__name__ = "require_" + "_or_".join(p.name.lower() for p in permissions)
    return check


def require_reader(*permissions: Permission) -> Callable[[Reader], Awaitable[Reader]]:
    """``require`` for the asynchronous paths: admits readers whose role carries any of
    ``permissions``."""

    async def check(reader: Annotated[Reader, Depends(get_reader)]) -> Reader:
        _check_role(reader.role, permissions)
        return reader

    check.__name__ = "require_reader_" + "_or_".join(p.name.lower() for p in permissions)
    return check


def _check_role(role: str, permissions: tuple[Permission, ...]) -> None:
    if not any(role_allows(role, permission) for permission in permissions):
        wanted = " or ".join(permissions)
        raise PermissionDeniedError(f"Your role ({role}) does not allow this ({wanted}).")


UserManager = Annotated[Caller, Depends(require(Permission.USERS_MANAGE))]
SessionManager = Annotated[Caller, Depends(require(Permission.SESSIONS_MANAGE))]
CatalogReader = Annotated[Caller, Depends(require(Permission.CATALOG_READ))]
CatalogWriter = Annotated[Caller, Depends(require(Permission.CATALOG_WRITE))]
StockReader = Annotated[Caller, Depends(require(Permission.STOCK_READ))]
StockLevelReader = Annotated[Reader, Depends(require_reader(Permission.STOCK_READ))]
StockMover = Annotated[Caller, Depends(require(Permission.STOCK_MOVE))]
StockAdjuster = Annotated[Caller, Depends(require(Permission.STOCK_ADJUST))]
LotManager = Annotated[Caller, Depends(require(Permission.LOTS_MANAGE))]
CustomerManager = Annotated[Caller, Depends(require(Permission.CUSTOMERS_MANAGE))]
SalesManager = Annotated[Caller, Depends(require(Permission.SALES_MANAGE))]
SalesManagerReader = Annotated[Reader, Depends(require_reader(Permission.SALES_MANAGE))]
OrderCaller = Annotated[Caller, Depends(require(Permission.SALES_MANAGE, Permission.ORDERS_OWN))]
OrderCallerReader = Annotated[
    Reader, Depends(require_reader(Permission.SALES_MANAGE, Permission.ORDERS_OWN))
]
CustomerSelf = Annotated[Caller, Depends(require(Permission.ORDERS_OWN))]
PriceWriter = Annotated[Caller, Depends(require(Permission.PRICES_WRITE))]
PurchaseReader = Annotated[Caller, Depends(require(Permission.PURCHASING_READ))]
PurchaseReceiver = Annotated[Caller, Depends(require(Permission.PURCHASING_RECEIVE))]
PurchaseWriter = Annotated[Caller, Depends(require(Permission.PURCHASING_WRITE))]
TraceReader = Annotated[Reader, Depends(require_reader(Permission.TRACE_READ))]
ReportReader = Annotated[Caller, Depends(require(Permission.REPORTS_READ))]
AuditReader = Annotated[Caller, Depends(require(Permission.AUDIT_READ))]
