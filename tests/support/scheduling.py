"""How pytest-xdist hands the suite out to its workers."""

import re
from functools import cache
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SHARED_FIXTURE = re.compile(r"""@pytest\.fixture\(\s*scope=["'](?:module|session)["']""")


@cache
def defines_shared_fixture(path: Path) -> bool:
    """Whether the file at ``path`` defines a fixture set up once per module or per run."""
    return path.is_file() and bool(SHARED_FIXTURE.search(path.read_text(encoding="utf-8")))


def shared_fixture_home(test_file: str) -> str | None:
    """The folder (by its conftest.py) or the module whose shared fixture the tests of
    ``test_file`` may use; None when they use none."""
    module = ROOT / test_file
    for folder in reversed(module.parents):
        inside = folder.is_relative_to(TESTS) and folder != TESTS
        if inside and defines_shared_fixture(folder / "conftest.py"):
            return folder.relative_to(ROOT).as_posix()
    return test_file if defines_shared_fixture(module) else None


class SharedFixtureScheduling(LoadScopeScheduling):
    """Test by test, as xdist's ``load`` does, except that the tests of a module or folder with a
    module- or run-scoped fixture (a browser, a cluster, a loaded scene) go to one worker, which
    sets the fixture up once; the largest of those groups are handed out first."""

    def _split_scope(self, nodeid: str) -> str:
        return shared_fixture_home(nodeid.split("::", 1)[0]) or nodeid
