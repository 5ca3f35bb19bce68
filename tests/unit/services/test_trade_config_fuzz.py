"""Whatever is in a trade config file - TOML-ish garbage, or the issue's example with keys
removed, added or given values of any TOML type - the loader answers with a TradeConfig or one
ConfigError line naming the file, never with any other exception (hypothesis, bounded)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import Settings
from algo_trading.services.trade_config import TradeConfig, default_master, parse_trade_config
from algo_trading.services.trade_config_schema import ConfigFile, RiskTable, StrategyTable

TODAY = dt.date(2026, 12, 2)
MASTER = default_master(TODAY)  # built once: the fuzzing is about the file, not the master
SETTINGS = Settings.model_construct()  # the defaults, whatever the environment holds
BASE_DIR = Path(__file__).parent / "no-such-folder"  # strategy files named by chance: none

VALID: dict[str, Any] = {
    "mode": "paper",
    "broker": {"kind": "simulator", "url": "http://127.0.0.1:8765"},
    "strategies": [
        {
            "id": "sma-sbin",
            "strategy": "sma_crossover",
            "symbols": ["SBIN-EQ"],
            "exchange": "NSE",
            "product": "intraday",
            "quantity": 1,
            "interval": "1m",
            "params": {"fast": 5, "slow": 20},
            "risk": {"max_open_orders": 2},
        }
    ],
    "risk": {"max_daily_loss_rupees": 5000, "trading_start": dt.time(9, 20)},
}
KEYS = sorted(
    {*ConfigFile.model_fields, *StrategyTable.model_fields, *RiskTable.model_fields}
    | {"fast", "slow", "allow_short", "kind", "url", "api_key", "x"}
)


class Raw(str):
    """A TOML token written as it is (inf, nan, a date, a malformed literal)."""


def toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise AssertionError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in doc.items())


scalars = st.one_of(
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["paper", "live", "simulator", "angelone", "NSE", "NFO", "1m", "5m", "09:20"]),
    st.sampled_from(["SBIN-EQ", "Nifty 50", "NIFTY29DEC26FUT", "sma_crossover", "x.py:Y"]),
    st.times().map(lambda t: t.replace(microsecond=0)),
    st.sampled_from([Raw("inf"), Raw("-inf"), Raw("nan"), Raw("2026-12-02"), Raw("1e400")]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=8,
)


# Every place a value can go: each key of each table, and parameters known and unknown.
SLOTS: list[tuple[Any, ...]] = [
    *((k,) for k in ConfigFile.model_fields),
    *(("broker", k) for k in ("kind", "url")),
    *(("strategies", 0, k) for k in StrategyTable.model_fields),
    *(("strategies", 0, "params", k) for k in ("fast", "slow", "allow_short", "x")),
    *(("risk", k) for k in RiskTable.model_fields),
    *(("strategies", 0, "risk", k) for k in RiskTable.model_fields),
]
# One value of each kind a TOML file can hold, the edges included.
EDGE_VALUES: list[Any] = [
    0,
    -1,
    10**30,
    Decimal("0.001"),
    Decimal("-2.5"),
    True,
    "",
    "abc",
    "1e400",
    "{x}",
    "\u0000",
    dt.time(23, 59, 59),
    Raw("inf"),
    Raw("nan"),
    Raw("2026-12-02"),
    Raw("2026-12-02T09:15:00+05:30"),
    [],
    [1, "a"],
    {},
    {"x": {"y": 1}},
]


def deep_copy_valid() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(VALID, default=str))
    doc["risk"]["trading_start"] = dt.time(9, 20)
    return doc


def put(doc: dict[str, Any], path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    """Set (or delete) the value at `path`, replacing whatever is on the way by the table or
    array the path needs (an earlier edit may have put a string there)."""
    node: Any = doc
    for part, after in itertools.pairwise(path):
        child = node[part] if isinstance(node, list) else node.get(part)
        if isinstance(after, int):
            if not isinstance(child, list):
                child = node[part] = []
            child.extend({} for _ in range(after + 1 - len(child)))
        elif not isinstance(child, dict):
            child = node[part] = {}
        node = child
    if delete and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def check(text: str) -> None:
    try:
        result = parse_trade_config(
            text,
            source="fuzz.toml",
            base_dir=BASE_DIR,
            today=TODAY,
            settings=SETTINGS,
            master=MASTER,
        )
    except ConfigError as exc:
        line = str(exc)
        assert line.startswith("fuzz.toml: ")
        assert "\n" not in line
    else:
        assert isinstance(result, TradeConfig)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_example_with_any_edits_is_valid_or_one_config_error(data: st.DataObject) -> None:
    doc = deep_copy_valid()
    for _ in range(data.draw(st.integers(1, 3))):
        put(
            doc,
            data.draw(st.sampled_from(SLOTS)),
            data.draw(values),
            delete=data.draw(st.booleans()) and data.draw(st.booleans()),
        )
    check(toml_document(doc))


def test_every_place_with_every_kind_of_value_is_valid_or_one_config_error() -> None:
    for slot in SLOTS:
        for value in EDGE_VALUES:
            doc = deep_copy_valid()
            put(doc, slot, value)
            check(toml_document(doc))


TOMLISH = st.lists(
    st.sampled_from([*"[]{}=\".,\n#' abc019-_:\\+eE", *KEYS, "[[strategies]]", "[risk]"]),
    max_size=60,
).map("".join)


@settings(max_examples=300)
@given(TOMLISH)
def test_tomlish_garbage_is_one_config_error(text: str) -> None:
    check(text)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_any_text_at_all_is_one_config_error(text: str) -> None:
    check(text)


def test_the_unedited_example_passes_the_fuzzers_check() -> None:
    text = toml_document(deep_copy_valid())
    result = parse_trade_config(
        text, source="f.toml", base_dir=BASE_DIR, today=TODAY, settings=SETTINGS, master=MASTER
    )
    assert result.strategies[0].risk.max_open_orders == 2
