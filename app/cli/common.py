"""What every command shares: the acting operator and clean one-line errors."""

import getpass
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.core.config import ConfigurationError
from app.core.errors import DomainError

if TYPE_CHECKING:
    from app.services.audit import Actor


def operator() -> "Actor":
    """The person at the terminal, as the audit trail names them."""
    from app.services.audit import Actor

    return Actor(user_id=None, label=f"cli:{getpass.getuser()}")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def run_safely(app: typer.Typer) -> int:
    """Run the command line, turning every failure into one line and a non-zero exit."""
    try:
        result = app(standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            return 0
        typer.echo(f"error: {exc.format_message()}", err=True)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 1
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        return 1
    except ConfigurationError as exc:
        typer.echo(f"error: configuration: {exc}", err=True)
        return 1
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        typer.echo(f"error: invalid setting {where}: {first.get('msg')}", err=True)
        return 1
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        typer.echo(f"error: database: {message}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        return 1
    return result if isinstance(result, int) else 0
