"""``dfims orders fill-backorders`` run as operators run it, a process of its own on the test
database: stock for backordered lines, the earliest confirmed order first, of every order or
of the one named; a number that names no open order is one line on stderr and changes nothing."""

import subprocess
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.core.database import SessionLocal, session_scope
from app.models.catalog import UnitOfMeasure
from app.models.sales import OrderStatus, SalesOrder, SalesOrderLine
from app.services import orders
from tests.support.audit import audit_rows
from tests.support.factories import (
    FACTORY_ACTOR,
    create_customer,
    create_lot,
    create_order,
    create_product,
    create_warehouse,
)
from tests.support.refusals import changed, fingerprint
from tests.support.servers import error_lines, run_dfims

DATES = "DATE-SAFAWI"
FIGS = "FIG-PACK"


@dataclass(frozen=True)
class Waiting:
    """Two confirmed orders of a partial customer with nothing in stock: OLDER (placed second,
    confirmed first) waits for 4 kg of dates, NEWER (placed first, confirmed second) for 5 kg
    of dates and 2 packs of figs."""

    dates: int
    figs: int
    warehouse: int
    older: str
    newer: str


def confirm(order_id: int) -> str:
    """Confirm a pending order through the service; its number."""
    with session_scope() as db:
        order = orders.confirm(db, FACTORY_ACTOR, orders.get_order(db, order_id))
        return orders.number_of(order)


def waiting_orders() -> Waiting:
    """The two orders, confirmed newest-placed first, every line backordered."""
    dates = create_product(sku=DATES)
    figs = create_product(sku=FIGS, unit=UnitOfMeasure.PACK, net_weight_kg="0.5")
    warehouse = create_warehouse(code="MAIN")
    customer = create_customer(name="Souk Traders", partial_delivery=True)
    newer = create_order(lines=[(dates, "5"), (figs, "2")], customer_id=customer)
    older = create_order(lines=[(dates, "4")], customer_id=customer)
    waiting = Waiting(dates, figs, warehouse, confirm(older.id), confirm(newer.id))
    assert backordered(waiting.older) == [Decimal(4)]
    assert backordered(waiting.newer) == [Decimal(5), Decimal(2)]
    return waiting


def backordered(number: str) -> list[Decimal]:
    """What each line of an order still waits for, in line order."""
    with SessionLocal() as db:
        query = (
            select(SalesOrderLine.backordered_quantity)
            .join(SalesOrder)
            .where(SalesOrder.number == number)
            .order_by(SalesOrderLine.line_no)
        )
        return [Decimal(value) for value in db.scalars(query)]


def order_id_of(number: str) -> int:
    """The id of the order numbered ``number``."""
    with SessionLocal() as db:
        found = db.scalar(select(SalesOrder.id).where(SalesOrder.number == number))
        assert found is not None
        return found


def assert_ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The command succeeded without complaint; its stdout's lines."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert error_lines(result) == []
    return result.stdout.splitlines()


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit 1, one ``error:`` line on stderr and nothing on stdout."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    [line] = error_lines(result)
    assert line.startswith("error: ")
    return line


def test_fill_backorders_serves_the_earliest_confirmed_order_first(
    test_env: dict[str, str],
) -> None:
    waiting = waiting_orders()
    create_lot(product_id=waiting.dates, warehouse_id=waiting.warehouse, quantity="6")
    create_lot(product_id=waiting.figs, warehouse_id=waiting.warehouse, quantity="2")

    lines = assert_ok(run_dfims(test_env, "orders", "fill-backorders"))

    assert lines == [
        f"{waiting.older} line 1 ({DATES}): reserved 4.000, still backordered 0.000",
        f"{waiting.newer} line 1 ({DATES}): reserved 2.000, still backordered 3.000",
        f"{waiting.newer} line 2 ({FIGS}): reserved 2.000, still backordered 0.000",
        "Backordered lines given stock: 3",
    ]
    assert backordered(waiting.older) == [0]
    assert backordered(waiting.newer) == [3, 0]
    [entry] = audit_rows("order.backorders_filled", order_id_of(waiting.newer))
    assert entry.actor_label.startswith("cli:")
    assert entry.details["filled"] == [
        {"line_no": 1, "quantity": "2.000"},
        {"line_no": 2, "quantity": "2.000"},
    ]

    again = assert_ok(run_dfims(test_env, "orders", "fill-backorders"))

    assert again == ["Backordered lines given stock: 0"]
    assert backordered(waiting.newer) == [3, 0]


def test_fill_backorders_of_one_order_leaves_the_others_waiting(
    test_env: dict[str, str],
) -> None:
    waiting = waiting_orders()
    create_lot(product_id=waiting.dates, warehouse_id=waiting.warehouse, quantity="3")

    lines = assert_ok(
        run_dfims(test_env, "orders", "fill-backorders", "--order", waiting.newer.lower())
    )

    assert lines == [
        f"{waiting.newer} line 1 ({DATES}): reserved 3.000, still backordered 2.000",
        "Backordered lines given stock: 1",
    ]
    assert backordered(waiting.newer) == [2, 2]
    assert backordered(waiting.older) == [4]
    assert audit_rows("order.backorders_filled", order_id_of(waiting.older)) == []


def test_fill_backorders_of_an_unknown_order_is_one_line_and_changes_nothing(
    test_env: dict[str, str],
) -> None:
    waiting = waiting_orders()
    create_lot(product_id=waiting.dates, warehouse_id=waiting.warehouse, quantity="9")
    before = fingerprint()

    result = run_dfims(test_env, "orders", "fill-backorders", "--order", "SO-999999")

    assert "SO-999999" in assert_one_line_error(result)
    assert changed(before, fingerprint()) == []


def test_fill_backorders_of_a_cancelled_order_is_one_line_and_changes_nothing(
    test_env: dict[str, str],
) -> None:
    waiting = waiting_orders()
    create_lot(product_id=waiting.dates, warehouse_id=waiting.warehouse, quantity="9")
    with session_scope() as db:
        order = orders.by_number(db, waiting.older)
        orders.cancel(db, FACTORY_ACTOR, order)
    before = fingerprint()

    result = run_dfims(test_env, "orders", "fill-backorders", "--order", waiting.older)

    line = assert_one_line_error(result)
    assert waiting.older in line
    assert OrderStatus.CANCELLED.value in line
    assert changed(before, fingerprint()) == []
    assert backordered(waiting.newer) == [5, 2]
