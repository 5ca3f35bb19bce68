"""Search spaces: `KEY=LOW:HIGH[:STEP]` per parameter, checked against the strategy's own
parameters, and constraints between them such as `fast<slow`."""

from __future__ import annotations

import dataclasses
import itertools
import operator
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from algo_trading.domain.errors import ConfigError

__all__ = ["Constraint", "Dimension", "grid", "parse_constraint", "parse_space"]

Value = int | float
MAX_GRID = 1_000_000


@dataclass(frozen=True)
class Dimension:
    """One parameter's range, both ends included; `step` None means continuous (Optuna only)."""

    name: str
    low: Value
    high: Value
    step: Value | None
    integer: bool

    def values(self) -> list[Value]:
        if self.step is None:
            raise ConfigError(f"--space {self.name}: a grid needs a step (LOW:HIGH:STEP)")
        if self.integer:
            return list(range(int(self.low), int(self.high) + 1, int(self.step)))
        low, high, step = (Decimal(str(x)) for x in (self.low, self.high, self.step))
        count = int((high - low) / step) + 1
        return [float(low + step * i) for i in range(count)]


def _number(text: str, integer: bool, where: str) -> Value:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{where}: {text!r} is not a finite number")
    if integer:
        if value != value.to_integral_value():
            raise ConfigError(f"{where}: {text!r} must be a whole number for this parameter")
        return int(value)
    return float(value)


def parse_space(specs: Sequence[str], params_cls: type[Any], strategy: str) -> list[Dimension]:
    """Dimensions from `KEY=LOW:HIGH[:STEP]` texts; an unknown parameter, a reversed or empty
    range or a bad step is a ConfigError naming it."""
    if not specs:
        raise ConfigError("--space: give at least one KEY=LOW:HIGH[:STEP]")
    fields = {f.name for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    dims: list[Dimension] = []
    for spec in specs:
        where = f"--space {spec}"
        key, sep, rng = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{where}: expected KEY=LOW:HIGH[:STEP]")
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigError(
                f"{where}: strategy {strategy} has no parameter {key!r} (known: {known})"
            )
        if any(d.name == key for d in dims):
            raise ConfigError(f"{where}: {key} is given twice")
        hint = hints[key]
        if hint not in (int, float, Decimal):
            raise ConfigError(
                f"{where}: {key} is a {getattr(hint, '__name__', hint)}; "
                "only numbers can be searched"
            )
        integer = hint is int
        parts = rng.split(":")
        if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
            raise ConfigError(f"{where}: expected KEY=LOW:HIGH[:STEP]")
        low, high = (_number(p.strip(), integer, where) for p in parts[:2])
        step = (
            _number(parts[2].strip(), integer, where)
            if len(parts) == 3
            else (1 if integer else None)
        )
        if high < low:
            raise ConfigError(f"{where}: the range is reversed ({low} > {high})")
        if step is not None and step <= 0:
            raise ConfigError(f"{where}: the step must be positive")
        dims.append(Dimension(key, low, high, step, integer))
    return dims


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|!=|<|>)\s*([A-Za-z_]\w*)\s*$")


@dataclass(frozen=True)
class Constraint:
    left: str
    op: str
    right: str

    def holds(self, params: Mapping[str, Value]) -> bool:
        return _OPS[self.op](params[self.left], params[self.right])

    def __str__(self) -> str:
        return f"{self.left}{self.op}{self.right}"


def parse_constraint(text: str, names: Iterable[str]) -> Constraint:
    match = _CONSTRAINT.match(text)
    if match is None:
        raise ConfigError(f"--constraint {text!r}: expected NAME<NAME (or <=, >, >=, !=)")
    left, op, right = match.groups()
    known = set(names)
    for name in (left, right):
        if name not in known:
            raise ConfigError(
                f"--constraint {text!r}: {name!r} is not a searched parameter "
                f"(searched: {', '.join(sorted(known))})"
            )
    return Constraint(left, op, right)


def grid(
    dims: Sequence[Dimension], constraints: Sequence[Constraint] = ()
) -> list[dict[str, Value]]:
    """Every combination, in a fixed order, that satisfies every constraint."""
    axes = [d.values() for d in dims]
    size = 1
    for axis in axes:
        size *= len(axis)
    if size > MAX_GRID:
        raise ConfigError(
            f"--space: the grid has {size:,} points (at most {MAX_GRID:,}); use --method bayes"
        )
    names = [d.name for d in dims]
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    kept = [p for p in points if all(c.holds(p) for c in constraints)]
    if not kept:
        raise ConfigError("--space: no point of the grid satisfies the constraints")
    return kept
