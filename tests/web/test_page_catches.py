"""No page catches a refusal but ``refusals`` in app/web/forms.py, which undoes first."""

import ast
import importlib
import textwrap
from collections.abc import Iterator
from typing import Any

from app.core.errors import DomainError
from app.services.stock import InsufficientStockError
from tests.conftest import ROOT

WEB = ROOT / "app" / "web"
REFUSALS_HOME = ("app/web/forms.py", "refusals")
# Handlers that catch a refusal and go on, each with why that keeps nothing it should not.
CATCHES_ALLOWED = {
    ("app/web/session.py", "caller_from_cookie"): (
        "a session cookie that no longer authenticates is a visitor who is not logged in; "
        "authenticate_session only reads"
    ),
}


def web_modules() -> Iterator[tuple[str, ast.Module, dict[str, Any]]]:
    """Each module under app/web: its path from the root, its syntax tree, its namespace."""
    for path in sorted(WEB.rglob("*.py")):
        relative = path.relative_to(ROOT)
        name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        yield relative.as_posix(), ast.parse(path.read_text()), vars(module)


def resolve(node: ast.expr, namespace: dict[str, Any]) -> list[Any]:
    """The classes an except clause or suppress() names, found in the module's namespace."""
    if isinstance(node, ast.Tuple):
        return [found for item in node.elts for found in resolve(item, namespace)]
    if isinstance(node, ast.Name):
        builtins = namespace["__builtins__"]
        scope = builtins if isinstance(builtins, dict) else vars(builtins)
        assert node.id in namespace or node.id in scope, f"cannot resolve {node.id}"
        return [namespace.get(node.id, scope.get(node.id))]
    if isinstance(node, ast.Attribute):
        return [getattr(owner, node.attr) for owner in resolve(node.value, namespace)]
    raise AssertionError(f"cannot resolve {ast.dump(node)}")


def catches_refusals(classes: list[Any]) -> bool:
    """Whether catching ``classes`` catches a DomainError (a subclass, or a base of it)."""
    return any(
        isinstance(kind, type) and (issubclass(kind, DomainError) or issubclass(DomainError, kind))
        for kind in classes
    )


def only_raises(handler: ast.ExceptHandler) -> bool:
    """Whether the handler does nothing but raise: it passes the refusal on, reworded or not."""
    return len(handler.body) == 1 and isinstance(handler.body[0], ast.Raise)


def catches(tree: ast.Module) -> Iterator[tuple[str, ast.AST, list[ast.expr]]]:
    """Each except handler and suppress() call, its innermost function and what it names."""

    def visit(node: ast.AST, function: str) -> Iterator[tuple[str, ast.AST, list[ast.expr]]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ExceptHandler):
                yield function, child, [child.type] if child.type else []
            elif isinstance(child, ast.Call) and "suppress" in (
                getattr(child.func, "id", None),
                getattr(child.func, "attr", None),
            ):
                yield function, child, list(child.args)
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else None
            )
            yield from visit(child, inner or function)

    yield from visit(tree, "<module>")


def test_no_page_catches_a_refusal_but_refusals() -> None:
    offenders = []
    for path, tree, namespace in web_modules():
        for function, node, named in catches(tree):
            bare = isinstance(node, ast.ExceptHandler) and node.type is None
            classes = [found for expression in named for found in resolve(expression, namespace)]
            if not bare and not catches_refusals(classes):
                continue
            if (path, function) == REFUSALS_HOME or (path, function) in CATCHES_ALLOWED:
                continue
            if isinstance(node, ast.ExceptHandler) and only_raises(node):
                continue
            offenders.append(f"{path}:{getattr(node, 'lineno', '?')} in {function}")

    assert offenders == [], f"catch refusals with app.web.forms.refusals(db): {offenders}"


def test_the_static_check_finds_the_old_pattern() -> None:
    old = ast.parse(
        textwrap.dedent(
            """
            def page():
                try:
                    pass
                except InsufficientStockError as exc:
                    return exc
            """
        )
    )
    namespace = {"__builtins__": __builtins__, "InsufficientStockError": InsufficientStockError}

    [(function, node, named)] = list(catches(old))

    assert function == "page"
    assert catches_refusals([kind for name in named for kind in resolve(name, namespace)])
    assert isinstance(node, ast.ExceptHandler)
    assert not only_raises(node)
