"""Login, token refresh, logout and customer self-registration."""

from typing import Annotated

from fastapi import Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import AccountCaller, DbSession
from app.api.responses import problem, responses
from app.kit.clients import Client
from app.kit.routers import Router
from app.schemas.user import RefreshRequest, RegistrationAccepted, TokenResponse, UserRegister
from app.services import auth, customers
from app.services.auth import TokenPair

router = Router(prefix="/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


@router.post("/login", responses=responses(401, 423, 429))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbSession, client: Client
) -> TokenResponse:
    """Log in with email (as ``username``) and password; returns an access and a refresh token."""
    return _tokens(auth.login(db, form.username, form.password, client))


@router.post("/refresh", responses=responses(401, 429))
def refresh(body: RefreshRequest, db: DbSession) -> TokenResponse:
    """Trade a refresh token for a new pair; each refresh token works once."""
    return _tokens(auth.refresh(db, body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: AccountCaller, db: DbSession) -> None:
    """End the current session: its access and refresh tokens stop working."""
    auth.logout(db, caller.session)


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "Accepted, with the same answer whether or not the email was free, "
            "so that it tells nobody which emails have accounts: a free email has its customer "
            "account now, a taken one (or one that looks like an account's) changed nothing. "
            "Log in with the email and password."
        },
        422: problem(
            422,
            "Invalid input: `errors` lists what failed validation; `field` names an input "
            "refused (an email mixing scripts, a password the policy refuses)",
        ),
        **responses(429),
    },
)
def register(body: UserRegister, db: DbSession, client: Client) -> RegistrationAccepted:
    """Register a customer account; the answer does not tell whether the email was free."""
    customers.register(
        db, email=body.email, password=body.password, full_name=body.full_name, client=client
    )
    return RegistrationAccepted(email=body.email)
