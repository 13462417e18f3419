"""The API tests' shared fixtures, defined in tests.support.fixtures."""

from tests.support.fixtures import admin, manager, staff, world  # noqa: F401
