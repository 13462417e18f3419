"""A router the application passes over for a path that none of its routes can match.

FastAPI asks every included router in turn whether one of its routes matches the path, and a
router tries each of its routes' patterns: more than two hundred before the last route of the
API. A Router included through ``include`` first compares the path with its routes' paths
under the prefix it was included at (the whole path of a route without parameters, the
start of the others up to the first parameter), and says no at once when none fits.
"""

from fastapi import APIRouter, FastAPI
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import Scope


class Router(APIRouter):
    """An APIRouter that answers "no match" at once for a path none of its routes can take."""

    included_at: frozenset[str] = frozenset()
    _paths: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ())
    _paths_of: tuple[int, frozenset[str]] | None = None  # what ``_paths`` was worked from

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match unless the path is one of the routes' or starts as one of them does,
        else FastAPI's match."""
        if self.included_at:
            whole, starts = self.paths()
            path = _route_path(scope)
            if path not in whole and not path.startswith(starts):
                return Match.NONE, {}
        return super().matches(scope)

    def paths(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The full paths of the routes without parameters, and the fixed start of the others
        (up to the first parameter; a mount's or an included router's whole prefix), under
        each prefix the router was included at."""
        basis = (len(self.routes), self.included_at)
        if self._paths_of != basis:
            whole: set[str] = set()
            starts: set[str] = set()
            for prefix in self.included_at:
                for route in self.routes:
                    path = prefix + getattr(route, "path", "")
                    if not isinstance(route, Route | WebSocketRoute):
                        starts.add(path)
                    elif "{" in path:
                        starts.add(path.split("{", 1)[0])
                    else:
                        whole.add(path)
            self._paths, self._paths_of = (frozenset(whole), tuple(starts)), basis
        return self._paths


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
