from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import AuthHeaders


def test_me_as_admin(client: TestClient, auth_headers: AuthHeaders) -> None:
    response = client.get("/api/v1/users/me", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
