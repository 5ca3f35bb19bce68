"""Strategy parameters: a frozen dataclass per strategy, filled from `KEY=VALUE` text with the
field's type, and refused with a message naming the strategy, the key and what was expected."""

from __future__ import annotations

import dataclasses
import typing
from decimal import Decimal, InvalidOperation
from typing import Any

from algo_trading.domain.errors import ConfigError

__all__ = ["NoParams", "describe_params", "parse_params"]


@dataclasses.dataclass(frozen=True)
class NoParams:
    """A strategy without parameters."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(strategy: str, key: str, text: str, kind: Any) -> Any:
    want = {int: "an integer", bool: "true or false", Decimal: "a number", str: "text"}
    try:
        if kind is bool:
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(text)
        if kind is int:
            return int(text.strip())
        if kind is Decimal:
            value = Decimal(text.strip())
            if not value.is_finite():
                raise ValueError(text)
            return value
        if kind is str:
            return text
    except (ValueError, InvalidOperation):
        raise ConfigError(
            f"strategy {strategy}: parameter {key}={text!r} is not {want[kind]}"
        ) from None
    raise ConfigError(f"strategy {strategy}: parameter {key} has an unsupported type {kind!r}")


def parse_params(strategy: str, params_cls: type[Any], raw: dict[str, str]) -> Any:
    """Build `params_cls` from text values; unknown keys and bad values raise ConfigError."""
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        known = ", ".join(fields) or "none"
        raise ConfigError(f"strategy {strategy}: unknown parameter {unknown[0]!r} (known: {known})")
    values = {k: _convert(strategy, k, v, hints[k]) for k, v in raw.items()}
    try:
        return params_cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"strategy {strategy}: {exc}") from None


def describe_params(params_cls: type[Any]) -> list[tuple[str, str, Any]]:
    """(name, type name, default) for each parameter, for help texts."""
    hints = typing.get_type_hints(params_cls)
    return [
        (f.name, getattr(hints[f.name], "__name__", str(hints[f.name])), f.default)
        for f in dataclasses.fields(params_cls)
    ]
