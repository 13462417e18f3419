"""The ledger cannot be changed once written: not by the database, the ORM or any route."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.core.database import SessionLocal, engine
from app.main import app
from app.models.inventory import StockMovement
from tests.api.stock_movements.bodies import ledger_row
from tests.support.callers import SignedIn
from tests.support.stock import (
    STOCK,
    World,
    get_movements,
    receive,
)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stock_movements SET quantity = 999, reason = 'rewritten' WHERE id = :id",
        "UPDATE stock_movements SET reference = reference WHERE id = :id",
        "DELETE FROM stock_movements WHERE id = :id",
    ],
    ids=["update", "no-op-update", "delete"],
)
def test_the_database_refuses_to_change_a_ledger_row(
    client: TestClient, admin: SignedIn, world: World, statement: str
) -> None:
    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-1", "5")
    before = ledger_row(movement["id"])
    with engine.connect() as connection:
        with pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement), {"id": movement["id"]})
        connection.rollback()
    assert ledger_row(movement["id"]) == before
    assert get_movements(client, admin.headers) == [movement]


def test_the_orm_cannot_change_or_delete_a_ledger_row(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-2", "5")
    before = ledger_row(movement["id"])
    with SessionLocal() as db:
        row = db.get(StockMovement, movement["id"])
        assert row is not None
        row.quantity = Decimal(50)
        with pytest.raises(DatabaseError):
            db.commit()
        db.rollback()
        row = db.get(StockMovement, movement["id"])
        assert row is not None
        db.delete(row)
        with pytest.raises(DatabaseError):
            db.commit()
        db.rollback()
    assert ledger_row(movement["id"]) == before


def test_no_route_updates_or_deletes_a_movement(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    paths = {path: ops for path, ops in app.openapi()["paths"].items() if path.startswith(STOCK)}
    assert paths  # the stock routes are there to inspect
    for path, operations in paths.items():
        assert not {"put", "patch", "delete"} & set(operations), path

    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-3", "5")
    before = ledger_row(movement["id"])
    item = f"{STOCK}/movements/{movement['id']}"
    for method in ("put", "patch", "delete"):
        for url in (item, f"{STOCK}/movements"):
            response = client.request(method, url, json={"quantity": "1"}, headers=admin.headers)
            assert response.status_code in (404, 405), (method, url, response.status_code)
    assert ledger_row(movement["id"]) == before
