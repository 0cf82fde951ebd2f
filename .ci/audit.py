"""Audit the installed (locked) dependencies with pip-audit against PyPI's vulnerability data.

Fails (exit 1) on any known vulnerability. When the vulnerability service
cannot answer (no connection, or PyPI's per-version JSON, which carries the
vulnerability list, answers 404 as some mirrors and caches do), it says so in
one line and exits 0: an unreachable service is not a finding, but it must
not pass for a clean audit either.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
NOT_ON_PYPI = "Dependency not found on PyPI"
UNREACHABLE = ("ConnectionError", "Could not connect", "Max retries", "NameResolution", "timed out")


def locked_requirements() -> str:
    """Every installed distribution at its exact version, the project itself left out."""
    frozen = subprocess.run(
        [str(BIN / "pip"), "freeze", "--exclude-editable", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "".join(line + "\n" for line in frozen.splitlines() if "==" in line)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(locked_requirements())
        run = subprocess.run(
            [
                str(BIN / "pip-audit"),
                "--requirement",
                str(requirements),
                "--vulnerability-service",
                "pypi",
                "--no-deps",
                "--disable-pip",
                "--format",
                "json",
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
        )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        if any(sign in run.stderr for sign in UNREACHABLE):
            last = run.stderr.strip().splitlines()[-1:] or [""]
            print(f"audit: vulnerability service unreachable, nothing audited ({last[0][:160]})")
            return 0
        sys.stderr.write(run.stderr)
        print(f"audit: pip-audit failed (exit {run.returncode})")
        return 1
    deps = report.get("dependencies", [])
    found = [(d, v) for d in deps for v in d.get("vulns", [])]
    for dep, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "none"
        print(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    skipped = [d for d in deps if NOT_ON_PYPI in (d.get("skip_reason") or "")]
    audited = len(deps) - len(skipped)
    if found:
        print(f"audit: {len(found)} known vulnerabilities in {len(deps)} pinned packages")
        return 1
    if skipped and audited == 0:
        print(
            f"audit: vulnerability service unreachable: PyPI answered 404 for all {len(deps)} "
            "pinned versions (pypi.org/pypi/<name>/<version>/json), nothing audited"
        )
        return 0
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        print(f"audit: no PyPI vulnerability data for {len(skipped)} packages: {names}")
    print(f"audit: no known vulnerabilities in {audited} audited packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
