"""The import graph: stages are layered (import-linter's contracts in pyproject.toml), and
every module imports on its own, in a fresh interpreter, whatever was imported before it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import predhub

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(predhub.__file__).resolve().parent


def _lint_imports(*config: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "import-linter is not installed (the test extra pins it)"
    return subprocess.run(
        [exe, "--no-cache", *map(str, config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    """The check above can fail: a contract the code breaks is reported, exit code non-zero."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_package = "predhub"

            [[tool.importlinter.contracts]]
            name = "commands may not reach the database"
            type = "forbidden"
            source_modules = ["predhub.cli"]
            forbidden_modules = ["predhub.db"]
            """
        )
    )
    result = _lint_imports(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "predhub.cli -> predhub.db" in result.stdout


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue  # running it is the command line itself
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


# Imports the third-party libraries once, then forks a child per module that imports
# nothing of predhub but that module: each child starts with no predhub module loaded.
_DRIVER = """
import os, sys, traceback
import asyncpg, fastapi, httpx, pydantic, pydantic_settings, rich, starlette, structlog, typer
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        failed.append(name)
print("FAILED " + " ".join(failed) if failed else "OK")
sys.exit(1 if failed else 0)
"""


@pytest.mark.skipif(not hasattr(sys.modules["os"], "fork"), reason="needs os.fork")
def test_every_module_imports_first() -> None:
    modules = _modules()
    assert "predhub.cli" in modules and "predhub.api.app" in modules
    result = subprocess.run(
        [sys.executable, "-c", _DRIVER, *modules],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "OK"
