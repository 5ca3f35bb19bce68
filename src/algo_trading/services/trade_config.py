"""The trade config (`algo-trading trade --config FILE [--live]`, issue #10 items 1 and 2):
a TOML file read and checked completely at start, before anything connects or sends.

Every mistake is one ConfigError line naming the file, the key path (`strategies[1].params.fast`)
and the problem: a TOML syntax error with its line and column, an unknown key at any level, a
value of the wrong type, an unknown strategy or parameter, a symbol the instrument master does
not list, a quantity that is not whole lots, an impossible limit. Live trading needs three
things, each refused on its own line when absent: `mode = "live"` in the file, `--live` or
ALGO_LIVE_CONFIRM=yes, and Angel One's credentials in the secret store (checked for presence
through the SecretStore port; never read into the config, never printed).

The schema is in `trade_config_schema.py`; examples/paper.toml is a documented full example.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from algo_trading.adapters.brokers.angelone.config import SECRET_NAMES
from algo_trading.adapters.instruments import load_scrip_master
from algo_trading.adapters.secrets import AwsSecretsManagerStore, EnvSecretStore
from algo_trading.backtest.strategies import build_strategy, resolve_strategy
from algo_trading.domain.errors import AlgoTradingError, ConfigError
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType, Segment
from algo_trading.domain.money import format_rupees
from algo_trading.domain.orders import ProductType
from algo_trading.engine.ports import SecretStore
from algo_trading.market.calendar_data import TIMETABLES, Window
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.services.settings import BrokerKind, Settings, env_name
from algo_trading.services.trade_config_schema import (
    BrokerTable,
    ConfigFile,
    RiskTable,
    StrategyTable,
    is_credential_key,
    toml_type,
)
from algo_trading.simulator.scripmaster import build_records, build_scrip_master
from algo_trading.strategy import Strategy

__all__ = [
    "BrokerConfig",
    "RiskLimits",
    "StrategyConfig",
    "TradeConfig",
    "check_live",
    "default_master",
    "load_trade_config",
    "parse_trade_config",
    "secret_store_for",
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
_SHOWN_ERRORS = 3


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    kind: BrokerKind
    url: str | None  # the simulator's base URL; None for the other kinds


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """One scope's limits (the account, or one strategy); None: no limit. Paise, units, IST."""

    capital_paise: int | None = None
    max_daily_loss_paise: int | None = None
    max_drawdown_paise: int | None = None
    max_order_value_paise: int | None = None
    max_order_quantity: int | None = None
    max_position_quantity: int | None = None
    max_position_value_paise: int | None = None
    max_gross_exposure_paise: int | None = None
    max_open_orders: int | None = None
    max_price_distance_bps: int | None = None
    trading_start: dt.time | None = None
    trading_end: dt.time | None = None
    breaker_rejections: int | None = None
    breaker_window_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class StrategyConfig:
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


class _Problem(Exception):
    """A mistake at a key path; turned into one ConfigError line naming the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)


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
        shape = _validate_shape(raw)
        return _build(
            shape, source=source, base_dir=base_dir, today=today, settings=settings, master=master
        )
    except _Problem as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        # Floats as Decimal: a rupee amount or a parameter is never rounded through binary.
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise _Problem("", f"TOML syntax error: {exc}") from None
    except RecursionError:
        raise _Problem("", "TOML syntax error: arrays or tables nested too deeply") from None


def _validate_shape(raw: dict[str, Any]) -> ConfigFile:
    try:
        return ConfigFile.model_validate(raw)
    except ValidationError as exc:
        lines = [_pydantic_line(e) for e in exc.errors(include_url=False)]
        more = len(lines) - _SHOWN_ERRORS
        text = "; ".join(lines[:_SHOWN_ERRORS]) + (f" (and {more} more)" if more > 0 else "")
        raise _Problem("", text) from None


# --- turning pydantic's errors into our lines ------------------------------------------------


def key_path(loc: tuple[str | int, ...]) -> str:
    """('strategies', 1, 'params', 'fast') -> 'strategies[1].params.fast'; odd keys quoted."""
    return "".join(_key_part(part, first=i == 0) for i, part in enumerate(loc))


def _key_part(part: str | int, *, first: bool = False) -> str:
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
    account = _risk(shape.risk, "risk", None, today, capital_paise=None)
    ids: dict[str, int] = {}
    strategies = []
    for i, table in enumerate(shape.strategies):
        where = f"strategies[{i}]"
        first = ids.setdefault(table.id.lower(), i)
        if first != i:
            raise _Problem(f"{where}.id", f"{table.id!r} is already the id of strategies[{first}]")
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
            raise _Problem(
                "broker.kind",
                f"{kind!r} disagrees with ALGO_BROKER_KIND={settings.broker_kind}; "
                "unset one or make them agree",
            )
    if mode == "live" and kind != "angelone":
        raise _Problem(where, f'live mode trades through "angelone", not {kind!r}')
    if mode == "paper" and kind == "angelone":
        raise _Problem(
            where,
            '"angelone" places real orders: paper mode uses "simulator" or "inprocess" '
            '(or set mode = "live" and confirm it)',
        )
    if kind != "simulator":
        if url is not None:
            raise _Problem("broker.url", f"only the simulator takes a url, not {kind!r}")
        return BrokerConfig(kind=kind, url=None)
    if url is None:
        url = settings.broker_url
        _check_url(url, "ALGO_BROKER_URL")
    else:
        _check_url(url, "broker.url")
        if settings.is_set("broker_url") and settings.broker_url != url:
            raise _Problem(
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
        raise _Problem(where, "is not a URL like http://127.0.0.1:8765") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _Problem(where, "is not an http:// or https:// URL like http://127.0.0.1:8765")
    if parts.username is not None or parts.password is not None:
        raise _Problem(
            where, "carries credentials; they never go in the config file (secret store)"
        )
    if parts.query or parts.fragment:
        raise _Problem(where, "must be a base URL, without ?query or #fragment")
    loopback = host in _LOOPBACK_HOSTS or host.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise _Problem(
            where, f"plain http only to this machine (127.0.0.1, localhost); use https for {host}"
        )


def _master(name: str | None, base_dir: Path, today: dt.date) -> InstrumentMaster:
    if name is None:
        return default_master(today)
    try:
        return load_scrip_master(base_dir / name)
    except AlgoTradingError as exc:
        raise _Problem("instrument_master", str(exc)) from None


def _session(segment: Segment | None, today: dt.date) -> Window:
    """The continuous market of `segment` on a regular day's timetable; None: any segment's
    (the account's window must fit the longest)."""
    times = next(t for since, t in reversed(TIMETABLES) if since <= today)
    if segment is None:
        cash, fno = times.continuous, times.fno_continuous
        return Window(min(cash.start, fno.start), max(cash.end, fno.end))
    return times.fno_continuous if segment is Segment.FNO else times.continuous


def _risk(
    table: RiskTable,
    where: str,
    segment: Segment | None,
    today: dt.date,
    *,
    capital_paise: int | None,
) -> RiskLimits:
    """`capital_paise` is the account's capital, which a strategy's limits also fit within."""
    limits = RiskLimits(
        **{f.name: getattr(table, _table_key(f.name)) for f in dataclasses.fields(RiskLimits)}
    )
    _check_window(limits, where, segment, today)
    if (limits.breaker_rejections is None) != (limits.breaker_window_minutes is None):
        missing = (
            "breaker_window_minutes"
            if limits.breaker_window_minutes is None
            else ("breaker_rejections")
        )
        raise _Problem(f"{where}.{missing}", "missing: the breaker needs both N and M minutes")
    own = limits.capital_paise
    for key, cap, why in (
        ("capital_rupees", capital_paise, "the account's capital_rupees"),
        ("max_daily_loss_rupees", own or capital_paise, "the capital"),
        ("max_drawdown_rupees", own or capital_paise, "the capital"),
    ):
        value = getattr(limits, _limit_key(key))
        if value is not None and cap is not None and value > cap:
            # A loss larger than the capital cannot happen, so such a limit would never stop
            # anything: almost surely a slip of a digit.
            raise _Problem(
                f"{where}.{key}",
                f"{format_rupees(value)} is above {why} ({format_rupees(cap)})",
            )
    return limits


def _table_key(field: str) -> str:
    return field.replace("_paise", "_rupees").replace("_bps", "_percent")


def _limit_key(key: str) -> str:
    return key.replace("_rupees", "_paise")


def _check_window(limits: RiskLimits, where: str, segment: Segment | None, today: dt.date) -> None:
    start, end = limits.trading_start, limits.trading_end
    session = _session(segment, today)
    span = f"{session.start:%H:%M}-{session.end:%H:%M}"
    name = "trading" if segment is None else segment.value.lower()
    for key, t in (("trading_start", start), ("trading_end", end)):
        if t is not None and not session.start <= t <= session.end:
            raise _Problem(
                f"{where}.{key}",
                f"{t:%H:%M} is outside the {name} session ({span} IST)",
            )
    if start is not None and end is not None and not start < end:
        raise _Problem(f"{where}.trading_end", f"{end:%H:%M} is not after {start:%H:%M}")


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
            raise _Problem(f"{where}.symbols[{j}]", f"{inst.symbol} is listed twice")
        seen.add(inst.symbol)
    segment = instruments[0].segment
    _check_product(product, segment, f"{where}.product")
    for inst in instruments:
        if table.quantity % inst.lot_size:
            raise _Problem(
                f"{where}.quantity",
                f"{table.quantity} is not whole lots of {inst.symbol} (lot size {inst.lot_size})",
            )
    risk = _risk(table.risk, f"{where}.risk", segment, today, capital_paise=account.capital_paise)
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
        raise _Problem(
            where, f"{symbol!r} is not in the instrument master ({master.source}) on {exchange}"
        ) from None
    if inst.instrument_type is InstrumentType.INDEX:
        raise _Problem(where, f"{symbol!r} is an index: it can be watched, not traded")
    return inst


def _check_product(product: ProductType, segment: Segment, where: str) -> None:
    if product is ProductType.DELIVERY and segment is Segment.FNO:
        raise _Problem(where, '"delivery" is for cash stocks; F&O uses "carryforward"')
    if product is ProductType.CARRYFORWARD and segment is Segment.CASH:
        raise _Problem(where, '"carryforward" is for F&O; cash stocks use "delivery"')


def _resolve(name: str, where: str, base_dir: Path) -> type[Strategy]:
    path_text, colon, class_name = name.partition(":")
    if path_text.endswith(".py"):
        # A strategy file is found from the config's folder, not from wherever the service runs.
        name = str(base_dir / path_text) + colon + class_name
    try:
        return resolve_strategy(name)
    except ConfigError as exc:
        raise _Problem(f"{where}.strategy", str(exc)) from None


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
    fields = {f.name for f in dataclasses.fields(cls.Params)}
    hints = typing.get_type_hints(cls.Params)
    text: dict[str, str] = {}
    for key, value in table.params.items():
        path = f"{where}.params{_key_part(key)}"
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise _Problem(path, f"unknown parameter of {cls.name} (known: {known})")
        want, kinds = _PARAM_TYPES.get(hints[key], (None, ()))
        if want is None:
            raise _Problem(path, f"{cls.name} declares an unsupported type {hints[key]!r}")
        if isinstance(value, bool) is not (hints[key] is bool) or not isinstance(value, kinds):
            raise _Problem(path, f"must be {want}, not {toml_type(value)}")
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
        raise _Problem(f"{where}.params", str(exc)) from None
    return strategy.params


# --- live trading needs three things ---------------------------------------------------------


def check_live(
    config: TradeConfig, *, live_flag: bool, settings: Settings, secrets: SecretStore
) -> None:
    """Refuse to go on unless a live config is confirmed and its credentials are there.

    Paper mode needs neither; `--live` on a paper config is refused too, since whoever typed it
    expected real orders. Credentials are asked of the secret store by name and dropped: only
    their presence is checked here (the broker adapter reads them when it logs in)."""
    if config.mode == "paper":
        if live_flag:
            raise ConfigError(
                f'{config.source}: mode = "paper" but --live was given; set mode = "live" to '
                "trade real money, or drop --live"
            )
        return
    if not (live_flag or settings.live_confirmed):
        raise ConfigError(
            f'{config.source}: mode = "live" needs confirmation: add --live or set '
            "ALGO_LIVE_CONFIRM=yes"
        )
    missing = []
    for name in SECRET_NAMES.values():
        try:
            secrets.get(name)
        except ConfigError:
            missing.append(name)
    if missing:
        raise ConfigError(
            f"{config.source}: live mode needs Angel One credentials; missing from the secret "
            f"store {secrets!r}: {', '.join(missing)}"
        )


def secret_store_for(settings: Settings, environ: Mapping[str, str]) -> SecretStore:
    """The secret store the settings name (the composition root's choice, kept here until
    services/bootstrap.py exists). Building it makes no call."""
    if settings.secrets_backend == "env":
        return EnvSecretStore(environ)
    missing = [
        env_name(f)
        for f in ("secrets_aws_secret_id", "secrets_aws_region")
        if not getattr(settings, f)
    ]
    if missing:
        raise ConfigError(f"ALGO_SECRETS_BACKEND=aws needs {' and '.join(missing)}")
    return AwsSecretsManagerStore(
        settings.secrets_aws_secret_id,
        region=settings.secrets_aws_region,
        endpoint_url=settings.secrets_aws_endpoint_url or None,
    )
