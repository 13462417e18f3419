"""Shared setup for the page tests: a small HTML reader, logging in through the login form,
the cookies a response sets, the stored login sessions, and catalog records with every field."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import jwt
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.main import app
from app.models.catalog import Product, UnitOfMeasure
from app.models.user import Role, User, UserSession
from app.schemas.catalog import CategoryCreate, ProductCreate
from app.services import catalog
from app.services.audit import Actor
from tests.conftest import PASSWORD, MakeUser

SESSION_COOKIE = "dfims_session"
LOGIN_CSRF_COOKIE = "dfims_login_csrf"
CSRF_FIELD = "csrf_token"
FORM_KEY_FIELD = "form_key"
HIDDEN_FIELDS = (CSRF_FIELD, FORM_KEY_FIELD)
# The answer a page's question (ship? cancel?) sends with the step it asked about.
CONFIRMED = {"confirmed": "yes"}
ORIGIN = "http://testserver"
PAGE_ACTOR = Actor(user_id=None, label="page-tests")
HTML = "text/html"
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


# --------------------------------------------------------------------------- reading HTML


@dataclass
class Node:
    """One element of a parsed page: its tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list["Node | str"] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Every text inside, markup removed, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: "Node") -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def find_all(self, tag: str | None = None, **attrs: str | None) -> list["Node"]:
        """Every element below this one of ``tag`` whose attributes include ``attrs``
        (``class_`` matches one of the classes, None any value; ``data_x`` names data-x)."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and child._has(attrs):
                found.append(child)
            found += child.find_all(tag, **attrs)
        return found

    def find(self, tag: str | None = None, **attrs: str | None) -> "Node":
        """The only element of ``tag`` with ``attrs`` (fails when none or several)."""
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> elements"
        return found[0]

    def _has(self, attrs: dict[str, str | None]) -> bool:
        for name, wanted in attrs.items():
            if name == "class_":
                if wanted not in self.attrs.get("class", "").split():
                    return False
                continue
            key = name.replace("_", "-")
            if key not in self.attrs or (wanted is not None and self.attrs[key] != wanted):
                return False
        return True


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The element tree of ``html`` (entities decoded)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page_of(response: Response, status: int = 200) -> Node:
    """The parsed HTML page of ``response``, after checking its status and media type."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith(HTML)
    return parse(response.text)


def title_of(page: Node) -> str:
    """The text of the page's own <title> (not those of its charts)."""
    return page.find("head").find("title").text


def hidden_value(page: Node, name: str) -> str:
    """The value of the hidden field ``name`` (there must be exactly one)."""
    return page.find("input", name=name, type="hidden").attrs["value"]


SVG = "{http://www.w3.org/2000/svg}"


def svg_sources(html: str) -> list[str]:
    """Every inline <svg>...</svg> of ``html``, as written."""
    sources = []
    start = html.find("<svg")
    while start != -1:
        end = html.index("</svg>", start) + len("</svg>")
        sources.append(html[start:end])
        start = html.find("<svg", end)
    return sources


def parse_svg(source: str) -> ET.Element:
    """An SVG image parsed as the XML document it must be (fails when it is not well-formed)."""
    return ET.fromstring(source)  # noqa: S314 (markup the service drew, in a test)


def charts_of(html: str) -> list[ET.Element]:
    """The charts of a page, parsed."""
    return [parse_svg(source) for source in svg_sources(html)]


def chart_texts(svg: ET.Element, css_class: str) -> list[str]:
    """The texts of ``css_class`` (chart-title, chart-unit, tick, chart-empty) of a chart."""
    return [
        "".join(node.itertext())
        for node in svg.iter(f"{SVG}text")
        if css_class in node.attrib.get("class", "").split()
    ]


def tooltips(svg: ET.Element, shape: str) -> list[str]:
    """The tooltips of the bars (rect) or dots (circle) of a chart, in order."""
    return [node.findtext(f"{SVG}title") or "" for node in svg.iter(f"{SVG}{shape}")]


# --------------------------------------------------------------------------- cookies


def set_cookies(response: Response) -> dict[str, Morsel[str]]:
    """The cookies ``response`` sets, by name, with their attributes."""
    cookies: dict[str, Morsel[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        cookies.update(jar)
    return cookies


def session_cookie(client: TestClient) -> str:
    """The session cookie the browser holds now."""
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


def put_session_cookie(client: TestClient, value: str) -> None:
    """Make the browser hold ``value`` as its session cookie (and nothing else by that name)."""
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, value)


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a signed token, unverified."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def session_id_of(client: TestClient) -> str:
    """The id of the user session behind the browser's cookie."""
    return str(claims_of(session_cookie(client))["sid"])


# --------------------------------------------------------------------------- logging in


def browser() -> TestClient:
    """A second browser: a client of the same app with a cookie jar of its own."""
    return TestClient(app, raise_server_exceptions=False)


def login_form(client: TestClient, next_path: str | None = None) -> tuple[Response, str]:
    """GET /login (with ``next``); the response and the form's anti-forgery token."""
    params = {"next": next_path} if next_path is not None else None
    response = client.get("/login", params=params, follow_redirects=False)
    page = page_of(response)
    return response, hidden_value(page, CSRF_FIELD)


def post_login(
    client: TestClient,
    email: str,
    password: str = PASSWORD,
    *,
    token: str | None = None,
    next_path: str | None = None,
) -> Response:
    """Fill in and send the login form (fetching it first unless ``token`` is given)."""
    if token is None:
        _, token = login_form(client)
    data = {"email": email, "password": password, CSRF_FIELD: token}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data, follow_redirects=False)


def page_login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    """Log in through the form; the 303 answer, its session cookie kept by ``client``."""
    response = post_login(client, email, password)
    assert response.status_code == 303, response.text[:2000]
    assert client.cookies.get(SESSION_COOKIE)
    return response


@dataclass(frozen=True)
class PageUser:
    """A user logged in to the pages in a browser, and the id of their session."""

    user: User
    client: TestClient
    session_id: str


def logged_in(client: TestClient, make_user: MakeUser, role: Role = Role.ADMIN) -> PageUser:
    """Create a user of ``role`` and log them in through the form in ``client``."""
    user = make_user(role=role)
    page_login(client, user.email)
    return PageUser(user, client, session_id_of(client))


def form_fields(client: TestClient, path: str = "/products") -> dict[str, str]:
    """The hidden fields of the logged-in user's forms (the anti-forgery token and a one-time
    form key), read from the logout form of the page at ``path``."""
    page = page_of(client.get(path, follow_redirects=False))
    form = page.find("form", action="/logout")
    return {name: form.find("input", name=name).attrs["value"] for name in HIDDEN_FIELDS}


def landing(response: Response) -> str:
    """Where a redirect sends a browser, resolved as a browser does (tabs and newlines
    dropped, backslashes read as slashes)."""
    location = response.headers["location"]
    cleaned = "".join(char for char in location if char not in "\t\n\r").replace("\\", "/")
    return urljoin(ORIGIN + "/login", cleaned.strip())


def stays_on_site(response: Response) -> bool:
    """Whether a redirect keeps the browser on this site."""
    target = urlsplit(landing(response))
    return target.scheme == "http" and target.netloc == "testserver"


# --------------------------------------------------------------------------- the database


def count_sessions() -> int:
    """How many login sessions exist (open or not)."""
    with SessionLocal() as db:
        return int(db.scalar(select(func.count()).select_from(UserSession)) or 0)


def stored_session(session_id: str) -> UserSession:
    """A login session as stored now."""
    with SessionLocal() as db:
        row = db.get(UserSession, session_id)
        assert row is not None
        return row


def stored_user(user_id: int) -> User:
    """A user as stored now."""
    with SessionLocal() as db:
        row = db.get(User, user_id)
        assert row is not None
        return row


def category(name: str) -> int:
    """A committed active category; its id."""
    with SessionLocal() as db:
        item = catalog.categories.create(db, PAGE_ACTOR, CategoryCreate(name=name).model_dump())
        db.commit()
        return item.id


def product(
    sku: str,
    *,
    name: str | None = None,
    variety: str = "",
    category_id: int | None = None,
    price: str = "10.00",
    standard_cost: str = "2.0000",
    reorder_point: str = "0",
    unit: UnitOfMeasure = UnitOfMeasure.KG,
    net_weight_kg: str = "1",
    active: bool = True,
) -> int:
    """A committed product made through the catalog service; its id."""
    values = ProductCreate(
        sku=sku,
        name=name or f"Product {sku}",
        variety=variety,
        category_id=category_id,
        price=Decimal(price),
        standard_cost=Decimal(standard_cost),
        reorder_point=Decimal(reorder_point),
        unit=unit,
        net_weight_kg=Decimal(net_weight_kg),
        shelf_life_days=365,
    ).model_dump()
    with SessionLocal() as db:
        item = catalog.create_product(db, PAGE_ACTOR, values)
        if not active:
            catalog.products.set_active(db, PAGE_ACTOR, item, False)
        db.commit()
        return item.id


def raw_product(sku: str, name: str, variety: str, category_id: int | None = None) -> int:
    """A product written straight to the table, past the API's checks (an import, an old
    row): its SKU may hold any character."""
    with SessionLocal() as db:
        item = Product(sku=sku, name=name, variety=variety, category_id=category_id)
        db.add(item)
        db.commit()
        return item.id


def in_days(days: int) -> str:
    """The ISO date ``days`` from today."""
    return (date.today() + timedelta(days=days)).isoformat()
