"""Bad purchase drafts, edits and deliveries: refused with a problem, writing nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.purchasing.calls import (
    PURCHASES,
    _today,
    arrival,
    assert_refused,
    create_po,
    delivery_body,
    get_po,
    list_ids,
    ordered_po,
    po_line,
    send_po,
)
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.refusals import changed, fingerprint
from tests.support.stock import (
    World,
    lot_id_of,
    make_product,
    make_supplier,
    make_warehouse,
    on_hand,
    receive,
)

# --------------------------------------------------------------------------- bad input


@dataclass(frozen=True)
class Scene:
    """The small catalog, plus an inactive supplier, product and warehouse."""

    world: World
    retired_supplier: int
    retired_product: int
    closed_warehouse: int


@pytest.fixture
def scene(world: World) -> Scene:
    """The catalog with inactive records to refuse."""
    return Scene(
        world=world,
        retired_supplier=make_supplier("GONE", active=False),
        retired_product=make_product("FIG-RETIRED", active=False),
        closed_warehouse=make_warehouse("CLOSED", active=False),
    )


def _draft_body(scene: Scene, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    values = {"supplier_id": scene.world.supplier, "warehouse_id": scene.world.main, **extra}
    return {**values, "lines": list(lines)}


BAD_DRAFTS: list[tuple[str, Callable[[Scene], dict[str, Any]], str, str]] = [
    (
        "inactive-supplier",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), supplier_id=s.retired_supplier),
        "invalid-request",
        "supplier_id",
    ),
    (
        "unknown-supplier",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), supplier_id=UNKNOWN_ID),
        "invalid-request",
        "supplier_id",
    ),
    (
        "inactive-warehouse",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), warehouse_id=s.closed_warehouse),
        "invalid-request",
        "warehouse_id",
    ),
    (
        "inactive-product",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1"), po_line(s.retired_product, "1")),
        "invalid-request",
        "lines[1].product_id",
    ),
    (
        "zero-quantity",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "0")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-quantity",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "-5")),
        "validation-error",
        "quantity",
    ),
    (
        "too-many-decimals",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1.0005")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-unit-cost",
        lambda s: _draft_body(s, po_line(s.world.kg_product, "1", "-0.0100")),
        "validation-error",
        "unit_cost",
    ),
    (
        "fractional-packs",
        lambda s: _draft_body(
            s, po_line(s.world.kg_product, "1"), po_line(s.world.pack_product, "2.5")
        ),
        "invalid-request",
        "lines[1].quantity",
    ),
    ("no-lines", lambda s: _draft_body(s), "validation-error", "lines"),
]


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [pytest.param(build, slug, field, id=name) for name, build, slug, field in BAD_DRAFTS],
)
def test_bad_drafts_are_refused_and_write_nothing(
    client: TestClient,
    manager: SignedIn,
    scene: Scene,
    build: Callable[[Scene], dict[str, Any]],
    slug: str,
    field: str,
) -> None:
    body = build(scene)
    assert_refused(
        lambda: client.post(PURCHASES, json=body, headers=manager.headers), 422, slug, field
    )
    assert list_ids(client, manager.headers) == []


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [
        pytest.param(build, slug, field, id=name)
        for name, build, slug, field in BAD_DRAFTS
        if name not in {"inactive-supplier", "unknown-supplier", "no-lines"}
    ],
)
def test_bad_edits_are_refused_and_keep_the_draft(
    client: TestClient,
    manager: SignedIn,
    scene: Scene,
    build: Callable[[Scene], dict[str, Any]],
    slug: str,
    field: str,
) -> None:
    order = create_po(
        client,
        manager.headers,
        scene.world.supplier,
        scene.world.main,
        po_line(scene.world.kg_product, "7"),
    )
    body = build(scene)
    body.pop("supplier_id")
    assert_refused(
        lambda: client.patch(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers),
        422,
        slug,
        field,
    )
    assert get_po(client, manager.headers, order["id"]) == order


def test_patch_with_empty_lines_is_refused(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "7")
    )
    assert_refused(
        lambda: client.patch(
            f"{PURCHASES}/{order['id']}", json={"lines": []}, headers=manager.headers
        ),
        422,
        "validation-error",
        "lines",
    )


BAD_DELIVERIES: list[tuple[str, Callable[[int, int], dict[str, Any]], str, str]] = [
    (
        "unknown-line",
        lambda kg, pack: delivery_body(arrival(kg, "1", "OK-1"), arrival(UNKNOWN_ID, "1", "X-1")),
        "invalid-request",
        "lines[1].line_id",
    ),
    (
        "best-before-before-received",
        lambda kg, pack: delivery_body(
            arrival(kg, "1", "BB-1", best_before=_today(-6)), received_date=_today(-5)
        ),
        "invalid-request",
        "best_before",
    ),
    (
        "received-in-the-future",
        lambda kg, pack: delivery_body(arrival(kg, "1", "FUT-1"), received_date=_today(1)),
        "invalid-request",
        "received_date",
    ),
    (
        "zero-quantity",
        lambda kg, pack: delivery_body(arrival(kg, "0", "Z-1")),
        "validation-error",
        "quantity",
    ),
    (
        "negative-quantity",
        lambda kg, pack: delivery_body(arrival(kg, "-1", "N-1")),
        "validation-error",
        "quantity",
    ),
    (
        "fractional-packs",
        lambda kg, pack: delivery_body(arrival(pack, "1.5", "P-1")),
        "invalid-request",
        None,
    ),
    (
        "negative-unit-cost",
        lambda kg, pack: delivery_body(arrival(kg, "1", "C-1", unit_cost="-1")),
        "validation-error",
        "unit_cost",
    ),
    (
        "moisture-over-100",
        lambda kg, pack: delivery_body(arrival(kg, "1", "M-1", moisture_pct="100.5")),
        "validation-error",
        "moisture_pct",
    ),
    (
        "bad-lot-code",
        lambda kg, pack: delivery_body(arrival(kg, "1", "no spaces allowed")),
        "validation-error",
        "lot_code",
    ),
    ("no-lines", lambda kg, pack: delivery_body(), "validation-error", "lines"),
]


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [pytest.param(build, slug, field, id=name) for name, build, slug, field in BAD_DELIVERIES],
)
def test_bad_deliveries_are_refused_and_write_nothing(
    client: TestClient,
    manager: SignedIn,
    staff: SignedIn,
    world: World,
    build: Callable[[int, int], dict[str, Any]],
    slug: str,
    field: str | None,
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "10"),
            po_line(world.pack_product, "10"),
        )["id"],
    )
    kg_line, pack_line = (line["id"] for line in order["lines"])
    body = build(kg_line, pack_line)
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        422,
        slug,
        field,
    )
    assert get_po(client, staff.headers, order["id"]) == order


def test_a_delivery_cannot_use_another_orders_line(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    mine = ordered_po(client, manager.headers, world, "5")
    other = ordered_po(client, manager.headers, world, "5")
    body = delivery_body(arrival(other["lines"][0]["id"], "1", "WRONG-1"))
    assert_refused(
        lambda: client.post(f"{PURCHASES}/{mine['id']}/receipts", json=body, headers=staff.headers),
        422,
        "invalid-request",
        "lines[0].line_id",
    )


def test_a_delivery_into_an_inactive_warehouse_is_refused(
    client: TestClient, manager: SignedIn, staff: SignedIn, scene: Scene
) -> None:
    order = ordered_po(client, manager.headers, scene.world, "5")
    body = delivery_body(
        arrival(order["lines"][0]["id"], "1", "CLOSED-1"), warehouse_id=scene.closed_warehouse
    )
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        422,
        "invalid-request",
        "warehouse_id",
    )


def test_a_delivery_into_another_suppliers_lot_is_refused(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    other = make_supplier("NUTTY")
    receive(
        client, manager.headers, world.kg_product, world.main, "SHARED-1", "5", supplier_id=other
    )
    order = ordered_po(client, manager.headers, world, "5")
    body = delivery_body(arrival(order["lines"][0]["id"], "5", "SHARED-1"))
    assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        "conflict",
        "supplier_id",
    )
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "SHARED-1"), world.main) == 5


@pytest.mark.parametrize(
    ("build", "slug", "field"),
    [pytest.param(build, slug, field, id=name) for name, build, slug, field in BAD_DRAFTS],
)
def test_bad_rewrites_of_a_draft_are_refused_and_write_nothing(
    client: TestClient,
    manager: SignedIn,
    scene: Scene,
    build: Callable[[Scene], dict[str, Any]],
    slug: str,
    field: str,
) -> None:
    world = scene.world
    draft = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.pack_product, "2")
    )
    body = build(scene)
    before = fingerprint()

    assert_refused(
        lambda: client.put(f"{PURCHASES}/{draft['id']}", json=body, headers=manager.headers),
        422,
        slug,
        field,
    )

    assert changed(before, fingerprint()) == []
    assert get_po(client, manager.headers, draft["id"]) == draft
