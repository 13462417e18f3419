"""Customers and tier prices through the API: records kept by staff, self-registration and
the customer's own record, audited edits with the values before and after, who may do what,
and the registrations counter."""

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.audit import AuditLog
from app.models.sales import Customer, TierPrice
from app.models.user import Role, User
from tests.conftest import PASSWORD, MakeUser, bearer, login
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import API, make_product

CUSTOMERS = f"{API}/customers"
ME = f"{CUSTOMERS}/me"
REGISTER = f"{API}/auth/register"
PRODUCTS = f"{API}/products"
REGISTRATIONS = "customer_registrations_total"
TIERS = ["retail", "wholesale", "distributor"]
LIST_PRICE = Decimal("12.50")


@pytest.fixture
def customer_user(client: TestClient, make_user: MakeUser) -> SignedIn:
    """A signed-in customer user linked to no customer record."""
    return sign_in(client, make_user, Role.CUSTOMER)


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


def ok(response: Response, status: int = 200) -> Any:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    return response.json()


def new_customer(client: TestClient, headers: dict[str, str], **values: Any) -> dict[str, Any]:
    """Create a customer through the API (named "Bazaar" unless given); the record."""
    body = {"name": "Bazaar", **values}
    return dict(ok(client.post(CUSTOMERS, json=body, headers=headers), 201))


def customer_ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    """Ids of the customers the API lists for ``params``, in its order."""
    page = ok(client.get(CUSTOMERS, params={"limit": 200, **params}, headers=headers))
    assert page["total"] == len(page["items"])
    return [item["id"] for item in page["items"]]


def stored_customers() -> list[tuple[Any, ...]]:
    """Every customer row, as plain tuples, to show that nothing changed."""
    with SessionLocal() as db:
        rows = db.scalars(select(Customer).order_by(Customer.id)).all()
        return [
            (
                row.id,
                row.name,
                row.customer_type,
                row.email,
                row.min_shelf_life_days,
                row.price_tier,
                row.user_id,
                row.is_active,
            )
            for row in rows
        ]


def audit_count() -> int:
    """How many audit entries are stored."""
    with SessionLocal() as db:
        return int(db.scalar(select(func.count()).select_from(AuditLog)) or 0)


def assert_refused(
    call: Callable[[], Response], status: int, slug: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """``call`` answers a problem of ``status``; no customer, price or audit entry changed."""
    before = (stored_customers(), stored_prices(), audit_count())
    problem = assert_problem(call(), status, slug, field)
    assert (stored_customers(), stored_prices(), audit_count()) == before
    return problem


def registrations(source: str) -> float:
    """The registrations counter for ``source`` in this process."""
    return REGISTRY.get_sample_value(REGISTRATIONS, {"source": source}) or 0.0


def register(client: TestClient, email: str, full_name: str = "Ada Lovelace") -> dict[str, Any]:
    """Self-register a customer account; the user, as the account reads itself after login."""
    body = {"email": email, "password": PASSWORD, "full_name": full_name}
    stored = ok(client.post(REGISTER, json=body), 202)["email"]
    headers = bearer(login(client, stored)["access_token"])
    return dict(ok(client.get(f"{API}/users/me", headers=headers)))


def unique_email(prefix: str) -> str:
    """An email address no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


# --------------------------------------------------------------------------- records


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_staff_roles_create_read_and_edit_customers(
    client: TestClient, make_user: MakeUser, role: Role
) -> None:
    caller = sign_in(client, make_user, role)
    created = new_customer(
        client,
        caller.headers,
        name="  Oasis Deli ",
        customer_type="wholesale",
        email="Buyer@Oasis.Example.com",
        phone="+44 20 7946 0000",
        min_shelf_life_days=45,
        payment_terms_days=14,
        partial_delivery=True,
        vat_number=" gb123456789 ",
        vat_treatment="zero_rated",
        notes="Pays on 30 days",
    )
    assert created["name"] == "Oasis Deli"
    assert created["customer_type"] == "wholesale"
    assert created["price_tier"] == "wholesale"  # follows the type
    assert created["email"] == "buyer@oasis.example.com"
    assert created["phone"] == "+44 20 7946 0000"
    assert created["payment_terms_days"] == 14
    assert created["partial_delivery"] is True
    assert created["vat_number"] == "GB123456789"  # trimmed, upper-cased
    assert created["vat_treatment"] == "zero_rated"
    assert created["addresses"] == []
    assert created["min_shelf_life_days"] == 45
    assert created["notes"] == "Pays on 30 days"
    assert created["user_id"] is None
    assert created["is_active"] is True

    path = f"{CUSTOMERS}/{created['id']}"
    assert ok(client.get(path, headers=caller.headers)) == created
    changed = ok(client.patch(path, json={"phone": "555-0101"}, headers=caller.headers))
    assert changed["phone"] == "555-0101"
    assert changed["name"] == "Oasis Deli"
    assert ok(client.get(path, headers=caller.headers))["phone"] == "555-0101"

    [entry] = audit_rows("customer.created", created["id"])
    assert entry.actor_id == caller.user.id
    assert entry.entity_type == "customer"
    assert entry.details["name"] == "Oasis Deli"
    assert entry.details["price_tier"] == "wholesale"


@pytest.mark.parametrize(
    ("values", "tier"),
    [
        pytest.param({}, "retail", id="default-is-retail"),
        pytest.param({"customer_type": "retail"}, "retail", id="retail"),
        pytest.param({"customer_type": "wholesale"}, "wholesale", id="wholesale"),
        pytest.param(
            {"customer_type": "retail", "price_tier": "distributor"}, "distributor", id="given"
        ),
        pytest.param(
            {"customer_type": "wholesale", "price_tier": "retail"}, "retail", id="given-lower"
        ),
    ],
)
def test_price_tier_follows_the_customer_type_unless_given(
    client: TestClient, staff: SignedIn, values: dict[str, str], tier: str
) -> None:
    created = new_customer(client, staff.headers, **values)
    assert created["price_tier"] == tier
    assert created["customer_type"] == values.get("customer_type", "retail")
    with SessionLocal() as db:
        stored = db.get(Customer, created["id"])
        assert stored is not None
        assert stored.price_tier == tier


def test_unknown_customer_is_a_404(client: TestClient, staff: SignedIn) -> None:
    path = f"{CUSTOMERS}/{UNKNOWN_ID}"
    assert_problem(client.get(path, headers=staff.headers), 404, "not-found")
    assert_problem(client.patch(path, json={"name": "X"}, headers=staff.headers), 404)
    assert_problem(client.post(f"{path}/deactivate", headers=staff.headers), 404)
    assert_problem(client.post(f"{path}/activate", headers=staff.headers), 404)


def test_list_searches_name_and_email_and_filters_active(
    client: TestClient, staff: SignedIn
) -> None:
    bazaar = new_customer(
        client, staff.headers, name="Grand Bazaar", email="orders@bazaar.example.com"
    )
    deli = new_customer(client, staff.headers, name="Corner Deli", email="shop@nuts.example.com")
    gone = new_customer(
        client, staff.headers, name="Old Nut House", email="hello@house.example.com"
    )
    ok(client.post(f"{CUSTOMERS}/{gone['id']}/deactivate", headers=staff.headers))

    assert customer_ids(client, staff.headers) == [bazaar["id"], deli["id"], gone["id"]]
    assert customer_ids(client, staff.headers, q="BAZAAR") == [bazaar["id"]]  # name and email
    assert customer_ids(client, staff.headers, q="nut") == [deli["id"], gone["id"]]  # email, name
    assert customer_ids(client, staff.headers, q="deli") == [deli["id"]]
    assert customer_ids(client, staff.headers, q="nobody") == []
    assert customer_ids(client, staff.headers, is_active="true") == [bazaar["id"], deli["id"]]
    assert customer_ids(client, staff.headers, is_active="false") == [gone["id"]]
    assert customer_ids(client, staff.headers, q="nut", is_active="true") == [deli["id"]]
    page = ok(client.get(CUSTOMERS, params={"limit": 1, "offset": 1}, headers=staff.headers))
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == [deli["id"]]


def test_deactivate_and_activate_are_audited_once(client: TestClient, staff: SignedIn) -> None:
    created = new_customer(client, staff.headers)
    path = f"{CUSTOMERS}/{created['id']}"
    off = ok(client.post(f"{path}/deactivate", headers=staff.headers))
    assert off["is_active"] is False
    assert ok(client.post(f"{path}/deactivate", headers=staff.headers))["is_active"] is False
    assert ok(client.get(path, headers=staff.headers))["is_active"] is False
    on = ok(client.post(f"{path}/activate", headers=staff.headers))
    assert on["is_active"] is True

    assert len(audit_rows("customer.deactivated", created["id"])) == 1  # the repeat is a no-op
    [entry] = audit_rows("customer.activated", created["id"])
    assert entry.actor_id == staff.user.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"name": "X", "email": "not-an-email"}, "email", id="bad-email"),
        pytest.param({"name": "X", "email": "a@b@c.example"}, "email", id="two-ats"),
        pytest.param({"name": "X", "min_shelf_life_days": -1}, "min_shelf_life_days", id="neg"),
        pytest.param(
            {"name": "X", "min_shelf_life_days": 3651}, "min_shelf_life_days", id="too-long"
        ),
        pytest.param({"name": "   "}, "name", id="blank-name"),
        pytest.param({}, "name", id="no-name"),
        pytest.param({"name": "X", "customer_type": "reseller"}, "customer_type", id="type"),
        pytest.param({"name": "X", "price_tier": "vip"}, "price_tier", id="tier"),
    ],
)
def test_bad_customers_are_refused(
    client: TestClient, staff: SignedIn, body: dict[str, Any], field: str
) -> None:
    assert_refused(
        lambda: client.post(CUSTOMERS, json=body, headers=staff.headers),
        422,
        "validation-error",
        field,
    )
    assert customer_ids(client, staff.headers) == []


@pytest.mark.parametrize("days", [0, 3650])
def test_shelf_life_demand_bounds_are_inclusive(
    client: TestClient, staff: SignedIn, days: int
) -> None:
    assert new_customer(client, staff.headers, min_shelf_life_days=days)["min_shelf_life_days"] == (
        days
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"email": "nope"}, "email", id="bad-email"),
        pytest.param({"min_shelf_life_days": -5}, "min_shelf_life_days", id="neg"),
        pytest.param({"min_shelf_life_days": 4000}, "min_shelf_life_days", id="too-long"),
        pytest.param({"name": ""}, "name", id="blank-name"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    client: TestClient, staff: SignedIn, body: dict[str, Any], field: str
) -> None:
    created = new_customer(client, staff.headers, email="keep@me.example.com")
    path = f"{CUSTOMERS}/{created['id']}"
    assert_refused(
        lambda: client.patch(path, json=body, headers=staff.headers),
        422,
        "validation-error",
        field,
    )
    assert ok(client.get(path, headers=staff.headers)) == created


def test_edits_are_audited_with_before_and_after(client: TestClient, staff: SignedIn) -> None:
    created = new_customer(
        client, staff.headers, email="old@shop.example.com", min_shelf_life_days=10
    )
    path = f"{CUSTOMERS}/{created['id']}"
    body = {
        "name": "Bazaar & Sons",
        "customer_type": "wholesale",
        "email": "New@Shop.Example.com",
        "min_shelf_life_days": 60,
        "price_tier": "distributor",
        "phone": "",  # unchanged: not in the changes
    }
    changed = ok(client.patch(path, json=body, headers=staff.headers))
    assert changed["email"] == "new@shop.example.com"
    assert changed["customer_type"] == "wholesale"
    assert changed["price_tier"] == "distributor"
    assert changed["min_shelf_life_days"] == 60
    assert changed["updated_at"] >= created["updated_at"]

    [entry] = audit_rows("customer.updated", created["id"])
    assert entry.actor_id == staff.user.id
    assert entry.actor_label == staff.user.email
    assert entry.details["changes"] == {
        "name": {"before": "Bazaar", "after": "Bazaar & Sons"},
        "customer_type": {"before": "retail", "after": "wholesale"},
        "email": {"before": "old@shop.example.com", "after": "new@shop.example.com"},
        "min_shelf_life_days": {"before": 10, "after": 60},
        "price_tier": {"before": "retail", "after": "distributor"},
    }

    # Sending the values it already has changes nothing and is not audited again.
    assert ok(client.patch(path, json=body, headers=staff.headers)) == changed
    assert len(audit_rows("customer.updated", created["id"])) == 1


def test_changing_the_type_later_keeps_the_tier(client: TestClient, staff: SignedIn) -> None:
    created = new_customer(client, staff.headers, customer_type="retail")
    path = f"{CUSTOMERS}/{created['id']}"
    changed = ok(client.patch(path, json={"customer_type": "wholesale"}, headers=staff.headers))
    assert changed["customer_type"] == "wholesale"
    assert changed["price_tier"] == "retail"


# --------------------------------------------------------------------------- linked users


def test_a_customer_user_can_be_linked_once(
    client: TestClient, staff: SignedIn, make_user: MakeUser
) -> None:
    buyer = make_user(role=Role.CUSTOMER)
    before = registrations("linked")
    linked = new_customer(client, staff.headers, name="Linked Shop", user_id=buyer.id)
    assert linked["user_id"] == buyer.id
    assert registrations("linked") == before + 1

    # The linked user now reads its own record, without the sales team's notes.
    token = login(client, buyer.email)["access_token"]
    assert ok(client.get(ME, headers=bearer(token))) == {
        key: value for key, value in linked.items() if key != "notes"
    }

    # Nobody else may take that user, on create or by an edit.
    other = new_customer(client, staff.headers, name="Other Shop")
    problem = assert_refused(
        lambda: client.post(
            CUSTOMERS, json={"name": "Third", "user_id": buyer.id}, headers=staff.headers
        ),
        409,
        "conflict",
        "user_id",
    )
    assert str(linked["id"]) in problem["detail"]
    assert_refused(
        lambda: client.patch(
            f"{CUSTOMERS}/{other['id']}", json={"user_id": buyer.id}, headers=staff.headers
        ),
        409,
        "conflict",
        "user_id",
    )
    # Keeping the same link on its own record is fine.
    same = client.patch(
        f"{CUSTOMERS}/{linked['id']}", json={"user_id": buyer.id}, headers=staff.headers
    )
    assert ok(same)["user_id"] == buyer.id


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_only_customer_users_can_be_linked(
    client: TestClient, staff: SignedIn, make_user: MakeUser, role: Role
) -> None:
    employee = make_user(role=role)
    assert_refused(
        lambda: client.post(
            CUSTOMERS, json={"name": "Shop", "user_id": employee.id}, headers=staff.headers
        ),
        422,
        "invalid-request",
        "user_id",
    )
    created = new_customer(client, staff.headers)
    assert_refused(
        lambda: client.patch(
            f"{CUSTOMERS}/{created['id']}", json={"user_id": employee.id}, headers=staff.headers
        ),
        422,
        "invalid-request",
        "user_id",
    )


def test_linking_an_unknown_user_is_refused(client: TestClient, staff: SignedIn) -> None:
    assert_refused(
        lambda: client.post(
            CUSTOMERS, json={"name": "Shop", "user_id": UNKNOWN_ID}, headers=staff.headers
        ),
        422,
        "invalid-request",
        "user_id",
    )


def test_a_link_can_be_removed_and_given_to_another_customer(
    client: TestClient, staff: SignedIn, make_user: MakeUser
) -> None:
    buyer = make_user(role=Role.CUSTOMER)
    first = new_customer(client, staff.headers, name="First", user_id=buyer.id)
    second = new_customer(client, staff.headers, name="Second")
    unlinked = client.patch(
        f"{CUSTOMERS}/{first['id']}", json={"user_id": None}, headers=staff.headers
    )
    assert ok(unlinked)["user_id"] is None
    [entry] = audit_rows("customer.updated", first["id"])
    assert entry.details["changes"] == {"user_id": {"before": buyer.id, "after": None}}
    moved = client.patch(
        f"{CUSTOMERS}/{second['id']}", json={"user_id": buyer.id}, headers=staff.headers
    )
    assert ok(moved)["user_id"] == buyer.id


# --------------------------------------------------------------------------- registration


def test_registration_creates_the_user_and_its_customer_record(client: TestClient) -> None:
    email = unique_email("ada")
    before = registrations("self")
    user = register(client, email.upper(), full_name="Ada Lovelace")
    assert registrations("self") == before + 1
    assert user["role"] == "customer"

    token = login(client, email)["access_token"]
    mine = ok(client.get(ME, headers=bearer(token)))
    assert mine["user_id"] == user["id"]
    assert mine["name"] == "Ada Lovelace"
    assert mine["email"] == email
    assert mine["customer_type"] == "retail"
    assert mine["price_tier"] == "retail"
    assert mine["min_shelf_life_days"] == 0
    assert mine["is_active"] is True

    [entry] = audit_rows("customer.registered", mine["id"])
    assert entry.details == {"user_id": user["id"]}
    assert entry.actor_label == email
    assert entry.entity_type == "customer"
    [created] = audit_rows("user.created", user["id"])
    assert created.details["role"] == "customer"


def test_registration_without_a_name_names_the_customer_by_email(client: TestClient) -> None:
    email = unique_email("anon")
    register(client, email, full_name="")
    token = login(client, email)["access_token"]
    assert ok(client.get(ME, headers=bearer(token)))["name"] == email


def test_registering_a_taken_email_counts_nothing(client: TestClient) -> None:
    email = unique_email("twice")
    register(client, email)
    before = registrations("self")
    customers_before = stored_customers()
    with SessionLocal() as db:
        users_before = db.scalar(select(func.count()).select_from(User))
    body = {"email": email, "password": PASSWORD, "full_name": "Again"}
    assert ok(client.post(REGISTER, json=body), 202)["email"] == email
    assert registrations("self") == before
    assert stored_customers() == customers_before
    with SessionLocal() as db:
        assert db.scalar(select(func.count()).select_from(User)) == users_before


def test_staff_added_customers_count_as_staff_registrations(
    client: TestClient, staff: SignedIn
) -> None:
    before_staff, before_self = registrations("staff"), registrations("self")
    new_customer(client, staff.headers)
    assert registrations("staff") == before_staff + 1
    assert registrations("self") == before_self


def test_a_customer_user_without_a_record_gets_a_conflict(
    client: TestClient, customer_user: SignedIn
) -> None:
    assert_problem(client.get(ME, headers=customer_user.headers), 409, "conflict")


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_employees_have_no_own_customer_record(
    client: TestClient, make_user: MakeUser, role: Role
) -> None:
    caller = sign_in(client, make_user, role)
    assert_problem(client.get(ME, headers=caller.headers), 403, "permission-denied")


def test_customer_users_cannot_manage_customers(
    client: TestClient, staff: SignedIn, customer_user: SignedIn
) -> None:
    created = new_customer(client, staff.headers)
    path = f"{CUSTOMERS}/{created['id']}"
    headers = customer_user.headers
    calls: list[Callable[[], Response]] = [
        lambda: client.get(CUSTOMERS, headers=headers),
        lambda: client.post(CUSTOMERS, json={"name": "Mine"}, headers=headers),
        lambda: client.get(path, headers=headers),
        lambda: client.patch(path, json={"price_tier": "distributor"}, headers=headers),
        lambda: client.post(f"{path}/deactivate", headers=headers),
        lambda: client.post(f"{path}/activate", headers=headers),
    ]
    for call in calls:
        assert_refused(call, 403, "permission-denied")


def test_a_registered_customer_cannot_list_customers(client: TestClient) -> None:
    email = unique_email("nosy")
    register(client, email)
    headers = bearer(login(client, email)["access_token"])
    assert_problem(client.get(CUSTOMERS, headers=headers), 403, "permission-denied")


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    assert_problem(client.get(CUSTOMERS), 401)
    assert_problem(client.post(CUSTOMERS, json={"name": "X"}), 401)
    assert_problem(client.get(ME), 401)


# --------------------------------------------------------------------------- tier prices


def stored_prices() -> list[tuple[int, str, Decimal]]:
    """Every tier price row."""
    with SessionLocal() as db:
        rows = db.scalars(select(TierPrice).order_by(TierPrice.id)).all()
        return [(row.product_id, row.tier, row.price) for row in rows]


@pytest.fixture
def priced_product(client: TestClient, manager: SignedIn) -> int:
    """A product whose list price is 12.50; its id."""
    product_id = make_product("DATE-MEDJOOL")
    ok(client.patch(f"{PRODUCTS}/{product_id}", json={"price": "12.50"}, headers=manager.headers))
    return product_id


def price_list(
    client: TestClient, headers: dict[str, str], product_id: int
) -> dict[str, tuple[Decimal, bool]]:
    """The product's price per tier, with whether it is the list price."""
    rows = ok(client.get(f"{PRODUCTS}/{product_id}/prices", headers=headers))
    assert [row["tier"] for row in rows] == TIERS
    return {row["tier"]: (dec(row["price"]), row["is_list_price"]) for row in rows}


def put_price(
    client: TestClient, headers: dict[str, str], product_id: int, tier: str, price: Any
) -> Response:
    """Set a tier price."""
    path = f"{PRODUCTS}/{product_id}/prices/{tier}"
    return client.put(path, json={"price": price}, headers=headers)


def test_every_tier_sells_at_list_price_until_set(
    client: TestClient, staff: SignedIn, priced_product: int
) -> None:
    assert price_list(client, staff.headers, priced_product) == dict.fromkeys(
        TIERS, (LIST_PRICE, True)
    )


def test_manager_sets_changes_and_removes_a_tier_price(
    client: TestClient, manager: SignedIn, staff: SignedIn, priced_product: int
) -> None:
    rows = ok(put_price(client, manager.headers, priced_product, "wholesale", "10.00"))
    assert {row["tier"]: (dec(row["price"]), row["is_list_price"]) for row in rows} == {
        "retail": (LIST_PRICE, True),
        "wholesale": (Decimal("10.00"), False),
        "distributor": (LIST_PRICE, True),
    }
    assert price_list(client, staff.headers, priced_product)["wholesale"] == (Decimal(10), False)

    ok(put_price(client, manager.headers, priced_product, "wholesale", "9.50"))
    ok(put_price(client, manager.headers, priced_product, "wholesale", "9.50"))  # no change
    entries = audit_rows("price.set", priced_product)
    assert [entry.details["tier"] for entry in entries] == ["wholesale", "wholesale"]
    assert entries[0].entity_type == "product"
    assert entries[0].actor_id == manager.user.id
    first, second = (entry.details["changes"]["price"] for entry in entries)
    assert first["before"] is None
    assert dec(first["after"]) == Decimal(10)
    assert dec(second["before"]) == Decimal(10)
    assert dec(second["after"]) == Decimal("9.5")
    assert stored_prices() == [(priced_product, "wholesale", Decimal("9.50"))]

    removed = client.delete(
        f"{PRODUCTS}/{priced_product}/prices/wholesale", headers=manager.headers
    )
    assert removed.status_code == 204, removed.text
    assert price_list(client, staff.headers, priced_product)["wholesale"] == (LIST_PRICE, True)
    assert stored_prices() == []
    [entry] = audit_rows("price.removed", priced_product)
    assert entry.details["tier"] == "wholesale"
    assert dec(entry.details["changes"]["price"]["before"]) == Decimal("9.5")
    assert entry.details["changes"]["price"]["after"] is None


@pytest.mark.parametrize("tier", ["wholesale", "distributor"])
def test_removing_a_price_that_is_not_set_changes_nothing(
    client: TestClient, manager: SignedIn, priced_product: int, tier: str
) -> None:
    """Removing a tier price is idempotent (since 18cc2a5): 204, nothing written, no audit."""
    ok(put_price(client, manager.headers, priced_product, "retail", "11.00"))
    path = f"{PRODUCTS}/{priced_product}/prices/{tier}"
    if tier == "wholesale":  # set and removed once: the second removal finds nothing
        ok(put_price(client, manager.headers, priced_product, tier, "10.00"))
        assert client.delete(path, headers=manager.headers).status_code == 204
    before = (stored_prices(), audit_count())
    response = client.delete(path, headers=manager.headers)
    assert response.status_code == 204, response.text
    assert (stored_prices(), audit_count()) == before
    assert stored_prices() == [(priced_product, "retail", Decimal("11.00"))]
    assert len(audit_rows("price.removed")) == (1 if tier == "wholesale" else 0)


def test_a_tier_price_may_be_zero(
    client: TestClient, manager: SignedIn, priced_product: int
) -> None:
    ok(put_price(client, manager.headers, priced_product, "distributor", "0"))
    assert price_list(client, manager.headers, priced_product)["distributor"] == (0, False)


def test_tier_prices_belong_to_one_product(
    client: TestClient, manager: SignedIn, priced_product: int
) -> None:
    other = make_product("FIG-DRIED")
    ok(put_price(client, manager.headers, priced_product, "retail", "11.00"))
    assert price_list(client, manager.headers, other) == {
        tier: (Decimal(0), True) for tier in TIERS
    }


@pytest.mark.parametrize(
    ("price", "tier", "field"),
    [
        pytest.param("-0.01", "retail", "price", id="negative"),
        pytest.param("1.001", "retail", "price", id="three-decimals"),
        pytest.param("abc", "retail", "price", id="not-a-number"),
        pytest.param("5.00", "vip", "tier", id="unknown-tier"),
    ],
)
def test_bad_prices_are_refused(
    client: TestClient, manager: SignedIn, priced_product: int, price: str, tier: str, field: str
) -> None:
    assert_refused(
        lambda: put_price(client, manager.headers, priced_product, tier, price),
        422,
        "validation-error",
        field,
    )


def test_prices_of_an_unknown_product_are_a_404(client: TestClient, manager: SignedIn) -> None:
    path = f"{PRODUCTS}/{UNKNOWN_ID}/prices"
    assert_problem(client.get(path, headers=manager.headers), 404, "not-found")
    assert_refused(
        lambda: put_price(client, manager.headers, UNKNOWN_ID, "retail", "1.00"), 404, "not-found"
    )
    assert_refused(
        lambda: client.delete(f"{path}/retail", headers=manager.headers), 404, "not-found"
    )


def test_staff_read_prices_but_cannot_set_them(
    client: TestClient, manager: SignedIn, staff: SignedIn, priced_product: int
) -> None:
    ok(put_price(client, manager.headers, priced_product, "retail", "11.00"))
    assert_refused(
        lambda: put_price(client, staff.headers, priced_product, "retail", "1.00"),
        403,
        "permission-denied",
    )
    assert_refused(
        lambda: client.delete(f"{PRODUCTS}/{priced_product}/prices/retail", headers=staff.headers),
        403,
        "permission-denied",
    )
    assert price_list(client, staff.headers, priced_product)["retail"] == (Decimal(11), False)


def test_customers_cannot_see_or_set_tier_prices(
    client: TestClient, customer_user: SignedIn, priced_product: int
) -> None:
    path = f"{PRODUCTS}/{priced_product}/prices"
    headers = customer_user.headers
    assert_refused(lambda: client.get(path, headers=headers), 403, "permission-denied")
    assert_refused(
        lambda: put_price(client, headers, priced_product, "retail", "1.00"),
        403,
        "permission-denied",
    )
    assert_refused(
        lambda: client.delete(f"{path}/retail", headers=headers), 403, "permission-denied"
    )


def test_a_customer_never_reads_the_sales_teams_notes(
    client: TestClient, staff: SignedIn, make_user: MakeUser
) -> None:
    buyer = make_user(role=Role.CUSTOMER)
    linked = new_customer(client, staff.headers, name="Noted Shop", user_id=buyer.id)
    edited = client.patch(
        f"{CUSTOMERS}/{linked['id']}",
        json={"notes": "Slow payer, insist on prepayment"},
        headers=staff.headers,
    )
    assert ok(edited)["notes"] == "Slow payer, insist on prepayment"
    token = login(client, buyer.email)["access_token"]
    mine = ok(client.get(ME, headers=bearer(token)))
    assert mine["id"] == linked["id"]
    assert "notes" not in mine
    assert "Slow payer" not in json.dumps(mine)
