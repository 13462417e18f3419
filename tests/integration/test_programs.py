"""Statement programs, run on the async path (``async_database.run``) and on an ORM session's
connection (``programs.run_on``): all of a program's writes or none; lists, JSON and the
columns' Python defaults bound as the engine binds them; on PostgreSQL, a pooled connection
found dead replaced and the program run again, once."""

import uuid
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
import pytest
from sqlalchemy import Integer, bindparam, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from app.core import async_database
from app.core.database import get_engine, session_scope
from app.core.errors import ConflictError, InvalidRequestError
from app.core.programs import Program, Rerun, rerun_on, run_in, run_on
from app.models.audit import AuditLog
from app.models.catalog import Product, Warehouse
from app.services import audit
from app.services.audit import Actor
from tests.support.backends import BACKEND, terminate
from tests.support.loops import run_alone
from tests.support.queries import round_trips
from tests.support.sales import make_priced_product

ACTOR = Actor(user_id=None, label="program tests", ip_address="192.0.2.7")
NEW_WAREHOUSE = (
    insert(Warehouse)
    .values(code=bindparam("code"), name=bindparam("name"))
    .returning(Warehouse.id, Warehouse.created_at, Warehouse.updated_at)
)
RENAME = (
    update(Warehouse)
    .where(Warehouse.id == bindparam("warehouse_id"))
    .values(name=bindparam("name"))
    .returning(Warehouse.name, Warehouse.updated_at)
)
ENTRIES = select(AuditLog.action, AuditLog.details, AuditLog.ip_address).where(
    AuditLog.action.in_(bindparam("actions", expanding=True))
)


def _audited(action: str) -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).where(AuditLog.action == action)) or 0


def _writes_then_refuses(action: str) -> Program[None]:
    yield audit.entry(ACTOR, action, "test", 1)
    yield NEW_WAREHOUSE, {"code": action[:40], "name": "never kept"}
    raise InvalidRequestError("Refused after writing.", field="test")


def _binds(tag: str) -> Program[dict[str, Any]]:
    actions = [f"{tag}-{n}" for n in range(3)]
    yield ENTRIES.with_only_columns(AuditLog.id), {"actions": []}
    yield (
        audit.ENTRY,
        [
            audit.entry(ACTOR, action, "test", n, n=n, tag=tag)[1]
            for n, action in enumerate(actions)
        ],
    )
    entries = yield ENTRIES, {"actions": actions}
    (made,) = yield NEW_WAREHOUSE, {"code": tag[:40], "name": "first"}
    (renamed,) = yield RENAME, {"warehouse_id": made["id"], "name": "second"}
    return {"entries": entries, "made": made, "renamed": renamed}


def _on_the_engine(program: Program[Any]) -> Any:
    with get_engine().begin() as connection:
        return run_on(connection, program)


def test_a_refused_program_writes_nothing_on_either_path() -> None:
    action = f"refused-{uuid.uuid4().hex[:8]}"

    with pytest.raises(InvalidRequestError, match="Refused after writing"):
        run_alone(async_database.run(lambda: _writes_then_refuses(action)))
    with pytest.raises(InvalidRequestError, match="Refused after writing"):
        _on_the_engine(_writes_then_refuses(action))

    assert _audited(action) == 0
    with session_scope() as db:
        assert db.scalar(select(func.count()).where(Warehouse.code == action[:40])) == 0


def test_a_write_refused_by_the_database_after_the_last_read_keeps_nothing() -> None:
    code = f"dup-{uuid.uuid4().hex[:8]}"
    again = insert(Warehouse).values(code=bindparam("code"), name=bindparam("name"))

    def program() -> Program[None]:
        yield NEW_WAREHOUSE, {"code": code, "name": "kept only with the rest"}
        yield again, {"code": code, "name": "the same code again"}  # sent with the commit

    with pytest.raises((psycopg.IntegrityError, IntegrityError)):
        run_alone(async_database.run(program))
    with pytest.raises(IntegrityError):
        _on_the_engine(program())

    with session_scope() as db:
        assert db.scalar(select(func.count()).where(Warehouse.code == code)) == 0


@pytest.mark.parametrize("path", ["async", "engine"])
def test_lists_json_and_python_defaults_are_bound_as_the_engine_binds_them(path: str) -> None:
    tag = f"binds-{path}-{uuid.uuid4().hex[:8]}"

    if path == "async":
        done = run_alone(async_database.run(lambda: _binds(tag)))
    else:
        done = _on_the_engine(_binds(tag))

    entries = sorted(done["entries"], key=lambda entry: str(entry["action"]))
    assert [entry["action"] for entry in entries] == [f"{tag}-{n}" for n in range(3)]
    assert [entry["details"] for entry in entries] == [{"n": n, "tag": tag} for n in range(3)]
    assert {entry["ip_address"] for entry in entries} == {"192.0.2.7"}
    made, renamed = done["made"], done["renamed"]
    assert made["created_at"] is not None
    assert made["updated_at"] is not None
    assert renamed["name"] == "second"
    assert renamed["updated_at"] >= made["updated_at"]
    with session_scope() as db:
        stored = db.scalars(select(Warehouse).where(Warehouse.id == made["id"])).one()
        assert stored.name == "second"
        assert stored.updated_at == renamed["updated_at"]


def test_a_program_that_asks_runs_again_from_the_start_and_keeps_one_run() -> None:
    action = f"rerun-{uuid.uuid4().hex[:8]}"
    runs: list[str] = []

    def program(path: str) -> Program[int]:
        runs.append(path)
        yield audit.entry(ACTOR, action, "test", len(runs))
        if runs.count(path) < 3:
            raise Rerun
        return runs.count(path)

    assert run_alone(async_database.run(lambda: program("async"))) == 3
    with session_scope() as db:
        assert run_in(db, lambda: program("session")) == 3

    assert _audited(action) == 2


def test_a_program_that_keeps_asking_is_refused_with_nothing_written() -> None:
    action = f"restless-{uuid.uuid4().hex[:8]}"

    def program() -> Program[None]:
        yield audit.entry(ACTOR, action, "test", 1)
        raise Rerun

    with pytest.raises(ConflictError, match="kept changing"):
        run_alone(async_database.run(program))
    with session_scope() as db, pytest.raises(ConflictError, match="kept changing"):
        run_in(db, program)

    assert _audited(action) == 0


@pytest.mark.postgres
def test_a_program_whose_connection_dies_runs_again_once_on_another() -> None:
    action = f"stale-{uuid.uuid4().hex[:8]}"
    backends: list[int] = []

    def program() -> Program[None]:
        (backend,) = yield BACKEND, {}
        backends.append(backend["pid"])
        if len(backends) == 1:
            terminate(backend["pid"])  # between two statements of the first run
        yield audit.entry(ACTOR, action, "test", 1)
        yield BACKEND, {}

    async def scenario() -> None:
        async with async_database.serving():
            await async_database.run(program)

    run_alone(scenario())

    assert len(backends) == 2
    assert backends[0] != backends[1]
    assert _audited(action) == 1


def test_a_program_with_no_statements_returns_its_value() -> None:
    def nothing() -> Program[int]:
        if False:
            yield select(literal_column("1", Integer)), {}
        return 7

    assert run_alone(async_database.run(nothing)) == 7
    assert _on_the_engine(nothing()) == 7


def _audits_between_reads(action: str, n: int) -> Program[int]:
    (backend,) = yield BACKEND, {}
    yield audit.entry(ACTOR, action, "test", n)  # returns nothing: goes with the next read
    yield BACKEND, {}
    return int(backend["pid"])


@pytest.mark.postgres
def test_a_write_that_returns_nothing_goes_with_the_next_statement() -> None:
    action = f"batched-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[list[str]]:
        async with async_database.serving():
            await async_database.run(lambda: _audits_between_reads(action, 0))  # prepares
            with round_trips() as sent:
                await async_database.run(lambda: _audits_between_reads(action, 1))
            # a connection new to a statement prepares it first, alone
            return [message.split(";") for message in sent if not message.startswith("PREPARE")]

    messages = run_alone(scenario())

    assert [[part.split("(")[0].split()[0] for part in message] for message in messages] == [
        ["BEGIN", "EXECUTE"],
        ["EXECUTE", "EXECUTE"],
        ["COMMIT"],
    ]
    assert _audited(action) == 2


@pytest.mark.postgres
def test_a_pooled_connection_runs_programs_after_refusals_rolled_back() -> None:
    action = f"pooled-{uuid.uuid4().hex[:8]}"
    refused = f"pooled-no-{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[int]:
        backends = []
        async with async_database.serving():
            for n in range(3):
                program = partial(_audits_between_reads, action, n)
                backends.append(await async_database.run(program))
                with pytest.raises(InvalidRequestError):  # rolled back after its first write
                    await async_database.run(lambda: _writes_then_refuses(refused))
        return backends

    backends = run_alone(scenario())

    assert len(set(backends)) == 1  # one connection, its statements prepared once
    assert _audited(action) == 3
    assert _audited(refused) == 0


def test_a_violation_a_statement_reruns_on_runs_the_program_again_on_either_path() -> None:
    action = f"violated-{uuid.uuid4().hex[:8]}"
    product = make_priced_product(f"RERUN-{uuid.uuid4().hex[:8]}")
    reprice = update(Product).where(Product.id == bindparam("product_id"))
    reprice = reprice.values(price=bindparam("price"))

    def program(runs: list[str], path: str, rerun: bool = True) -> Program[int]:
        runs.append(path)
        yield audit.entry(ACTOR, action, "test", len(runs))
        price = Decimal(-1) if runs.count(path) == 1 else Decimal("2.50")
        statement = rerun_on(reprice, "ck_products_money_nonnegative") if rerun else reprice
        yield statement, {"product_id": product, "price": price}  # sent with the commit
        return runs.count(path)

    runs: list[str] = []
    assert run_alone(async_database.run(lambda: program(runs, "async"))) == 2
    with session_scope() as db:
        assert run_in(db, lambda: program(runs, "session")) == 2
    with pytest.raises((psycopg.IntegrityError, IntegrityError)):  # not declared: refused
        run_alone(async_database.run(lambda: program([], "async", rerun=False)))

    assert _audited(action) == 2
