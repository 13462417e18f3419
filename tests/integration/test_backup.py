"""``scripts/backup.sh``: back up, verify and restore as operators do, in a real process on this
run's test database (pg_dump and psql on PostgreSQL), with the backups, uploads and logs in a
scratch folder."""

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import DBAPIError

from app.core import migrations
from app.core.database import Base, engine, session_scope
from app.models.catalog import Product
from app.models.sales import Customer
from app.schemas.catalog import ProductCreate, WarehouseCreate
from app.services import catalog, customers, stock
from app.services.audit import Actor
from app.services.stock import MovementContext, ReceiptLine
from tests.conftest import ROOT, USE_POSTGRES
from tests.integration.clusters import private_postgres
from tests.support.servers import COMMAND_TIMEOUT, error_lines, run_dfims

SCRIPT = ROOT / "scripts" / "backup.sh"
ACTOR = Actor(user_id=None, label="backup-tests")
ARCHIVE_NAME = re.compile(r"^db_backup_(\d{8}_\d{6})\.sql\.gz$")
SAFETY_LINE = re.compile(r"^Safety backup of the previous state: (.+)$", re.MULTILINE)
STAMP_FORMAT = "%Y%m%d_%H%M%S"
RETENTION_DAYS = 7
DAY = 24 * 60 * 60
LEDGER_TRIGGERS = (
    {"stock_movements_append_only"}
    if USE_POSTGRES
    else {"stock_movements_no_update", "stock_movements_no_delete"}
)
UPLOADED = {
    "products/5f3c2a9e.png": b"\x89PNG\r\n\x1a\n" + b"dates picture" * 40,
    "lots/0b7d41c2.pdf": b"%PDF-1.4\n" + b"certificate of origin\n" * 30,
}
Rows = dict[str, list[tuple[Any, ...]]]


# -- running the script ------------------------------------------------------------------------


@dataclass(frozen=True)
class Backups:
    """The folders one test's backups, uploads and logs live in, and the script's environment."""

    root: Path
    uploads: Path
    logs: Path
    env: dict[str, str]

    @property
    def database(self) -> Path:
        return self.root / "database"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics" / "dfims_backup.prom"

    def archives(self) -> list[Path]:
        """The database archives, oldest first."""
        return sorted(self.database.glob("db_backup_*.sql.gz"))

    def files(self) -> list[Path]:
        """Every file under the backup folder."""
        return sorted(path for path in self.root.rglob("*") if path.is_file())


def make_backups(folder: Path, env: Mapping[str, str]) -> Backups:
    """Backups, uploads and logs under ``folder``; ``env`` with those folders set."""
    root, uploads, logs = folder / "backups", folder / "uploads", folder / "logs"
    return Backups(
        root,
        uploads,
        logs,
        {**env, "BACKUP_DIR": str(root), "UPLOAD_DIR": str(uploads), "LOG_DIR": str(logs)},
    )


@pytest.fixture
def backups(tmp_path: Path, test_env: dict[str, str]) -> Backups:
    """Empty backup, upload and log folders of this test."""
    return make_backups(tmp_path, test_env)


def run_script(
    env: dict[str, str], *args: str, answer: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/backup.sh ARGS`` to completion; ``answer`` is typed on its stdin."""
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        input=answer,
        stdin=subprocess.DEVNULL if answer is None else None,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def run_together(
    env: dict[str, str], *commands: list[str]
) -> list[subprocess.CompletedProcess[str]]:
    """Run the script once per argument list, all at the same time."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(lambda args: run_script(env, *args), commands))


def restore(
    backups: Backups, archive: Path, *args: str, answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``--restore ARCHIVE ARGS``; this process lets go of its pooled connections around it,
    since a restore replaces the database under them."""
    engine.dispose()
    try:
        return run_script(backups.env, "--restore", str(archive), *args, answer=answer)
    finally:
        engine.dispose()


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    """The script succeeded without complaint; its stdout."""
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert error_lines(result) == []
    return result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The script exited with ``code`` and exactly one ``error:`` line on stderr; that line."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def back_up(backups: Backups, *args: str) -> Path:
    """Run a backup that must succeed; the database archive it wrote."""
    before = set(backups.archives())
    assert_ok(run_script(backups.env, *args))
    (archive,) = set(backups.archives()) - before
    return archive


# -- what the files hold -----------------------------------------------------------------------


def manifest_of(archive: Path) -> dict[str, Any]:
    """The manifest beside ``archive``, as written."""
    path = archive.with_name(archive.name.removesuffix(".sql.gz") + ".manifest.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_manifest(archive: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest beside ``archive``."""
    path = archive.with_name(archive.name.removesuffix(".sql.gz") + ".manifest.json")
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def stamp_of(archive: Path) -> str:
    """The YYYYMMDD_HHMMSS of a database archive, whose name must have the pattern."""
    match = ARCHIVE_NAME.match(archive.name)
    assert match, archive.name
    return match.group(1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path, with its content."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def tar_files(archive: Path) -> dict[str, bytes]:
    """The files in a .tar.gz by member name, with their content."""
    files = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[member.name] = extracted.read()
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path -> content) under ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def metrics(backups: Backups) -> dict[str, float]:
    """The samples of the textfile metric, parsed as node-exporter would."""
    families = text_string_to_metric_families(backups.metrics.read_text(encoding="utf-8"))
    return {sample.name: sample.value for family in families for sample in family.samples}


def flip_middle(path: Path) -> None:
    """Corrupt 16 bytes in the middle of ``path``."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(byte ^ 0xFF for byte in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def break_deflate(path: Path) -> None:
    """Corrupt the compressed stream of ``path`` where the decoder itself notices (not only the
    CRC at the end): give its first block the reserved block type, which every inflater
    refuses, whatever the data."""
    data = bytearray(path.read_bytes())
    data[deflate_start(data)] |= 0b110  # BTYPE, bits 1-2 of the block header: 11 is reserved
    with pytest.raises(zlib.error):
        gzip.decompress(bytes(data))
    path.write_bytes(bytes(data))


def deflate_start(data: bytes) -> int:
    """Where the deflate stream of the gzip member ``data`` starts, past its header (RFC 1952)."""
    flags, position = data[3], 10
    if flags & 0x04:  # FEXTRA: a length, then the field
        position += 2 + int.from_bytes(data[position : position + 2], "little")
    for flag in (0x08, 0x10):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            position = data.index(0, position) + 1
    if flags & 0x02:  # FHCRC
        position += 2
    return position


def truncate(path: Path) -> None:
    """Cut ``path`` to two thirds of its length, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def reseal(archive: Path) -> None:
    """Make the manifest's checksum and size match the archive as it now is."""
    manifest = manifest_of(archive)
    manifest.update(sha256=sha256(archive), size_bytes=archive.stat().st_size)
    write_manifest(archive, manifest)


# -- the database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A warehouse, two products with stock and two customers."""

    warehouse: int
    dates: int
    figs: int
    dates_lot: int
    customer: int


def make_sample() -> Sample:
    """Commit the sample through the services."""
    with session_scope() as db:
        warehouse = catalog.warehouses.create(
            db, ACTOR, WarehouseCreate(code="MAIN", name="Main").model_dump()
        ).id
        dates, figs = (
            catalog.create_product(
                db, ACTOR, ProductCreate(sku=sku, name=f"Product {sku}").model_dump()
            ).id
            for sku in ("DATES", "FIGS")
        )
        customer = customers.create_customer(db, ACTOR, {"name": "Souk Traders"}).id
        customers.create_customer(db, ACTOR, {"name": "Oasis Deli"})
        context = MovementContext(actor=ACTOR, reference="PO-1")
        best_before = date.today() + timedelta(days=200)
        lots = [
            stock.receive(
                db,
                context,
                ReceiptLine(
                    product_id=product,
                    warehouse_id=warehouse,
                    lot_code=code,
                    quantity=Decimal(quantity),
                    best_before=best_before,
                ),
            ).lot_id
            for product, code, quantity in ((dates, "DATES-1", 50), (figs, "FIGS-1", 20))
        ]
    return Sample(warehouse, dates, figs, lots[0], customer)


def change_sample(sample: Sample) -> None:
    """Rename a product, delete a customer row and write off stock (a new movement)."""
    with session_scope() as db:
        product = db.get(Product, sample.dates)
        assert product is not None
        catalog.update_product(db, ACTOR, product, {"name": "Medjool dates, renamed"})
        db.execute(delete(Customer).where(Customer.id == sample.customer))
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="torn bag"),
            product_id=sample.dates,
            lot_id=sample.dates_lot,
            warehouse_id=sample.warehouse,
            quantity=Decimal(5),
        )


def contents() -> Rows:
    """Every row of every table (the schema revision too), in primary-key order."""
    with engine.connect() as connection:
        rows: Rows = {
            table.name: [
                tuple(row)
                for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).all()
            ]
            for table in Base.metadata.sorted_tables
        }
        version = connection.execute(text("SELECT version_num FROM alembic_version"))
        rows["alembic_version"] = [tuple(row) for row in version.all()]
    return rows


def row_counts() -> dict[str, int]:
    """``SELECT count(*)`` of every table in the database."""
    with engine.connect() as connection:
        return {
            name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in inspect(connection).get_table_names()
        }


def ledger_triggers() -> set[str]:
    """The triggers on stock_movements, as the database lists them."""
    with engine.connect() as connection:
        if USE_POSTGRES:
            query = (
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = 'stock_movements'::regclass AND NOT tgisinternal"
            )
        else:
            query = (
                "SELECT name FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'stock_movements'"
            )
        return set(connection.execute(text(query)).scalars())


def assert_ledger_guarded() -> None:
    """The append-only triggers exist and refuse to rewrite a movement."""
    assert ledger_triggers() == LEDGER_TRIGGERS
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE stock_movements SET quantity = quantity + 1"))


# -- a backup to verify and tamper with --------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Backups:
    """One backup of the (empty, migrated) test database, taken once for this module."""
    made = make_backups(tmp_path_factory.mktemp("pristine"), os.environ)
    back_up(made, "--skip-logs")
    return made


@pytest.fixture
def taken(backups: Backups, pristine: Backups) -> Path:
    """A copy of the module's backup in this test's folder; its database archive."""
    shutil.copytree(pristine.root, backups.root)
    (archive,) = backups.archives()
    return archive


# -- taking a backup ---------------------------------------------------------------------------


def test_backup_writes_database_manifest_uploads_logs_and_metric(backups: Backups) -> None:
    make_sample()
    write_files(backups.uploads, UPLOADED)
    write_files(backups.logs, {"dfims.log": b'{"event": "started"}\n'})

    started = time.time()
    output = assert_ok(run_script(backups.env))
    finished = time.time()

    (archive,) = backups.archives()
    stamp = stamp_of(archive)
    taken_at = datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    assert int(started) <= taken_at <= finished
    assert str(archive) in output
    assert "Backup complete" in output

    manifest = manifest_of(archive)
    assert manifest["file"] == archive.name
    assert manifest["sha256"] == sha256(archive)
    assert manifest["size_bytes"] == archive.stat().st_size
    assert manifest["revision"] == migrations.head_revision()
    assert manifest["dialect"] == ("postgresql" if USE_POSTGRES else "sqlite")
    assert manifest["tables"] == row_counts()
    assert manifest["tables"]["products"] == 2
    assert manifest["tables"]["stock_movements"] == 2
    with gzip.open(archive, "rt", encoding="utf-8") as stream:
        dump = stream.read()
    assert "stock_movements" in dump
    assert "Souk Traders" in dump

    uploads = backups.root / "uploads" / f"uploads_{stamp}.tar.gz"
    assert tar_files(uploads) == {f"uploads/{name}": data for name, data in UPLOADED.items()}
    logs = backups.root / "logs" / f"logs_{stamp}.tar.gz"
    assert tar_files(logs) == {"logs/dfims.log": b'{"event": "started"}\n'}
    manifest_file = archive.with_name(f"db_backup_{stamp}.manifest.json")
    assert backups.files() == sorted([archive, manifest_file, uploads, logs, backups.metrics])

    values = metrics(backups)
    assert started <= values["dfims_backup_last_success_timestamp_seconds"] <= finished
    assert values["dfims_backup_last_size_bytes"] == manifest["size_bytes"]
    assert values["dfims_backup_last_duration_seconds"] >= 0
    assert "dfims_backup_last_failure_timestamp_seconds" not in values


def test_retention_removes_old_backups_unless_skipped(backups: Backups) -> None:
    backups.env["BACKUP_RETENTION_DAYS"] = str(RETENTION_DAYS)
    write_files(backups.uploads, UPLOADED)
    write_files(backups.logs, {"dfims.log": b"a line\n"})
    now = time.time()

    def plant(stamp: str, age_days: float) -> list[Path]:
        names = [
            f"database/db_backup_{stamp}.sql.gz",
            f"database/db_backup_{stamp}.manifest.json",
            f"uploads/uploads_{stamp}.tar.gz",
            f"logs/logs_{stamp}.tar.gz",
        ]
        write_files(backups.root, dict.fromkeys(names, b"an old backup"))
        for name in names:
            os.utime(backups.root / name, (now - age_days * DAY, now - age_days * DAY))
        return [backups.root / name for name in names]

    old = plant("20200101_020000", RETENTION_DAYS + 1)
    recent = plant("20200108_020000", RETENTION_DAYS - 1)

    kept = run_script(backups.env, "--skip-cleanup", "--skip-logs")
    assert "Removed" not in assert_ok(kept)
    assert all(path.is_file() for path in old + recent)
    first = stamp_of(backups.archives()[-1])
    assert (backups.root / "uploads" / f"uploads_{first}.tar.gz").is_file()
    assert not (backups.root / "logs" / f"logs_{first}.tar.gz").exists()  # --skip-logs

    cleaned = assert_ok(run_script(backups.env))
    assert "Removed 4 backup file(s) past the retention period." in cleaned
    assert not any(path.exists() for path in old)
    assert all(path.is_file() for path in recent)
    archives = backups.archives()
    assert [stamp_of(archive) for archive in archives][:2] == ["20200108_020000", first]
    assert len(archives) == 3
    assert (backups.root / "logs" / f"logs_{stamp_of(archives[-1])}.tar.gz").is_file()


# -- restoring ---------------------------------------------------------------------------------


def test_restore_brings_data_and_uploads_back_and_keeps_a_safety_backup(
    backups: Backups,
) -> None:
    sample = make_sample()
    write_files(backups.uploads, UPLOADED)
    archive = back_up(backups)
    before = contents()
    change_sample(sample)
    (backups.uploads / "products/5f3c2a9e.png").unlink()
    (backups.uploads / "lots/0b7d41c2.pdf").write_bytes(b"%PDF-1.4\nreplaced\n")
    write_files(backups.uploads, {"products/new.png": b"\x89PNG\r\n\x1a\nnew"})
    changed, changed_counts, changed_uploads = contents(), row_counts(), tree(backups.uploads)
    assert changed["products"] != before["products"]
    assert len(changed["customers"]) == len(before["customers"]) - 1
    assert len(changed["stock_movements"]) == len(before["stock_movements"]) + 1

    output = assert_ok(restore(backups, archive, "--with-uploads", "--yes"))

    assert contents() == before
    assert tree(backups.uploads) == UPLOADED
    assert_ledger_guarded()
    assert f"Restored {archive.name}" in output
    assert "Health check passed." in output
    match = SAFETY_LINE.search(output)
    assert match, output
    safety = Path(match.group(1))
    assert safety in backups.archives()
    assert safety != archive
    assert manifest_of(safety)["tables"] == changed_counts
    safety_uploads = backups.root / "uploads" / f"uploads_{stamp_of(safety)}.tar.gz"
    assert tar_files(safety_uploads) == {
        f"uploads/{name}": data for name, data in changed_uploads.items()
    }

    assert_ok(restore(backups, safety, "--yes"))

    assert contents() == changed
    assert tree(backups.uploads) == UPLOADED  # left alone without --with-uploads
    assert_ledger_guarded()
    with session_scope() as db:  # new rows still get fresh keys (sequences came back too)
        added = catalog.create_product(
            db, ACTOR, ProductCreate(sku="APRICOTS", name="Apricots").model_dump()
        ).id
    assert added > max(sample.dates, sample.figs)


def test_a_process_connected_during_the_restore_sees_the_restored_data(
    backups: Backups, taken: Path
) -> None:
    make_sample()
    assert contents()["products"]
    try:
        # the pool of this process stays connected, as a running service's does
        assert_ok(run_script(backups.env, "--restore", str(taken), "--yes"))
        seen = contents()
    finally:
        engine.dispose()

    assert seen == contents()  # what a fresh connection reads: the backup's (empty) tables
    assert seen["products"] == []


def test_restore_refuses_a_missing_file_and_changes_nothing(backups: Backups) -> None:
    make_sample()
    before = contents()
    missing = backups.database / "db_backup_20200101_020000.sql.gz"

    line = assert_one_line_error(restore(backups, missing, "--yes"))

    assert str(missing) in line
    assert contents() == before
    assert backups.files() == []


def test_restore_refuses_a_corrupted_archive_and_changes_nothing(
    backups: Backups, taken: Path
) -> None:
    make_sample()
    before = contents()
    flip_middle(taken)
    files = backups.files()

    line = assert_one_line_error(restore(backups, taken, "--yes"))

    assert taken.name in line
    assert "sha256" in line
    assert contents() == before
    assert backups.files() == files
    assert_ledger_guarded()


def test_restore_answered_no_changes_nothing(backups: Backups, taken: Path) -> None:
    make_sample()
    before = contents()
    files = backups.files()

    result = restore(backups, taken, answer="n\n")

    line = assert_one_line_error(result)
    assert "cancelled" in line
    assert f"Replace the database with {taken.name}?" in result.stdout
    assert contents() == before
    assert backups.files() == files


# -- verifying ---------------------------------------------------------------------------------


def test_verify_accepts_a_good_backup_the_newest_by_default(backups: Backups) -> None:
    make_sample()
    archive = back_up(backups, "--skip-logs")
    older = archive.with_name("db_backup_20200101_020000.sql.gz")
    shutil.copyfile(archive, older)
    write_manifest(older, manifest_of(archive) | {"file": older.name})

    newest, named = run_together(backups.env, ["--verify"], ["--verify", str(older)])

    tables = len(manifest_of(archive)["tables"])
    checked = f"checksum good, restores with the row counts of its manifest ({tables} tables"
    assert assert_ok(newest).startswith(f"{archive.name}: {checked}")
    assert assert_ok(named).startswith(f"{older.name}: {checked}")


@pytest.mark.parametrize(
    ("damage", "complaint"),
    [
        pytest.param([flip_middle], "sha256", id="flipped"),
        pytest.param([truncate, reseal], "not a complete gzip archive", id="truncated-resealed"),
        pytest.param(
            [break_deflate, reseal], "not a complete gzip archive", id="broken-stream-resealed"
        ),
    ],
)
def test_verify_refuses_a_damaged_archive(
    backups: Backups, taken: Path, damage: list[Callable[[Path], None]], complaint: str
) -> None:
    for step in damage:
        step(taken)

    line = assert_one_line_error(run_script(backups.env, "--verify"))

    assert taken.name in line
    assert complaint in line
    assert "unexpected" not in line


def test_verify_names_the_table_whose_row_count_was_edited(backups: Backups, taken: Path) -> None:
    manifest = manifest_of(taken)
    manifest["tables"]["products"] += 3
    write_manifest(taken, manifest)

    line = assert_one_line_error(run_script(backups.env, "--verify", str(taken)))

    assert "products: 0 rows, manifest says 3" in line


def test_verify_takes_a_file_relative_to_the_working_directory(
    backups: Backups, taken: Path
) -> None:
    result = run_script(backups.env, "--verify", taken.name, cwd=taken.parent)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{taken.name}: checksum good")


# -- a server named in the URL's query string ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.system
def test_backup_verify_and_restore_reach_a_server_named_in_the_url_query(
    backups: Backups,
) -> None:
    with private_postgres(socket_only=True) as cluster:
        backups.env["DATABASE_URL"] = cluster.url  # ...@/dfims?host=<socket folder>&port=<port>
        assert_ok(run_dfims(backups.env, "db", "upgrade"))
        with cluster.connect() as connection:
            connection.execute("CREATE TABLE socket_probe (note text)")
            connection.execute("INSERT INTO socket_probe VALUES ('only on the socket')")

        archive = back_up(backups, "--skip-logs")
        with gzip.open(archive, "rt", encoding="utf-8") as stream:
            assert "only on the socket" in stream.read()
        assert manifest_of(archive)["tables"]["socket_probe"] == 1
        assert_ok(run_script(backups.env, "--verify", str(archive)))
        with cluster.connect() as connection:
            connection.execute("DELETE FROM socket_probe")
        assert_ok(run_script(backups.env, "--restore", str(archive), "--yes"))

        with cluster.connect() as connection:
            rows = connection.execute("SELECT note FROM socket_probe").fetchall()
    assert rows == [("only on the socket",)]


# -- failures ----------------------------------------------------------------------------------


def test_backup_with_the_database_down_fails_cleanly(backups: Backups, tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "dfims.db"
    backups.env["DATABASE_URL"] = (
        "postgresql+psycopg://postgres@127.0.0.1:1/dfims"
        if USE_POSTGRES
        else f"sqlite:///{missing}"
    )

    started = time.time()
    line = assert_one_line_error(run_script(backups.env))
    finished = time.time()

    assert "database" in line.lower()
    assert not backups.database.exists() or list(backups.database.iterdir()) == []
    assert not missing.exists()
    values = metrics(backups)
    assert started <= values["dfims_backup_last_failure_timestamp_seconds"] <= finished
    assert "dfims_backup_last_success_timestamp_seconds" not in values


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        pytest.param(["--bogus"], "unknown option --bogus", id="unknown"),
        pytest.param(["--skip-logs", "--frobnicate"], "unknown option --frobnicate", id="later"),
        pytest.param(["--restore"], "--restore needs the backup file", id="restore-no-file"),
        pytest.param(["--restore", "--yes"], "--restore needs the backup file", id="restore-opt"),
    ],
)
def test_bad_arguments_exit_2(backups: Backups, args: list[str], complaint: str) -> None:
    line = assert_one_line_error(run_script(backups.env, *args), code=2)

    assert complaint in line
    assert not backups.root.exists()


def test_help_prints_usage(backups: Backups) -> None:
    output = assert_ok(run_script(backups.env, "--help"))

    assert "scripts/backup.sh --verify [FILE]" in output
    assert "scripts/backup.sh --restore FILE [--with-uploads] [--yes]" in output
    assert "--skip-logs --skip-cleanup" in output
    assert not backups.root.exists()
