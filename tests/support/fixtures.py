"""Fixtures the API tests share: a signed-in caller of each staff role and the small catalog."""

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.stock import World, make_world


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> SignedIn:
    """A signed-in administrator (the only admin unless a test makes more)."""
    return sign_in(client, make_user, Role.ADMIN)


@pytest.fixture
def manager(client: TestClient, make_user: MakeUser) -> SignedIn:
    """A signed-in manager."""
    return sign_in(client, make_user, Role.MANAGER)


@pytest.fixture
def staff(client: TestClient, make_user: MakeUser) -> SignedIn:
    """A signed-in member of staff."""
    return sign_in(client, make_user, Role.STAFF)


@pytest.fixture
def world() -> World:
    """The small catalog every stock test starts from."""
    return make_world()
