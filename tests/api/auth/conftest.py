"""Fixtures of the authentication tests."""

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser, login

# --- access tokens -------------------------------------------------------------------------


@pytest.fixture
def access_token(client: TestClient, make_user: MakeUser) -> str:
    """A real access token of a freshly logged-in staff member."""
    return login(client, make_user(role=Role.STAFF).email)["access_token"]
