"""The figures of a run: one row per scenario and client count, the targets, table and JSON."""

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import Tally


@dataclass(frozen=True)
class Row:
    """One scenario at one client count."""

    scenario: str
    title: str
    clients: int
    seconds: float
    unit: str
    requests: int
    requests_per_s: float
    completed: int
    completed_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]
    api_cpu: float  # cores the API (master and workers) used
    db_cpu: float  # cores PostgreSQL used
    generator_cpu: float  # share of one core the load generator used
    peak_rss_mb: float  # the largest worker, so far

    @classmethod
    def of(
        cls,
        scenario: str,
        title: str,
        unit: str,
        tally: Tally,
        cpu: dict[str, float],
        peak_rss_mb: float,
    ) -> "Row":
        """The row of a finished run."""
        seconds = tally.seconds or 1.0
        return cls(
            scenario=scenario,
            title=title,
            clients=tally.concurrency,
            seconds=round(tally.seconds, 2),
            unit=unit,
            requests=tally.completed,
            requests_per_s=round(tally.throughput, 1),
            completed=tally.flows,
            completed_per_s=round(tally.flow_throughput, 1),
            p50_ms=_ms(tally.percentile(0.50)),
            p95_ms=_ms(tally.percentile(0.95)),
            p99_ms=_ms(tally.percentile(0.99)),
            errors=tally.errors,
            statuses={str(code): n for code, n in sorted(tally.statuses.items())},
            api_cpu=round(cpu.get("api", 0.0) / seconds, 2),
            db_cpu=round(cpu.get("postgres", 0.0) / seconds, 2),
            generator_cpu=round(tally.cpu_share, 2),
            peak_rss_mb=round(peak_rss_mb, 1),
        )


@dataclass(frozen=True)
class Target:
    """A goal of the issue and whether this run met it."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class Report:
    """Everything a run measured."""

    started_at: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    baselines: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    def row(self, scenario: str, clients: int) -> Row | None:
        """The row of ``scenario`` at ``clients``, when it ran."""
        return next((r for r in self.rows if r.scenario == scenario and r.clients == clients), None)

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(asdict(self), indent=2) + "\n"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


HEADER = (
    "scenario",
    "clients",
    "req/s",
    "done/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "api cpu",
    "db cpu",
    "gen cpu",
    "rss MB",
)


def table(report: Report) -> str:
    """The rows as a Markdown table, then the baselines, checks and targets."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in report.rows:
        cells = (
            r.scenario,
            r.clients,
            f"{r.requests_per_s:,.0f}",
            f"{r.completed_per_s:,.0f} {r.unit}",
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.errors,
            r.api_cpu,
            r.db_cpu,
            f"{r.generator_cpu:.0%}",
            r.peak_rss_mb,
        )
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines.append("")
    lines += [f"- {name}: {value}" for name, value in report.baselines.items()]
    lines += [f"- {name}: {value}" for name, value in report.checks.items()]
    lines.append("")
    lines.append("| target | goal | measured | met |")
    lines.append("|---|---|---|---|")
    lines += [
        f"| {t.name} | {t.goal} | {t.measured} | {'yes' if t.met else 'NO'} |"
        for t in report.targets
    ]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    """What the run ran on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": _git("rev-parse", "--short", "HEAD"),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"
