"""Rewriting a draft purchase order whole through the API: every field and line replaced and
audited, an order already sent or received refused writing nothing, a retry applied once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.purchasing.calls import (
    IDEMPOTENCY_KEY,
    PURCHASES,
    REPLAYED,
    STATE_PROBLEM,
    _today,
    arrival,
    create_po,
    dec,
    deliver,
    get_po,
    ok,
    ordered_po,
    po_body,
    po_line,
)
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.stock import World, make_supplier


def test_a_draft_is_rewritten_whole_and_audited(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    draft = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "10"),
        po_line(world.pack_product, "4", "1.0000"),
        notes="first try",
    )
    other = make_supplier("SHADE")
    expected = date.today() + timedelta(days=10)
    body = po_body(
        other,
        world.spare,
        po_line(world.pack_product, "12", "1.1000"),
        expected_date=expected.isoformat(),
        notes="Bigger pack order",
    )

    rewritten = ok(client.put(f"{PURCHASES}/{draft['id']}", json=body, headers=manager.headers))

    assert rewritten["status"] == "draft"
    assert rewritten["number"] == draft["number"]
    assert rewritten["supplier"]["id"] == other
    assert rewritten["warehouse_id"] == world.spare
    assert rewritten["expected_date"] == expected.isoformat()
    assert rewritten["notes"] == "Bigger pack order"
    [line] = rewritten["lines"]
    assert (line["product_id"], dec(line["quantity"])) == (world.pack_product, Decimal(12))
    assert dec(rewritten["total"]) == Decimal("13.20")
    assert get_po(client, manager.headers, draft["id"]) == rewritten
    [entry] = audit_rows("purchase_order.updated", draft["id"])
    assert entry.actor_id == manager.user.id
    changes = entry.details["changes"]
    assert changes["supplier_id"] == {"before": world.supplier, "after": other}
    assert changes["warehouse_id"] == {"before": world.main, "after": world.spare}
    assert changes["notes"] == {"before": "first try", "after": "Bigger pack order"}
    assert changes["total"] == {"before": "29.00", "after": "13.20"}
    assert len(changes["lines"]["after"]) == 1


def test_the_same_rewrite_sent_again_applies_once(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    draft = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "1")
    )
    body = po_body(world.supplier, world.main, po_line(world.kg_product, "7"))
    headers = {**manager.headers, IDEMPOTENCY_KEY: "po-rewrite-1"}
    path = f"{PURCHASES}/{draft['id']}"

    first = client.put(path, json=body, headers=headers)
    applied = fingerprint()
    again = client.put(path, json=body, headers=headers)

    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    assert again.status_code == 200
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert changed(applied, fingerprint()) == []
    assert len(audit_rows("purchase_order.updated", draft["id"])) == 1


@pytest.mark.parametrize("stage", ["ordered", "received"])
def test_an_order_past_its_draft_is_not_rewritten(
    client: TestClient, manager: SignedIn, world: World, stage: str
) -> None:
    order = ordered_po(client, manager.headers, world, quantity="5")
    if stage == "received":
        [line] = order["lines"]
        order = deliver(
            client,
            manager.headers,
            order["id"],
            arrival(line["id"], "5", "LOT-RW", best_before=_today(200)),
        )
    body = po_body(world.supplier, world.spare, po_line(world.pack_product, "99"), notes="late")
    before = fingerprint()

    problem = assert_problem(
        client.put(f"{PURCHASES}/{order['id']}", json=body, headers=manager.headers),
        409,
        STATE_PROBLEM,
    )

    assert problem["current_status"] == stage
    assert changed(before, fingerprint()) == []
    assert get_po(client, manager.headers, order["id"]) == order


def test_an_unknown_order_is_not_found(client: TestClient, manager: SignedIn, world: World) -> None:
    body = po_body(world.supplier, world.main, po_line(world.kg_product, "1"))
    before = fingerprint()

    assert_problem(client.put(f"{PURCHASES}/{UNKNOWN_ID}", json=body, headers=manager.headers), 404)

    assert changed(before, fingerprint()) == []
