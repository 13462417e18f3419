"""Reading stock: levels per product, warehouse and lot (FEFO order, reserved and available,
in unit and kg) and the ledger (filters, newest first, pages, time windows)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.stock import (
    ADJUSTMENTS,
    LEVELS,
    MOVEMENTS,
    PACK_WEIGHT,
    TRANSFERS,
    WASTE,
    World,
    get_levels,
    get_movements,
    receive,
    reserve,
)


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


def key(level: dict[str, Any]) -> tuple[int, int, int]:
    """(product, warehouse, lot) of a level."""
    return (level["product_id"], level["warehouse_id"], level["lot_id"])


def in_days(days: int) -> str:
    """The ISO date ``days`` from today."""
    return (date.today() + timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True)
class Spread:
    """Stock spread over lots and warehouses."""

    k1: int  # kg lot: 10 in MAIN, 4 in SPARE
    k2: int  # kg lot: 6 in MAIN
    p1: int  # pack lot: 8 packs in MAIN


@pytest.fixture
def spread(client: TestClient, admin: SignedIn, world: World) -> Spread:
    """Receive the spread of stock."""
    h = admin.headers
    k1 = receive(client, h, world.kg_product, world.main, "K1", "10")["lot_id"]
    receive(client, h, world.kg_product, world.spare, "K1", "4")
    k2 = receive(client, h, world.kg_product, world.main, "K2", "6")["lot_id"]
    p1 = receive(client, h, world.pack_product, world.main, "P1", "8")["lot_id"]
    return Spread(k1=k1, k2=k2, p1=p1)


def test_levels_filter_by_product_warehouse_and_lot(
    client: TestClient, admin: SignedIn, world: World, spread: Spread
) -> None:
    h = admin.headers
    every = get_levels(client, h)
    assert {key(level): dec(level["on_hand"]) for level in every} == {
        (world.kg_product, world.main, spread.k1): Decimal(10),
        (world.kg_product, world.spare, spread.k1): Decimal(4),
        (world.kg_product, world.main, spread.k2): Decimal(6),
        (world.pack_product, world.main, spread.p1): Decimal(8),
    }
    filters: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"product_id": world.kg_product}, lambda lv: lv["product_id"] == world.kg_product),
        ({"product_id": world.pack_product}, lambda lv: lv["product_id"] == world.pack_product),
        ({"warehouse_id": world.spare}, lambda lv: lv["warehouse_id"] == world.spare),
        ({"warehouse_id": world.main}, lambda lv: lv["warehouse_id"] == world.main),
        ({"lot_id": spread.k1}, lambda lv: lv["lot_id"] == spread.k1),
        (
            {"product_id": world.kg_product, "warehouse_id": world.main},
            lambda lv: lv["product_id"] == world.kg_product and lv["warehouse_id"] == world.main,
        ),
        (
            {"lot_id": spread.k1, "warehouse_id": world.spare},
            lambda lv: lv["lot_id"] == spread.k1 and lv["warehouse_id"] == world.spare,
        ),
    ]
    for params, keep in filters:
        expected = [level for level in every if keep(level)]
        assert expected, params  # each filter selects something
        assert len(expected) < len(every), params
        assert get_levels(client, h, **params) == expected, params
    assert get_levels(client, h, product_id=UNKNOWN_ID) == []
    assert get_levels(client, h, lot_id=spread.k1, product_id=world.pack_product) == []


def test_empty_levels_are_listed_only_when_asked(
    client: TestClient, admin: SignedIn, world: World, spread: Spread
) -> None:
    h = admin.headers
    body = {
        "product_id": world.kg_product,
        "lot_id": spread.k2,
        "warehouse_id": world.main,
        "quantity": "6",
        "reason": "Infested",
    }
    assert client.post(WASTE, json=body, headers=h).status_code == 201
    assert spread.k2 not in {level["lot_id"] for level in get_levels(client, h)}
    assert get_levels(client, h, lot_id=spread.k2) == []
    (empty,) = get_levels(client, h, lot_id=spread.k2, include_empty="true")
    assert dec(empty["on_hand"]) == dec(empty["available"]) == dec(empty["on_hand_kg"]) == 0
    assert len(get_levels(client, h, include_empty="true")) == len(get_levels(client, h)) + 1
    assert get_levels(client, h, lot_id=spread.k2, include_empty="false") == []


def test_levels_are_in_fefo_order_within_a_product(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    late = receive(client, h, world.kg_product, world.main, "LATE", best_before=in_days(300))
    early = receive(client, h, world.kg_product, world.spare, "EARLY", best_before=in_days(20))
    receive(client, h, world.kg_product, world.main, "EARLY", best_before=in_days(20))
    mid = receive(client, h, world.kg_product, world.main, "MID", best_before=in_days(100))
    twin = receive(client, h, world.kg_product, world.main, "MID-TWIN", best_before=in_days(100))
    pack_late = receive(
        client, h, world.pack_product, world.main, "P-LATE", best_before=in_days(90)
    )
    pack_soon = receive(client, h, world.pack_product, world.main, "P-SOON", best_before=in_days(9))

    order = [
        (level["sku"], level["lot_id"], level["warehouse_code"]) for level in get_levels(client, h)
    ]
    assert order == [
        # APRICOT-500G sorts before DATE-MEDJOOL; within a product, earliest best-before first,
        # then the older lot, then the warehouse code.
        ("APRICOT-500G", pack_soon["lot_id"], "MAIN"),
        ("APRICOT-500G", pack_late["lot_id"], "MAIN"),
        ("DATE-MEDJOOL", early["lot_id"], "MAIN"),
        ("DATE-MEDJOOL", early["lot_id"], "SPARE"),
        ("DATE-MEDJOOL", mid["lot_id"], "MAIN"),
        ("DATE-MEDJOOL", twin["lot_id"], "MAIN"),
        ("DATE-MEDJOOL", late["lot_id"], "MAIN"),
    ]
    dates = [level["best_before"] for level in get_levels(client, h, product_id=world.kg_product)]
    assert dates == sorted(dates)


def test_levels_show_reserved_and_available_in_unit_and_kg(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    pack = receive(client, h, world.pack_product, world.main, "PK-1", "20")["lot_id"]
    kg = receive(client, h, world.kg_product, world.main, "KG-1", "12.345")["lot_id"]
    reserve(world.pack_product, "6", "SO-100", world.main)
    reserve(world.kg_product, "2.345", "SO-101", world.main)

    (pack_level,) = get_levels(client, h, lot_id=pack)
    assert pack_level["unit"] == "pack"
    assert dec(pack_level["on_hand"]) == Decimal(20)
    assert dec(pack_level["reserved"]) == Decimal(6)
    assert dec(pack_level["available"]) == Decimal(14)
    assert dec(pack_level["on_hand_kg"]) == Decimal(20) * PACK_WEIGHT
    assert dec(pack_level["available_kg"]) == Decimal(14) * PACK_WEIGHT

    (kg_level,) = get_levels(client, h, lot_id=kg)
    assert kg_level["unit"] == "kg"
    assert dec(kg_level["on_hand"]) == dec(kg_level["on_hand_kg"]) == Decimal("12.345")
    assert dec(kg_level["reserved"]) == Decimal("2.345")
    assert dec(kg_level["available"]) == dec(kg_level["available_kg"]) == Decimal(10)


def test_fully_reserved_stock_is_still_listed(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    h = admin.headers
    lot = receive(client, h, world.pack_product, world.main, "PK-2", "4")["lot_id"]
    reserve(world.pack_product, "4", "SO-102", world.main)
    (level,) = get_levels(client, h, lot_id=lot)
    assert dec(level["on_hand"]) == dec(level["reserved"]) == Decimal(4)
    assert dec(level["available"]) == dec(level["available_kg"]) == 0


def test_levels_come_in_pages_with_the_total(
    client: TestClient, admin: SignedIn, world: World, spread: Spread
) -> None:
    h = admin.headers
    every = get_levels(client, h)
    pages = []
    for offset in range(0, len(every) + 1, 3):
        response = client.get(LEVELS, params={"limit": 3, "offset": offset}, headers=h)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == len(every) == 4
        assert (page["limit"], page["offset"]) == (3, offset)
        pages.extend(page["items"])
    assert pages == every


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"product_id": "x"}, {"include_empty": "x"}],
)
def test_bad_level_queries_are_problems(
    client: TestClient, admin: SignedIn, params: dict[str, Any]
) -> None:
    response = client.get(LEVELS, params=params, headers=admin.headers)
    assert_problem(response, 422, "validation-error", field=next(iter(params)))


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class History:
    """A varied ledger, oldest first as written."""

    rows: list[dict[str, Any]]
    k1: int
    p1: int


@pytest.fixture
def history(client: TestClient, admin: SignedIn, world: World) -> History:
    """Receipts, a transfer, waste and an adjustment, across products and warehouses."""
    h = admin.headers
    rows = [receive(client, h, world.kg_product, world.main, "K1", "50", reference="PO-1")]
    rows.append(receive(client, h, world.pack_product, world.main, "P1", "30", reference="PO-2"))
    k1, p1 = rows[0]["lot_id"], rows[1]["lot_id"]
    writes = [
        (
            TRANSFERS,
            {
                "product_id": world.kg_product,
                "lot_id": k1,
                "from_warehouse_id": world.main,
                "to_warehouse_id": world.spare,
                "quantity": "20",
                "reference": "TR-1",
            },
        ),
        (
            WASTE,
            {
                "product_id": world.pack_product,
                "lot_id": p1,
                "warehouse_id": world.main,
                "quantity": "3",
                "reason": "Torn packs",
                "reference": "QC-1",
            },
        ),
        (
            ADJUSTMENTS,
            {
                "product_id": world.kg_product,
                "lot_id": k1,
                "warehouse_id": world.spare,
                "quantity": "-1.5",
                "reason": "Weighed short",
            },
        ),
    ]
    for path, body in writes:
        response = client.post(path, json=body, headers=h)
        assert response.status_code == 201, response.text
        rows.extend(response.json()["movements"])
    rows.append(receive(client, h, world.kg_product, world.main, "K2", "5", reference="PO-3"))
    return History(rows=rows, k1=k1, p1=p1)


def test_the_ledger_lists_every_row_newest_first(
    client: TestClient, admin: SignedIn, history: History
) -> None:
    listed = get_movements(client, admin.headers)
    assert listed == list(reversed(history.rows))
    ids = [row["id"] for row in listed]
    assert ids == sorted(ids, reverse=True)
    stamps = [datetime.fromisoformat(row["created_at"]) for row in listed]
    assert stamps == sorted(stamps, reverse=True)


def test_ledger_rows_carry_their_weight_in_kg(
    client: TestClient, admin: SignedIn, world: World, history: History
) -> None:
    for row in get_movements(client, admin.headers):
        weight = PACK_WEIGHT if row["product_id"] == world.pack_product else Decimal(1)
        assert dec(row["quantity_kg"]) == dec(row["quantity"]) * weight


def test_ledger_filters(
    client: TestClient, admin: SignedIn, world: World, history: History
) -> None:
    h = admin.headers
    every = get_movements(client, h)
    filters: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"product_id": world.pack_product}, lambda r: r["product_id"] == world.pack_product),
        ({"product_id": world.kg_product}, lambda r: r["product_id"] == world.kg_product),
        ({"lot_id": history.k1}, lambda r: r["lot_id"] == history.k1),
        ({"warehouse_id": world.spare}, lambda r: r["warehouse_id"] == world.spare),
        ({"kind": "receipt"}, lambda r: r["kind"] == "receipt"),
        ({"kind": "transfer_out"}, lambda r: r["kind"] == "transfer_out"),
        ({"kind": "waste"}, lambda r: r["kind"] == "waste"),
        ({"kind": "adjustment"}, lambda r: r["kind"] == "adjustment"),
        ({"reference": "TR-1"}, lambda r: r["reference"] == "TR-1"),
        ({"reference": "PO-2"}, lambda r: r["reference"] == "PO-2"),
        (
            {"kind": "receipt", "product_id": world.kg_product},
            lambda r: r["kind"] == "receipt" and r["product_id"] == world.kg_product,
        ),
        (
            {"lot_id": history.k1, "warehouse_id": world.spare},
            lambda r: r["lot_id"] == history.k1 and r["warehouse_id"] == world.spare,
        ),
    ]
    for params, keep in filters:
        expected = [row for row in every if keep(row)]
        assert expected, params
        assert len(expected) < len(every), params
        assert get_movements(client, h, **params) == expected, params

    (out, into) = sorted(get_movements(client, h, reference="TR-1"), key=lambda r: r["id"])
    assert (out["kind"], into["kind"]) == ("transfer_out", "transfer_in")
    assert get_movements(client, h, kind="count") == []
    assert get_movements(client, h, reference="TR") == []  # exact match, not a prefix
    assert get_movements(client, h, lot_id=UNKNOWN_ID) == []


def test_the_ledger_comes_in_pages_with_the_total(
    client: TestClient, admin: SignedIn, history: History
) -> None:
    h = admin.headers
    every = get_movements(client, h)
    pages = []
    for offset in range(0, len(every), 2):
        response = client.get(MOVEMENTS, params={"limit": 2, "offset": offset}, headers=h)
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == len(every) == len(history.rows)
        assert len(page["items"]) <= 2
        pages.extend(page["items"])
    assert pages == every
    filtered = client.get(MOVEMENTS, params={"kind": "receipt", "limit": 1}, headers=h).json()
    assert filtered["total"] == 3
    assert len(filtered["items"]) == 1
    assert filtered["items"][0] == every[0]  # the newest receipt


def test_the_ledger_filters_by_time(client: TestClient, admin: SignedIn, history: History) -> None:
    h = admin.headers
    every = get_movements(client, h)
    oldest_first = list(reversed(every))
    pivot = oldest_first[2]["created_at"]
    moment = datetime.fromisoformat(pivot)

    def stamp(row: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(row["created_at"])

    newer = [row for row in every if stamp(row) >= moment]
    older = [row for row in every if stamp(row) < moment]
    assert newer
    assert older
    assert get_movements(client, h, since=pivot) == newer
    assert get_movements(client, h, until=pivot) == older
    assert get_movements(client, h, since=pivot, until=pivot) == []

    # The same instant written in another time zone selects the same rows.
    elsewhere = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert get_movements(client, h, since=elsewhere) == newer
    assert get_movements(client, h, until=elsewhere) == older

    last = stamp(every[0])
    assert get_movements(client, h, since=(last + timedelta(seconds=1)).isoformat()) == []
    first = stamp(every[-1])
    assert get_movements(client, h, until=first.isoformat()) == []
    assert get_movements(client, h, until=(last + timedelta(seconds=1)).isoformat()) == every


def test_a_time_without_a_zone_is_not_a_server_error(
    client: TestClient, admin: SignedIn, history: History
) -> None:
    """A naive ``since`` is either read as UTC or refused as invalid input, never a 500."""
    every = get_movements(client, admin.headers)
    pivot = datetime.fromisoformat(list(reversed(every))[2]["created_at"])
    naive = pivot.astimezone(UTC).replace(tzinfo=None).isoformat()
    response = client.get(MOVEMENTS, params={"since": naive}, headers=admin.headers)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_problem(response, 422, field="since")
    else:
        expected = [row for row in every if datetime.fromisoformat(row["created_at"]) >= pivot]
        assert response.json()["items"] == expected


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "theft"},
        {"since": "yesterday"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"reference": "x" * 101},
        {"warehouse_id": "main"},
    ],
)
def test_bad_ledger_queries_are_problems(
    client: TestClient, admin: SignedIn, params: dict[str, Any]
) -> None:
    response = client.get(MOVEMENTS, params=params, headers=admin.headers)
    assert_problem(response, 422, "validation-error", field=next(iter(params)))
