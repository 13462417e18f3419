"""The authenticated user of a request, as the API's token or the pages' cookie names them."""

from dataclasses import dataclass

from app.models.user import User, UserSession
from app.services.audit import Actor
from app.services.auth import ClientInfo


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request and the session they use."""

    user: User
    session: UserSession
    client: ClientInfo

    @property
    def actor(self) -> Actor:
        """The caller as the audit trail names them."""
        return Actor(self.user.id, self.user.email, self.client.ip_address)
