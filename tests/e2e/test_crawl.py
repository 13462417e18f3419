"""Every page a role reaches from the home page by links, in Chromium: it opens (no 404, no
server error), runs without a script error, has a title and a heading and passes axe-core
without a serious or critical violation; each kind of page (each path, ids aside) is
photographed at a desktop's and a phone's width."""

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    expect,
)

from app.models.user import Role
from tests.e2e.accessibility import blocking_violations, load_axe
from tests.e2e.conftest import SCREENSHOTS, WAIT_MS, Site, serving_site
from tests.e2e.helpers import Api, log_in

pytestmark = [pytest.mark.system, pytest.mark.postgres]
# Each role's tests go to a worker as a group of their own (tests/support/scheduling.py), so the
# crawls, the longest of the browser tests, run beside each other and beside the journeys.
GROUPED_BY_CASE = True

WIDE = ViewportSize(width=1366, height=800)
PHONE = ViewportSize(width=390, height=844)
# Addresses of one shape (the same path with another id or page) visited per role.
PER_PATTERN = 3
# Links that change something or leave the pages: never followed.
SKIPPED = re.compile(r"^/(logout|static/|api/)")
# What the menu of each role must offer, so each list is reached from the navigation alone.
MENU = {
    Role.ADMIN: {
        "/dashboard",
        "/products",
        "/lots",
        "/categories",
        "/suppliers",
        "/warehouses",
        "/alerts",
        "/stock/receive",
        "/count",
        "/orders",
        "/customers",
        "/invoices",
        "/receivables",
        "/credit-notes",
        "/purchase-orders",
        "/reorder",
        "/reports",
        "/audit",
        "/admin/users",
        "/admin/sessions",
    },
    Role.MANAGER: {
        "/dashboard",
        "/products",
        "/lots",
        "/categories",
        "/suppliers",
        "/warehouses",
        "/alerts",
        "/stock/receive",
        "/count",
        "/orders",
        "/customers",
        "/invoices",
        "/receivables",
        "/credit-notes",
        "/purchase-orders",
        "/reorder",
        "/reports",
        "/audit",
    },
    Role.STAFF: {
        "/products",
        "/lots",
        "/categories",
        "/suppliers",
        "/warehouses",
        "/alerts",
        "/stock/receive",
        "/count",
        "/orders",
        "/customers",
        "/invoices",
        "/receivables",
        "/credit-notes",
        "/purchase-orders",
        "/reorder",
    },
    Role.CUSTOMER: {"/shop", "/orders"},
}


def path_shape(path: str) -> str:
    """The path with its ids as ``{id}``: one kind of page."""
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def pattern(path: str, query: str) -> str:
    """The shape of an address: ids as ``{id}``; a list's other pages as ``?page`` and its
    other orders as ``?sort`` whatever else they keep, any other query by its names."""
    shape = path_shape(path)
    names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)})
    for kind in ("page", "sort"):
        if kind in names:
            return f"{shape}?{kind}"
    return f"{shape}?{'&'.join(names)}" if names else shape


def slug(shape: str) -> str:
    """A file name for the address shape ``shape``."""
    return re.sub(r"[^a-z0-9]+", "-", shape.lower()).strip("-") or "home"


@dataclass
class Crawl:
    """What a crawl of one role visited and found wrong."""

    site: Site
    role: Role
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    per_pattern: dict[str, int] = field(default_factory=dict)
    pages: int = 0

    def admit(self, url: str) -> bool:
        """Whether ``url`` is to be visited: same site, not visited, its shape not exhausted."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.site.url or SKIPPED.match(parts.path):
            return False
        address = parts.path + (f"?{parts.query}" if parts.query else "")
        shape = pattern(parts.path, parts.query)
        if address in self.seen or self.per_pattern.get(shape, 0) >= PER_PATTERN:
            return False
        self.seen.add(address)
        self.per_pattern[shape] = self.per_pattern.get(shape, 0) + 1
        return True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo_database: str) -> Iterator[Site]:
    """A server of the crawl's own, wherever its roles run: its pages are the demo data's and
    the order below, whatever the journeys do on theirs."""
    with serving_site(tmp_path_factory.mktemp("crawl"), demo_database) as running:
        yield running


@pytest.fixture(scope="module")
def ordered(site: Site) -> None:
    """An order of the customer of the site, so its pages include an order of its own."""
    api = Api.as_user(site, site.email(Role.CUSTOMER))
    products = Api.admin(site)("GET", "/api/v1/products?is_active=true&limit=50")["items"]
    for product in products:
        lines = [{"product_id": product["id"], "quantity": "1"}]
        if api.answer("POST", "/api/v1/orders", {"lines": lines}).status < 300:
            return
    pytest.fail("no demo product could be ordered")


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A context of its own for one role, at a desktop's width, with axe-core in its pages."""
    opened = browser.new_context(base_url=site.url, viewport=WIDE)
    opened.set_default_timeout(WAIT_MS)
    load_axe(opened)
    try:
        yield opened
    finally:
        opened.close()


# What a check needs of a page, read in one call: its <h1> count, its title, its links.
READ_PAGE = """() => ({
    headings: document.querySelectorAll("h1").length,
    title: document.title,
    links: Array.from(document.querySelectorAll("a[href]"), link => link.href.split("#")[0]),
})"""


def check_page(crawl: Crawl, page: Page, address: str) -> list[str]:
    """The heading, title and accessibility of the page open at ``address``; its links."""
    read = page.evaluate(READ_PAGE)
    if read["headings"] == 0:
        crawl.problems.append(f"{address}: no <h1>")
    if not read["title"].split("·")[0].strip():
        crawl.problems.append(f"{address}: empty <title> ({read['title']!r})")
    crawl.problems.extend(f"{address}: {found}" for found in blocking_violations(page))
    links: list[str] = read["links"]
    return links


def photograph(crawl: Crawl, page: Page, shape: str) -> None:
    """Full-page pictures of the page at a desktop's and a phone's width."""
    folder = SCREENSHOTS / crawl.role.value
    folder.mkdir(parents=True, exist_ok=True)
    name = slug(shape)
    page.screenshot(path=folder / f"{name}-{WIDE['width']}.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=folder / f"{name}-{PHONE['width']}.png", full_page=True)
    page.set_viewport_size(WIDE)


def crawl_site(crawl: Crawl, context: BrowserContext) -> None:
    """Visit every page reachable from the home page by links, each shape at most
    PER_PATTERN times, checking each one."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console error: {message.text}")

    page.on("console", on_console)
    log_in(page, crawl.site.email(crawl.role))
    expect(page.get_by_role("navigation", name="Main")).to_be_attached()
    kinds: set[str] = set()
    queue = deque([f"{crawl.site.url}/"])
    crawl.admit(queue[0])
    while queue:
        url = queue.popleft()
        parts = urlsplit(url)
        address = parts.path + (f"?{parts.query}" if parts.query else "")
        errors.clear()
        try:
            response = page.goto(url)
        except Error as error:
            if "Download is starting" not in error.message:
                raise
            response = None
            download = context.request.get(url)
            if download.status >= 400:
                crawl.problems.append(f"{address}: {download.status}")
            continue
        crawl.pages += 1
        assert response is not None
        if response.status >= 400:
            crawl.problems.append(f"{address}: {response.status}")
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        links = check_page(crawl, page, address)
        kind = path_shape(urlsplit(page.url).path)
        if kind not in kinds:
            kinds.add(kind)
            photograph(crawl, page, kind)
        crawl.problems.extend(f"{address}: {error}" for error in errors)
        queue.extend(link for link in links if crawl.admit(link))
    page.close()


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_every_page_a_role_reaches_opens_cleanly_and_passes_axe(
    site: Site, context: BrowserContext, ordered: None, role: Role
) -> None:
    """From the home page, every link of every page: no 404 or server error, no script or
    console error, an <h1> and a <title>, and no serious or critical axe-core violation."""
    crawl = Crawl(site, role)

    crawl_site(crawl, context)

    assert crawl.pages > len(MENU[role]), sorted(crawl.seen)
    assert crawl.problems == [], "\n".join(crawl.problems)


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_the_menu_reaches_every_list_in_one_bar_or_behind_a_button(
    site: Site, context: BrowserContext, role: Role
) -> None:
    """At 1366 px the menu is one bar whose groups open with the keyboard; at 390 px it hides
    behind the menu button and passes axe-core open; either way it offers every list of the
    role."""
    page = context.new_page()
    log_in(page, site.email(role))
    menu = page.get_by_role("navigation", name="Main")
    expect(menu).to_be_visible()

    hrefs = menu.locator("a").evaluate_all("links => links.map(link => link.pathname)")
    tops = menu.locator(":scope > ul > li").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert set(hrefs) == MENU[role]
    assert len(set(tops)) == 1, f"the menu wraps at 1366 px: {tops}"
    expect(page.locator(".menu-button")).to_be_hidden()
    for group in menu.locator("details").all():
        hidden = group.locator("a").first
        expect(hidden).to_be_hidden()
        group.locator("summary").focus()
        page.keyboard.press("Enter")
        expect(hidden).to_be_visible()
        hidden.focus()
        page.keyboard.press("Escape")
        expect(hidden).to_be_hidden()

    folder = SCREENSHOTS / role.value
    folder.mkdir(parents=True, exist_ok=True)
    if menu.locator("summary").count():
        menu.locator("summary").first.click()
        page.screenshot(path=folder / f"menu-open-{WIDE['width']}.png")

    page.set_viewport_size(PHONE)
    expect(menu).to_be_hidden()
    page.locator(".menu-button").click()
    expect(menu).to_be_visible()
    first = menu.locator(":scope > ul > li > a").first
    expect(first).to_be_visible()
    for summary in menu.locator("summary").all():
        summary.click()
        expect(summary.locator("xpath=..").locator("a").first).to_be_visible()
    assert blocking_violations(page) == []
    page.screenshot(path=folder / f"menu-open-{PHONE['width']}.png")
    page.close()
