"""The trade config (`algo-trading trade --config FILE [--live]`, issue #10 items 1 and 2):
a TOML file read and checked completely at start, before anything connects or sends.
The file's shape is `trade_config_schema.py`, its limits `trade_config_risk.py`, the live gate
`live_gate.py`.

Every mistake is one ConfigError line naming the file, the key path (`strategies[1].params.fast`)
and the problem: a TOML syntax error with its line and column, an unknown key at any level, a
value of the wrong type, an unknown strategy or parameter, a symbol the instrument master does
not list, a quantity that is not whole lots, an impossible limit. Live trading needs three
things, each refused on its own line when absent: `mode = "live"` in the file, `--live` or
ALGO_LIVE_CONFIRM=yes, and Angel One's credentials in the secret store (checked for presence
through the SecretStore port; never read into the config, never printed).

examples/paper.toml is a documented full example.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from algo_trading.adapters.instruments import load_scrip_master
from algo_trading.backtest.strategies import build_strategy, resolve_strategy
from algo_trading.domain.errors import AlgoTradingError, ConfigError
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType, Segment
from algo_trading.domain.orders import ProductType
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.services.settings import BrokerKind, Settings
from algo_trading.services.trade_config_risk import RiskLimits, risk_limits
from algo_trading.services.trade_config_schema import (
    BrokerTable,
    ConfigFile,
    ConfigProblem,
    StrategyTable,
    key_part,
    toml_type,
    validate_shape,
)
from algo_trading.simulator.scripmaster import build_records, build_scrip_master
from algo_trading.strategy import Strategy

__all__ = [
    "BrokerConfig",
    "RiskLimits",
    "StrategyConfig",
    "TradeConfig",
    "default_master",
    "load_trade_config",
    "parse_trade_config",
]

Mode = Literal["paper", "live"]
# Far above any real config; a bigger file is a mistake (a data file passed by accident).
MAX_CONFIG_BYTES = 1_000_000
_PRODUCTS = {
    "intraday": ProductType.INTRADAY,
    "delivery": ProductType.DELIVERY,
    "carryforward": ProductType.CARRYFORWARD,
}
_LOOPBACK_HOSTS = {"localhost", "::1"}
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    kind: BrokerKind
    url: str | None  # the simulator's base URL; None for the other kinds


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """One [[strategies]] block, checked: its class and built parameters, its instruments from
    the master, its own limits."""

    id: str
    strategy: str  # as written: a built-in name or FILE.py[:Class]
    strategy_class: type[Strategy]
    params: Any  # an instance of strategy_class.Params, built and checked
    instruments: tuple[Instrument, ...]
    exchange: Exchange
    product: ProductType
    quantity: int
    bar_minutes: int
    risk: RiskLimits


@dataclass(frozen=True, slots=True)
class TradeConfig:
    source: str
    mode: Mode
    broker: BrokerConfig
    strategies: tuple[StrategyConfig, ...]
    risk: RiskLimits

    def summary(self) -> str:
        """One line saying what was validated, for the CLI."""
        symbols = sorted({i.symbol for s in self.strategies for i in s.instruments})
        where = f" at {self.broker.url}" if self.broker.url else ""
        return (
            f"{self.source}: valid: {self.mode} mode, broker {self.broker.kind}{where}, "
            f"{len(self.strategies)} strateg{'y' if len(self.strategies) == 1 else 'ies'} "
            f"({', '.join(s.id for s in self.strategies)}) on {len(symbols)} symbol"
            f"{'' if len(symbols) == 1 else 's'}"
        )


# --- reading ---------------------------------------------------------------------------------


def default_master(today: dt.date) -> InstrumentMaster:
    """The NIFTY 50 stocks and indices shipped with the simulator, and its generated NIFTY and
    BANKNIFTY contracts for `today`: what paper trading against the simulator can trade."""
    return build_scrip_master(build_records(today))


def load_trade_config(
    path: str | Path,
    *,
    today: dt.date,
    settings: Settings,
    master: InstrumentMaster | None = None,
) -> TradeConfig:
    """Read and check the config file; ConfigError on one line for any mistake in it.

    `today` is the IST trading day the config is checked for (its session times and, with no
    master given or named in the file, the simulator's contracts of that day)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: larger than {MAX_CONFIG_BYTES:,} bytes; is it the config file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return parse_trade_config(
        text, source=str(p), base_dir=p.parent, today=today, settings=settings, master=master
    )


def parse_trade_config(
    text: str,
    *,
    source: str,
    base_dir: Path,
    today: dt.date,
    settings: Settings,
    master: InstrumentMaster | None = None,
) -> TradeConfig:
    """Check config text; relative paths in it (strategy files, the master) are from
    `base_dir`. Any mistake is one ConfigError line starting with `source`."""
    try:
        raw = _parse_toml(text)
        shape = validate_shape(raw)
        return _build(
            shape, source=source, base_dir=base_dir, today=today, settings=settings, master=master
        )
    except ConfigProblem as exc:
        # A user's strategy file may raise a message of several lines; the error stays one.
        raise ConfigError(f"{source}: {_LINE_BREAKS.sub(' ', str(exc))}") from None


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        # Floats as Decimal: a rupee amount or a parameter is never rounded through binary.
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblem("", f"TOML syntax error: {exc}") from None
    except RecursionError:
        raise ConfigProblem("", "TOML syntax error: arrays or tables nested too deeply") from None


# --- the checks that need more than one value ------------------------------------------------


def _build(
    shape: ConfigFile,
    *,
    source: str,
    base_dir: Path,
    today: dt.date,
    settings: Settings,
    master: InstrumentMaster | None,
) -> TradeConfig:
    broker = _broker(shape.broker, shape.mode, settings)
    if master is None:
        master = _master(shape.instrument_master, base_dir, today)
    account = risk_limits(shape.risk, "risk", None, today, capital_paise=None)
    ids: dict[str, int] = {}
    strategies = []
    for i, table in enumerate(shape.strategies):
        where = f"strategies[{i}]"
        first = ids.setdefault(table.id.lower(), i)
        if first != i:
            raise ConfigProblem(
                f"{where}.id", f"{table.id!r} is already the id of strategies[{first}]"
            )
        strategies.append(_strategy(table, where, base_dir, master, today, account))
    return TradeConfig(
        source=source,
        mode=shape.mode,
        broker=broker,
        strategies=tuple(strategies),
        risk=account,
    )


def _broker(table: BrokerTable | None, mode: Mode, settings: Settings) -> BrokerConfig:
    if table is None:
        kind, url, where = settings.broker_kind, None, "ALGO_BROKER_KIND"
    else:
        kind, url, where = table.kind, table.url, "broker.kind"
        if settings.is_set("broker_kind") and settings.broker_kind != kind:
            raise ConfigProblem(
                "broker.kind",
                f"{kind!r} disagrees with ALGO_BROKER_KIND={settings.broker_kind}; "
                "unset one or make them agree",
            )
    if mode == "live" and kind != "angelone":
        raise ConfigProblem(where, f'live mode trades through "angelone", not {kind!r}')
    if mode == "paper" and kind == "angelone":
        raise ConfigProblem(
            where,
            '"angelone" places real orders: paper mode uses "simulator" or "inprocess" '
            '(or set mode = "live" and confirm it)',
        )
    if kind != "simulator":
        if url is not None:
            raise ConfigProblem("broker.url", f"only the simulator takes a url, not {kind!r}")
        return BrokerConfig(kind=kind, url=None)
    if url is None:
        url = settings.broker_url
        _check_url(url, "ALGO_BROKER_URL")
    else:
        _check_url(url, "broker.url")
        if settings.is_set("broker_url") and settings.broker_url != url:
            raise ConfigProblem(
                "broker.url",
                f"disagrees with ALGO_BROKER_URL={settings.broker_url}; unset one or make them "
                "agree",
            )
    return BrokerConfig(kind=kind, url=url)


def _check_url(url: str, where: str) -> None:
    """http on this machine, or https anywhere: the simulator's demo credentials and session
    token cross this connection."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ConfigProblem(where, "is not a URL like http://127.0.0.1:8765") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigProblem(where, "is not an http:// or https:// URL like http://127.0.0.1:8765")
    if parts.username is not None or parts.password is not None:
        raise ConfigProblem(
            where, "carries credentials; they never go in the config file (secret store)"
        )
    if parts.query or parts.fragment:
        raise ConfigProblem(where, "must be a base URL, without ?query or #fragment")
    loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise ConfigProblem(
            where, f"plain http only to this machine (127.0.0.1, localhost); use https for {host}"
        )


def _master(name: str | None, base_dir: Path, today: dt.date) -> InstrumentMaster:
    if name is None:
        return default_master(today)
    try:
        return load_scrip_master(base_dir / name)
    except AlgoTradingError as exc:
        raise ConfigProblem("instrument_master", str(exc)) from None


def _strategy(
    table: StrategyTable,
    where: str,
    base_dir: Path,
    master: InstrumentMaster,
    today: dt.date,
    account: RiskLimits,
) -> StrategyConfig:
    exchange = Exchange(table.exchange)
    product = _PRODUCTS[table.product]
    instruments = tuple(
        _instrument(master, symbol, exchange, f"{where}.symbols[{j}]")
        for j, symbol in enumerate(table.symbols)
    )
    seen: set[str] = set()
    for j, inst in enumerate(instruments):
        if inst.symbol in seen:
            raise ConfigProblem(f"{where}.symbols[{j}]", f"{inst.symbol} is listed twice")
        seen.add(inst.symbol)
    segment = instruments[0].segment
    _check_product(product, segment, f"{where}.product")
    for inst in instruments:
        if table.quantity % inst.lot_size:
            raise ConfigProblem(
                f"{where}.quantity",
                f"{table.quantity} is not whole lots of {inst.symbol} (lot size {inst.lot_size})",
            )
    risk = risk_limits(
        table.risk, f"{where}.risk", segment, today, capital_paise=account.capital_paise
    )
    cls = _resolve(table.strategy, where, base_dir)
    params = _params(cls, table, where, instruments, product)
    return StrategyConfig(
        id=table.id,
        strategy=table.strategy,
        strategy_class=cls,
        params=params,
        instruments=instruments,
        exchange=exchange,
        product=product,
        quantity=table.quantity,
        bar_minutes=table.interval,
        risk=risk,
    )


def _instrument(
    master: InstrumentMaster, symbol: str, exchange: Exchange, where: str
) -> Instrument:
    try:
        inst = master.by_symbol(symbol, exchange)
    except AlgoTradingError:
        raise ConfigProblem(
            where, f"{symbol!r} is not in the instrument master ({master.source}) on {exchange}"
        ) from None
    if inst.instrument_type is InstrumentType.INDEX:
        raise ConfigProblem(where, f"{symbol!r} is an index: it can be watched, not traded")
    return inst


def _check_product(product: ProductType, segment: Segment, where: str) -> None:
    if product is ProductType.DELIVERY and segment is Segment.FNO:
        raise ConfigProblem(where, '"delivery" is for cash stocks; F&O uses "carryforward"')
    if product is ProductType.CARRYFORWARD and segment is Segment.CASH:
        raise ConfigProblem(where, '"carryforward" is for F&O; cash stocks use "delivery"')


def _resolve(name: str, where: str, base_dir: Path) -> type[Strategy]:
    path_text, colon, class_name = name.partition(":")
    if path_text.endswith(".py"):
        # A strategy file is found from the config's folder, not from wherever the service runs.
        name = str(base_dir / path_text) + colon + class_name
    try:
        return resolve_strategy(name)
    except ConfigError as exc:
        raise ConfigProblem(f"{where}.strategy", str(exc)) from None


# The parameter types strategies declare (strategy/params.py), and the TOML values each takes.
_PARAM_TYPES: dict[Any, tuple[str, tuple[type, ...]]] = {
    int: ("an integer", (int,)),
    bool: ("a boolean", (bool,)),
    Decimal: ("a number", (int, Decimal, str)),
    str: ("a string", (str,)),
}


def _params(
    cls: type[Strategy],
    table: StrategyTable,
    where: str,
    instruments: tuple[Instrument, ...],
    product: ProductType,
) -> Any:
    """Each parameter checked by the type the strategy's Params declares, then built by the
    strategy's own parser (the one `backtest --param` uses), so both agree on every value."""
    try:
        fields = {f.name for f in dataclasses.fields(cls.Params)}
        hints = typing.get_type_hints(cls.Params)
    except (TypeError, NameError) as exc:  # a user's Params that is not a plain dataclass
        raise ConfigProblem(
            f"{where}.strategy",
            f"{cls.name}: its Params is not a dataclass of typed parameters ({exc})",
        ) from None
    text: dict[str, str] = {}
    for key, value in table.params.items():
        path = f"{where}.params{key_part(key)}"
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigProblem(path, f"unknown parameter of {cls.name} (known: {known})")
        want, kinds = _PARAM_TYPES.get(hints[key], (None, ()))
        if want is None:
            raise ConfigProblem(path, f"{cls.name} declares an unsupported type {hints[key]!r}")
        if isinstance(value, bool) is not (hints[key] is bool) or not isinstance(value, kinds):
            raise ConfigProblem(path, f"must be {want}, not {toml_type(value)}")
        text[key] = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        strategy = build_strategy(
            cls,
            text,
            symbols=tuple(i.symbol for i in instruments),
            quantity=table.quantity,
            product=product,
        )
    except ConfigError as exc:
        raise ConfigProblem(f"{where}.params", str(exc)) from None
    except Exception as exc:  # a user's Params refused its values some other way
        raise ConfigProblem(
            f"{where}.params", f"{cls.name}: {type(exc).__name__} while building them: {exc}"
        ) from None
    return strategy.params
