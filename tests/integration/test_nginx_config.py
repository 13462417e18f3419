"""nginx/nginx.conf rendered for loopback by scripts/render_nginx.py and scripts/maintenance.sh,
checked without running any server."""

from pathlib import Path

import pytest

from tests.integration.nginx_stack import RENDER, TEMPLATE, run_maintenance, run_tool, tool
from tests.support.servers import (
    error_lines,
)

pytestmark = [pytest.mark.system, pytest.mark.redis, pytest.mark.postgres]


# -- rendering and the maintenance script, without servers -------------------------------------


RENDER_OPTIONS = [
    "--upstream",
    "127.0.0.1:8001",
    "--upstream",
    "127.0.0.1:8002",
    "--upstream",
    "127.0.0.1:8003",
    "--http-port",
    "8080",
    "--https-port",
    "8443",
    "--listen-address",
    "127.0.0.1",
    "--ssl-dir",
    "/srv/dfims/ssl",
    "--maintenance-dir",
    "/srv/dfims/maintenance",
    "--log-dir",
    "/srv/dfims/logs",
    "--pid-file",
    "/srv/dfims/nginx.pid",
]


def test_tools_are_there() -> None:
    """nginx and openssl are installed: the tests below fail (never skip) without them."""
    assert Path(tool("nginx")).exists()
    assert Path(tool("openssl")).exists()


def test_render_rewrites_every_docker_line(tmp_path: Path) -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    result = run_tool(str(RENDER), *RENDER_OPTIONS)
    assert result.returncode == 0, result.stderr
    assert error_lines(result) == []
    rendered = result.stdout
    directives = [line.split("#", 1)[0].strip() for line in rendered.splitlines()]
    assert [line for line in directives if line.startswith("server 127.0.0.1:")] == [
        f"server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;" for port in (8001, 8002, 8003)
    ]
    for expected in (
        "listen 127.0.0.1:8080;",
        "listen 127.0.0.1:8443 ssl;",
        "return 301 https://$host:8443$request_uri;",
        "ssl_certificate /srv/dfims/ssl/cert.pem;",
        "ssl_certificate_key /srv/dfims/ssl/key.pem;",
        "if (-f /srv/dfims/maintenance/maintenance.on) {",
        "access_log /srv/dfims/logs/access.log main;",
        "error_log /srv/dfims/logs/error.log warn;",
        "pid /srv/dfims/nginx.pid;",
    ):
        assert expected in directives, expected
    assert not [line for line in directives if "/etc/nginx/" in line or "api:8000" in line]
    assert TEMPLATE.read_text(encoding="utf-8") == template

    (tmp_path / "out.conf").write_text("old")
    written = run_tool(str(RENDER), *RENDER_OPTIONS, "--output", str(tmp_path / "out.conf"))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert (tmp_path / "out.conf").read_text() == rendered


@pytest.mark.parametrize(
    ("line", "replacement", "named"),
    [
        ("        listen 443 ssl;\n", "        listen 443 ssl http2;\n", "listen 443 ssl;"),
        ("        listen 80;\n", "", "listen 80;"),
        ("        server api:8000 ", "        server backend:8000 ", "server api:8000"),
        ("            return 301 https://$host$request_uri;\n", "", "return 301"),
        ("        if (-f /etc/nginx/maintenance/", "        if (-e /etc/nginx/maintenance/", "if"),
        ("    access_log /dev/stdout main;\n", "", "access_log"),
        ("pid /run/nginx.pid;\n", "", "pid"),
        ("user nginx;\n", "user nginx;\nresolver 127.0.0.11;\n", "127.0.0.11"),
    ],
    ids=["https", "http", "upstream", "redirect", "maintenance", "log", "pid", "docker-dns"],
)
def test_render_refuses_a_template_that_drifted(
    tmp_path: Path, line: str, replacement: str, named: str
) -> None:
    template = TEMPLATE.read_text(encoding="utf-8")
    assert line in template
    drifted = tmp_path / "nginx.conf"
    drifted.write_text(template.replace(line, replacement, 1), encoding="utf-8")
    output = tmp_path / "rendered.conf"

    result = run_tool(
        str(RENDER), *RENDER_OPTIONS, "--template", str(drifted), "--output", str(output)
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    (message,) = error_lines(result)
    assert message.startswith("render_nginx.py: error: ")
    assert named in message
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_maintenance_script(tmp_path: Path) -> None:
    folder = str(tmp_path)
    for args in ([], ["bogus"], ["on", "off"], ["on", "--dir"], ["on", "--dir", "/no/such/dir"]):
        result = run_maintenance(*args)
        assert result.returncode != 0, args
        assert result.stdout == ""
        (message,) = error_lines(result)
        assert message.startswith("error: "), args

    assert run_maintenance("status", "--dir", folder).stdout == "Maintenance is off.\n"
    switched_on = run_maintenance("on", "--dir", folder)
    assert switched_on.returncode == 0, switched_on.stderr
    assert len(switched_on.stdout.splitlines()) == 1
    assert (tmp_path / "maintenance.on").is_file()
    assert run_maintenance("on", f"--dir={folder}").stdout.startswith("Maintenance is already on")
    assert run_maintenance("status", "--dir", folder).stdout.startswith("Maintenance is on")
    switched_off = run_maintenance("off", "--dir", folder)
    assert switched_off.returncode == 0, switched_off.stderr
    assert switched_off.stdout.startswith("Maintenance off")
    assert list(tmp_path.iterdir()) == []
    assert run_maintenance("off", "--dir", folder).stdout == "Maintenance is already off.\n"
