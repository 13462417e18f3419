"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem details."""

from typing import Any, ClassVar

from app.core import problem_types
from app.core.problem_types import PROBLEM_TYPE_PREFIX, ProblemType


class DomainError(Exception):
    """A refusal the client can act on; ``keep_changes`` commits the unit of work anyway.

    A subclass names its ``problem`` type; its status code, slug and title follow from it.
    """

    problem: ClassVar[ProblemType] = problem_types.BAD_REQUEST
    status_code: ClassVar[int] = problem.status
    slug: ClassVar[str] = problem.slug
    title: ClassVar[str] = problem.title
    keep_changes = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "problem" in cls.__dict__:
            cls.status_code = cls.problem.status
            cls.slug = cls.problem.slug
            cls.title = cls.problem.title

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        """The stable problem type URI."""
        return PROBLEM_TYPE_PREFIX + self.slug


class NotFoundError(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    problem = problem_types.NOT_FOUND


class ConflictError(DomainError):
    """The request clashes with the current state."""

    problem = problem_types.CONFLICT


class InvalidRequestError(DomainError):
    """Well-formed input that breaks a business rule."""

    problem = problem_types.INVALID_REQUEST


class AuthenticationError(DomainError):
    """No valid credentials."""

    problem = problem_types.AUTHENTICATION_FAILED

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extensions)


class LoginFailedError(AuthenticationError):
    """Wrong email or password; the failed attempt it counted is kept."""

    keep_changes = True


class RefreshTokenReusedError(AuthenticationError):
    """A refresh token came back a second time; the session it belonged to is revoked."""

    keep_changes = True


class AccountLockedError(DomainError):
    """Too many failed logins in a row; the account waits out the lockout."""

    problem = problem_types.ACCOUNT_LOCKED
    keep_changes = True


class PermissionDeniedError(DomainError):
    """Authenticated, but the role does not allow this."""

    problem = problem_types.PERMISSION_DENIED


class PasswordChangeRequiredError(DomainError):
    """The account's password was set by someone else; its user changes it before anything."""

    problem = problem_types.PASSWORD_CHANGE_REQUIRED


class ServiceUnavailableError(DomainError):
    """A dependency is down or saturated; try again shortly."""

    problem = problem_types.SERVICE_UNAVAILABLE


class TooManyAttemptsError(DomainError):
    """Too many failed attempts from one address; it waits out the window."""

    problem = problem_types.TOO_MANY_ATTEMPTS
