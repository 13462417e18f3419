"""What the journeys share: the API, to set up what a journey does not cover and to check what
is stored, and the reading and sending of the pages."""

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, ViewportSize

from app.core.formatting import day
from app.models.user import Role
from app.web.session import SESSION_COOKIE
from tests.conftest import PASSWORD, bearer
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, WAIT_MS, Site
from tests.support.pdf import pdf_pages, running_text, save_first_page
from tests.support.servers import HttpResponse

# -- the API ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """JSON calls to the site's API with one bearer token (empty: anonymous)."""

    site: Site
    token: str = ""

    @classmethod
    def as_user(cls, site: Site, email: str, password: str = PASSWORD) -> "Api":
        """Logged in as ``email`` (POST /api/v1/auth/login)."""
        login = site.server.post_form(
            "/api/v1/auth/login", {"username": email, "password": password}
        )
        assert login.status == 200, login.text
        return cls(site, login.json()["access_token"])

    @classmethod
    def admin(cls, site: Site) -> "Api":
        """Logged in as the admin."""
        return cls.as_user(site, site.email(Role.ADMIN))

    def answer(self, method: str, path: str, body: Any = None) -> HttpResponse:
        """The raw answer to one call."""
        headers = {"Content-Type": "application/json", **(bearer(self.token) if self.token else {})}
        data = None if body is None else json.dumps(body).encode()
        return self.site.server.request(method, path, body=data, headers=headers)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        """One call that must succeed; the parsed answer."""
        answer = self.answer(method, path, body)
        assert answer.status < 300, (method, path, answer.status, answer.text)
        return answer.json() if answer.body else None


def tag() -> str:
    """A short unique mark for the names, SKUs and emails of one journey."""
    return uuid.uuid4().hex[:8].upper()


def days_from_today(days: int) -> str:
    """The ISO date ``days`` from today (negative: in the past)."""
    return (date.today() + timedelta(days=days)).isoformat()


def shown_days_from_today(days: int) -> str:
    """The date ``days`` from today as the pages show it (6 Mar 2027)."""
    return day(date.today() + timedelta(days=days))


def warehouse_ids(api: Api) -> dict[str, int]:
    """The warehouses of the demo data, by code (MAIN, COLD)."""
    return {
        item["code"]: item["id"] for item in api("GET", "/api/v1/warehouses?limit=200")["items"]
    }


def new_product(api: Api, name: str, *, price: str = "9.80", reorder_point: str = "0") -> Any:
    """A product of its own sold by kg."""
    body = {
        "sku": f"E2E-{tag()}",
        "name": f"{name} {tag()}",
        "price": price,
        "standard_cost": "4.10",
        "reorder_point": reorder_point,
        "reorder_quantity": "100",
        "shelf_life_days": 365,
    }
    return api("POST", "/api/v1/products", body)


def receive(
    api: Api,
    product_id: int,
    warehouse_id: int,
    lot_code: str,
    quantity: str,
    best_before: str,
    received_date: str | None = None,
) -> int:
    """Receive goods into a lot; the lot's id."""
    body = {
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "lot_code": lot_code,
        "quantity": quantity,
        "best_before": best_before,
        "reference": "E2E setup",
    }
    if received_date is not None:
        body["received_date"] = received_date
    lot_id: int = api("POST", "/api/v1/stock/receipts", body)["movements"][0]["lot_id"]
    return lot_id


def stock_levels(api: Api, product_id: int) -> list[dict[str, Any]]:
    """The product's stock per lot and warehouse (levels holding stock)."""
    items: list[dict[str, Any]] = api("GET", f"/api/v1/stock/levels?product_id={product_id}")[
        "items"
    ]
    return items


# -- the pages -------------------------------------------------------------------------------


def section(page: Page, heading_id: str) -> Locator:
    """The card labelled by the heading with ``heading_id``."""
    return page.locator(f"section[aria-labelledby='{heading_id}']")


def body_rows(scope: Locator) -> Locator:
    """The rows of the tables of ``scope``."""
    return scope.locator("table tbody tr")


def heading(page: Page) -> Locator:
    """The page's title."""
    return page.get_by_role("heading", level=1)


def fact(page: Page, term: str) -> Locator:
    """The value of a term of the page's fact lists."""
    return page.locator("dl.facts").locator(
        f"xpath=dt[normalize-space()='{term}']/following::dd[1]"
    )


def amount(value: str | Decimal) -> str:
    """Money as the pages show it: €1,234.50."""
    return f"€{Decimal(value):,.2f}"


def number_in_url(page: Page, pattern: str) -> int:
    """The id in the page's URL, e.g. ``/orders/(\\d+)``."""
    found = re.search(pattern, page.url)
    assert found, (pattern, page.url)
    return int(found.group(1))


def press(page: Page, button: str) -> int:
    """Press the form button named ``button``; the HTTP status of the answer to the form."""
    with page.expect_response(
        lambda response: (
            response.request.method == "POST" and response.request.resource_type == "document"
        )
    ) as answer:
        page.get_by_role("button", name=button, exact=True).click()
    return answer.value.status


PAPER = "rgb(251, 248, 243)"  # --paper of app.css: the stylesheet was applied


def at(path: str) -> re.Pattern[str]:
    """The page's URL is ``path`` on this server, with any query or fragment."""
    return re.compile(rf"^http://[^/]+{re.escape(path)}(?:[?#].*)?$")


def query_of(page: Page) -> dict[str, list[str]]:
    """The query string of the page's URL."""
    return parse_qs(urlsplit(page.url).query)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Open the login page, fill the form and send it with its button."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def assert_styled(page: Page) -> None:
    """The page's stylesheet is applied."""
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == PAPER, f"app.css not applied: body background {background}"


def session_cookies(context: BrowserContext) -> list[Any]:
    """The browser's session cookies of the pages."""
    return [cookie for cookie in context.cookies() if cookie["name"] == SESSION_COOKIE]


@contextmanager
def other_browser(browser: Browser, site: Site) -> Iterator[Page]:
    """A tab in a second, separate browser context (its own cookies); no script errors."""
    viewport = ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"])
    context = browser.new_context(base_url=site.url, viewport=viewport)
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


# -- printed papers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Printed:
    """A PDF a page links to: the text of its pages and the image of its first page."""

    pages: list[str]
    image: Path

    @property
    def text(self) -> str:
        """The text of all its pages on one line, hyphens restored."""
        return running_text(self.pages)


def linked_pdf(page: Page, link: Locator, name: str) -> Printed:
    """Fetch the PDF ``link`` points to with the browser's own session; its text, its first
    page drawn as ``name``.png among the screenshots."""
    href = link.get_attribute("href")
    assert href, f"no address on {link}"
    answer = page.context.request.get(urljoin(page.url, href))
    assert answer.status == 200, (href, answer.status, answer.text())
    assert answer.headers["content-type"] == "application/pdf", (href, answer.headers)
    content = answer.body()
    assert content.startswith(b"%PDF-"), href
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = SCREENSHOTS / f"{name}.png"
    image.unlink(missing_ok=True)
    save_first_page(content, image)
    return Printed(pdf_pages(content), image)


def assert_drawn(image: Path) -> None:
    """``image`` is a page-sized PNG with print on it: not blank, not a speck."""
    assert image.is_file(), f"{image} is missing"
    with Image.open(image) as drawn:
        assert drawn.format == "PNG", (image, drawn.format)
        width, height = drawn.size
        inked = sum(drawn.convert("L").histogram()[:160])
    assert min(width, height) >= 600, (image, width, height)
    assert inked >= width * height // 500, f"{image} is nearly blank: {inked} dark pixels"
