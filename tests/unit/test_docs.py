"""What the operators' documents name exists: commands, flags, endpoints, files and metrics."""

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli.main import app as cli
from app.core import metrics
from app.main import app
from tests.conftest import ROOT

DOCS = [
    ROOT / "docs" / "OPERATIONS.md",
    ROOT / "docs" / "DEPLOYMENT.md",
    ROOT / "docs" / "RELIABILITY.md",
    ROOT / "README.md",
]
SCRIPT_FLAGS = re.compile(r"(scripts/[\w.-]+)((?: +(?:--?[\w-]+|[\w./$-]+))*)")
DFIMS_COMMAND = re.compile(
    r"(?:bin/|exec api |^|`)dfims ([a-z]+)(?: ([a-z][a-z-]*))?", re.MULTILINE
)
API_PATH = re.compile(r"(/api/v1/[\w/{}.-]*\w)")
PROJECT_FILE = re.compile(
    r"(?<![\w/.])((?:scripts|monitoring|nginx|docs|migrations)/[\w./-]*\w|"
    r"docker-compose(?:\.prod)?\.yml|\.env\.prod\.example|Dockerfile|CHANGELOG\.md)"
)
METRIC = re.compile(r"`((?:api|database|inventory|orders|sales|stock|customer|purchase|dfims)_\w+)")
BACKUP_METRICS = {
    "dfims_backup_last_success_timestamp_seconds",
    "dfims_backup_last_size_bytes",
    "dfims_backup_last_duration_seconds",
    "dfims_backup_last_failure_timestamp_seconds",
}
# Files a procedure creates, rather than files of the project.
CREATED = {"nginx/ssl/cert.pem", "nginx/ssl/key.pem", "nginx/maintenance/maintenance.on"}


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def all_text() -> str:
    return "\n".join(text_of(path) for path in DOCS)


def test_the_operations_guide_links_exist() -> None:
    for path in DOCS:
        assert path.is_file(), path
    assert "[DEPLOYMENT.md](DEPLOYMENT.md)" in text_of(ROOT / "docs" / "OPERATIONS.md")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_project_file_named_exists(path: Path) -> None:
    missing = {
        name
        for name in PROJECT_FILE.findall(text_of(path))
        if name not in CREATED and not (ROOT / name).exists()
    }
    assert missing == set()


def test_every_script_flag_named_is_one_the_script_takes() -> None:
    for script, arguments in SCRIPT_FLAGS.findall(all_text()):
        source = ROOT / script
        if source.is_dir():
            continue
        assert source.is_file(), script
        known = text_of(source)
        for flag in re.findall(r"(?<!\S)(--[\w-]+)", arguments):
            assert flag in known, f"{script} does not take {flag}"


def test_every_dfims_command_named_exists() -> None:
    runner = CliRunner()
    commands = set(DFIMS_COMMAND.findall(all_text()))
    assert commands
    for group, command in commands:
        args = [group, command, "--help"] if command else [group, "--help"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, f"dfims {' '.join(args[:-1])}: {result.output}"


def test_every_endpoint_named_exists() -> None:
    paths = set(app.openapi()["paths"]) | {"/health", "/metrics"}
    templates = [re.compile("^" + re.sub(r"\{\w+\}", r"[^/]+", path) + "($|/)") for path in paths]
    named = set(API_PATH.findall(all_text()))
    assert named
    unknown = {
        path
        for path in named
        if not any(pattern.match(path) for pattern in templates)
        and not any(known.startswith(path + "/") for known in paths)  # a prefix, as in the README
    }
    assert unknown == set()


def test_every_metric_named_is_exposed() -> None:
    exposed = {
        name.removesuffix("_total")
        for collector in vars(metrics).values()
        if hasattr(collector, "_name")
        for name in [collector._name]
    } | BACKUP_METRICS
    named = set(METRIC.findall(all_text()))
    assert "api_requests_total" in named
    unknown = {
        name for name in named if name.removesuffix("_total").removesuffix("_bucket") not in exposed
    }
    assert unknown == set()


def test_the_alert_table_matches_the_rules() -> None:
    rules = yaml.safe_load(text_of(ROOT / "monitoring" / "prometheus" / "alerts.yml"))
    configured = {
        rule["alert"]: rule["for"] for group in rules["groups"] for rule in group["rules"]
    }
    section = text_of(ROOT / "docs" / "OPERATIONS.md").split("## Alerts", 1)[1].split("\n## ")[0]
    rows = re.findall(r"^\| (\w+) \|.*\| (\w+) \|$", section, flags=re.MULTILINE)
    documented = {name: duration for name, duration in rows if name != "Alert"}
    assert documented == configured
