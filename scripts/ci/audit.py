"""Audit the locked dependencies (the service's and the tools') for known vulnerabilities.

Exits 1 when pip-audit reports a known vulnerability, and lists each. Dependencies the
advisory service could not be asked about (a closed network) are counted in one line.
AUDIT_OSV_URL points pip-audit at an OSV server (a mirror) instead of PyPI's advisories;
when that server cannot be reached, the audit fails.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def _export_lock(target: Path) -> None:
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    command = [uv, "export", "--frozen", "--all-groups", "--no-emit-project", "--no-hashes"]
    command += ["--format", "requirements-txt", "--quiet", "-o", str(target)]
    subprocess.run(  # noqa: S603 (fixed arguments)
        command,
        cwd=ROOT,
        check=True,
    )


def _audit(requirements: Path, report: Path) -> subprocess.CompletedProcess[str]:
    command = [str(VENV_BIN / "pip-audit"), "-r", str(requirements), "--no-deps"]
    command += ["--disable-pip", "--progress-spinner", "off", "-f", "json", "-o", str(report)]
    if osv_url := os.environ.get("AUDIT_OSV_URL"):
        command += ["--vulnerability-service", "osv", "--osv-url", osv_url]
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603


def main() -> int:
    """Audit the lock; print one line per finding and a summary line."""
    with tempfile.TemporaryDirectory(prefix="dfims-audit-") as folder:
        requirements, report = Path(folder, "requirements.txt"), Path(folder, "audit.json")
        _export_lock(requirements)
        result = _audit(requirements, report)
        if not report.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"audit: pip-audit failed ({result.returncode}): {last}", file=sys.stderr)
            return 1
        dependencies = json.loads(report.read_text(encoding="utf-8"))["dependencies"]
    findings = [
        (dependency, vulnerability)
        for dependency in dependencies
        for vulnerability in dependency.get("vulns", [])
    ]
    skipped = [dependency for dependency in dependencies if "skip_reason" in dependency]
    for dependency, vulnerability in findings:
        fixed = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed release"
        print(
            f"audit: {dependency['name']} {dependency['version']}: {vulnerability['id']} "
            f"(fixed in {fixed})",
            file=sys.stderr,
        )
    checked = len(dependencies) - len(skipped)
    print(
        f"audit: {len(dependencies)} locked dependencies, {checked} checked, "
        f"{len(findings)} known vulnerabilities, {len(skipped)} not checked"
        + (" (the advisory service could not be reached)" if skipped else "")
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
