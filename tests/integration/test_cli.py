"""The ``dfims`` command, run as operators run it: a process of its own on the test database
(forked from a parent that imported the project once; the usage errors through the installed
console script itself)."""

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import migrations
from app.core.clock import utcnow
from app.models.audit import AuditLog
from app.models.user import Role, User
from tests.conftest import (
    LONG_PASSWORD_LENGTHS,
    PASSWORD,
    MakeUser,
    bearer,
    login,
    long_password,
)
from tests.support.servers import (
    DFIMS,
    ROOT,
    error_lines,
    free_port,
    run_dfims,
    run_dfims_executable,
)

ADMIN_EMAIL = "ops.admin@example.com"
ADMIN_PASSWORD = "a long operator passphrase 42"
NEW_PASSWORD = "another long passphrase 77"


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    """The command succeeded without complaint; its stdout."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit 1 and exactly one ``error:`` line on stderr; that line."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def show(env: dict[str, str], email: str) -> dict[str, str]:
    """``dfims users show EMAIL`` as a label -> value mapping."""
    rows = {}
    for line in assert_ok(run_dfims(env, "users", "show", email)).splitlines():
        label, _, value = line.partition("  ")
        rows[label.strip()] = value.strip()
    return rows


def load_user(db: Session, email: str) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def login_status(client: TestClient, email: str, password: str) -> int:
    response = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    return response.status_code


# -- db ----------------------------------------------------------------------------------------


def test_db_current_and_upgrade_at_head(test_env: dict[str, str]) -> None:
    head = migrations.head_revision()
    assert head

    current = assert_ok(run_dfims(test_env, "db", "current"))
    assert current.strip() == f"{head} (up to date)"

    upgrade = assert_ok(run_dfims(test_env, "db", "upgrade"))
    assert upgrade.strip() == f"Database already at {head}."
    assert migrations.current_revision() == head


# -- users -------------------------------------------------------------------------------------


def test_create_admin_then_duplicate(
    test_env: dict[str, str], client: TestClient, db: Session
) -> None:
    created = assert_ok(
        run_dfims(
            test_env, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD
        )
    )
    user = load_user(db, ADMIN_EMAIL)
    assert user.role == Role.ADMIN.value
    assert user.is_active
    assert f"Created admin {ADMIN_EMAIL} (id {user.id})." in created
    token = login(client, ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]
    assert client.get("/api/v1/users/me", headers=bearer(token)).json()["role"] == "admin"

    again = run_dfims(
        test_env, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD
    )
    line = assert_one_line_error(again)
    assert "already exists" in line
    assert db.scalars(select(User).where(User.email == ADMIN_EMAIL)).all() == [user]


def test_create_admin_refuses_a_weak_password(test_env: dict[str, str], db: Session) -> None:
    result = run_dfims(
        test_env, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", "short"
    )
    assert "Password" in assert_one_line_error(result)
    assert db.scalar(select(User).where(User.email == ADMIN_EMAIL)) is None


def test_create_admin_without_password_or_terminal(test_env: dict[str, str]) -> None:
    result = run_dfims(test_env, "users", "create-admin", "--email", ADMIN_EMAIL)
    assert "--password" in assert_one_line_error(result)


def test_show_user(test_env: dict[str, str], client: TestClient, make_user: MakeUser) -> None:
    user = make_user(role=Role.MANAGER)
    never = show(test_env, user.email)
    assert never["last login"] == "never"
    assert never["open sessions"] == "0"

    login(client, user.email)
    assert login_status(client, user.email, "not the right password") == 401

    rows = show(test_env, user.email)
    assert rows["email"] == user.email
    assert rows["role"] == "manager"
    assert rows["active"] == "yes"
    assert rows["locked"] == "no"
    assert rows["failed attempts"] == "1"
    assert rows["open sessions"] == "1"
    last_login = datetime.fromisoformat(rows["last login"])
    assert abs(utcnow() - last_login) < timedelta(hours=1)


def test_reset_password(
    test_env: dict[str, str], client: TestClient, db: Session, make_user: MakeUser
) -> None:
    user = make_user()
    old_token = login(client, user.email)["access_token"]

    output = assert_ok(
        run_dfims(test_env, "users", "reset-password", user.email, "--password", NEW_PASSWORD)
    )
    assert user.email in output

    assert login_status(client, user.email, PASSWORD) == 401
    assert login_status(client, user.email, NEW_PASSWORD) == 200
    assert client.get("/api/v1/users/me", headers=bearer(old_token)).status_code == 401

    db.expire_all()
    entries = db.scalars(
        select(AuditLog).where(
            AuditLog.action == "user.password_reset", AuditLog.entity_id == str(user.id)
        )
    ).all()
    assert len(entries) == 1
    assert entries[0].entity_type == "user"
    assert entries[0].actor_id is None
    assert entries[0].actor_label.startswith("cli:")


def test_reset_password_refuses_a_weak_password(
    test_env: dict[str, str], client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    result = run_dfims(test_env, "users", "reset-password", user.email, "--password", "weak")
    assert "Password" in assert_one_line_error(result)
    assert login_status(client, user.email, PASSWORD) == 200


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_create_admin_takes_a_long_password(
    test_env: dict[str, str], client: TestClient, length: int
) -> None:
    password = long_password(length)
    result = run_dfims(
        test_env, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", password
    )
    assert f"Created admin {ADMIN_EMAIL}" in assert_ok(result)
    assert login_status(client, ADMIN_EMAIL, password) == 200


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_reset_password_takes_a_long_password(
    test_env: dict[str, str], client: TestClient, make_user: MakeUser, length: int
) -> None:
    user, password = make_user(), long_password(length)
    assert_ok(run_dfims(test_env, "users", "reset-password", user.email, "--password", password))
    assert login_status(client, user.email, password) == 200


def test_unlock(
    test_env: dict[str, str], client: TestClient, db: Session, make_user: MakeUser
) -> None:
    user = make_user()
    stored = load_user(db, user.email)
    stored.locked_until = utcnow() + timedelta(minutes=30)
    stored.failed_login_attempts = 3
    db.commit()
    assert login_status(client, user.email, PASSWORD) == 423
    assert show(test_env, user.email)["locked"].startswith("yes, until ")

    assert f"{user.email} unlocked." in assert_ok(
        run_dfims(test_env, "users", "unlock", user.email)
    )

    unlocked = load_user(db, user.email)
    assert unlocked.locked_until is None
    assert unlocked.failed_login_attempts == 0
    assert show(test_env, user.email)["locked"] == "no"
    assert login_status(client, user.email, PASSWORD) == 200


def test_deactivate(
    test_env: dict[str, str], client: TestClient, db: Session, make_user: MakeUser
) -> None:
    user = make_user()
    token = login(client, user.email)["access_token"]

    output = assert_ok(run_dfims(test_env, "users", "deactivate", user.email))
    assert f"{user.email} deactivated." in output

    assert not load_user(db, user.email).is_active
    assert show(test_env, user.email)["active"] == "no"
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
    assert login_status(client, user.email, PASSWORD) == 401


def test_deactivate_refuses_the_last_admin(test_env: dict[str, str], make_user: MakeUser) -> None:
    admin = make_user(role=Role.ADMIN)
    assert "last active admin" in assert_one_line_error(
        run_dfims(test_env, "users", "deactivate", admin.email)
    )


def test_unknown_email(test_env: dict[str, str]) -> None:
    missing = "nobody-here@example.com"
    for args in (
        ("users", "show", missing),
        ("users", "reset-password", missing, "--password", NEW_PASSWORD),
    ):
        line = assert_one_line_error(run_dfims(test_env, *args))
        assert missing in line, args


# -- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_from_environment(
    test_env: dict[str, str], client: TestClient, db: Session
) -> None:
    env = {**test_env, "DFIMS_ADMIN_EMAIL": ADMIN_EMAIL, "DFIMS_ADMIN_PASSWORD": ADMIN_PASSWORD}
    output = assert_ok(run_dfims(env, "bootstrap"))
    assert f"Created admin {ADMIN_EMAIL}" in output
    assert ADMIN_PASSWORD not in output
    assert load_user(db, ADMIN_EMAIL).role == Role.ADMIN.value
    assert login_status(client, ADMIN_EMAIL, ADMIN_PASSWORD) == 200

    again = assert_ok(run_dfims(env, "bootstrap"))
    assert "nothing to do" in again


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_bootstrap_takes_a_long_password_from_the_environment(
    test_env: dict[str, str], client: TestClient, length: int
) -> None:
    password = long_password(length)
    env = {**test_env, "DFIMS_ADMIN_EMAIL": ADMIN_EMAIL, "DFIMS_ADMIN_PASSWORD": password}
    assert f"Created admin {ADMIN_EMAIL}" in assert_ok(run_dfims(env, "bootstrap"))
    assert login_status(client, ADMIN_EMAIL, password) == 200


def test_bootstrap_generates_a_password_once(
    test_env: dict[str, str], client: TestClient, db: Session
) -> None:
    env = {
        key: value
        for key, value in test_env.items()
        if key not in ("DFIMS_ADMIN_EMAIL", "DFIMS_ADMIN_PASSWORD")
    }
    assert db.scalar(select(User)) is None

    first = assert_ok(run_dfims(env, "bootstrap"))
    match = re.search(r"Created admin (\S+) with the one-time password: (\S+)", first)
    assert match, first
    email, password = match.groups()
    assert email == "admin@example.com"
    assert login_status(client, email, password) == 200

    second = assert_ok(run_dfims(env, "bootstrap"))
    assert "An admin account exists; nothing to do." in second
    assert password not in second
    assert "password" not in second.lower()
    assert len(db.scalars(select(User)).all()) == 1


def test_bootstrap_creates_the_upload_and_backup_folders(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    uploads, backups = tmp_path / "data" / "uploads", tmp_path / "backups"
    env = {
        **test_env,
        "UPLOAD_DIR": str(uploads),
        "BACKUP_DIR": str(backups),
        "DFIMS_ADMIN_EMAIL": ADMIN_EMAIL,
        "DFIMS_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    folders = [uploads, backups / "database", backups / "uploads", backups / "logs"]

    assert "Created admin" in assert_ok(run_dfims(env, "bootstrap"))
    assert [folder for folder in folders if not folder.is_dir()] == []

    shutil.rmtree(uploads)
    shutil.rmtree(backups)
    assert "nothing to do" in assert_ok(run_dfims(env, "bootstrap"))
    assert [folder for folder in folders if not folder.is_dir()] == []


# -- production settings -----------------------------------------------------------------------


def production_env(test_env: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in test_env.items() if key != "SECRET_KEY"}
    env["ENVIRONMENT"] = "production"
    env["METRICS_TOKEN"] = "m" * 48
    return env


def test_production_without_secret_key_refuses_commands(test_env: dict[str, str]) -> None:
    line = assert_one_line_error(run_dfims(production_env(test_env), "db", "current"))
    assert "SECRET_KEY" in line


def test_production_with_a_short_secret_key_refuses_commands(test_env: dict[str, str]) -> None:
    env = {**production_env(test_env), "SECRET_KEY": "change-me"}
    assert "SECRET_KEY" in assert_one_line_error(run_dfims(env, "db", "current"))


def test_production_without_secret_key_refuses_to_serve(test_env: dict[str, str]) -> None:
    # subprocess.run kills the server if it starts after all and runs into the timeout.
    result = subprocess.run(
        [
            str(DFIMS),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        env=production_env(test_env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_with_secret_key_is_accepted(test_env: dict[str, str]) -> None:
    env = {**production_env(test_env), "SECRET_KEY": "x" * 16 + "a-real-random-key-0123456789"}
    assert "(up to date)" in assert_ok(run_dfims(env, "db", "current"))


def test_create_admin_refuses_an_invalid_email(test_env: dict[str, str], db: Session) -> None:
    line = assert_one_line_error(
        run_dfims(
            test_env, "users", "create-admin", "--email", "not-an-email", "--password", PASSWORD
        )
    )
    assert "email" in line
    assert db.scalar(select(User)) is None


def test_create_admin_refuses_an_email_like_an_accounts(
    test_env: dict[str, str], make_user: MakeUser, db: Session
) -> None:
    make_user(role=Role.STAFF, email="sec@example.com")

    def create(email: str) -> str:
        args = ("users", "create-admin", "--email", email, "--password", ADMIN_PASSWORD)
        return assert_one_line_error(run_dfims(test_env, *args))

    assert "sec@example.com already exists" in create("\uff53\uff45\uff43@example.com")
    assert "looks like sec@example.com" in create("se\u0107@example.com")
    assert "writing systems" in create("s\u0435c@example.com")
    assert db.scalars(select(User.email)).all() == ["sec@example.com"]


def test_usage_errors_are_one_line(test_env: dict[str, str]) -> None:
    for args in (("users", "show"), ("no-such-command",), ("serve", "--port", "0")):
        result = run_dfims_executable(test_env, *args)
        assert result.returncode == 2, result.stderr
        assert error_lines(result) == [result.stderr.strip()], result.stderr
        assert result.stderr.startswith("error: ")


def test_bootstrap_in_production_needs_a_password(test_env: dict[str, str], db: Session) -> None:
    env = production_env(test_env)
    env["SECRET_KEY"] = "p" * 48
    env.pop("DFIMS_ADMIN_PASSWORD", None)
    line = assert_one_line_error(run_dfims(env, "bootstrap"))
    assert "DFIMS_ADMIN_PASSWORD" in line
    assert db.scalar(select(User)) is None


def test_serving_refuses_a_metrics_folder_holding_other_files(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "dfims.db").write_text("not a metrics file")
    (folder / "counter_123.db").write_text("stale")
    env = {**test_env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    line = assert_one_line_error(
        run_dfims(env, "serve", "--workers", "2", "--port", str(free_port()))
    )
    assert "PROMETHEUS_MULTIPROC_DIR" in line
    assert (folder / "dfims.db").read_text() == "not a metrics file"
