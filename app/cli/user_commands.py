"""``dfims users``: accounts, passwords, lockouts."""

import sys
from typing import Annotated

import typer

from app.cli.common import fail, operator

app = typer.Typer(help="User accounts.", no_args_is_help=True)

PasswordOption = Annotated[
    str | None,
    typer.Option(help="The new password; asked for (hidden) when omitted."),
]


def _password_or_prompt(password: str | None) -> str:
    if password is not None:
        return password
    if not sys.stdin.isatty():
        fail("no --password given and no terminal to ask for one")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="Email address of the new admin.")],
    password: PasswordOption = None,
    full_name: Annotated[str, typer.Option(help="Full name.")] = "Administrator",
) -> None:
    """Create an admin account."""
    from app.core.database import session_scope
    from app.models.user import Role
    from app.services import users

    secret = _password_or_prompt(password)
    with session_scope() as db:
        user = users.create_user(
            db, operator(), email=email, password=secret, role=Role.ADMIN, full_name=full_name
        )
        typer.echo(f"Created admin {user.email} (id {user.id}).")


@app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Argument(help="Email of the account.")],
    password: PasswordOption = None,
    must_change: Annotated[
        bool,
        typer.Option("--must-change", help="The user changes the password at their next login."),
    ] = False,
) -> None:
    """Set a new password, lift any lockout and end the user's sessions."""
    from app.core.database import session_scope
    from app.services import users

    secret = _password_or_prompt(password)
    with session_scope() as db:
        user = users.get_user_by_email(db, email)
        users.reset_password(db, operator(), user, secret, must_change=must_change)
        typer.echo(f"Password of {user.email} reset; their sessions are ended.")


@app.command()
def show(email: Annotated[str, typer.Argument(help="Email of the account.")]) -> None:
    """Show role, state, last login, failed attempts and open sessions of an account."""
    from app.core.database import session_scope
    from app.services import users

    with session_scope() as db:
        summary = users.describe(db, email)
        user = summary.user
        locked = (
            f"yes, until {user.locked_until.isoformat(timespec='seconds')}"
            if summary.locked and user.locked_until is not None
            else "no"
        )
        rows = [
            ("email", user.email),
            ("name", user.full_name or "-"),
            ("role", user.role),
            ("active", "yes" if user.is_active else "no"),
            ("locked", locked),
            ("failed attempts", str(user.failed_login_attempts)),
            (
                "last login",
                user.last_login.isoformat(timespec="seconds") if user.last_login else "never",
            ),
            ("open sessions", str(summary.open_sessions)),
        ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"{label.ljust(width)}  {value}")


@app.command()
def unlock(email: Annotated[str, typer.Argument(help="Email of the account.")]) -> None:
    """Lift a lockout after failed logins."""
    from app.core.database import session_scope
    from app.services import users

    with session_scope() as db:
        user = users.unlock(db, operator(), users.get_user_by_email(db, email))
        typer.echo(f"{user.email} unlocked.")


@app.command()
def deactivate(email: Annotated[str, typer.Argument(help="Email of the account.")]) -> None:
    """Switch an account off and end its sessions."""
    from app.core.database import session_scope
    from app.services import users

    with session_scope() as db:
        user = users.deactivate(db, operator(), users.get_user_by_email(db, email))
        typer.echo(f"{user.email} deactivated.")
