"""Fixtures of the bad input tests: the scene of records the requests name."""

import pytest
from fastapi.testclient import TestClient

from tests.api.bad_input.scene import Scene
from tests.support.callers import SignedIn


@pytest.fixture
def scene(client: TestClient, admin: SignedIn) -> Scene:
    return Scene(client, admin)
