"""Every problem type the service answers with: its stable slug, its title and its status."""

from dataclasses import dataclass

PROBLEM_TYPE_PREFIX = "urn:dfims:problem:"


@dataclass(frozen=True)
class ProblemType:
    """One kind of RFC 9457 problem."""

    slug: str
    title: str
    status: int

    @property
    def type(self) -> str:
        """The stable problem type URI."""
        return PROBLEM_TYPE_PREFIX + self.slug


BAD_REQUEST = ProblemType("bad-request", "Bad request", 400)
BACKUP_FAILED = ProblemType("backup-failed", "Backup failed", 400)
AUTHENTICATION_FAILED = ProblemType("authentication-failed", "Authentication failed", 401)
PERMISSION_DENIED = ProblemType("permission-denied", "Permission denied", 403)
CSRF_REFUSED = ProblemType("csrf-refused", "Form expired", 403)
PASSWORD_CHANGE_REQUIRED = ProblemType("password-change-required", "Password change required", 403)
NOT_FOUND = ProblemType("not-found", "Not found", 404)
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", "Method not allowed", 405)
NOT_ACCEPTABLE = ProblemType("not-acceptable", "Not acceptable", 406)
CONFLICT = ProblemType("conflict", "Conflict", 409)
INSUFFICIENT_STOCK = ProblemType("insufficient-stock", "Insufficient stock", 409)
ORDER_STATE = ProblemType("order-state", "Not allowed in the order's current state", 409)
PURCHASE_ORDER_STATE = ProblemType(
    "purchase-order-state", "Not allowed in the purchase order's current state", 409
)
SHIPMENT_STATE = ProblemType("shipment-state", "Not allowed in the shipment's current state", 409)
REPEATED_DELIVERY_NOTE = ProblemType(
    "repeated-delivery-note", "Delivery note already received", 409
)
PAYLOAD_TOO_LARGE = ProblemType("payload-too-large", "Payload too large", 413)
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported-media-type", "Unsupported media type", 415)
VALIDATION_ERROR = ProblemType("validation-error", "Invalid input", 422)
INVALID_REQUEST = ProblemType("invalid-request", "Invalid request", 422)
IMPORT_FAILED = ProblemType("import-failed", "Import failed", 422)
ACCOUNT_LOCKED = ProblemType("account-locked", "Account locked", 423)
TOO_MANY_REQUESTS = ProblemType("too-many-requests", "Too many requests", 429)
TOO_MANY_ATTEMPTS = ProblemType("too-many-attempts", "Too many attempts", 429)
INTERNAL_ERROR = ProblemType("internal-error", "Internal server error", 500)
SERVICE_UNAVAILABLE = ProblemType("service-unavailable", "Service unavailable", 503)
SERVICE_BUSY = ProblemType("service-busy", "Service busy", 503)

_BY_HTTP_STATUS = {
    problem.status: problem
    for problem in (
        BAD_REQUEST,
        AUTHENTICATION_FAILED,
        PERMISSION_DENIED,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        NOT_ACCEPTABLE,
        PAYLOAD_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        TOO_MANY_REQUESTS,
    )
}


def of_http_status(status: int) -> ProblemType:
    """The problem type a plain HTTP error with ``status`` is answered as."""
    return _BY_HTTP_STATUS.get(status) or ProblemType("http-error", "HTTP error", status)
