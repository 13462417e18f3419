#!/usr/bin/env python3
"""Render nginx/nginx.conf for a host without Docker.

    scripts/render_nginx.py --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 \\
        --http-port 8080 --https-port 8443 --ssl-dir /srv/dfims/ssl --output /srv/dfims/nginx.conf
    nginx -t -c /srv/dfims/nginx.conf -p /srv/dfims

The production file is the template: each line to change is found by its pattern and rewritten,
and a pattern that finds no line (the template drifted) is an error, never skipped. Nothing of
Docker's may be left over: no /etc/nginx/ path, no api:8000, no Docker DNS.
"""

import argparse
import os
import pwd
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "nginx" / "nginx.conf"
DOCKER_ONLY = ("/etc/nginx/", "api:8000", "127.0.0.11")
UNSAFE_IN_PATHS = re.compile(r"[\s;{}'\"#$]")


class RenderError(Exception):
    """The template or the options cannot be rendered."""


@dataclass(frozen=True)
class Rule:
    """A template line to rewrite: ``pattern`` matches the directive (indentation and a
    trailing comment aside) on exactly ``count`` lines; ``render`` gives the new directives."""

    name: str
    pattern: str
    render: Callable[[re.Match[str]], list[str]]
    count: int = 1


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _path(value: str, option: str) -> str:
    path = os.path.abspath(value)
    if UNSAFE_IN_PATHS.search(path):
        raise RenderError(
            f"{option} {value!r}: spaces, quotes, ';', '{{', '}}', '#', '$' not allowed"
        )
    return path


def _upstream(value: str) -> str:
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or UNSAFE_IN_PATHS.search(host):
        raise RenderError(f"--upstream {value!r}: expected HOST:PORT")
    return _address(host, int(port))


def _user(requested: str | None) -> list[str]:
    """The ``user`` line: as asked; else root when rendered by root, who then starts nginx
    (workers that can read the rendered folders); none otherwise (nginx would ignore it)."""
    if requested:
        return [f"user {requested};"]
    if os.geteuid() == 0:
        return [f"user {pwd.getpwuid(0).pw_name};"]
    return ["# user: nginx runs as the user who starts it"]


def rules(options: argparse.Namespace) -> list[Rule]:
    """What to rewrite, from the command-line options."""
    listen = options.listen_address
    if not listen or UNSAFE_IN_PATHS.search(listen):
        raise RenderError(f"--listen-address {listen!r}: expected an address")
    if options.user is not None and not re.fullmatch(r"[\w.-]+", options.user):
        raise RenderError(f"--user {options.user!r}: expected a user name")
    upstreams = [_upstream(value) for value in options.upstream]
    ssl_dir = _path(options.ssl_dir, "--ssl-dir")
    maintenance_dir = _path(options.maintenance_dir, "--maintenance-dir")
    log_dir = _path(options.log_dir, "--log-dir") if options.log_dir else None
    pid_file = _path(options.pid_file, "--pid-file")
    https = "https://$host" if options.https_port == 443 else f"https://$host:{options.https_port}"
    return [
        Rule("user nginx;", r"user nginx;", lambda m: _user(options.user)),
        Rule("pid ...;", r"pid \S+;", lambda m: [f"pid {pid_file};"]),
        Rule(
            "error_log /dev/stderr ...;",
            r"error_log /dev/stderr (?P<level>\w+);",
            lambda m: [f"error_log {log_dir}/error.log {m['level']};"] if log_dir else [m[0]],
        ),
        Rule(
            "access_log /dev/stdout main;",
            r"access_log /dev/stdout (?P<format>\w+);",
            lambda m: [f"access_log {log_dir}/access.log {m['format']};"] if log_dir else [m[0]],
        ),
        Rule(
            "server api:8000 ...;",
            r"server api:8000(?P<params>[^;]*);",
            lambda m: [f"server {upstream}{m['params']};" for upstream in upstreams],
        ),
        Rule(
            "listen 80;",
            r"listen 80;",
            lambda m: [f"listen {_address(listen, options.http_port)};"],
        ),
        Rule(
            "listen 443 ssl;",
            r"listen 443 ssl;",
            lambda m: [f"listen {_address(listen, options.https_port)} ssl;"],
        ),
        Rule(
            "return 301 https://$host$request_uri;",
            r"return 301 https://\$host\$request_uri;",
            lambda m: [f"return 301 {https}$request_uri;"],
        ),
        Rule(
            "ssl_certificate[_key] /etc/nginx/ssl/...;",
            r"(?P<which>ssl_certificate(_key)?) /etc/nginx/ssl/(?P<file>[\w.-]+);",
            lambda m: [f"{m['which']} {ssl_dir}/{m['file']};"],
            count=2,
        ),
        Rule(
            "if (-f /etc/nginx/maintenance/...) {",
            r"if \(-f /etc/nginx/maintenance/(?P<file>[\w.-]+)\) \{",
            lambda m: [f"if (-f {maintenance_dir}/{m['file']}) {{"],
        ),
    ]


def render(template: str, source: str, options: argparse.Namespace) -> str:
    """The template with every rule applied; a RenderError names the first problem."""
    lines = template.splitlines()
    for rule in rules(options):
        pattern = re.compile(
            r"(?P<indent>\s*)(?P<directive>" + rule.pattern + r")\s*(?P<comment>#.*)?"
        )
        found = 0
        rendered: list[str] = []
        for line in lines:
            match = pattern.fullmatch(line)
            if match is None:
                rendered.append(line)
                continue
            found += 1
            directive = re.fullmatch(rule.pattern, match["directive"])
            assert directive is not None
            comment = f"  {match['comment']}" if match["comment"] else ""
            for number, new in enumerate(rule.render(directive)):
                rendered.append(match["indent"] + new + (comment if number == 0 else ""))
        if found != rule.count:
            raise RenderError(
                f"{source}: expected {rule.count} line(s) like {rule.name!r}, found {found}"
                " (the template changed: update scripts/render_nginx.py with it)"
            )
        lines = rendered
    for number, line in enumerate(lines, start=1):
        code = line.split("#", 1)[0]
        leftover = next((marker for marker in DOCKER_ONLY if marker in code), None)
        if leftover:
            raise RenderError(
                f"{source}: line {number} still has {leftover!r} after rendering"
                " (teach scripts/render_nginx.py to rewrite it)"
            )
    header = f"# Rendered from {source} by scripts/render_nginx.py: edit the template instead."
    return "\n".join([header, *lines]) + "\n"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Render nginx/nginx.conf for this host (no Docker).",
        epilog="Check and run it with: nginx -t -c OUTPUT -p PREFIX; nginx -c OUTPUT -p PREFIX",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        required=True,
        metavar="HOST:PORT",
        help="an API replica; repeat for each",
    )
    parser.add_argument("--http-port", type=int, default=80, help="plain HTTP port (default 80)")
    parser.add_argument("--https-port", type=int, default=443, help="HTTPS port (default 443)")
    parser.add_argument(
        "--listen-address",
        default="0.0.0.0",  # noqa: S104
        help="address to listen on (default 0.0.0.0)",
    )
    parser.add_argument(
        "--ssl-dir",
        default=str(ROOT / "nginx" / "ssl"),
        help="folder with cert.pem and key.pem (default nginx/ssl)",
    )
    parser.add_argument(
        "--maintenance-dir",
        default=str(ROOT / "nginx" / "maintenance"),
        help="folder of the maintenance.on flag (default nginx/maintenance)",
    )
    parser.add_argument(
        "--log-dir", help="write access.log and error.log there (default: stdout and stderr)"
    )
    parser.add_argument("--pid-file", help="nginx's pid file (default: nginx.pid beside OUTPUT)")
    parser.add_argument(
        "--user", help="user of the worker processes (default: root when started as root)"
    )
    parser.add_argument(
        "--template", default=str(TEMPLATE), help="the template (default nginx/nginx.conf)"
    )
    parser.add_argument("--output", default="-", help="file to write (default: stdout)")
    options = parser.parse_args(argv)
    for name in ("http_port", "https_port"):
        if not 0 < getattr(options, name) < 65536:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 65535")
    if options.pid_file is None:
        folder = Path.cwd() if options.output == "-" else Path(options.output).parent
        options.pid_file = str(folder / "nginx.pid")
    return options


def main(argv: list[str]) -> int:
    options = parse_arguments(argv)
    template = Path(options.template).resolve()
    source = str(template.relative_to(ROOT) if template.is_relative_to(ROOT) else template)
    try:
        text = template.read_text(encoding="utf-8")
        rendered = render(text, source, options)
        if options.output == "-":
            sys.stdout.write(rendered)
        else:
            Path(options.output).write_text(rendered, encoding="utf-8")
    except RenderError as exc:
        print(f"render_nginx.py: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"render_nginx.py: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
