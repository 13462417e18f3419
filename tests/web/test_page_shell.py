"""What every page shares: the menu button that opens the navigation on a narrow screen without
JavaScript, the favicon served from this site, and number keyboards for quantities and money
(a static scan of every template)."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.pages import logged_in, page_of

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
# Inputs that take a quantity, an amount of money or another decimal number.
DECIMAL_NAME = re.compile(r"quantity|qty|amount|price|cost|moisture|weight|counted", re.I)
NOT_TYPED = frozenset({"hidden", "checkbox", "radio", "file", "date", "search", "email"})
INPUT_TAG = re.compile(r"<input\b[^>]*>", re.S)
FIELD_CALL = re.compile(r"m\.field\((.*?)\)\s*}}", re.S)
LABEL_BEFORE = re.compile(r"<label\b[^>]*>([^<]*)</label>\s*$", re.S)


def attribute(tag: str, name: str) -> str:
    """The value of attribute ``name`` of an HTML tag as written (Jinja left in)."""
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else ""


def literal(text: str) -> str:
    """``text`` without its Jinja expressions."""
    return re.sub(r"{{.*?}}|{%.*?%}", "", text)


def decimal_inputs_without_keyboard() -> tuple[int, list[str]]:
    """How many quantity inputs the templates have, and those without inputmode="decimal"."""
    found, missing = 0, []
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(TEMPLATES)
        for match in INPUT_TAG.finditer(source):
            tag = match.group(0)
            if attribute(tag, "type") in NOT_TYPED or path.name == "macros.html":
                continue
            name = literal(attribute(tag, "name"))
            if not name.strip("._-"):
                label = LABEL_BEFORE.search(source[: match.start()])
                name = label.group(1) if label else ""
            if DECIMAL_NAME.search(name):
                found += 1
                if 'inputmode="decimal"' not in tag:
                    missing.append(f"{where}: {tag[:120]}")
        for call in FIELD_CALL.finditer(source):
            arguments = call.group(1)
            first = arguments.split(",", 1)[0].strip()
            named = first.strip("\"'") if first[:1] in "\"'" else ""
            if named and not DECIMAL_NAME.search(named):
                continue
            if not named and "inputmode" not in arguments:
                continue  # a name chosen at render time, and no keyboard asked for any of them
            found += 1
            if 'inputmode="decimal"' not in arguments:
                missing.append(f"{where}: m.field({arguments[:120]})")
    return found, missing


def test_every_quantity_input_asks_for_a_number_keyboard() -> None:
    found, missing = decimal_inputs_without_keyboard()

    assert found >= 12, "the scan no longer finds the quantity inputs"
    assert missing == []


def test_the_scan_finds_an_input_without_the_keyboard() -> None:
    tag = '<input id="{{ p }}quantity" name="{{ p }}quantity" value="">'

    name = literal(attribute(tag, "name"))

    assert DECIMAL_NAME.search(name)
    assert 'inputmode="decimal"' not in tag


def test_the_stock_forms_draw_their_quantities_with_a_number_keyboard(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.MANAGER)

    for slug in ("receive", "adjust", "transfer", "waste"):
        page = page_of(client.get(f"/stock/{slug}"))
        quantity = page.find("input", name="quantity")
        assert quantity.attrs.get("inputmode") == "decimal", slug


def test_the_page_has_a_menu_button_that_needs_no_javascript(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.ADMIN)

    page = page_of(client.get("/products"))

    header = page.find("header", class_="topbar")
    toggle = header.find("input", id="menu-toggle")
    assert toggle.attrs["type"] == "checkbox"
    assert toggle.attrs["aria-controls"] == "menu"
    labels = [
        label for label in header.find_all("label") if label.attrs.get("for") == "menu-toggle"
    ]
    assert len(labels) == 1
    assert labels[0].text.endswith("Menu")
    menu = header.find("div", id="menu")
    assert menu.find("nav", aria_label="Main")
    assert menu.find("a", href="/profile")
    assert header.find("form", action="/logout"), "Log out stays in the bar, menu open or not"


def test_the_favicon_is_linked_and_served_from_this_site(client: TestClient) -> None:
    page = page_of(client.get("/login"))

    icons = [link for link in page.find_all("link") if link.attrs.get("rel") == "icon"]
    assert [icon.attrs["href"] for icon in icons] == ["/static/favicon.svg"]
    served = client.get("/static/favicon.svg")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in served.content
    assert b"http://" not in served.content.replace(b"http://www.w3.org/2000/svg", b"")


def test_the_stylesheet_collapses_the_menu_and_keeps_tables_readable(client: TestClient) -> None:
    css = client.get("/static/css/app.css").text

    assert ".menu-toggle:checked ~ .menu" in css
    assert "@media (max-width: 1000px)" in css
    assert "position: sticky" in css
