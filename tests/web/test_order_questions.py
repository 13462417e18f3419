"""The order and purchase-order pages ask before Ship and Cancel: the question says what will
happen, the step sent without its answer writes nothing, and the answered step applies once."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from app.core.database import SessionLocal
from app.core.formatting import day
from app.models.purchasing import PurchaseStatus
from app.models.sales import OrderStatus
from app.models.user import Role, User
from app.services import customers, orders, purchasing
from tests.support.factories import create_lot, create_order, create_purchase_order
from tests.support.pages import CONFIRMED, Node, form_fields, page_login, page_of
from tests.support.refusals import Sent, account, changed, fingerprint
from tests.support.sales import make_customer
from tests.support.stock import make_product, make_warehouse

NOT_YET = "Nothing has been done yet"
BEST_BEFORE = date.today() + timedelta(days=120)


def signed_in(client: TestClient, role: Role) -> tuple[User, dict[str, str]]:
    """A new user of ``role`` logged in to the pages, and the hidden fields of its forms."""
    user = account(role)
    page_login(client, user.email)
    return user, form_fields(client, "/orders")


def send(client: TestClient, sent: Sent, hidden: dict[str, str]) -> Response:
    """POST the form with its hidden fields, not following a redirect."""
    return client.post(sent.url, data={**hidden, **sent.data}, follow_redirects=False)


def sales_order(status: OrderStatus, customer_id: int | None = None, mark: str = "") -> int:
    """An order of 4 kg of dates, their lot DATE-Q1 (10 kg) in MAIN; moved on to ``status``
    (``mark`` ends the codes of a second order's product, lot and warehouse)."""
    dates = make_product(f"DATE{mark}")
    create_lot(
        product_id=dates,
        warehouse_id=make_warehouse(f"MAIN{mark}"),
        lot_code=f"DATE-Q1{mark}",
        quantity="10",
        best_before=BEST_BEFORE,
    )
    customer = customer_id or make_customer()
    return create_order(customer_id=customer, lines=[(dates, "4")], status=status).id


def order_status(order_id: int) -> str:
    """The stored status of a sales order."""
    with SessionLocal() as db:
        return str(orders.get_order(db, order_id).status)


def purchase_status(order_id: int) -> str:
    """The stored status of a purchase order."""
    with SessionLocal() as db:
        return str(purchasing.get_purchase(db, order_id).status)


def question(page: Node) -> Node:
    """The page's question: the box that says what the step will do."""
    return page.find("section", id="ask")


# --------------------------------------------------------------------------- not answered


@dataclass(frozen=True)
class Step:
    """A step the pages ask about first: who sends it, to which order, and where."""

    name: str
    role: Role
    setup: Callable[[User], int]
    url: str
    status: Callable[[int], str]


def own_pending_order(user: User) -> int:
    """A pending order of the customer user's own customer record."""
    with SessionLocal() as db:
        customer = customers.own_customer(db, user).id
    return sales_order(OrderStatus.PENDING, customer)


STEPS = [
    Step(
        "ship", Role.STAFF, lambda _: sales_order(OrderStatus.CONFIRMED), "/orders/{}/ship",
        order_status,
    ),
    Step(
        "cancel", Role.STAFF, lambda _: sales_order(OrderStatus.CONFIRMED),
        "/orders/{}/cancel", order_status,
    ),
    Step("cancel own", Role.CUSTOMER, own_pending_order, "/orders/{}/cancel", order_status),
    Step(
        "cancel purchase", Role.MANAGER,
        lambda _: create_purchase_order(status=PurchaseStatus.ORDERED).id,
        "/purchase-orders/{}/cancel", purchase_status,
    ),
]  # fmt: skip


@pytest.mark.parametrize("step", [pytest.param(step, id=step.name) for step in STEPS])
def test_a_step_sent_without_its_answer_writes_nothing(client: TestClient, step: Step) -> None:
    user, hidden = signed_in(client, step.role)
    order = step.setup(user)
    status = step.status(order)
    before = fingerprint()

    response = send(client, Sent(step.url.format(order), {"reason": "in a hurry"}), hidden)

    page = page_of(response, 422)
    assert [NOT_YET in alert.text for alert in page.find_all(role="alert")] == [True]
    asked = question(page)
    assert asked.find("input", name="confirmed", type="hidden").attrs["value"] == "yes"
    assert asked.find("input", name="reason").attrs["value"] == "in a hurry"
    assert changed(before, fingerprint()) == []
    assert step.status(order) == status


@pytest.mark.parametrize("step", [pytest.param(step, id=step.name) for step in STEPS])
def test_the_answered_step_applies_once(client: TestClient, step: Step) -> None:
    user, hidden = signed_in(client, step.role)
    order = step.setup(user)
    sent = Sent(step.url.format(order), {"reason": "agreed", **CONFIRMED})
    before = fingerprint()

    first = send(client, sent, hidden)
    applied = fingerprint()
    again = send(client, sent, hidden)

    assert first.status_code == 303, first.text[:2000]
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert changed(before, applied) != []
    assert changed(applied, fingerprint()) == []
    expected = "shipped" if step.name == "ship" else "cancelled"
    assert step.status(order) == expected


# --------------------------------------------------------------------------- the questions


def test_the_order_page_asks_before_ship_and_cancel(client: TestClient) -> None:
    signed_in(client, Role.STAFF)
    order = sales_order(OrderStatus.CONFIRMED)

    page = page_of(client.get(f"/orders/{order}"))

    assert page.find_all("section", id="ask") == []
    posts = {form.attrs["action"] for form in page.find_all("form", method="post")}
    assert f"/orders/{order}/ship" not in posts
    assert f"/orders/{order}/cancel" not in posts
    ship = page.find("div", class_="toolbar").find("form", method="get")
    cancel = page.find("section", class_="caution").find("form", method="get")
    assert ship.find("input", name="confirm").attrs["value"] == "ship"
    assert cancel.find("input", name="confirm").attrs["value"] == "cancel"
    assert ship.find("button").text == "Ship…"
    assert cancel.find("button").text == "Cancel the order…"


def test_the_ship_question_names_the_lots_that_leave(client: TestClient) -> None:
    signed_in(client, Role.STAFF)
    order = sales_order(OrderStatus.CONFIRMED)

    asked = question(page_of(client.get(f"/orders/{order}?confirm=ship")))

    assert asked.find("h2").text.startswith("Ship SO-")
    [lot] = asked.find("ul", data_question_lots=None).find_all("li")
    assert lot.text.startswith("DATE-Q1: 4")
    assert "of DATE" in lot.text
    assert "from MAIN" in lot.text
    assert day(BEST_BEFORE) in lot.text
    form = asked.find("form", method="post")
    assert form.attrs["action"] == f"/orders/{order}/ship"
    assert form.find("button").text == "Ship the order"
    assert form.find("a").attrs["href"] == f"/orders/{order}"


def test_the_cancel_question_names_the_reservations_released(client: TestClient) -> None:
    signed_in(client, Role.STAFF)
    confirmed, pending = (
        sales_order(OrderStatus.CONFIRMED),
        sales_order(OrderStatus.PENDING, mark="-2"),
    )

    held = question(page_of(client.get(f"/orders/{confirmed}?confirm=cancel")))
    free = question(page_of(client.get(f"/orders/{pending}?confirm=cancel")))

    assert "These reservations are released" in held.text
    [lot] = held.find("ul", data_question_lots=None).find_all("li")
    assert lot.text.startswith("DATE-Q1: 4")
    assert "No stock is reserved" in free.text
    assert free.find_all("ul") == []
    for order, asked in ((confirmed, held), (pending, free)):
        form = asked.find("form", method="post")
        assert form.attrs["action"] == f"/orders/{order}/cancel"
        assert asked.find("a", href=f"/orders/{order}").text == "Keep the order"


@pytest.mark.parametrize(
    ("status", "asked"),
    [
        (OrderStatus.PENDING, "ship"),
        (OrderStatus.SHIPPED, "ship"),
        (OrderStatus.SHIPPED, "cancel"),
        (OrderStatus.CONFIRMED, "delete"),
    ],
)
def test_no_question_for_a_step_the_order_cannot_take(
    client: TestClient, status: OrderStatus, asked: str
) -> None:
    signed_in(client, Role.STAFF)
    order = sales_order(status)

    page = page_of(client.get(f"/orders/{order}?confirm={asked}"))

    assert page.find_all("section", id="ask") == []


def test_a_customer_is_asked_before_cancelling_but_never_ships(client: TestClient) -> None:
    user, _ = signed_in(client, Role.CUSTOMER)
    order = own_pending_order(user)

    shipping = page_of(client.get(f"/orders/{order}?confirm=ship"))
    cancelling = question(page_of(client.get(f"/orders/{order}?confirm=cancel")))

    assert shipping.find_all("section", id="ask") == []
    assert cancelling.find("form", method="post").attrs["action"] == f"/orders/{order}/cancel"


def test_the_purchase_cancel_question_names_what_is_no_longer_expected(
    client: TestClient,
) -> None:
    signed_in(client, Role.MANAGER)
    figs = make_product("FIG")
    order = create_purchase_order(lines=[(figs, "12")], status=PurchaseStatus.PARTIALLY_RECEIVED)

    page = page_of(client.get(f"/purchase-orders/{order.id}"))
    asked = question(page_of(client.get(f"/purchase-orders/{order.id}?confirm=cancel")))

    assert page.find_all("section", id="ask") == []
    assert page.find("section", class_="caution").find("button").text == "Cancel the order…"
    assert asked.find("h2").text.startswith("Cancel PO-")
    [line] = asked.find("ul", data_question_lines=None).find_all("li")
    assert line.text.startswith("FIG ")
    assert line.text.endswith(": 1 kg")
    assert "already received stays in stock" in asked.text
    form = asked.find("form", method="post")
    assert form.attrs["action"] == f"/purchase-orders/{order.id}/cancel"
    assert asked.find("a", href=f"/purchase-orders/{order.id}").text == "Keep the order"


def test_a_received_purchase_order_offers_no_cancel(client: TestClient) -> None:
    signed_in(client, Role.MANAGER)
    order = create_purchase_order(status=PurchaseStatus.RECEIVED).id

    page = page_of(client.get(f"/purchase-orders/{order}?confirm=cancel"))

    assert page.find_all("section", id="ask") == []
    assert page.find_all("section", class_="caution") == []
