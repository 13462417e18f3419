"""The Python snippets of the operations guide (OPERATIONS.md) still work against this code.

Each snippet is copied verbatim from the guide (the text between the quotes of
``docker-compose ... exec api python -c "..."``) and run with the project's Python on the test
database, as an operator would run it inside the container.
"""

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core import migrations
from app.models.user import User
from tests.conftest import PASSWORD, MakeUser, login
from tests.support.servers import run_dfims, run_python

SUPPORT_EMAIL = "user@example.com"

# "Support Commands" -> "Reset user password"
RESET_PASSWORD_SNIPPET = """
from app.crud.crud_user import user_crud
from app.core.database import get_db
from app.core.security import get_password_hash
db = next(get_db())
user = user_crud.get_by_email(db, email='user@example.com')
if user:
    user.hashed_password = get_password_hash('newpassword')
    db.commit()
    print('Password updated')
"""

# "Support Commands" -> "Check user activity"
CHECK_ACTIVITY_SNIPPET = """
from app.models.user import User
from app.core.database import get_db
db = next(get_db())
user = db.query(User).filter(User.email == 'user@example.com').first()
if user:
    print(f'Last login: {user.last_login}')
    print(f'Is active: {user.is_active}')
"""

# "Database Migrations" -> "Run migrations"
RUN_MIGRATIONS_SNIPPET = """
from app.core.database import engine, Base
from sqlalchemy import text
# Add any custom migration scripts here
Base.metadata.create_all(bind=engine)
"""

# "Database Migrations" -> "Verify migrations"
VERIFY_MIGRATIONS_SNIPPET = """
from app.core.database import get_db
from app.models.user import User
db = next(get_db())
print(f'Users table exists: {User.__table__.exists(db.bind)}')
"""


def run_snippet(env: dict[str, str], snippet: str) -> str:
    result = run_python(env, snippet)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_reset_password_snippet(
    test_env: dict[str, str], client: TestClient, make_user: MakeUser
) -> None:
    make_user(email=SUPPORT_EMAIL)

    output = run_snippet(test_env, RESET_PASSWORD_SNIPPET)
    assert output.splitlines() == ["Password updated"]

    # The snippet sets the hash directly, below the password policy: that is what it is for.
    assert login(client, SUPPORT_EMAIL, "newpassword")["access_token"]
    response = client.post(
        "/api/v1/auth/login", data={"username": SUPPORT_EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 401


def test_reset_password_snippet_without_the_user(test_env: dict[str, str]) -> None:
    assert run_snippet(test_env, RESET_PASSWORD_SNIPPET) == ""


def test_check_user_activity_snippet(
    test_env: dict[str, str], client: TestClient, db: Session, make_user: MakeUser
) -> None:
    user = make_user(email=SUPPORT_EMAIL)
    before_login = run_snippet(test_env, CHECK_ACTIVITY_SNIPPET).splitlines()
    assert before_login == ["Last login: None", "Is active: True"]

    login(client, SUPPORT_EMAIL)
    lines = run_snippet(test_env, CHECK_ACTIVITY_SNIPPET).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Last login: ")
    assert lines[1] == "Is active: True"
    stored = db.get(User, user.id)
    assert stored is not None
    assert stored.last_login is not None
    assert datetime.fromisoformat(lines[0].removeprefix("Last login: ")) == stored.last_login


def test_verify_migrations_snippet(test_env: dict[str, str]) -> None:
    assert run_snippet(test_env, VERIFY_MIGRATIONS_SNIPPET).splitlines() == [
        "Users table exists: True"
    ]


def test_run_migrations_snippet_leaves_the_schema_at_head(test_env: dict[str, str]) -> None:
    head = migrations.head_revision()
    assert run_snippet(test_env, RUN_MIGRATIONS_SNIPPET) == ""

    current = run_dfims(test_env, "db", "current")
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip() == f"{head} (up to date)"
    assert migrations.current_revision() == head
