"""The dashboard's JavaScript modules pass ESLint (``eslint.config.mjs``): syntax, undefined
names, unused variables, and imports of files or names another module does not have.

``make test`` installs ESLint with npm into ``node_modules/`` (``package-lock.json``);
without npm, or offline, these tests skip and say so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"
STATIC = "src/openqpu/web/static/"


@pytest.fixture(scope="module")
def eslint() -> Path:
    """The locally installed ESLint; skip, saying why, when there is none."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the dashboard's JavaScript is not linted")
    if not ESLINT.exists():
        how = "npm ci" if shutil.which("npm") else "install npm, then npm ci"
        pytest.skip(f"ESLint is not in node_modules/ ({how} in {ROOT}; make test does)")
    return ESLINT


def test_js_dashboard_modules_pass_eslint(eslint: Path) -> None:
    done = subprocess.run(
        [str(eslint), "--max-warnings", "0", STATIC],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_js_lint_catches_undefined_and_unused_names_and_missing_imports(eslint: Path) -> None:
    probe = 'import { nothing } from "./dom.js";\nconst unused = 1;\nmissing();\n'
    done = subprocess.run(
        # no-cycle needs a file on disk; the other rules read standard input.
        [str(eslint), "--rule", "import/no-cycle: off", "--stdin",
         "--stdin-filename", f"{STATIC}probe.js"],
        cwd=ROOT, input=probe, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    for rule in ("import/named", "no-unused-vars", "no-undef"):
        assert rule in done.stdout, done.stdout
