"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem details."""

from typing import Any

PROBLEM_TYPE_PREFIX = "urn:dfims:problem:"


class DomainError(Exception):
    """A refusal the client can act on; ``keep_changes`` commits the unit of work anyway."""

    status_code = 400
    slug = "bad-request"
    title = "Bad request"
    keep_changes = False

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

    status_code = 404
    slug = "not-found"
    title = "Not found"


class ConflictError(DomainError):
    """The request clashes with the current state."""

    status_code = 409
    slug = "conflict"
    title = "Conflict"


class InvalidRequestError(DomainError):
    """Well-formed input that breaks a business rule."""

    status_code = 422
    slug = "invalid-request"
    title = "Invalid request"


class AuthenticationError(DomainError):
    """No valid credentials."""

    status_code = 401
    slug = "authentication-failed"
    title = "Authentication failed"

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

    status_code = 423
    slug = "account-locked"
    title = "Account locked"
    keep_changes = True


class PermissionDeniedError(DomainError):
    """Authenticated, but the role does not allow this."""

    status_code = 403
    slug = "permission-denied"
    title = "Permission denied"


class ServiceUnavailableError(DomainError):
    """A dependency is down or saturated; try again shortly."""

    status_code = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class TooManyAttemptsError(DomainError):
    """Too many failed attempts from one address; it waits out the window."""

    status_code = 429
    slug = "too-many-attempts"
    title = "Too many attempts"
