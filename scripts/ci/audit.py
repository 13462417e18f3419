"""Audit the locked dependencies (the service's and the tools') for known vulnerabilities.

Exits 1 when pip-audit reports a known vulnerability, and lists each. It exits 1 too when it
could not check the dependencies: the advisory service cannot be reached, or answers nothing
for them (a closed network, or a package registry proxy that does not serve PyPI's
advisories). AUDIT_OFFLINE_OK=1, for CI on a closed network, makes that a warning; a known
vulnerability still fails. AUDIT_OSV_URL points pip-audit at an OSV server (a mirror) instead
of PyPI's advisories.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
OFFLINE_OK = "AUDIT_OFFLINE_OK"
# How pip-audit ends when its advisory service did not answer (refused, timed out, an error).
UNREACHABLE = re.compile(
    r"requests\.exceptions\.\w+|pip_audit\._service\.interface\.\w+|network may be blocking"
)


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


def _not_checked(problem: str) -> int:
    """Fail on ``problem`` in one line, or only warn when AUDIT_OFFLINE_OK=1."""
    if os.environ.get(OFFLINE_OK) == "1":
        print(f"audit: warning: {problem}; passing since {OFFLINE_OK}=1", file=sys.stderr)
        return 0
    print(
        f"audit: error: {problem}; set {OFFLINE_OK}=1 where no advisory service can be reached",
        file=sys.stderr,
    )
    return 1


def main() -> int:
    """Audit the lock; print one line per finding and a summary line."""
    with tempfile.TemporaryDirectory(prefix="dfims-audit-") as folder:
        requirements, report = Path(folder, "requirements.txt"), Path(folder, "audit.json")
        _export_lock(requirements)
        result = _audit(requirements, report)
        if not report.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            if UNREACHABLE.search(result.stderr):
                return _not_checked(f"no locked dependency could be checked: {last}")
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
    if findings:
        return 1
    if skipped:
        return _not_checked(
            f"{len(skipped)} of {len(dependencies)} locked dependencies could not be checked "
            f"({skipped[0]['name']}: {skipped[0]['skip_reason']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
