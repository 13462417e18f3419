"""How pytest-xdist hands the suite out to its workers."""

import re
from functools import cache
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SHARED_FIXTURE = re.compile(r"""@pytest\.fixture\(\s*scope=["'](?:module|session)["']""")
# A module whose cases (its tests' parameters) are best run side by side, each case setting up
# the module's fixtures on its worker, declares it with this line.
GROUPED_BY_CASE = re.compile(r"^GROUPED_BY_CASE = True$", re.MULTILINE)


@cache
def defines_shared_fixture(path: Path) -> bool:
    """Whether the file at ``path`` defines a fixture set up once per module or per run."""
    return path.is_file() and bool(SHARED_FIXTURE.search(path.read_text(encoding="utf-8")))


@cache
def grouped_by_case(path: Path) -> bool:
    """Whether the test module at ``path`` asks for a group per case rather than one."""
    return path.is_file() and bool(GROUPED_BY_CASE.search(path.read_text(encoding="utf-8")))


def shared_fixture_home(test_file: str) -> str | None:
    """The folder (by its conftest.py) or the module whose shared fixture the tests of
    ``test_file`` may use; None when they use none."""
    module = ROOT / test_file
    for folder in reversed(module.parents):
        inside = folder.is_relative_to(TESTS) and folder != TESTS
        if inside and defines_shared_fixture(folder / "conftest.py"):
            return folder.relative_to(ROOT).as_posix()
    return test_file if defines_shared_fixture(module) else None


def work_group(nodeid: str) -> str:
    """The tests handed to one worker together with the test ``nodeid``: those of the same
    shared fixture's home; in a module grouped by case, those of the module with the same
    parameters (``tests/e2e/test_crawl.py[admin]``); else the test alone."""
    test_file, _, name = nodeid.partition("::")
    home = shared_fixture_home(test_file)
    if home is None:
        return nodeid
    _, bracket, case = name.partition("[")
    if bracket and grouped_by_case(ROOT / test_file):
        return f"{test_file}[{case}"
    return home


class SharedFixtureScheduling(LoadScopeScheduling):
    """Test by test, as xdist's ``load`` does, except that the tests of a module or folder with a
    module- or run-scoped fixture (a browser, a cluster, a loaded scene) go to one worker, which
    sets the fixture up once; the largest of those groups are handed out first. A module that
    declares ``GROUPED_BY_CASE = True`` makes a group of each case instead (the browser crawl of
    each role), so its longest cases run on both workers at once."""

    def _split_scope(self, nodeid: str) -> str:
        return work_group(nodeid)
