"""One WallClock for every composition root (issue #11): the notifier's and the data service's
were two copies of the same class."""

from __future__ import annotations

import ast
from pathlib import Path

import algo_trading
from algo_trading.services import bootstrap, clock, data_service

SRC = Path(algo_trading.__file__).parent


def test_one_wall_clock_class_in_the_source_tree() -> None:
    defined = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "WallClock"
    ]
    assert defined == ["services/clock.py"]


def test_the_services_share_it() -> None:
    assert bootstrap.WallClock is clock.WallClock
    assert data_service.WallClock is clock.WallClock
