"""Shared by the deployment tests: the repository's root, HCL parsing, and a tool finder that
fails under CI=true and skips with its reason elsewhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[3]
INFRA = ROOT / "infra"
ENVIRONMENTS = ("dev", "staging", "prod")


def unwrap(value: Any) -> Any:
    """The HCL parser (checkov's fork of python-hcl2) wraps attribute values in one-element
    lists; give the value itself."""
    if isinstance(value, list) and len(value) == 1:
        return unwrap(value[0])
    return value


def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return hcl2.load(f)


def resources(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    """name -> attributes of every `resource "kind" "name"` in a file."""
    found: dict[str, dict[str, Any]] = {}
    for block in parse(path).get("resource", []):
        for name, body in block.get(kind, {}).items():
            found[name] = body
    return found


def require_tool(name: str, path: str | None = None) -> str:
    """The tool's path; a failure under CI=true, a skip with its reason elsewhere."""
    found = path if path and Path(path).exists() else shutil.which(name)
    if found:
        return found
    reason = f"{name} is not installed (make test installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)
