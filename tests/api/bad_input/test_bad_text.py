"""Control and other awkward characters in every text field: refused when they cannot be
stored, otherwise stored and answered verbatim, and shown as text by the pages.

Each matrix of value x field runs as subtests of one test per field."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.user import Role
from tests.api.bad_input.scene import (
    AUDIT,
    PDF,
    PURCHASES,
    SUPPLIERS,
    USERS,
    WAREHOUSES,
    Call,
    Scene,
    Unchanged,
    _order,
    _product,
    _purchase,
    answer,
    ids,
)
from tests.conftest import PASSWORD, MakeUser
from tests.support.pages import logged_in, page_of
from tests.support.problems import assert_problem
from tests.support.sales import (
    CUSTOMERS,
    ORDERS,
    PRODUCTS,
    REGISTER,
)
from tests.support.stock import (
    API,
    LOTS,
    MOVEMENTS,
    RECEIPTS,
    receipt_body,
)

CATEGORIES = f"{API}/categories"
FOUR_BYTES = "\U0001d507"  # MATHEMATICAL FRAKTUR CAPITAL D: one character, four UTF-8 bytes


# =========================================================================== text


@dataclass(frozen=True)
class TextField:
    """A text field: ``call`` writes a value into it, ``read`` reads the value stored back
    through the API, given the write's answer."""

    field: str
    max_length: int
    call: Callable[[Scene, str], Call]
    read: Callable[[Scene, Any], str]
    form: bool = False  # sent as a multipart form field, not JSON


def _read(path: str, field: str) -> Callable[[Scene, Any], str]:
    return lambda s, written: str(s.get(f"{path}/{written['id']}")[field])


def _record(path: str, base: Callable[[int], dict[str, str]], field: str, limit: int) -> TextField:
    return TextField(
        field,
        limit,
        lambda s, v: Call("POST", path, {**base(s.key()), field: v}),
        _read(path, field),
    )


def _product_field(field: str, limit: int) -> TextField:
    return TextField(field, limit, lambda s, v: _product(s, **{field: v}), _read(PRODUCTS, field))


def _status_change(s: Scene, reason: str) -> Call:
    """Quarantine the (available) lot."""
    return Call("POST", f"{LOTS}/{s.lot}/status", {"status": "quarantine", "reason": reason})


def _audited_reason(s: Scene, _: Any) -> str:
    newest = s.get(AUDIT, action="lot.status_changed")["items"][0]
    return str(newest["details"]["reason"])


def _document(s: Scene, description: str) -> Call:
    files = {"file": ("cert.pdf", PDF, "application/pdf")}
    form = {"description": description}
    return Call("POST", f"{LOTS}/{s.lot}/documents", form=form, files=files)


def _described(s: Scene, written: Any) -> str:
    documents = s.get(f"{LOTS}/{written['lot_id']}/documents")
    return str(next(doc["description"] for doc in documents if doc["id"] == written["id"]))


def _movement(field: str) -> Callable[[Scene, Any], str]:
    def read(s: Scene, written: Any) -> str:
        movement = written["movements"][0]
        rows = s.get(MOVEMENTS, lot_id=movement["lot_id"])["items"]
        return str(next(row[field] for row in rows if row["id"] == movement["id"]))

    return read


def _new_user(s: Scene, full_name: str) -> Call:
    body = {"email": f"user-{s.key()}@example.com", "password": PASSWORD, "full_name": full_name}
    return Call("POST", USERS, body)


def _registration(s: Scene, full_name: str) -> Call:
    body = {"email": f"shop-{s.key()}@example.com", "password": PASSWORD, "full_name": full_name}
    return Call("POST", REGISTER, body, anonymous=True)


def _registered(s: Scene, written: Any) -> str:
    """The name of the account registered (the answer does not show the account)."""
    [user] = s.get(USERS, q=written["email"])["items"]
    return str(user["full_name"])


TEXT_FIELDS: dict[str, TextField] = {
    "product-name": _product_field("name", 200),
    "product-variety": _product_field("variety", 100),
    "product-grade": _product_field("grade", 100),
    "product-description": _product_field("description", 2000),
    "product-name-update": TextField(
        "name",
        200,
        lambda s, v: Call("PATCH", f"{PRODUCTS}/{s.product}", {"name": v}),
        _read(PRODUCTS, "name"),
    ),
    "category-name": _record(CATEGORIES, lambda n: {}, "name", 200),
    "category-description": _record(
        CATEGORIES, lambda n: {"name": f"Category {n}"}, "description", 2000
    ),
    "supplier-name": _record(SUPPLIERS, lambda n: {"code": f"S-{n}"}, "name", 200),
    "supplier-contact-name": _record(
        SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "contact_name", 100
    ),
    "supplier-phone": _record(SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "phone", 100),
    "supplier-address": _record(
        SUPPLIERS, lambda n: {"code": f"S-{n}", "name": "S"}, "address", 2000
    ),
    "warehouse-name": _record(WAREHOUSES, lambda n: {"code": f"W-{n}"}, "name", 200),
    "warehouse-address": _record(
        WAREHOUSES, lambda n: {"code": f"W-{n}", "name": "W"}, "address", 2000
    ),
    "customer-name": _record(CUSTOMERS, lambda n: {}, "name", 200),
    "customer-phone": _record(CUSTOMERS, lambda n: {"name": "C"}, "phone", 100),
    "customer-address-street": TextField(
        "street",
        2000,
        lambda s, v: Call(
            "POST",
            f"{CUSTOMERS}/{s.customer}/addresses",
            {"kind": "delivery", "street": v, "country": "GB"},
        ),
        lambda s, written: str(
            next(
                a for a in s.get(f"{CUSTOMERS}/{s.customer}/addresses") if a["id"] == written["id"]
            )["street"]
        ),
    ),
    "customer-notes": _record(CUSTOMERS, lambda n: {"name": "C"}, "notes", 2000),
    "customer-notes-update": TextField(
        "notes",
        2000,
        lambda s, v: Call("PATCH", f"{CUSTOMERS}/{s.customer}", {"notes": v}),
        _read(CUSTOMERS, "notes"),
    ),
    "order-notes": TextField(
        "notes", 2000, lambda s, v: _order(s, notes=v), _read(ORDERS, "notes")
    ),
    "order-notes-update": TextField(
        "notes",
        2000,
        lambda s, v: Call("PATCH", f"{ORDERS}/{s.order}", {"notes": v}),
        _read(ORDERS, "notes"),
    ),
    "purchase-notes": TextField(
        "notes", 2000, lambda s, v: _purchase(s, notes=v), _read(PURCHASES, "notes")
    ),
    "receipt-reason": TextField(
        "reason",
        2000,
        lambda s, v: Call(
            "POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-T", "1", reason=v)
        ),
        _movement("reason"),
    ),
    "receipt-reference": TextField(
        "reference",
        100,
        lambda s, v: Call(
            "POST", RECEIPTS, receipt_body(s.product, s.main, "LOT-T", "1", reference=v)
        ),
        _movement("reference"),
    ),
    "lot-status-reason": TextField("reason", 2000, _status_change, _audited_reason),
    "lot-document-description": TextField("description", 300, _document, _described, form=True),
    "user-full-name": TextField("full_name", 200, _new_user, _read(USERS, "full_name")),
    "user-full-name-update": TextField(
        "full_name",
        200,
        lambda s, v: Call("PATCH", f"{USERS}/{s.staff}", {"full_name": v}),
        _read(USERS, "full_name"),
    ),
    "own-full-name": TextField(
        "full_name",
        200,
        lambda s, v: Call("PATCH", f"{USERS}/me", {"full_name": v}),
        _read(USERS, "full_name"),
    ),
    "registration-full-name": TextField("full_name", 200, _registration, _registered),
}


# Each in the middle of the text, where no stripping of the ends applies.
REFUSED_TEXT: dict[str, Callable[[int], str]] = {
    "nul": lambda _: "Dates\x00Figs",
    "c0-controls": lambda _: "Dates\x01\x07\x08\x1b[31m\x1fFigs",
    "lone-surrogate": lambda _: "Dates\ud800Figs",
    "one-over-max-length-in-4-byte-characters": lambda limit: FOUR_BYTES * (limit + 1),
}


UNICODE = (
    "Dates \u202egnp.exe\u202c Da\u200bte\u200cs\u200d\ufeff\u2060 🍑🌴 "
    "\U0001d507\U0001d51e\U0001d531\U0001d522\U0001d530 𠜎 De\u0301glet تمر 干果 "
)
KEPT_TEXT: dict[str, Callable[[int], str]] = {
    # right-to-left override, zero-width characters, emoji, other 4-byte characters,
    # combining marks and other scripts, filled up to the maximum length with 4-byte ones
    "unicode-at-max-length": lambda limit: (UNICODE + FOUR_BYTES * limit)[:limit],
    "sql-injection": lambda _: (
        '\' OR 1=1 -- \'; DROP TABLE products; -- " OR ""=" UNION SELECT hashed_password'
    ),
    "template-injection": lambda _: (
        "{{7*7}} {{config}} ${7*7} #{7*7} <%= 7*7 %> {% raw %}{{x}}{% endraw %} <b>bold</b>"
    ),
}


@pytest.mark.parametrize("make", ids(REFUSED_TEXT))
def test_control_characters_surrogates_and_overlong_text_are_refused(
    scene: Scene, subtests: pytest.Subtests, make: Callable[[int], str]
) -> None:
    """In every text field: a 422 problem, and nothing written."""
    calls = {
        name: target.call(scene, make(target.max_length))
        for name, target in TEXT_FIELDS.items()
        if not (target.form and make is REFUSED_TEXT["lone-surrogate"])  # no UTF-8 form
    }
    unchanged = Unchanged()
    for name, call in calls.items():
        with subtests.test(name):
            response = scene.send(call)
            written = unchanged.written()
            assert_problem(response, 422)
            assert written == []


@pytest.mark.parametrize("make", ids(KEPT_TEXT))
def test_awkward_text_is_stored_and_answered_verbatim(
    scene: Scene, subtests: pytest.Subtests, make: Callable[[int], str]
) -> None:
    """Unicode of every kind and injection strings are data, in every text field: kept and
    answered exactly as sent, never run (a template expression never becomes 49)."""
    for name, target in TEXT_FIELDS.items():
        with subtests.test(name):
            text = make(target.max_length)
            written = scene.send(target.call(scene, text))
            assert written.status_code in (200, 201, 202), written.text[:600]
            assert target.read(scene, written.json()) == text
            if target.field in written.json():
                assert written.json()[target.field] == text


# =========================================================================== pages


def test_product_pages_show_template_syntax_as_text(scene: Scene, make_user: MakeUser) -> None:
    """A product named with template syntax is shown as written on its page and in the list
    (the expressions are never evaluated)."""
    text = KEPT_TEXT["template-injection"](100)
    created = answer(scene.send(_product(scene, name=text, variety=text, description=text)), 201)
    logged_in(scene.client, make_user, Role.STAFF)

    detail = page_of(scene.client.get(f"/products/{created['id']}"))
    listed = page_of(scene.client.get("/products", params={"q": "{{7*7}}"}))

    assert text in detail.text
    assert text in listed.text
