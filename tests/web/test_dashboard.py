"""The dashboard: its four figures against what the report and alert services compute for a
known day of trade, its four charts (titled SVG images with axis units), and an empty start."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.core.database import SessionLocal
from app.core.formatting import currency_symbol, day_and_month, money, quantity
from app.models.catalog import UnitOfMeasure
from app.models.user import Role
from app.services import alerts, reports
from tests.conftest import MakeUser
from tests.support.callers import SignedIn, sign_in
from tests.support.pages import (
    SVG,
    Node,
    category,
    chart_texts,
    charts_of,
    in_days,
    logged_in,
    page_of,
    product,
    tooltips,
)
from tests.support.sales import advance, make_customer, order_line, place_order
from tests.support.stock import API, make_warehouse, receive, set_lot_dates

CHARTS = [
    ("Revenue per day, last 30 days", "€"),
    ("Orders placed per day, last 30 days", "orders"),
    ("Stock on hand by category", "kg"),
    ("Value expiring per week, next 30 days", "€"),
]


def trade(client: TestClient, admin: SignedIn) -> None:
    """DATE-A (Dates) 1000 kg at 2.0000; FIG-B (Figs) 8 kg at 3.5000 good for 10 more days;
    APRICOT-C (no category, reorder point 50) 20 kg at 1.2500. Today two orders are placed:
    10 kg of DATE-A at 10.00, confirmed and shipped, and 5 kg more, left pending."""
    dates = product("DATE-A", category_id=category("Dates"), price="10.00")
    figs = product("FIG-B", category_id=category("Figs"))
    apricots = product("APRICOT-C", reorder_point="50")
    main = make_warehouse("MAIN")
    receive(
        client,
        admin.headers,
        dates,
        main,
        "D-1",
        "1000",
        unit_cost="2.0000",
        best_before=in_days(200),
    )
    receive(
        client, admin.headers, figs, main, "F-1", "8", unit_cost="3.5000", best_before=in_days(10)
    )
    receive(
        client,
        admin.headers,
        apricots,
        main,
        "A-1",
        "20",
        unit_cost="1.2500",
        best_before=in_days(200),
    )
    customer = make_customer("Oasis Foods")
    shipped = place_order(client, admin.headers, customer, [order_line(dates, "10", "10.00")])
    advance(client, admin.headers, shipped["id"], "confirm", "ship")
    place_order(client, admin.headers, customer, [order_line(dates, "5", "10.00")])


def figures(page: Node) -> dict[str, str]:
    """The figures of the dashboard by their data-figure name."""
    return {node.attrs["data-figure"]: node.text for node in page.find_all(data_figure=None)}


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> SignedIn:
    return sign_in(client, make_user, Role.ADMIN)


def test_the_figures_are_those_the_services_compute(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    trade(client, admin)
    logged_in(client, make_user, Role.MANAGER)

    page = page_of(client.get("/dashboard"))

    today = date.today()
    with SessionLocal() as db:
        valuation = reports.stock_valuation(db).total_value
        low = alerts.count_low_stock(db)
        low_skus = [alert.sku for alert in alerts.low_stock(db)]
        expiring = reports.expiring_stock(db, get_settings().EXPIRY_ALERT_DAYS)
        watched, expired = alerts.lots_to_watch(db)
        kpi = reports.kpis(db, today, today).days[-1]
    # What the services say about the day, worked out by hand.
    assert valuation == Decimal("2033.00")  # 990 x 2.0000 + 8 x 3.5000 + 20 x 1.2500
    assert low == 1
    assert low_skus == ["APRICOT-C"]
    assert len({row.lot_id for row in expiring.rows}) == 1
    assert expiring.total_value == Decimal("28.00")
    assert [alert.sku for alert in watched] == ["FIG-B"]
    assert expired == []
    assert kpi.orders_placed == 2
    assert kpi.revenue == Decimal("100.00")
    # What the page shows.
    assert figures(page) == {
        "stock-value": money(valuation),
        "low-stock": str(low),
        "expiring-lots": str(len({row.lot_id for row in expiring.rows})),
        "expiring-value": money(expiring.total_value),
        "expired-lots": "0",
        "expired-value": "€0.00",
        "orders-today": str(kpi.orders_placed),
    }
    assert figures(page)["stock-value"] == "€2,033.00"
    text = page.find("section", aria_label="Today's figures").text
    assert "€28.00" in text
    assert "€100.00 shipped" in text


def test_the_low_stock_figure_links_to_exactly_those_products(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    trade(client, admin)
    product("WALNUT-ZERO", reorder_point="5")
    product("PECAN-RETIRED", reorder_point="5", active=False)
    logged_in(client, make_user, Role.ADMIN)
    page = page_of(client.get("/dashboard"))
    link = page.find("a", href="/products?low_stock=true")

    listed = page_of(client.get(link.attrs["href"]))

    skus = [row.find_all("td")[0].text for row in listed.find("tbody").find_all("tr")]
    assert skus == ["APRICOT-C", "WALNUT-ZERO"]
    assert figures(page)["low-stock"] == str(len(skus))


def test_the_four_charts_are_titled_images_with_axis_units(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    trade(client, admin)
    logged_in(client, make_user, Role.ADMIN)

    response = client.get("/dashboard")

    page = page_of(response)
    assert len(page.find_all("svg", role="img")) == len(CHARTS)
    svgs = charts_of(response.text)
    assert len(svgs) == len(CHARTS)
    for svg, (title, unit) in zip(svgs, CHARTS, strict=True):
        assert svg.attrib["role"] == "img"
        assert svg.attrib["aria-label"] == title
        assert svg.findtext(SVG + "title") == title
        assert chart_texts(svg, "chart-title") == [title]
        assert chart_texts(svg, "chart-unit") == [unit]
        assert "No data in this period" not in chart_texts(svg, "chart-empty")
    revenue, orders, categories, expiring = svgs
    assert currency_symbol() == "€"
    today = day_and_month(date.today())
    assert tooltips(revenue, "circle")[-1] == f"{today}: {money(100)}"
    assert len(tooltips(revenue, "circle")) == 30
    assert tooltips(orders, "rect")[-1] == f"{today}: {quantity(2, 'orders')}"
    assert tooltips(categories, "rect") == [
        f"Dates: {quantity(990, 'kg')}",
        f"Uncategorised: {quantity(20, 'kg')}",
        f"Figs: {quantity(8, 'kg')}",
    ]
    assert chart_texts(categories, "tick")[-3:] == ["Dates", "Uncategorised", "Figs"]
    best_before = date.today() + timedelta(days=10)
    week = best_before - timedelta(days=best_before.weekday())
    assert tooltips(expiring, "rect") == [f"wk of {day_and_month(week)}: {money(28)}"]


def test_an_empty_business_shows_zeros_and_says_so_in_the_charts(
    client: TestClient, make_user: MakeUser
) -> None:
    logged_in(client, make_user, Role.MANAGER)

    response = client.get("/dashboard")

    page = page_of(response)
    assert figures(page) == {
        "stock-value": "€0.00",
        "low-stock": "0",
        "expiring-lots": "0",
        "expiring-value": "€0.00",
        "expired-lots": "0",
        "expired-value": "€0.00",
        "orders-today": "0",
    }
    svgs = charts_of(response.text)
    assert [chart_texts(svg, "chart-empty") for svg in svgs] == [
        [],
        [],
        ["No data in this period"],
        ["No data in this period"],
    ]


def set_status(client: TestClient, admin: SignedIn, lot_id: int, status: str) -> None:
    response = client.post(
        f"{API}/lots/{lot_id}/status",
        json={"status": status, "reason": "page tests"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


def test_the_expiring_lots_are_those_the_alerts_call_expiring(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    """Counted: lots holding stock whose best-before falls in the next 30 days, quarantined ones
    included; not counted: lots already past it or marked expired, and lots good for longer."""
    figs = product("FIG-B")
    main = make_warehouse("MAIN")

    def lot(code: str, days: int, cost: str) -> int:
        return int(
            receive(
                client,
                admin.headers,
                figs,
                main,
                code,
                "4",
                unit_cost=cost,
                best_before=in_days(days),
            )["lot_id"]
        )

    lot("SOON", 10, "1.0000")
    set_status(client, admin, lot("HELD", 12, "2.0000"), "quarantine")
    set_status(client, admin, lot("MARKED", 5, "4.0000"), "expired")
    past = lot("PAST", 30, "8.0000")
    set_lot_dates(past, date.today() - timedelta(days=100), date.today() - timedelta(days=3))
    lot("LATER", 60, "16.0000")
    logged_in(client, make_user, Role.MANAGER)

    response = client.get("/dashboard")

    with SessionLocal() as db:
        expiring, expired = alerts.lots_to_watch(db)
    assert sorted(alert.lot_code for alert in expiring) == ["HELD", "SOON"]
    assert sorted(alert.lot_code for alert in expired) == ["MARKED", "PAST"]
    page = page_of(response)
    assert figures(page)["expiring-lots"] == str(len(expiring)) == "2"
    assert "€12.00" in page.find("section", aria_label="Today's figures").text
    weekly = tooltips(charts_of(response.text)[3], "rect")
    assert sum(Decimal(tip.split(": €")[1]) for tip in weekly) == Decimal(12)


def test_a_recalled_lot_is_not_counted_as_expiring(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    """A recalled lot is dealt with by the recall, not by selling it before its best-before:
    the alerts leave it out of the expiring lots, and the dashboard's figure must agree."""
    figs = product("FIG-B")
    recalled = receive(
        client,
        admin.headers,
        figs,
        make_warehouse("MAIN"),
        "RECALLED",
        "4",
        unit_cost="1.0000",
        best_before=in_days(10),
    )["lot_id"]
    set_status(client, admin, recalled, "recalled")
    logged_in(client, make_user, Role.MANAGER)

    page = page_of(client.get("/dashboard"))

    with SessionLocal() as db:
        expiring, expired = alerts.lots_to_watch(db)
    assert expiring == []
    assert expired == []
    assert figures(page)["expiring-lots"] == str(len(expiring))


def test_the_expiry_window_is_the_alerts_setting(
    client: TestClient, make_user: MakeUser, admin: SignedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    figs = product("FIG-B")
    main = make_warehouse("MAIN")
    for code, days in (("IN-45", 45), ("IN-75", 75)):
        receive(client, admin.headers, figs, main, code, "1", best_before=in_days(days))
    logged_in(client, make_user, Role.MANAGER)
    assert get_settings().EXPIRY_ALERT_DAYS == 30
    assert figures(page_of(client.get("/dashboard")))["expiring-lots"] == "0"

    monkeypatch.setattr(get_settings(), "EXPIRY_ALERT_DAYS", 60)
    page = page_of(client.get("/dashboard"))

    assert figures(page)["expiring-lots"] == "1"
    assert "Lots expiring in 60 days" in page.find("section", aria_label="Today's figures").text


def test_the_page_shows_todays_date(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.ADMIN)

    page = page_of(client.get("/dashboard"))

    assert page.find("h1").text == f"Dashboard {date.today().strftime('%A, %-d %B %Y')}"


def test_every_bar_is_labelled_orders_tick_whole_and_money_has_cents(
    client: TestClient, make_user: MakeUser, admin: SignedIn
) -> None:
    trade(client, admin)
    logged_in(client, make_user, Role.MANAGER)

    revenue, orders, by_category, expiring = charts_of(client.get("/dashboard").text)

    labels = chart_texts(orders, "label")
    assert len(labels) == 30  # one under each day's bar
    assert all(text.replace(",", "").isdigit() for text in chart_texts(orders, "tick")[:5])
    assert chart_texts(by_category, "label") == ["Dates", "Uncategorised", "Figs"]
    for tip in tooltips(revenue, "circle") + tooltips(expiring, "rect"):
        assert re.fullmatch(r".+: €[\d,]+\.\d\d", tip), tip
    assert tooltips(revenue, "circle")[-1].endswith(": €100.00")


def test_a_pack_products_stock_chart_ticks_in_whole_packs(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    packs = product("APRICOT-BAG", unit=UnitOfMeasure.PACK, net_weight_kg="0.5")
    receive(client, admin.headers, packs, make_warehouse("MAIN"), "P-1", "3")
    logged_in(client, make_user, Role.MANAGER)

    [chart] = charts_of(client.get(f"/products/{packs}").text)

    ticks = chart_texts(chart, "tick")[:5]
    assert ticks == ["0", "1", "2", "3", "4"]
