"""``dfims stock check``: the stock-level projection against the ledger, and ``--fix``."""

import re
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, select, text

from app.core.database import engine, session_scope
from app.models.audit import AuditLog
from app.models.inventory import MovementKind, StockLevel, StockMovement
from app.schemas.catalog import ProductCreate, WarehouseCreate
from app.services import allocation, catalog, stock
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.stock import MovementContext, ReceiptLine
from tests.support.servers import error_lines, run_dfims

ACTOR = Actor(user_id=None, label="stock-check-tests")
REPAIRED = "stock.projection_repaired"
Key = tuple[int, int, int]


# -- setup -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """Two products, two warehouses; stock received, reserved, moved and written off.

    ``dates``: lot DATES-1 holds 100 in MAIN of which 30 are reserved (after 10 went to COLD
    and 5 were wasted, 115 were received). ``figs``: lot FIGS-1 holds 40 in MAIN.
    """

    main: int
    cold: int
    dates: int
    figs: int
    dates_lot: int
    figs_lot: int

    @property
    def dates_main(self) -> Key:
        return (self.dates, self.main, self.dates_lot)

    @property
    def dates_cold(self) -> Key:
        return (self.dates, self.cold, self.dates_lot)

    @property
    def figs_main(self) -> Key:
        return (self.figs, self.main, self.figs_lot)


def make_scene() -> Scene:
    with session_scope() as db:
        main = catalog.warehouses.create(
            db, ACTOR, WarehouseCreate(code="MAIN", name="Main").model_dump()
        ).id
        cold = catalog.warehouses.create(
            db, ACTOR, WarehouseCreate(code="COLD", name="Cold").model_dump()
        ).id
        dates, figs = (
            catalog.create_product(
                db, ACTOR, ProductCreate(sku=sku, name=f"Product {sku}").model_dump()
            ).id
            for sku in ("DATES", "FIGS")
        )
        context = MovementContext(actor=ACTOR, reference="PO-1")
        best_before = date.today() + timedelta(days=200)

        def receipt(product_id: int, lot_code: str, quantity: int) -> int:
            line = ReceiptLine(
                product_id=product_id,
                warehouse_id=main,
                lot_code=lot_code,
                quantity=Decimal(quantity),
                best_before=best_before,
            )
            return stock.receive(db, context, line).lot_id

        dates_lot = receipt(dates, "DATES-1", 115)
        figs_lot = receipt(figs, "FIGS-1", 40)
        stock.transfer(
            db,
            MovementContext(actor=ACTOR, reference="TR-1"),
            product_id=dates,
            lot_id=dates_lot,
            from_warehouse_id=main,
            to_warehouse_id=cold,
            quantity=Decimal(10),
        )
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="torn bag"),
            product_id=dates,
            lot_id=dates_lot,
            warehouse_id=main,
            quantity=Decimal(5),
        )
        allocation.reserve(
            db,
            AllocationRequest(
                product_id=dates, quantity=Decimal(30), reference="SO-1", warehouse_id=main
            ),
        )
    return Scene(main, cold, dates, figs, dates_lot, figs_lot)


def levels() -> dict[Key, tuple[Decimal, Decimal]]:
    """(on_hand, reserved) per (product, warehouse, lot) as stored."""
    with session_scope() as db:
        return {
            (row.product_id, row.warehouse_id, row.lot_id): (row.on_hand, row.reserved)
            for row in db.scalars(select(StockLevel)).all()
        }


def corrupt(key: Key, **values: int) -> None:
    """Overwrite columns of a stock_levels row behind the application's back (raw SQL; the
    values are bound with the column's type, so they are stored as the database keeps them)."""
    columns = StockLevel.__table__.c
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    statement = text(
        f"UPDATE stock_levels SET {assignments} "
        "WHERE product_id = :p AND warehouse_id = :w AND lot_id = :l"
    ).bindparams(*(bindparam(column, type_=columns[column].type) for column in values))
    with engine.begin() as connection:
        result = connection.execute(
            statement,
            {**{k: Decimal(v) for k, v in values.items()}, "p": key[0], "w": key[1], "l": key[2]},
        )
        assert result.rowcount == 1


def delete_level(key: Key) -> None:
    with engine.begin() as connection:
        result = connection.execute(
            text(
                "DELETE FROM stock_levels "
                "WHERE product_id = :p AND warehouse_id = :w AND lot_id = :l"
            ),
            {"p": key[0], "w": key[1], "l": key[2]},
        )
        assert result.rowcount == 1


def append_to_ledger(key: Key, quantity: int) -> None:
    """A ledger row written without touching the projection."""
    with session_scope() as db:
        db.add(
            StockMovement(
                kind=MovementKind.ADJUSTMENT.value,
                product_id=key[0],
                warehouse_id=key[1],
                lot_id=key[2],
                quantity=Decimal(quantity),
                reason="written straight into the ledger",
                actor_label="tests",
            )
        )


def repairs() -> list[tuple[str | None, dict[str, str]]]:
    with session_scope() as db:
        entries = db.scalars(
            select(AuditLog).where(AuditLog.action == REPAIRED).order_by(AuditLog.id)
        ).all()
        return [(entry.entity_id, dict(entry.details)) for entry in entries]


def audit_count() -> int:
    with session_scope() as db:
        return int(db.scalar(select(func.count()).select_from(AuditLog)) or 0)


# -- running the command -----------------------------------------------------------------------


def check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_dfims(env, "stock", "check", *args)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def assert_clean(env: dict[str, str]) -> None:
    result = check(env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert error_lines(result) == []
    assert result.stdout.strip() == "Stock levels match the ledger."


def assert_one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


DIFFERENCE = re.compile(
    r"^product (\d+) warehouse (\d+) lot (\d+): on_hand (\S+) \(ledger (\S+)\), "
    r"reserved (\S+) \(reservations (\S+)\)$"
)


def reported(stdout: str) -> dict[Key, tuple[Decimal, Decimal, Decimal, Decimal]]:
    """The differences a check printed: key -> (on_hand, ledger, reserved, reservations)."""
    found = {}
    for line in stdout.splitlines():
        match = DIFFERENCE.match(line.strip())
        if match:
            p, w, lot, *figures = match.groups()
            on_hand, ledger, reserved, reservations = (Decimal(value) for value in figures)
            found[(int(p), int(w), int(lot))] = (on_hand, ledger, reserved, reservations)
    return found


# -- tests -------------------------------------------------------------------------------------


def test_empty_database_matches(test_env: dict[str, str]) -> None:
    assert_clean(test_env)


def test_consistent_database_matches(test_env: dict[str, str]) -> None:
    scene = make_scene()
    before = levels()
    assert before == {
        scene.dates_main: (Decimal(100), Decimal(30)),
        scene.dates_cold: (Decimal(10), Decimal(0)),
        scene.figs_main: (Decimal(40), Decimal(0)),
    }

    assert_clean(test_env)
    assert_clean(test_env)  # --fix not needed, and a check changes nothing

    assert levels() == before
    assert repairs() == []


def test_on_hand_difference_is_reported_then_repaired(test_env: dict[str, str]) -> None:
    scene = make_scene()
    corrupt(scene.figs_main, on_hand=37)
    audit_before = audit_count()

    result = check(test_env)

    error = assert_one_error(result)
    assert "1 stock level(s) differ from the ledger" in error
    assert "--fix" in error
    assert reported(result.stdout) == {
        scene.figs_main: (Decimal(37), Decimal(40), Decimal(0), Decimal(0))
    }
    assert levels()[scene.figs_main] == (Decimal(37), Decimal(0))  # a check alone repairs nothing
    assert audit_count() == audit_before

    fixed = check(test_env, "--fix")

    assert fixed.returncode == 0, (fixed.stdout, fixed.stderr)
    assert error_lines(fixed) == []
    assert "Repaired 1 stock level(s) from the ledger." in fixed.stdout
    assert levels()[scene.figs_main] == (Decimal(40), Decimal(0))
    assert levels()[scene.dates_main] == (Decimal(100), Decimal(30))
    entity, details = repairs()[0]
    assert len(repairs()) == 1
    assert entity == f"{scene.figs}/{scene.main}/{scene.figs_lot}"
    assert Decimal(details["on_hand"]) == 37
    assert Decimal(details["ledger"]) == 40
    assert_clean(test_env)


def test_reserved_difference_is_reported_then_repaired(test_env: dict[str, str]) -> None:
    scene = make_scene()
    corrupt(scene.dates_main, reserved=45)  # 30 are actually reserved
    corrupt(scene.figs_main, reserved=5)  # nothing is reserved

    result = check(test_env)

    error = assert_one_error(result)
    assert "2 stock level(s) differ" in error
    assert reported(result.stdout) == {
        scene.dates_main: (Decimal(100), Decimal(100), Decimal(45), Decimal(30)),
        scene.figs_main: (Decimal(40), Decimal(40), Decimal(5), Decimal(0)),
    }

    fixed = check(test_env, "--fix")

    assert fixed.returncode == 0, (fixed.stdout, fixed.stderr)
    assert "Repaired 2 stock level(s) from the ledger." in fixed.stdout
    assert levels() == {
        scene.dates_main: (Decimal(100), Decimal(30)),
        scene.dates_cold: (Decimal(10), Decimal(0)),
        scene.figs_main: (Decimal(40), Decimal(0)),
    }
    assert sorted(entity or "" for entity, _ in repairs()) == sorted(
        [
            f"{scene.dates}/{scene.main}/{scene.dates_lot}",
            f"{scene.figs}/{scene.main}/{scene.figs_lot}",
        ]
    )
    assert_clean(test_env)


def test_both_columns_wrong_at_once(test_env: dict[str, str]) -> None:
    scene = make_scene()
    corrupt(scene.dates_main, on_hand=250, reserved=200)

    result = check(test_env)

    assert_one_error(result)
    assert reported(result.stdout) == {
        scene.dates_main: (Decimal(250), Decimal(100), Decimal(200), Decimal(30)),
    }
    assert check(test_env, "--fix").returncode == 0
    assert levels()[scene.dates_main] == (Decimal(100), Decimal(30))
    assert_clean(test_env)


def test_deleted_level_row_is_recreated(test_env: dict[str, str]) -> None:
    scene = make_scene()
    delete_level(scene.dates_main)
    assert scene.dates_main not in levels()

    result = check(test_env)

    assert_one_error(result)
    assert reported(result.stdout) == {
        scene.dates_main: (Decimal(0), Decimal(100), Decimal(0), Decimal(30)),
    }

    fixed = check(test_env, "--fix")

    assert fixed.returncode == 0, (fixed.stdout, fixed.stderr)
    assert levels()[scene.dates_main] == (Decimal(100), Decimal(30))
    assert [entity for entity, _ in repairs()] == [f"{scene.dates}/{scene.main}/{scene.dates_lot}"]
    assert_clean(test_env)


def test_reservations_beyond_the_ledger_need_a_person(test_env: dict[str, str]) -> None:
    scene = make_scene()
    append_to_ledger(scene.dates_main, -80)  # the ledger now holds 20; 30 are reserved
    corrupt(scene.figs_main, on_hand=12)  # and one difference that can be repaired

    result = check(test_env)

    assert_one_error(result)
    assert reported(result.stdout) == {
        scene.dates_main: (Decimal(100), Decimal(20), Decimal(30), Decimal(30)),
        scene.figs_main: (Decimal(12), Decimal(40), Decimal(0), Decimal(0)),
    }

    fixed = check(test_env, "--fix")

    error = assert_one_error(fixed)
    assert "1 repaired; 1 need a person" in error
    assert "reservations exceed" in error
    current = levels()
    assert current[scene.dates_main] == (Decimal(100), Decimal(30))  # left for a person
    assert current[scene.figs_main] == (Decimal(40), Decimal(0))
    assert [entity for entity, _ in repairs()] == [f"{scene.figs}/{scene.main}/{scene.figs_lot}"]

    again = check(test_env, "--fix")

    assert "0 repaired; 1 need a person" in assert_one_error(again)
    assert reported(again.stdout) == {
        scene.dates_main: (Decimal(100), Decimal(20), Decimal(30), Decimal(30)),
    }
    assert levels()[scene.dates_main] == (Decimal(100), Decimal(30))
    assert len(repairs()) == 1
