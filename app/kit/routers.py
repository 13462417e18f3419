"""A router the application passes over for a path that none of its routes can match.

FastAPI asks every included router in turn whether one of its routes matches the path, and a
router tries each of its routes' patterns: more than two hundred before the last route of the
API. A Router included through ``include`` first compares the path with the fixed start of
each of its routes' paths (up to the first parameter), under the prefix it was included at,
and says no at once when none fits.
"""

from fastapi import APIRouter, FastAPI
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """An APIRouter that answers "no match" at once for a path none of its routes starts."""

    included_at: frozenset[str] = frozenset()
    _starts: tuple[str, ...] = ()
    _starts_of: tuple[int, frozenset[str]] | None = None  # what ``_starts`` was worked from

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match unless the path starts as one of the routes' does, else FastAPI's match."""
        if self.included_at and not _route_path(scope).startswith(self.starts()):
            return Match.NONE, {}
        return super().matches(scope)

    def starts(self) -> tuple[str, ...]:
        """The fixed start of each route's full path, under each prefix it was included at."""
        basis = (len(self.routes), self.included_at)
        if self._starts_of != basis:
            self._starts = tuple(
                {
                    prefix + getattr(route, "path", "").split("{", 1)[0]
                    for prefix in self.included_at
                    for route in self.routes
                }
            )
            self._starts_of = basis
        return self._starts


def include(app: FastAPI, router: Router, prefix: str = "") -> None:
    """Include ``router`` in ``app`` under ``prefix``, asked only about paths it can match."""
    router.included_at |= {prefix}
    app.include_router(router, prefix=prefix)


def _route_path(scope: Scope) -> str:
    """The path the routes see: the request's, below the application's root path."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path
