"""The pages and the API are siblings: neither imports the other; both use app.kit."""

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

SIBLINGS = {"app.web": "app.api", "app.api": "app.web"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(SIBLINGS))
def test_a_sibling_never_imports_the_other(package: str) -> None:
    other = SIBLINGS[package]
    folder = ROOT.joinpath(*package.split("."))
    crossing = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name == other or name.startswith(other + ".")
        )
        for path in folder.rglob("*.py")
    }

    assert {path: names for path, names in crossing.items() if names} == {}


def test_the_shared_plumbing_imports_neither_sibling() -> None:
    for path in ROOT.joinpath("app", "kit").rglob("*.py"):
        names = imported_modules(path)
        assert not any(name.startswith(("app.api", "app.web")) for name in names), path
