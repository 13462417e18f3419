"""Fixtures of the stock movement tests: the stocked scene."""

import pytest
from fastapi.testclient import TestClient

from tests.support.callers import SignedIn
from tests.support.stock import (
    Stocked,
    make_stocked,
)


@pytest.fixture
def stocked(client: TestClient, admin: SignedIn) -> Stocked:
    """The catalog with 100 kg and 20 packs in MAIN, and inactive records to refuse."""
    return make_stocked(client, admin.headers)
