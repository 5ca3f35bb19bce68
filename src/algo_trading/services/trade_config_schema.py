"""The shape of a trade config file (`algo-trading trade --config FILE`), as pydantic models.

Only the shape and each value on its own are checked here: every table refuses a key it does not
know, every value has its TOML type (a quoted "1" is not a quantity), money is exact rupees
turned into integer paise, times are IST wall-clock times. What needs more than one value, the
strategy or the instrument master (a symbol, whole lots, a window inside the session) is checked
in `trade_config.py`. pydantic's errors become our lines here (`validate_shape`): the key path
and the problem, never pydantic's own report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.money import rupees_to_paise

__all__ = [
    "BrokerTable",
    "ConfigFile",
    "ConfigProblem",
    "RiskTable",
    "StrategyTable",
    "is_credential_key",
    "key_part",
    "key_path",
    "toml_type",
    "validate_shape",
]

_SHOWN_ERRORS = 3

# A strategy id prefixes its client order ids (<= 64 characters, domain/ids.py) and names the
# strategy in every table (64 characters); 24 leaves room for an instance and a sequence. It
# must hold a letter or digit: the broker tag is built from those (market/audit.py order_tag).
STRATEGY_ID_MAX_LEN = 24
_STRATEGY_ID = re.compile(r"[A-Za-z0-9_-]+")
_INTERVAL = re.compile(r"([1-9][0-9]{0,2})m")
# A regular NSE day has 375 minutes of continuous trading (09:15-15:30); no bar is longer.
MAX_BAR_MINUTES = 375


def toml_type(value: object) -> str:
    """A value's type in TOML's words (floats are read as Decimal)."""
    if isinstance(value, bool):
        return "a boolean"
    kinds: tuple[tuple[type, str], ...] = (
        (int, "an integer"),
        (Decimal, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (dt.datetime, "a date-time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("config", message)


def _rupees(value: object) -> int:
    """Exact rupees (5000, 5000.50 or "5000.50") -> positive integer paise."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _fail(f"must be an amount in rupees, not {toml_type(value)}")
    try:
        # As text, so that a message quotes the amount as written, not as Decimal('...').
        paise = rupees_to_paise(str(value), what="amount")
    except InvalidInputError as exc:
        raise _fail(str(exc).removeprefix("amount: ")) from None
    if paise <= 0:
        raise _fail(f"must be positive (got {value})")
    return paise


def _percent_bps(value: object) -> int:
    """A percentage (2, 0.5 or "0.5") -> basis points, refused finer than 0.01 %."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _fail(f"must be a percentage, not {toml_type(value)}")
    try:
        d = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
    except InvalidOperation:
        raise _fail(f"{value!r} is not a number") from None
    if not d.is_finite() or d <= 0 or d > 100:
        raise _fail(f"must be above 0 and at most 100 (got {value})")
    bps = d * 100
    if bps != bps.to_integral_value():
        raise _fail(f"{value} is finer than 0.01 %")
    return int(bps)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"must be a whole number, not {toml_type(value)}")
    if value <= 0:
        raise _fail(f"must be positive (got {value})")
    return value


def _time(value: object) -> dt.time:
    """A TOML local time (09:20:00) or "HH:MM" text, read as IST."""
    if isinstance(value, str):
        try:
            value = dt.time.fromisoformat(value.strip())
        except ValueError:
            raise _fail(f"{value!r} is not a time (HH:MM)") from None
    if not isinstance(value, dt.time):
        raise _fail(f'must be a time like 09:20 or "09:20", not {toml_type(value)}')
    if value.tzinfo is not None:
        raise _fail("give the time without a zone: times are IST")
    return value


def _strategy_id(value: object) -> str:
    if not isinstance(value, str):
        raise _fail(f"must be a string, not {toml_type(value)}")
    if not 0 < len(value) <= STRATEGY_ID_MAX_LEN:
        raise _fail(f"must be 1 to {STRATEGY_ID_MAX_LEN} characters (got {len(value)})")
    if not _STRATEGY_ID.fullmatch(value):
        bad = next(c for c in value if not _STRATEGY_ID.fullmatch(c))
        raise _fail(f"character {bad!r} is not allowed (only ASCII letters, digits, '_' and '-')")
    if not any(c.isalnum() for c in value):
        raise _fail("needs at least one letter or digit (the broker's order tag is made of them)")
    return value


def _bar_minutes(value: object) -> int:
    if not isinstance(value, str):
        raise _fail(f'must be a string like "1m" or "5m", not {toml_type(value)}')
    m = _INTERVAL.fullmatch(value)
    if m is None or int(m.group(1)) > MAX_BAR_MINUTES:
        raise _fail(
            f'{value!r} is not "1m" or a whole number of minutes up to "{MAX_BAR_MINUTES}m"'
        )
    return int(m.group(1))


Paise = Annotated[int, BeforeValidator(_rupees)]
BasisPoints = Annotated[int, BeforeValidator(_percent_bps)]
Count = Annotated[int, BeforeValidator(_count)]
IstTime = Annotated[dt.time, BeforeValidator(_time)]
StrategyIdText = Annotated[str, BeforeValidator(_strategy_id)]
BarMinutes = Annotated[int, BeforeValidator(_bar_minutes)]

# Parts of a key that would mean a credential was written into the file; the error says where
# credentials go instead, and never repeats the value.
_CREDENTIAL_PARTS = (
    "api_key",
    "apikey",
    "password",
    "passwd",
    "mpin",
    "totp",
    "secret",
    "token",
    "client_code",
    "clientcode",
)


def is_credential_key(key: str) -> bool:
    low = key.lower().replace("-", "_")
    return any(part in low for part in _CREDENTIAL_PARTS) or "pin" in low.split("_")


class _Table(BaseModel):
    """A TOML table: every key known, every value of its own TOML type."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise PydanticCustomError(
                    "unknown_key",
                    "unknown key",
                    {"key": str(unknown[0]), "known": ", ".join(cls.model_fields)},
                )
        return data


class BrokerTable(_Table):
    kind: Literal["simulator", "angelone", "inprocess"]
    url: str | None = None


class RiskTable(_Table):
    """Limits for one scope: the account ([risk]) or one strategy ([strategies.risk]). Each is
    optional; an absent one does not limit. Amounts are rupees, exact."""

    capital_rupees: Paise | None = None
    max_daily_loss_rupees: Paise | None = None
    max_drawdown_rupees: Paise | None = None
    max_order_value_rupees: Paise | None = None
    max_order_quantity: Count | None = None
    max_position_quantity: Count | None = None
    max_position_value_rupees: Paise | None = None
    max_gross_exposure_rupees: Paise | None = None
    max_open_orders: Count | None = None
    max_price_distance_percent: BasisPoints | None = None
    trading_start: IstTime | None = None
    trading_end: IstTime | None = None
    breaker_rejections: Count | None = None
    breaker_window_minutes: Count | None = None


class StrategyTable(_Table):
    id: StrategyIdText
    strategy: str = Field(min_length=1)
    symbols: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    exchange: Literal["NSE", "BSE", "NFO", "BFO"]
    product: Literal["intraday", "delivery", "carryforward"]
    quantity: Count
    interval: BarMinutes = 1
    params: dict[str, Any] = Field(default_factory=dict)
    risk: RiskTable = Field(default_factory=RiskTable)


class ConfigFile(_Table):
    mode: Literal["paper", "live"]
    instrument_master: str | None = Field(default=None, min_length=1)
    broker: BrokerTable | None = None
    strategies: list[StrategyTable] = Field(min_length=1)
    risk: RiskTable = Field(default_factory=RiskTable)


# --- a mistake, and pydantic's errors as our lines ----------------------------------------------


class ConfigProblem(Exception):
    """A mistake at a key path; turned into one ConfigError line naming the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)


def validate_shape(raw: dict[str, Any]) -> ConfigFile:
    """The file's tables as models, or ConfigProblem naming the first few mistakes."""
    try:
        return ConfigFile.model_validate(raw)
    except ValidationError as exc:
        lines = [_pydantic_line(e) for e in exc.errors(include_url=False)]
        more = len(lines) - _SHOWN_ERRORS
        text = "; ".join(lines[:_SHOWN_ERRORS]) + (f" (and {more} more)" if more > 0 else "")
        raise ConfigProblem("", text) from None


def key_path(loc: tuple[str | int, ...]) -> str:
    """('strategies', 1, 'params', 'fast') -> 'strategies[1].params.fast'; odd keys quoted."""
    return "".join(key_part(part, first=i == 0) for i, part in enumerate(loc))


def key_part(part: str | int, *, first: bool = False) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    if part.isidentifier() and part.isascii():
        return part if first else f".{part}"
    return f"[{json.dumps(part)}]"  # json escapes quotes and control characters: one line


def _pydantic_line(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "unknown_key":
        key = ctx["key"]
        path = key_path((*loc, key))
        if is_credential_key(key):
            return (
                f"{path}: credentials never go in the config file; they come from the secret "
                "store (ALGO_ANGELONE_* or the AWS secret)"
            )
        return f"{path}: unknown key (known here: {ctx['known']})"
    path = key_path(loc) or "the file"
    if kind == "missing":
        return f"{path}: missing (required)"
    if kind == "literal_error":
        return f"{path}: must be one of {ctx['expected']}, not {_shown(value)}"
    if kind == "config":
        return f"{path}: {error['msg']}"
    if kind in ("too_short", "string_too_short"):
        return f"{path}: must not be empty"
    wanted = {
        "string_type": "a string",
        "int_type": "an integer",
        "bool_type": "a boolean",
        "list_type": "an array",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
    }.get(kind)
    if wanted is not None:
        return f"{path}: must be {wanted}, not {toml_type(value)}"
    return f"{path}: {error['msg']}"


def _shown(value: object) -> str:
    """A value quoted for an error line, cut short so the line stays short."""
    text = repr(value) if isinstance(value, str) else f"{toml_type(value)}"
    return text if len(text) <= 40 else text[:37] + "..."
