"""The products API: fields and their validation, categories, filters, the unit and net weight
rule once stock exists, the product image, and deactivated records refused for new receipts."""

import hashlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.catalog import Product
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.catalog import (
    CATEGORIES,
    JPEG,
    PNG,
    PRODUCTS,
    SUPPLIERS,
    WAREHOUSES,
    create_category,
    create_product,
    create_supplier,
    create_warehouse,
    ids_of,
    ok,
    receive,
    upload,
)
from tests.support.problems import assert_problem, error_fields

WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(range(32))
MONEY_FIELDS = ("net_weight_kg", "price", "standard_cost", "reorder_point", "reorder_quantity")


def decimals(body: dict[str, Any]) -> dict[str, Decimal]:
    return {name: Decimal(body[name]) for name in MONEY_FIELDS}


def uploaded_files() -> set[Path]:
    """Every file kept under UPLOAD_DIR."""
    root = Path(os.environ["UPLOAD_DIR"])
    return {path for path in root.rglob("*") if path.is_file()}


# --------------------------------------------------------------------------- create and update


def test_create_product_echoes_its_fields(client: TestClient, admin: SignedIn) -> None:
    category = create_category(client, admin.headers)
    body = {
        "sku": "  date-med-250g ",
        "name": "Medjool dates 250 g",
        "category_id": category,
        "variety": "Medjool",
        "origin_country": "ps",
        "grade": "Jumbo",
        "is_organic": True,
        "unit": "pack",
        "net_weight_kg": "0.25",
        "price": "6.90",
        "standard_cost": "3.1234",
        "reorder_point": "20",
        "reorder_quantity": "100",
        "shelf_life_days": 270,
        "description": "Soft, large.\nKeep cool.",
    }

    created = ok(client.post(PRODUCTS, json=body, headers=admin.headers), 201)

    assert created["sku"] == "DATE-MED-250G"
    assert created["origin_country"] == "PS"
    for name in ("name", "category_id", "variety", "grade", "is_organic", "unit", "description"):
        assert created[name] == body[name], name
    assert created["shelf_life_days"] == 270
    assert decimals(created) == {name: Decimal(body[name]) for name in MONEY_FIELDS}
    assert created["is_active"] is True
    assert created["image_url"] is None


def test_a_product_has_sensible_defaults(client: TestClient, admin: SignedIn) -> None:
    created = create_product(client, admin.headers, "NUT-1")

    assert created["unit"] == "kg"
    assert created["category_id"] is None
    assert created["origin_country"] == ""
    assert created["shelf_life_days"] == 365
    assert created["is_organic"] is False
    assert decimals(created) == {
        "net_weight_kg": 1,
        "price": 0,
        "standard_cost": 0,
        "reorder_point": 0,
        "reorder_quantity": 0,
    }


def test_an_update_answers_what_a_later_read_answers(client: TestClient, admin: SignedIn) -> None:
    url = f"{PRODUCTS}/{create_product(client, admin.headers)['id']}"

    updated = ok(
        client.patch(url, json={"price": "4.5", "reorder_point": "2"}, headers=admin.headers)
    )

    assert updated == ok(client.get(url, headers=admin.headers))
    assert decimals(updated)["price"] == Decimal("4.5")


def test_a_sku_differing_only_in_case_is_a_duplicate(client: TestClient, admin: SignedIn) -> None:
    create_product(client, admin.headers, "Fig-10")

    response = client.post(PRODUCTS, json={"sku": "FIG-10", "name": "Figs"}, headers=admin.headers)

    assert assert_problem(response, 409, "conflict")["field"] == "sku"


INVALID_PRODUCTS: dict[str, tuple[dict[str, Any], str]] = {
    "sku with a space": ({"sku": "bad sku"}, "sku"),
    "sku with a leading dash": ({"sku": "-LEADING"}, "sku"),
    "sku too long": ({"sku": "S" * 41}, "sku"),
    "three-letter country": ({"origin_country": "IRN"}, "origin_country"),
    "country with a digit": ({"origin_country": "1R"}, "origin_country"),
    "negative price": ({"price": "-0.01"}, "price"),
    "price with 3 decimals": ({"price": "1.005"}, "price"),
    "negative cost": ({"standard_cost": "-1"}, "standard_cost"),
    "negative reorder point": ({"reorder_point": "-1"}, "reorder_point"),
    "negative reorder quantity": ({"reorder_quantity": "-0.5"}, "reorder_quantity"),
    "kg weighing 0.5": ({"unit": "kg", "net_weight_kg": "0.5"}, "net_weight_kg"),
    "default kg weighing 2": ({"net_weight_kg": "2"}, "net_weight_kg"),
    "pack weighing 0": ({"unit": "pack", "net_weight_kg": "0"}, "net_weight_kg"),
    "pack weighing less than 0": ({"unit": "pack", "net_weight_kg": "-0.25"}, "net_weight_kg"),
    "shelf life 0": ({"shelf_life_days": 0}, "shelf_life_days"),
    "shelf life over 10 years": ({"shelf_life_days": 3651}, "shelf_life_days"),
    "NUL in name": ({"name": "Dates\x00"}, "name"),
    "escape in variety": ({"variety": "Med\x1bjool"}, "variety"),
    "vertical tab in description": ({"description": "vertical\x0btab"}, "description"),
    "unknown unit": ({"unit": "box"}, "unit"),
    "not a boolean": ({"is_organic": "perhaps"}, "is_organic"),
    "category id not a number": ({"category_id": "dates"}, "category_id"),
}


@pytest.mark.parametrize(
    ("fields", "field_name"), list(INVALID_PRODUCTS.values()), ids=list(INVALID_PRODUCTS)
)
def test_an_invalid_product_is_refused_naming_the_field(
    client: TestClient, admin: SignedIn, fields: dict[str, Any], field_name: str
) -> None:
    body = {"sku": "DATE-1", "name": "Dates", **fields}

    response = client.post(PRODUCTS, json=body, headers=admin.headers)

    assert error_fields(response) == [f"body.{field_name}"]
    assert ok(client.get(PRODUCTS, headers=admin.headers))["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"price": "-1"}, "price"),
        ({"origin_country": "XYZ"}, "origin_country"),
        ({"shelf_life_days": 0}, "shelf_life_days"),
        ({"net_weight_kg": "0"}, "net_weight_kg"),
        ({"name": "Bell\x07"}, "name"),
    ],
)
def test_an_invalid_update_is_refused_naming_the_field(
    client: TestClient, admin: SignedIn, fields: dict[str, Any], field_name: str
) -> None:
    url = f"{PRODUCTS}/{create_product(client, admin.headers)['id']}"
    before = ok(client.get(url, headers=admin.headers))

    response = client.patch(url, json=fields, headers=admin.headers)

    assert error_fields(response) == [f"body.{field_name}"]
    assert ok(client.get(url, headers=admin.headers)) == before


@pytest.mark.parametrize("change", [{"net_weight_kg": "0.5"}, {"unit": "kg", "net_weight_kg": "2"}])
def test_a_kg_product_must_weigh_one_kg_after_an_update(
    client: TestClient, admin: SignedIn, change: dict[str, Any]
) -> None:
    product = create_product(client, admin.headers, unit="kg")

    response = client.patch(f"{PRODUCTS}/{product['id']}", json=change, headers=admin.headers)

    assert assert_problem(response, 422, "invalid-request")["field"] == "net_weight_kg"


def test_text_fields_may_hold_tabs_and_newlines(client: TestClient, admin: SignedIn) -> None:
    created = create_product(client, admin.headers, description="line one\n\tline two\r\n")

    assert created["description"] == "line one\n\tline two\r\n"


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize("state", ["unknown", "inactive"])
def test_a_product_needs_an_existing_active_category(
    client: TestClient, admin: SignedIn, state: str
) -> None:
    category = create_category(client, admin.headers)
    if state == "inactive":
        ok(client.post(f"{CATEGORIES}/{category}/deactivate", headers=admin.headers))
    category_id = UNKNOWN_ID if state == "unknown" else category
    product = create_product(client, admin.headers, "KEEP-1")
    body = {"sku": "NEW-1", "name": "New", "category_id": category_id}

    on_create = client.post(PRODUCTS, json=body, headers=admin.headers)
    on_update = client.patch(
        f"{PRODUCTS}/{product['id']}", json={"category_id": category_id}, headers=admin.headers
    )

    assert assert_problem(on_create, 422, "invalid-request")["field"] == "category_id"
    assert assert_problem(on_update, 422, "invalid-request")["field"] == "category_id"
    assert ok(client.get(PRODUCTS, headers=admin.headers))["total"] == 1
    assert (
        ok(client.get(f"{PRODUCTS}/{product['id']}", headers=admin.headers))["category_id"] is None
    )


def test_a_category_can_be_set_changed_and_cleared(client: TestClient, admin: SignedIn) -> None:
    dates = create_category(client, admin.headers, "Dates")
    figs = create_category(client, admin.headers, "Figs")
    url = f"{PRODUCTS}/{create_product(client, admin.headers, category_id=dates)['id']}"

    moved = ok(client.patch(url, json={"category_id": figs}, headers=admin.headers))
    renamed = ok(client.patch(url, json={"name": "Figs A"}, headers=admin.headers))
    cleared = ok(client.patch(url, json={"category_id": None}, headers=admin.headers))

    assert moved["category_id"] == figs
    assert renamed["category_id"] == figs
    assert cleared["category_id"] is None


# --------------------------------------------------------------------------- listing


def test_products_filter_by_category_unit_and_active_flag(
    client: TestClient, admin: SignedIn
) -> None:
    dates = create_category(client, admin.headers, "Dates")
    nuts = create_category(client, admin.headers, "Nuts")
    date_kg = create_product(client, admin.headers, "D-KG", category_id=dates)["id"]
    date_pack = create_product(
        client, admin.headers, "D-PACK", category_id=dates, unit="pack", net_weight_kg="0.5"
    )["id"]
    nut_kg = create_product(client, admin.headers, "N-KG", category_id=nuts)["id"]
    loose = create_product(client, admin.headers, "LOOSE", unit="pack", net_weight_kg="2")["id"]
    ok(client.post(f"{PRODUCTS}/{nut_kg}/deactivate", headers=admin.headers))

    def listed(**params: Any) -> list[int]:
        response = client.get(PRODUCTS, params=params, headers=admin.headers)
        assert ok(response)["total"] == len(ok(response)["items"])
        return ids_of(response)

    assert listed(category_id=dates) == [date_kg, date_pack]
    assert listed(category_id=nuts) == [nut_kg]
    assert listed(unit="pack") == [date_pack, loose]
    assert listed(unit="kg") == [date_kg, nut_kg]
    assert listed(is_active="false") == [nut_kg]
    assert listed(is_active="true", unit="kg") == [date_kg]
    assert listed(category_id=dates, unit="kg", q="d-") == [date_kg]
    assert listed(category_id=UNKNOWN_ID) == []
    assert "query.unit" in error_fields(
        client.get(PRODUCTS, params={"unit": "box"}, headers=admin.headers)
    )


def test_products_are_searchable_by_variety(client: TestClient, admin: SignedIn) -> None:
    medjool = create_product(client, admin.headers, "D-1", variety="Medjool")["id"]
    create_product(client, admin.headers, "D-2", variety="Deglet Nour")

    response = client.get(PRODUCTS, params={"q": "MEDJ"}, headers=admin.headers)

    assert ids_of(response) == [medjool]


# --------------------------------------------------------------------------- unit and net weight


@pytest.mark.parametrize(
    ("start", "change"),
    [
        ({"unit": "kg"}, {"unit": "pack", "net_weight_kg": "0.5"}),
        ({"unit": "kg"}, {"unit": "pack"}),
        ({"unit": "pack", "net_weight_kg": "0.5"}, {"net_weight_kg": "0.25"}),
        ({"unit": "pack", "net_weight_kg": "0.5"}, {"unit": "kg"}),
    ],
)
def test_unit_and_net_weight_are_fixed_once_a_product_has_stock(
    client: TestClient, admin: SignedIn, start: dict[str, Any], change: dict[str, Any]
) -> None:
    product = create_product(client, admin.headers, **start)
    warehouse = create_warehouse(client, admin.headers)
    ok(receive(client, admin.headers, product["id"], warehouse), 201)
    url = f"{PRODUCTS}/{product['id']}"
    before = ok(client.get(url, headers=admin.headers))

    refused = client.patch(url, json=change, headers=admin.headers)
    other_change = client.patch(url, json={"price": "9.99"}, headers=admin.headers)

    assert assert_problem(refused, 409, "conflict")["field"] in {"unit", "net_weight_kg"}
    after = ok(other_change)
    assert (after["unit"], after["net_weight_kg"]) == (before["unit"], before["net_weight_kg"])
    assert Decimal(after["price"]) == Decimal("9.99")


@pytest.mark.parametrize(
    ("start", "change", "expected"),
    [
        ({"unit": "kg"}, {"unit": "pack", "net_weight_kg": "0.5"}, ("pack", "0.5")),
        ({"unit": "pack", "net_weight_kg": "0.5"}, {"net_weight_kg": "0.25"}, ("pack", "0.25")),
        ({"unit": "pack", "net_weight_kg": "0.5"}, {"unit": "kg"}, ("kg", "1")),
    ],
)
def test_unit_and_net_weight_may_change_while_there_is_no_stock(
    client: TestClient,
    admin: SignedIn,
    start: dict[str, Any],
    change: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    url = f"{PRODUCTS}/{create_product(client, admin.headers, **start)['id']}"

    changed = ok(client.patch(url, json=change, headers=admin.headers))

    read = ok(client.get(url, headers=admin.headers))
    for body in (changed, read):
        assert (body["unit"], Decimal(body["net_weight_kg"])) == (expected[0], Decimal(expected[1]))


# --------------------------------------------------------------------------- receipts


@pytest.mark.parametrize(
    ("record", "field_name"),
    [(PRODUCTS, "product_id"), (WAREHOUSES, "warehouse_id"), (SUPPLIERS, "supplier_id")],
)
def test_deactivated_records_are_refused_for_receipts_but_stay_readable(
    client: TestClient, admin: SignedIn, record: str, field_name: str
) -> None:
    ids = {
        "product_id": create_product(client, admin.headers)["id"],
        "warehouse_id": create_warehouse(client, admin.headers),
        "supplier_id": create_supplier(client, admin.headers),
    }
    url = f"{record}/{ids[field_name]}"
    ok(client.post(f"{url}/deactivate", headers=admin.headers))

    def receipt() -> Any:
        return receive(
            client,
            admin.headers,
            ids["product_id"],
            ids["warehouse_id"],
            supplier_id=ids["supplier_id"],
        )

    refused = receipt()

    assert assert_problem(refused, 422, "invalid-request")["field"] == field_name
    assert ok(client.get(url, headers=admin.headers))["is_active"] is False
    listed = client.get(record, params={"is_active": "false"}, headers=admin.headers)
    assert ids_of(listed) == [ids[field_name]]
    ok(client.post(f"{url}/activate", headers=admin.headers))
    ok(receipt(), 201)


@pytest.mark.parametrize("field_name", ["product_id", "warehouse_id", "supplier_id"])
def test_unknown_records_are_refused_for_receipts(
    client: TestClient, admin: SignedIn, field_name: str
) -> None:
    ids = {
        "product_id": create_product(client, admin.headers)["id"],
        "warehouse_id": create_warehouse(client, admin.headers),
        "supplier_id": create_supplier(client, admin.headers),
        field_name: UNKNOWN_ID,
    }

    response = receive(
        client,
        admin.headers,
        ids["product_id"],
        ids["warehouse_id"],
        supplier_id=ids["supplier_id"],
    )

    assert assert_problem(response, 422, "invalid-request")["field"] == field_name


# --------------------------------------------------------------------------- the product image


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")],
)
def test_an_uploaded_image_is_served_back(
    client: TestClient, admin: SignedIn, data: bytes, content_type: str
) -> None:
    product = create_product(client, admin.headers)

    answer = ok(upload(client, admin.headers, product["id"], file=("photo.bin", data, "x/y")))
    served = client.get(answer["image_url"], headers=admin.headers)

    assert answer["image_url"] == f"{PRODUCTS}/{product['id']}/image"
    assert served.status_code == 200, served.text
    assert served.content == data
    assert served.headers["content-type"] == content_type
    read = ok(client.get(f"{PRODUCTS}/{product['id']}", headers=admin.headers))
    assert read["image_url"] == answer["image_url"]
    assert ok(client.get(PRODUCTS, headers=admin.headers))["items"][0]["image_url"]


def test_a_new_image_replaces_the_old_one(client: TestClient, admin: SignedIn) -> None:
    product = create_product(client, admin.headers)
    ok(upload(client, admin.headers, product["id"], file=("a.png", PNG, "image/png")))

    answer = ok(upload(client, admin.headers, product["id"], file=("b.jpg", JPEG, "image/jpeg")))
    served = client.get(answer["image_url"], headers=admin.headers)

    assert served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"


def test_the_stored_file_is_named_by_the_server_under_upload_dir(
    client: TestClient, db: Session, admin: SignedIn
) -> None:
    product = create_product(client, admin.headers)
    root = Path(os.environ["UPLOAD_DIR"]).resolve()

    ok(upload(client, admin.headers, product["id"], file=("../../evil name.png", PNG, "image/png")))
    first = db.get(Product, product["id"])
    assert first is not None
    first_name = first.image_path
    db.rollback()
    ok(upload(client, admin.headers, product["id"], file=("../../evil name.png", PNG, "image/png")))
    second = db.get(Product, product["id"])
    assert second is not None

    assert first_name
    assert second.image_path
    assert second.image_path != first_name
    for stored_name in (first_name, second.image_path):
        assert "evil" not in stored_name
        assert ".." not in stored_name
        path = (root / stored_name).resolve()
        assert root in path.parents
        assert path.read_bytes() == PNG
    assert not [p for p in root.parent.rglob("*") if "evil" in p.name]


@pytest.mark.parametrize(
    ("filename", "data"),
    [("photo.png", b"just some text, not an image"), ("scan.png", b"%PDF-1.7\n" + bytes(64))],
)
def test_a_file_that_is_not_an_image_is_a_415(
    client: TestClient, db: Session, admin: SignedIn, filename: str, data: bytes
) -> None:
    product = create_product(client, admin.headers)
    files_before = uploaded_files()

    response = upload(client, admin.headers, product["id"], file=(filename, data, "image/png"))

    assert_problem(response, 415, "unsupported-media-type")
    assert ok(client.get(f"{PRODUCTS}/{product['id']}", headers=admin.headers))["image_url"] is None
    assert uploaded_files() == files_before
    assert audit_rows("product.image_set") == []


def test_an_empty_file_is_a_422(client: TestClient, admin: SignedIn) -> None:
    product = create_product(client, admin.headers)

    response = upload(client, admin.headers, product["id"], file=("empty.png", b"", "image/png"))

    assert assert_problem(response, 422, "invalid-request")["field"] == "file"


def test_a_missing_file_is_a_422(client: TestClient, admin: SignedIn) -> None:
    product = create_product(client, admin.headers)

    response = client.put(
        f"{PRODUCTS}/{product['id']}/image", data={"other": "x"}, headers=admin.headers
    )

    assert "body.file" in error_fields(response)


def test_an_image_over_the_limit_is_a_413(
    client: TestClient, admin: SignedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "MAX_IMAGE_BYTES", 2048)
    product = create_product(client, admin.headers)
    files_before = uploaded_files()
    too_big = PNG + bytes(2049 - len(PNG))
    just_fits = PNG + bytes(2048 - len(PNG))

    refused = upload(client, admin.headers, product["id"], file=("big.png", too_big, "image/png"))
    assert uploaded_files() == files_before
    accepted = upload(client, admin.headers, product["id"], file=("ok.png", just_fits, "image/png"))

    assert_problem(refused, 413, "payload-too-large")
    assert client.get(ok(accepted)["image_url"], headers=admin.headers).content == just_fits


def test_a_product_without_an_image_has_none_to_serve(client: TestClient, admin: SignedIn) -> None:
    product = create_product(client, admin.headers)

    response = client.get(f"{PRODUCTS}/{product['id']}/image", headers=admin.headers)

    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_image_of_an_unknown_product_is_a_404(
    client: TestClient, admin: SignedIn, method: str
) -> None:
    files = {"file": ("a.png", PNG, "image/png")} if method == "PUT" else None

    response = client.request(
        method, f"{PRODUCTS}/{UNKNOWN_ID}/image", files=files, headers=admin.headers
    )

    assert str(UNKNOWN_ID) in assert_problem(response, 404, "not-found")["detail"]


def test_setting_an_image_is_audited_with_the_caller(
    client: TestClient, db: Session, make_user: MakeUser
) -> None:
    manager = sign_in(client, make_user, Role.MANAGER)
    product = create_product(client, manager.headers)

    ok(upload(client, manager.headers, product["id"], file=("a.png", PNG, "image/png")))

    [row] = audit_rows("product.image_set")
    assert row.actor_id == manager.user.id
    assert row.entity_type == "product"
    assert row.entity_id == str(product["id"])
    assert row.details == {"sha256": hashlib.sha256(PNG).hexdigest()}
