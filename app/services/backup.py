"""Backups of the database, uploads and logs: take, verify, restore, expire.

A database backup is plain SQL, gzipped (``pg_dump`` on PostgreSQL, the online backup API and
``iterdump`` on SQLite), with a manifest beside it: its sha256, size, schema revision and the
row count of every table, read in the same snapshot as the dump. Files are written under a
temporary name and renamed when complete, so a final name never holds a partial backup.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import pq
from psycopg.conninfo import make_conninfo
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool

from app.core import clock, problem_types
from app.core.config import PROJECT_ROOT, Settings
from app.core.errors import DomainError

STAMP_FORMAT = "%Y%m%d_%H%M%S"
DATABASE_PREFIX = "db_backup_"
METRICS_FILE = "dfims_backup.prom"
# Replacing the schema drops pg_stat_statements' view; this puts back the guide's column names.
PG_STAT_STATEMENTS_COMPAT = PROJECT_ROOT / "scripts/postgres/20-pg-stat-statements-compat.sql"
REPLACE_SCHEMA = b"SET lock_timeout = '30s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
CHUNK = 1024 * 1024


class BackupError(DomainError):
    """A backup, verification or restore that could not be done."""

    problem = problem_types.BACKUP_FAILED


@dataclass(frozen=True)
class Manifest:
    """What a database backup holds, written beside it."""

    file: str
    sha256: str
    size_bytes: int
    created_at: str
    dialect: str
    revision: str | None
    tables: dict[str, int]

    @classmethod
    def read(cls, archive: Path) -> "Manifest":
        """The manifest of ``archive``, or a BackupError when it is missing or unreadable."""
        path = manifest_path(archive)
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise BackupError(f"No manifest beside {archive.name} ({path.name}).") from exc
        except (ValueError, TypeError) as exc:
            raise BackupError(f"The manifest {path.name} is not readable: {exc}") from exc


@dataclass(frozen=True)
class BackupResult:
    """The files one backup run wrote and the old ones it removed."""

    database: Path
    manifest: Manifest
    uploads: Path | None
    logs: Path | None
    removed: list[Path]
    seconds: float


@dataclass(frozen=True)
class Folders:
    """Where backups go."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "database"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics" / METRICS_FILE


def manifest_path(archive: Path) -> Path:
    """The manifest beside a database archive."""
    return archive.with_name(archive.name.removesuffix(".sql.gz") + ".manifest.json")


def backup(
    settings: Settings, *, skip_logs: bool = False, skip_cleanup: bool = False
) -> BackupResult:
    """Back up the database, the uploads and (unless skipped) the logs; expire old backups."""
    started = time.monotonic()
    folders = Folders(settings.BACKUP_DIR)
    stamp = _free_stamp(folders)
    try:
        archive, manifest = dump_database(settings.DATABASE_URL, folders.database, stamp)
        uploads = _archive_folder(settings.UPLOAD_DIR, folders.uploads, f"uploads_{stamp}")
        logs = (
            None if skip_logs else _archive_folder(settings.LOG_DIR, folders.logs, f"logs_{stamp}")
        )
        removed = [] if skip_cleanup else cleanup(folders, settings.BACKUP_RETENTION_DAYS)
    except Exception:
        _write_metrics(folders, success=False)
        raise
    seconds = time.monotonic() - started
    _write_metrics(folders, success=True, size=manifest.size_bytes, seconds=seconds)
    return BackupResult(archive, manifest, uploads, logs, removed, seconds)


def dump_database(database_url: str, folder: Path, stamp: str) -> tuple[Path, Manifest]:
    """Write ``db_backup_<stamp>.sql.gz`` and its manifest into ``folder``."""
    url = make_url(database_url)
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / f"{DATABASE_PREFIX}{stamp}.sql.gz"
    with _partial(archive) as temporary:
        if url.get_backend_name() == "postgresql":
            tables, revision = _dump_postgres(url, temporary)
        elif url.get_backend_name() == "sqlite":
            tables, revision = _dump_sqlite(url, temporary)
        else:
            raise BackupError(f"Cannot back up a {url.get_backend_name()} database.")
    manifest = Manifest(
        file=archive.name,
        sha256=_sha256(archive),
        size_bytes=archive.stat().st_size,
        created_at=clock.utcnow().isoformat(timespec="seconds"),
        dialect=url.get_backend_name(),
        revision=revision,
        tables=tables,
    )
    with _partial(manifest_path(archive)) as temporary:
        temporary.write_text(json.dumps(manifest.__dict__, indent=2) + "\n", encoding="utf-8")
    return archive, manifest


def newest(settings: Settings) -> Path:
    """The newest database backup, or a BackupError when there is none."""
    found = sorted(Folders(settings.BACKUP_DIR).database.glob(f"{DATABASE_PREFIX}*.sql.gz"))
    if not found:
        raise BackupError(f"No database backup in {Folders(settings.BACKUP_DIR).database}.")
    return found[-1]


def check_archive(archive: Path) -> Manifest:
    """Check that ``archive`` exists, matches its manifest's checksum and decompresses whole."""
    if not archive.is_file():
        raise BackupError(f"No backup file {archive}.")
    manifest = Manifest.read(archive)
    actual = _sha256(archive)
    if actual != manifest.sha256:
        raise BackupError(
            f"{archive.name}: sha256 {actual} does not match the manifest ({manifest.sha256})."
        )
    try:
        with gzip.open(archive, "rb") as stream:
            while stream.read(CHUNK):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive.name} is not a complete gzip archive: {exc}") from exc
    return manifest


def verify(settings: Settings, archive: Path | None = None) -> tuple[Path, Manifest]:
    """Check an archive, restore it into a scratch database and compare every row count."""
    archive = archive or newest(settings)
    manifest = check_archive(archive)
    url = make_url(settings.DATABASE_URL)
    with _scratch_database(url) as scratch:
        _load(scratch, archive)
        counts = _row_counts(scratch)
    differences = {
        table: (expected, counts.get(table))
        for table, expected in manifest.tables.items()
        if counts.get(table) != expected
    }
    if differences:
        described = ", ".join(
            f"{table}: {found} rows, manifest says {expected}"
            for table, (expected, found) in sorted(differences.items())
        )
        raise BackupError(f"{archive.name} restores differently: {described}.")
    return archive, manifest


def restore(
    settings: Settings, archive: Path, *, with_uploads: bool = False
) -> tuple[Manifest, BackupResult]:
    """Restore the database (and the uploads) from ``archive``, after a safety backup.

    The archive is checked first; nothing changes when it fails. The restored database must
    then hold the row counts of the manifest.
    """
    manifest = check_archive(archive)
    url = make_url(settings.DATABASE_URL)
    if manifest.dialect != url.get_backend_name():
        raise BackupError(
            f"{archive.name} is a {manifest.dialect} backup; this service runs on "
            f"{url.get_backend_name()}."
        )
    uploads = _uploads_of(archive) if with_uploads else None
    if with_uploads and uploads is None:
        raise BackupError(f"No uploads archive was taken with {archive.name}.")
    safety = backup(settings, skip_logs=True, skip_cleanup=True)
    if url.get_backend_name() == "postgresql":
        _load(url, archive, replace=True)
    else:
        _replace_sqlite(url, archive)
    if uploads is not None:
        _replace_folder(uploads, settings.UPLOAD_DIR)
    counts = _row_counts(url)
    wrong = [table for table, rows in manifest.tables.items() if counts.get(table) != rows]
    if wrong:
        raise BackupError(
            f"The restored database does not match the manifest for {', '.join(wrong)}; "
            f"the state before the restore is in {safety.database.name}."
        )
    return manifest, safety


def cleanup(folders: Folders, days: int, now: datetime | None = None) -> list[Path]:
    """Remove backups (and their manifests) older than ``days``."""
    limit = (now or clock.utcnow()) - timedelta(days=days)
    removed = []
    for folder in (folders.database, folders.uploads, folders.logs):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if path.is_file() and modified < limit:
                path.unlink()
                removed.append(path)
    return removed


# -- PostgreSQL ---------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """Every libpq parameter of ``url`` (its query string's too) as the connection string of
    pg_dump and psql, and their environment, which carries the password."""
    _, params = url.get_dialect()().create_connect_args(url)
    keywords = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    libpq = {key: str(value) for key, value in params.items() if key in keywords}
    env = dict(os.environ)
    if (password := libpq.pop("password", None)) is not None:
        env["PGPASSWORD"] = password
    return make_conninfo(**libpq), env


def _dump_postgres(url: URL, target: Path) -> tuple[dict[str, int], str | None]:
    """pg_dump in the snapshot the row counts were read in."""
    engine = create_engine(url, isolation_level="REPEATABLE READ", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = _count_tables(connection)
            revision = _revision(connection)
            conninfo, env = _libpq(url)
            command = ["pg_dump", f"--dbname={conninfo}", f"--snapshot={snapshot}"]
            command += ["--no-owner", "--no-privileges"]
            _run_to_gzip(command, env, target)
    except OSError as exc:
        raise BackupError(f"Cannot run pg_dump: {exc}") from exc
    except Exception as exc:
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"Cannot read the database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return tables, revision


def _run_to_gzip(command: list[str], env: dict[str, str], target: Path) -> None:
    with gzip.open(target, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 (a fixed pg_dump argv, no shell)
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None
        while chunk := process.stdout.read(CHUNK):
            out.write(chunk)
        _, errors = process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{command[0]} failed: {_first_line(errors.decode(errors='replace'))}")


def _load(url: URL, archive: Path, *, replace: bool = False) -> None:
    """Run the SQL of ``archive`` against ``url`` in one transaction (psql or sqlite3)."""
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or ":memory:")
        try:
            with gzip.open(archive, "rt", encoding="utf-8") as stream:
                connection.executescript(stream.read())
        except sqlite3.Error as exc:
            raise BackupError(f"{archive.name} does not load: {exc}") from exc
        finally:
            connection.close()
        return
    prologue, epilogue = b"", b""
    if replace:
        prologue = REPLACE_SCHEMA
        if PG_STAT_STATEMENTS_COMPAT.is_file():
            epilogue = PG_STAT_STATEMENTS_COMPAT.read_bytes()
    conninfo, env = _libpq(url)
    command = ["psql", f"--dbname={conninfo}", "--quiet", "--no-psqlrc", "--single-transaction"]
    command += ["-v", "ON_ERROR_STOP=1"]
    try:
        process = subprocess.Popen(  # noqa: S603 (a fixed psql argv, no shell)
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise BackupError(f"Cannot run psql: {exc}") from exc
    assert process.stdin is not None
    try:
        process.stdin.write(prologue)
        with gzip.open(archive, "rb") as stream:
            while chunk := stream.read(CHUNK):
                process.stdin.write(chunk)
        process.stdin.write(epilogue)
        process.stdin.close()
    except BrokenPipeError:
        pass
    errors = process.stderr.read() if process.stderr else b""
    if process.wait() != 0:
        raise BackupError(f"psql failed: {_first_line(errors.decode(errors='replace'))}")


@contextmanager
def _scratch_database(url: URL) -> Iterator[URL]:
    """An empty database of the same kind to restore into, dropped afterwards."""
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dfims-verify-") as folder:
            yield make_url(f"sqlite:///{Path(folder) / 'verify.db'}")
        return
    name = f"dfims_verify_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BackupError(f"Cannot create a scratch database: {_first_line(exc)}") from exc
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- SQLite -------------------------------------------------------------------------------------


def _dump_sqlite(url: URL, target: Path) -> tuple[dict[str, int], str | None]:
    """Copy the live database with the online backup API, then dump the copy."""
    source_path = url.database
    if not source_path or not Path(source_path).is_file():
        raise BackupError(f"No SQLite database at {source_path}.")
    with tempfile.TemporaryDirectory(prefix="dfims-backup-") as folder:
        copy = Path(folder) / "copy.db"
        try:
            with sqlite3.connect(source_path) as source, sqlite3.connect(copy) as destination:
                source.execute("PRAGMA busy_timeout=10000")
                source.backup(destination)
            snapshot = sqlite3.connect(copy)
            with gzip.open(target, "wt", encoding="utf-8") as out:
                for statement in snapshot.iterdump():
                    out.write(statement + "\n")
            snapshot.close()
        except sqlite3.Error as exc:
            raise BackupError(f"Cannot read the SQLite database: {exc}") from exc
        copy_url = make_url(f"sqlite:///{copy}")
        return _contents(copy_url)


def _replace_sqlite(url: URL, archive: Path) -> None:
    """Build the restored database aside, then copy it into the live file with SQLite's
    backup API, so that connections already open see the restored data, not a stale file."""
    live = Path(url.database or "")
    live.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dfims-restore-", dir=live.parent) as folder:
        staged = Path(folder) / "restored.db"
        _load(make_url(f"sqlite:///{staged}"), archive)
        try:
            with sqlite3.connect(staged) as source, sqlite3.connect(live) as destination:
                destination.execute("PRAGMA busy_timeout=10000")
                source.backup(destination)
        except sqlite3.Error as exc:
            raise BackupError(f"Cannot write the restored database: {exc}") from exc


# -- shared -------------------------------------------------------------------------------------


def _row_counts(url: URL) -> dict[str, int]:
    return _contents(url)[0]


def _contents(url: URL) -> tuple[dict[str, int], str | None]:
    """The row count of every table and the schema revision of the database at ``url``."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _count_tables(connection), _revision(connection)
    finally:
        engine.dispose()


def _count_tables(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    value: Any = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _archive_folder(source: Path, folder: Path, name: str) -> Path | None:
    """``source`` as ``name``.tar.gz in ``folder`` (None when there is nothing to keep)."""
    if not source.is_dir():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / f"{name}.tar.gz"
    with _partial(archive) as temporary, tarfile.open(temporary, "w:gz") as tar:
        tar.add(source, arcname=source.name)
    return archive


def _uploads_of(archive: Path) -> Path | None:
    stamp = archive.name.removeprefix(DATABASE_PREFIX).removesuffix(".sql.gz")
    candidate = archive.parent.parent / "uploads" / f"uploads_{stamp}.tar.gz"
    return candidate if candidate.is_file() else None


def _replace_folder(archive: Path, target: Path) -> None:
    """Unpack an uploads archive and put it in place of ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=target.parent) as folder:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, members=_plain_members(tar, Path(folder)))  # noqa: S202 (members checked)
        unpacked = next(Path(folder).iterdir(), None)
        if unpacked is None:
            raise BackupError(f"{archive.name} is empty.")
        old = target.with_name(f".{target.name}.replaced")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        unpacked.rename(target)
        shutil.rmtree(old, ignore_errors=True)


def _plain_members(tar: tarfile.TarFile, folder: Path) -> list[tarfile.TarInfo]:
    """The archive's files and folders, refusing links, devices and paths that leave
    ``folder`` (what tarfile's "data" filter does, on every Python 3.11 release)."""
    root = folder.resolve()
    members = tar.getmembers()
    for member in members:
        inside = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not inside.is_relative_to(root):
            raise BackupError(f"{member.name} in the uploads archive is not a plain file.")
    return members


@contextmanager
def _partial(final: Path) -> Iterator[Path]:
    """A temporary path renamed to ``final`` only when the block completes."""
    temporary = final.with_name(f".{final.name}.partial")
    try:
        yield temporary
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def _free_stamp(folders: Folders) -> str:
    now = clock.utcnow()
    while True:
        stamp = now.strftime(STAMP_FORMAT)
        if not (folders.database / f"{DATABASE_PREFIX}{stamp}.sql.gz").exists():
            return stamp
        now += timedelta(seconds=1)


def _write_metrics(folders: Folders, *, success: bool, size: int = 0, seconds: float = 0) -> None:
    """The node-exporter textfile: when the last backup succeeded, its size and duration."""
    folders.metrics.parent.mkdir(parents=True, exist_ok=True)
    previous = _read_metrics(folders.metrics)
    now = time.time()
    values = dict(previous)
    if success:
        values["dfims_backup_last_success_timestamp_seconds"] = now
        values["dfims_backup_last_size_bytes"] = size
        values["dfims_backup_last_duration_seconds"] = round(seconds, 3)
    else:
        values["dfims_backup_last_failure_timestamp_seconds"] = now
    lines = []
    for name, value in sorted(values.items()):
        lines += [f"# TYPE {name} gauge", f"{name} {value}"]
    with _partial(folders.metrics) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _read_metrics(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            values[name] = float(value)
    return values


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(error: object) -> str:
    """The line that says what went wrong: the first ERROR or FATAL one, else the first."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return next((line for line in lines if re.search(r"\b(ERROR|FATAL):", line)), lines[0])
