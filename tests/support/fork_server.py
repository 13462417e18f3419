"""A parent that imports the project once, then forks one process per command it is sent.

Run as a script. It reads one JSON request per line from its standard input and answers one
JSON line per request on its standard output. A request names ``argv`` for the ``dfims``
console script or ``code`` for ``python -c``, and the environment, working folder, output
files and time limit. The child is a process of its own, with that environment and those
files as its standard streams; it exits as the interpreter would, and the answer carries its
exit status. Settings are read on first use, so a child reads them from its own environment;
the parent checks that nothing it imported has read them."""

import atexit
import importlib
import io
import json
import os
import pkgutil
import select
import signal
import sys
import traceback
from typing import Any, NoReturn

PRELOADED = ("app.cli", "app.services", "app.crud", "app.models", "app.core")
EXTRA = ("alembic.command", "alembic.config")


def preload() -> None:
    """Import the command line and every module a command imports when it runs."""
    import app

    for name in EXTRA:
        importlib.import_module(name)
    for package in PRELOADED:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)
    from app.core.config import get_settings

    if get_settings.cache_info().currsize:
        raise RuntimeError("importing the project read the settings")
    del app


def redirect(path: str, flags: int, fd: int) -> None:
    """Point file descriptor ``fd`` at the file ``path``."""
    opened = os.open(path, flags)
    os.dup2(opened, fd)
    os.close(opened)


def stream(fd: int, mode: str, **options: Any) -> io.TextIOWrapper:
    """A text stream on file descriptor ``fd`` as a new interpreter opens it."""
    wrapper = open(fd, mode, encoding="utf-8", closefd=False, **options)  # noqa: SIM115
    assert isinstance(wrapper, io.TextIOWrapper)
    return wrapper


def child(request: dict[str, Any], protocol: tuple[io.TextIOWrapper, ...]) -> NoReturn:
    """Become the command of ``request``; never returns."""
    for pipe in protocol:
        pipe.close()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    redirect(os.devnull, os.O_RDONLY, 0)
    redirect(request["stdout"], os.O_WRONLY | os.O_TRUNC, 1)
    redirect(request["stderr"], os.O_WRONLY | os.O_TRUNC, 2)
    sys.stdin = stream(0, "r")
    sys.stdout = stream(1, "w")
    sys.stderr = stream(2, "w", errors="backslashreplace", buffering=1)
    status = 0
    try:
        if "code" in request:
            sys.argv, sys.path[0] = ["-c"], ""
            program = compile(request["code"], "<string>", "exec")
            exec(program, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102
        else:
            from app.cli.main import main

            sys.argv, sys.path[0] = ["dfims", *request["argv"]], os.path.dirname(sys.executable)
            main()
    except SystemExit as exit_:
        status = exit_status(exit_)
    except BaseException:
        traceback.print_exc()
        status = 1
    leave(status)


def exit_status(exit_: SystemExit) -> int:
    """The status the interpreter exits with for ``exit_``, writing a message to stderr."""
    if exit_.code is None or isinstance(exit_.code, int):
        return exit_.code or 0
    print(exit_.code, file=sys.stderr)
    return 1


def leave(code: int) -> NoReturn:
    """Exit as the interpreter does, without tearing down what the parent imported."""
    atexit._run_exitfuncs()
    for output in (sys.stdout, sys.stderr):
        output.flush()
    os._exit(code)


def wait(pid: int, timeout: float) -> dict[str, Any]:
    """The exit status of child ``pid``, killing it after ``timeout`` seconds."""
    watch = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([watch], [], [], timeout)
    finally:
        os.close(watch)
    if not ready:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": not ready}


def serve() -> None:
    """Answer requests until the standard input closes."""
    requests = open(os.dup(0), encoding="utf-8")  # noqa: SIM115
    answers = open(os.dup(1), "w", encoding="utf-8")  # noqa: SIM115
    redirect(os.devnull, os.O_RDONLY, 0)
    os.dup2(2, 1)
    preload()
    answers.write("ready\n")
    answers.flush()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request, (requests, answers))
        answers.write(json.dumps(wait(pid, request["timeout"])) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
