"""Callers of the API (signed in or anonymous), the methods they may try, and ids no record
has."""

from dataclasses import dataclass

from fastapi.testclient import TestClient

from app.models.user import Role, User
from tests.conftest import MakeUser, bearer, login

UNKNOWN_ID = 987654321
ANONYMOUS = "anonymous"
CALLERS = (*(role.value for role in Role), ANONYMOUS)
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})


@dataclass(frozen=True)
class SignedIn:
    """A user with an open session and the headers that use it."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def sign_in(client: TestClient, make_user: MakeUser, role: Role = Role.ADMIN) -> SignedIn:
    """Create a user of ``role`` and log them in."""
    user = make_user(role=role)
    return SignedIn(user, login(client, user.email)["access_token"])
