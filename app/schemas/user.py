"""Request and response shapes for users, sessions and tokens."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from app.core.emails import fold, normalize_email
from app.models.user import Role
from app.schemas.types import OptionalName


def _folded(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


# Folded before it is read, so a fullwidth @ or letter is the ASCII one.
Email = Annotated[EmailStr, BeforeValidator(_folded), AfterValidator(normalize_email)]
Password = Annotated[str, Field(min_length=1, max_length=128)]
FullName = OptionalName


class UserRead(BaseModel):
    """A user as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    last_login: datetime | None
    locked_until: datetime | None
    created_at: datetime


class UserCreate(BaseModel):
    """An administrator creates an account."""

    email: Email
    password: Password
    full_name: FullName = ""
    role: Role = Role.STAFF
    must_change_password: bool = Field(
        default=True,
        description="The user changes the password at their first login (false for an account "
        "whose user chose it, such as a service account).",
    )


class UserRegister(BaseModel):
    """A customer registers."""

    email: Email
    password: Password
    full_name: FullName = ""


REGISTRATION_ACCEPTED = (
    "If this email address was free, its account is ready: log in with it and your password. "
    "If it was not, nothing has changed."
)


class RegistrationAccepted(BaseModel):
    """The answer to a registration, the same whether or not the email was free."""

    detail: str = REGISTRATION_ACCEPTED
    email: str = Field(description="The email address as stored: log in with it.")


class UserUpdate(BaseModel):
    """An administrator edits an account."""

    email: Email | None = None
    full_name: FullName | None = None


class MeUpdate(BaseModel):
    """A user edits their own account; a new password needs the current one."""

    full_name: FullName | None = None
    current_password: Password | None = None
    new_password: Password | None = None


class PasswordChange(BaseModel):
    """A user changes their own password on the pages: the current one, the new one twice."""

    current_password: Password
    new_password: Password
    new_password_again: Password


class RoleChange(BaseModel):
    """A new role for a user."""

    role: Role


class PasswordReset(BaseModel):
    """A new password set by an administrator."""

    new_password: Password
    must_change_password: bool = Field(
        default=True,
        description="The user changes the password at their next login (false for an account "
        "whose user chose it, such as a service account).",
    )


class TokenResponse(BaseModel):
    """Tokens handed out by login and refresh."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int = Field(description="Lifetime of the access token in seconds.")
    refresh_token: str
    refresh_expires_in: int = Field(description="Seconds until the session's refresh ends.")


class RefreshRequest(BaseModel):
    """A refresh token to trade for a new pair."""

    refresh_token: str = Field(min_length=1, max_length=200)


class SessionRead(BaseModel):
    """An open login session."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None


class RevokedCount(BaseModel):
    """How many sessions a revocation ended."""

    revoked: int
