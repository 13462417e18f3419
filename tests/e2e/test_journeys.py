"""Journeys through the pages in a real browser: logging in and out, the dashboard at a tablet's
width, the product list with its search, filter and pages, and the login form by keyboard."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from app.models.user import Role
from app.web.pages.products import PAGE_SIZE
from tests.conftest import PASSWORD
from tests.e2e.conftest import FULL_NAMES, Site
from tests.e2e.helpers import assert_styled, at, log_in, query_of, session_cookies

pytestmark = [pytest.mark.system, pytest.mark.postgres]

TABLET = {"width": 768, "height": 1024}
FIGURES = ("stock-value", "low-stock", "expiring-lots", "orders-today")
CHART_TITLES = [
    "Revenue per day, last 30 days",
    "Orders placed per day, last 30 days",
    "Stock on hand by category",
    "Value expiring per week, next 30 days",
]
SEARCH = "Prunes"


# -- helpers -----------------------------------------------------------------------------------


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def column(page: Page, index: int) -> list[str]:
    """The texts of one column (1-based) of the list's rows."""
    return page.locator(f"table.list tbody tr td:nth-child({index})").all_inner_texts()


def focused(page: Page) -> str:
    """A short description of the element that has the keyboard focus."""
    description: str = page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
        " + ' ' + (e.textContent || '').trim().slice(0, 40); })()"
    )
    return description


def assert_focus_shown(page: Page, element: Locator) -> None:
    """``element`` has the keyboard focus, drawn as an outline."""
    expect(element).to_be_focused()
    outline = element.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("", "none"), f"no focus outline on {focused(page)}"


# -- journeys ----------------------------------------------------------------------------------


def test_admin_lands_on_the_dashboard_which_fits_a_tablet(page: Page, site: Site) -> None:
    """An admin logs in through the form and sees the figures and charts, also on a tablet."""
    log_in(page, site.email(Role.ADMIN))

    expect(page).to_have_url(at("/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator("header.topbar")).to_contain_text(f"{FULL_NAMES[Role.ADMIN]} (admin)")
    expect(page.locator("header nav a[aria-current='page']")).to_have_text("Dashboard")
    assert_styled(page)
    for name in FIGURES:
        expect(page.locator(f"[data-figure='{name}']")).to_have_text(
            re.compile(r"^€?\d[\d,]*(\.\d\d)?$")
        )
    low_stock = site.api("GET", "/api/v1/alerts")["low_stock"]
    expect(page.locator("[data-figure='low-stock']")).to_have_text(str(len(low_stock)))
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(len(CHART_TITLES))
    expect(page.locator("svg.chart > title")).to_have_text(CHART_TITLES)
    for index, title in enumerate(CHART_TITLES):
        expect(charts.nth(index)).to_have_attribute("role", "img")
        expect(charts.nth(index)).to_have_accessible_name(title)

    page.set_viewport_size(TABLET)

    assert horizontal_overflow(page) == 0
    width = page.evaluate("document.documentElement.clientWidth")
    for box in [charts.nth(index).bounding_box() for index in range(len(CHART_TITLES))]:
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
    for name in FIGURES:
        expect(page.locator(f"[data-figure='{name}']")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_wrong_password_is_refused_next_to_the_form(page: Page, site: Site) -> None:
    """A wrong password keeps the user on the login page with the error beside the form."""
    email = site.email(Role.MANAGER)
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the right password at all")

    with page.expect_response(
        lambda response: response.request.method == "POST" and at("/login").match(response.url)
    ) as answer:
        page.get_by_role("button", name="Log in").click()

    assert answer.value.status == 401
    expect(page).to_have_url(at("/login"))
    form_card = page.locator("section.card", has=page.locator("form[action='/login']"))
    expect(form_card.get_by_role("alert")).to_have_text("Incorrect email or password.")
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    assert_styled(page)
    assert session_cookies(page.context) == []


def test_staff_searches_filters_and_pages_the_products(page: Page, site: Site) -> None:
    """Staff land on the products, search, filter, page on; the dashboard is not theirs."""
    active = site.api("GET", "/api/v1/products?is_active=true&limit=200")
    assert active["total"] > PAGE_SIZE, "the demo data should fill more than one page"
    found = site.api("GET", f"/api/v1/products?is_active=true&q={SEARCH}")["items"]
    low = site.api("GET", "/api/v1/alerts")["low_stock"]
    assert found
    assert low

    log_in(page, site.email(Role.STAFF))

    expect(page).to_have_url(at("/products"))
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Products")).to_have_attribute("aria-current", "page")
    expect(menu.get_by_role("link", name="Dashboard")).to_have_count(0)
    assert_styled(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{active['total']} found")

    page.get_by_label("Search").fill(SEARCH)
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(at("/products"))
    assert query_of(page)["q"] == [SEARCH]
    expect(page.locator("table.list tbody tr")).to_have_count(len(found))
    assert sorted(column(page, 1)) == sorted(item["sku"] for item in found)
    assert all(SEARCH.lower() in name.lower() for name in column(page, 2))

    page.get_by_label("Search").fill("")
    page.get_by_label("Low on stock").check()
    page.get_by_role("button", name="Filter").click()

    assert query_of(page)["low_stock"] == ["true"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{len(low)} found")
    expect(page.get_by_label("Low on stock")).to_be_checked()
    assert sorted(column(page, 1)) == sorted(item["sku"] for item in low)
    assert set(column(page, 7)) == {"low stock"}

    page.get_by_label("Low on stock").uncheck()
    page.get_by_role("button", name="Filter").click()
    pages = -(-active["total"] // PAGE_SIZE)
    seen: list[str] = []
    for number in range(1, pages + 1):
        expect(page.locator(".pager")).to_contain_text(f"Page {number} of {pages}")
        expected_rows = min(PAGE_SIZE, active["total"] - PAGE_SIZE * (number - 1))
        expect(page.locator("table.list tbody tr")).to_have_count(expected_rows)
        seen += column(page, 1)
        if number < pages:
            page.get_by_role("link", name="Next").click()
            expect(page).to_have_url(at("/products"))
            assert query_of(page)["page"] == [str(number + 1)]
    expect(page.get_by_role("link", name="Next")).to_have_count(0)
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    assert sorted(seen) == sorted(item["sku"] for item in active["items"])

    with page.expect_response(lambda response: at("/dashboard").match(response.url)) as answer:
        page.goto("/dashboard")

    assert answer.value.status == 403
    expect(page).to_have_url(at("/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Permission denied")
    expect(page.get_by_role("alert")).to_contain_text("(staff)")
    assert_styled(page)


def test_the_login_form_works_by_keyboard_alone(page: Page, site: Site) -> None:
    """The skip link is the first stop of Tab; then email, password and button; Enter logs in."""
    page.goto("/login")
    skip = page.get_by_role("link", name="Skip to content")
    email = page.get_by_label("Email")
    password = page.get_by_label("Password")
    button = page.get_by_role("button", name="Log in")
    assert page.evaluate("document.activeElement === document.body"), focused(page)

    page.keyboard.press("Tab")

    assert_focus_shown(page, skip)
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/login#main$"))
    page.keyboard.press("Tab")
    assert_focus_shown(page, email)
    page.keyboard.type(site.email(Role.ADMIN))
    page.keyboard.press("Tab")
    assert_focus_shown(page, password)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert_focus_shown(page, button)

    page.keyboard.press("Enter")

    expect(page).to_have_url(at("/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")


def test_logging_out_from_the_top_bar_ends_the_session(page: Page, site: Site) -> None:
    """Log out from the top bar; the dashboard then sends to the login page, even with the old
    cookie put back."""
    log_in(page, site.email(Role.ADMIN))
    expect(page).to_have_url(at("/dashboard"))
    [cookie] = session_cookies(page.context)

    page.locator("header.topbar").get_by_role("button", name="Log out").click()

    expect(page).to_have_url(at("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.locator("header.topbar").get_by_role("button", name="Log out")).to_have_count(0)
    assert session_cookies(page.context) == []

    page.go_back()  # the dashboard is not kept by the browser: asked again, it sends to login

    expect(page).to_have_url(at("/login"))
    expect(page.locator("[data-figure]")).to_have_count(0)

    page.goto("/dashboard")

    expect(page).to_have_url(at("/login"))
    assert query_of(page)["next"] == ["/dashboard"]
    expect(page.get_by_label("Email")).to_be_visible()

    page.context.add_cookies([cookie])
    page.goto("/dashboard")

    expect(page).to_have_url(at("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
