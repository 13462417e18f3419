"""The supplier, warehouse and category pages: who opens them, the list and its search, the new
and edit forms (what they store, what they refuse and that a refusal stores nothing), a form
sent twice, (de)activation; and a product's tier prices."""

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import SessionLocal
from app.models.catalog import Category, Supplier, Warehouse
from app.models.sales import PriceTier, TierPrice
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.pages import form_fields, logged_in, page_of
from tests.support.refusals import changed, fingerprint
from tests.support.stock import make_category, make_product, make_supplier, make_warehouse

MODELS: dict[str, Any] = {"suppliers": Supplier, "warehouses": Warehouse, "categories": Category}
MAKE = {
    "suppliers": make_supplier,
    "warehouses": make_warehouse,
    "categories": make_category,
}
NEW = {
    "suppliers": {"code": "SUNNY", "name": "Sunny Orchards", "country": "TR", "email": ""},
    "warehouses": {"code": "MAIN", "name": "Main store", "address": "Harbour road 1"},
    "categories": {"name": "Dates", "description": "Fresh and dried"},
}
KINDS = list(MODELS)


def rows_of(kind: str) -> list[dict[str, Any]]:
    """The stored records of ``kind``, as their columns."""
    model = MODELS[kind]
    with SessionLocal() as db:
        return [
            {column.name: getattr(row, column.name) for column in model.__table__.columns}
            for row in db.scalars(select(model).order_by(model.id))
        ]


def existing(kind: str, key: str = "TAKEN") -> int:
    return int(MAKE[kind](key if kind != "categories" else key.title()))


@pytest.fixture
def manager(client: TestClient, make_user: MakeUser) -> None:
    logged_in(client, make_user, Role.MANAGER)


def fields(client: TestClient) -> dict[str, str]:
    return form_fields(client, "/products")


# --------------------------------------------------------------------------- who opens them


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("role", "reads", "writes"),
    [
        (Role.ADMIN, True, True),
        (Role.MANAGER, True, True),
        (Role.STAFF, True, False),
        (Role.CUSTOMER, False, False),
    ],
)
def test_each_role_opens_what_the_api_allows(
    client: TestClient, make_user: MakeUser, kind: str, role: Role, reads: bool, writes: bool
) -> None:
    item = existing(kind)
    logged_in(client, make_user, role)

    listed = client.get(f"/{kind}")
    record = client.get(f"/{kind}/{item}")
    new = client.get(f"/{kind}/new")

    assert listed.status_code == record.status_code == (200 if reads else 403)
    assert new.status_code == (200 if writes else 403)
    if reads:
        page = page_of(record)
        assert bool(page.find_all("form", action=f"/{kind}/{item}")) == writes
        assert bool(page_of(listed).find_all("a", href=f"/{kind}/new")) == writes


# --------------------------------------------------------------------------- list


@pytest.mark.parametrize("kind", KINDS)
def test_the_list_links_each_row_and_searches(client: TestClient, manager: None, kind: str) -> None:
    first, second = existing(kind, "ALPHA"), existing(kind, "BETA")

    page = page_of(client.get(f"/{kind}", params={"q": "bet"}))

    links = [node.attrs["href"] for node in page.find("tbody").find_all("a")]
    assert links == [f"/{kind}/{second}"]
    page = page_of(client.get(f"/{kind}"))
    links = [node.attrs["href"] for node in page.find("tbody").find_all("a")]
    assert links == [f"/{kind}/{first}", f"/{kind}/{second}"]


# --------------------------------------------------------------------------- create and edit


@pytest.mark.parametrize("kind", KINDS)
def test_the_new_form_adds_the_record(client: TestClient, manager: None, kind: str) -> None:
    response = client.post(
        f"/{kind}/new", data={**fields(client), **NEW[kind]}, follow_redirects=False
    )

    assert response.status_code == 303, response.text[:2000]
    [row] = rows_of(kind)
    assert response.headers["location"] == f"/{kind}/{row['id']}?done=created"
    assert {key: row[key] for key in NEW[kind]} == NEW[kind]
    assert row["is_active"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_record_with_a_taken_code_is_refused_and_stores_nothing(
    client: TestClient, manager: None, kind: str
) -> None:
    taken = existing(kind, "SUNNY")
    unique = "name" if kind == "categories" else "code"
    sent = {**NEW[kind], unique: "Sunny" if kind == "categories" else "SUNNY"}
    before = fingerprint()

    response = client.post(f"/{kind}/new", data={**fields(client), **sent})

    page = page_of(response, 409)
    assert "already exists" in page.find("p", id=f"e-{unique}").text
    assert changed(before, fingerprint()) == []
    assert [row["id"] for row in rows_of(kind)] == [taken]


@pytest.mark.parametrize(
    ("kind", "sent", "field"),
    [
        ("suppliers", {"code": "", "name": "Sunny"}, "code"),
        ("suppliers", {"code": "SUNNY", "name": "Sunny", "email": "not an email"}, "email"),
        ("suppliers", {"code": "SUNNY", "name": "Sunny", "country": "Turkey"}, "country"),
        ("warehouses", {"code": "MAIN", "name": ""}, "name"),
        ("categories", {"name": "x" * 300}, "name"),
    ],
)
def test_a_new_record_with_bad_input_is_refused_beside_the_field(
    client: TestClient, manager: None, kind: str, sent: dict[str, str], field: str
) -> None:
    before = fingerprint()

    response = client.post(f"/{kind}/new", data={**fields(client), **sent})

    page = page_of(response, 422)
    assert page.find("p", id=f"e-{field}").text
    assert changed(before, fingerprint()) == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_edit_form_saves_and_empties_fields(
    client: TestClient, manager: None, kind: str
) -> None:
    item = existing(kind, "SUNNY")
    sent = {
        "suppliers": {"name": "Sunny Orchards", "country": "", "phone": "+90 1", "code": "X"},
        "warehouses": {"name": "Main store", "address": "", "code": "X"},
        "categories": {"name": "Stone fruit", "description": ""},
    }[kind]

    response = client.post(f"/{kind}/{item}", data={**fields(client), **sent})

    assert response.status_code == 200, response.text[:2000]
    [row] = rows_of(kind)
    assert row["name"] == sent["name"]
    if kind != "categories":
        assert row["code"] == "SUNNY", "the code does not change"
    for key, value in sent.items():
        if key not in ("name", "code"):
            assert row[key] == value


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_edit_stores_nothing(client: TestClient, manager: None, kind: str) -> None:
    existing(kind, "OTHER")
    item = existing(kind, "SUNNY")
    sent = {
        "suppliers": {"name": "Sunny", "email": "not an email"},
        "warehouses": {"name": "", "address": "Harbour road 1"},
        "categories": {"name": "Other", "description": "taken name"},
    }[kind]
    before = fingerprint()

    response = client.post(f"/{kind}/{item}", data={**fields(client), **sent})

    assert response.status_code in (409, 422)
    assert page_of(response, response.status_code).find_all("p", class_="field-error")
    assert changed(before, fingerprint()) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_form_sent_twice_applies_once(client: TestClient, manager: None, kind: str) -> None:
    data = {**fields(client), **NEW[kind]}
    first = client.post(f"/{kind}/new", data=data, follow_redirects=False)
    applied = fingerprint()

    again = client.post(f"/{kind}/new", data=data, follow_redirects=False)

    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert changed(applied, fingerprint()) == []
    assert len(rows_of(kind)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_deactivate_and_activate_again(client: TestClient, manager: None, kind: str) -> None:
    item = existing(kind, "SUNNY")

    off = client.post(f"/{kind}/{item}/deactivate", data=fields(client), follow_redirects=False)
    assert off.status_code == 303
    assert rows_of(kind)[0]["is_active"] is False
    page = page_of(client.get(f"/{kind}", params={"show": "inactive"}))
    assert page.find("tbody").find_all("a", href=f"/{kind}/{item}")

    on = client.post(f"/{kind}/{item}/activate", data=fields(client), follow_redirects=False)
    assert on.status_code == 303
    assert rows_of(kind)[0]["is_active"] is True


# --------------------------------------------------------------------------- tier prices


def tier_prices(product: int) -> dict[str, Decimal]:
    with SessionLocal() as db:
        rows = db.scalars(select(TierPrice).where(TierPrice.product_id == product))
        return {row.tier: row.price for row in rows}


@pytest.mark.parametrize(
    ("role", "sees_form"),
    [(Role.ADMIN, True), (Role.MANAGER, True), (Role.STAFF, False)],
)
def test_the_product_page_shows_tier_prices_and_the_form_to_the_price_setters(
    client: TestClient, make_user: MakeUser, role: Role, sees_form: bool
) -> None:
    product = make_product("DATE")
    logged_in(client, make_user, role)

    page = page_of(client.get(f"/products/{product}"))

    tiers = page.find("section", aria_labelledby="tier-prices").find("tbody").find_all("tr")
    assert [row.find_all("td")[0].text for row in tiers] == [tier.value for tier in PriceTier]
    assert bool(page.find_all("form", action=f"/products/{product}/prices")) == sees_form
    assert client.get(f"/products/{product}/prices").status_code == 200


def test_staff_may_not_set_tier_prices(client: TestClient, make_user: MakeUser) -> None:
    product = make_product("DATE")
    logged_in(client, make_user, Role.STAFF)
    before = fingerprint()

    response = client.post(
        f"/products/{product}/prices", data={**fields(client), "price_retail": "1.00"}
    )

    assert response.status_code == 403
    assert changed(before, fingerprint()) == []


def test_the_tier_price_form_sets_and_clears_prices(client: TestClient, manager: None) -> None:
    product = make_product("DATE")
    data = {**fields(client), "price_wholesale": "8.5", "price_distributor": "7.25"}

    response = client.post(f"/products/{product}/prices", data=data, follow_redirects=False)

    assert response.status_code == 303, response.text[:2000]
    assert tier_prices(product) == {"wholesale": Decimal("8.50"), "distributor": Decimal("7.25")}
    again = {**fields(client), "price_wholesale": "9"}
    client.post(f"/products/{product}/prices", data=again, follow_redirects=False)
    assert tier_prices(product) == {"wholesale": Decimal("9.00")}


def test_a_refused_tier_price_stores_none_of_the_form(client: TestClient, manager: None) -> None:
    product = make_product("DATE")
    before = fingerprint()

    response = client.post(
        f"/products/{product}/prices",
        data={**fields(client), "price_retail": "9.50", "price_wholesale": "cheap"},
    )

    page = page_of(response, 422)
    assert page.find("p", id="e-price_wholesale").text
    assert page.find("input", id="f-price_wholesale").attrs["value"] == "cheap"
    assert changed(before, fingerprint()) == []
