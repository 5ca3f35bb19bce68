"""The six built-in strategies on generated bars: each trades, respects `allow_short`, and the
intraday ones are flat after `exit_time`; their parameters are checked and named."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal

import pytest

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import BacktestRun, build_strategy, generate_bars, run_backtest
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar, ist_day, ist_minute, parse_hhmm
from algo_trading.strategy import BUILTIN_STRATEGIES, Strategy, parse_params
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover

INTRADAY = ("opening_range_breakout", "vwap_reversion")


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return generate_bars(20_000, symbol="SBIN", seed=5)


def run(name: str, bars: BarSeries, **params: str) -> BacktestRun:
    strategy = build_strategy(BUILTIN_STRATEGIES[name], params, quantity=10)
    return run_backtest(strategy, [bars])


def positions_after_fills(result: BacktestRun) -> list[int]:
    return list(itertools.accumulate(f.signed_quantity for f in result.fills))


def test_the_six_built_ins_are_registered_under_their_names() -> None:
    assert sorted(BUILTIN_STRATEGIES) == sorted(
        [
            "sma_crossover",
            "ema_crossover",
            "rsi_reversion",
            "opening_range_breakout",
            "vwap_reversion",
            "supertrend",
        ]
    )
    for name, cls in BUILTIN_STRATEGIES.items():
        assert cls.name == name


@pytest.mark.parametrize("name", sorted(BUILTIN_STRATEGIES))
def test_long_only_built_in_trades_and_never_holds_a_short(bars: BarSeries, name: str) -> None:
    result = run(name, bars, allow_short="false")

    assert len(result.round_trips) >= 1
    assert min(positions_after_fills(result)) >= 0
    assert all(t.direction == 1 for t in result.round_trips)


@pytest.mark.parametrize("name", sorted(BUILTIN_STRATEGIES))
def test_built_in_with_allow_short_does_go_short(bars: BarSeries, name: str) -> None:
    # the counterpart of the long-only test: the same data gives shorts when they are allowed
    result = run(name, bars, allow_short="true")

    assert min(positions_after_fills(result)) < 0


@pytest.mark.parametrize("name", INTRADAY)
@pytest.mark.parametrize("exit_time", ["15:10", "13:30"])
def test_intraday_built_in_is_flat_from_the_bar_after_exit_time(
    bars: BarSeries, name: str, exit_time: str
) -> None:
    result = run(name, bars, exit_time=exit_time)
    exit_minute = parse_hhmm(exit_time)

    assert len(result.round_trips) >= 1
    # the exit order goes out on the first bar at or after exit_time and fills at the next open
    late = [ist_minute(t) > exit_minute for t in result.timeline_ns.tolist()]
    assert any(late)
    assert not any(result.exposed[late])
    entries_late = [
        f
        for f, after in zip(result.fills, positions_after_fills(result), strict=True)
        if ist_minute(f.ts_ns) > exit_minute and after != 0
    ]
    assert entries_late == []


@pytest.mark.parametrize("name", INTRADAY)
def test_intraday_built_in_carries_nothing_overnight(bars: BarSeries, name: str) -> None:
    result = run(name, bars)
    final_day = ist_day(int(bars.ts_ns[-1]))  # the data stops mid-session on this day
    last_position_of_day: dict[int, int] = {}
    for f, after in zip(result.fills, positions_after_fills(result), strict=True):
        if ist_day(f.ts_ns) != final_day:
            last_position_of_day[ist_day(f.ts_ns)] = after

    assert len(last_position_of_day) > 5
    assert set(last_position_of_day.values()) == {0}


def test_opening_range_breakout_enters_at_most_once_a_day(bars: BarSeries) -> None:
    result = run("opening_range_breakout", bars)
    entries_per_day: dict[int, int] = {}
    for t in result.round_trips:
        entries_per_day[ist_day(t.entry_ns)] = entries_per_day.get(ist_day(t.entry_ns), 0) + 1

    assert max(entries_per_day.values()) == 1


# --- parameters -------------------------------------------------------------------------------

BAD_PARAMS = [
    ("sma_crossover", {"fast": "30", "slow": "10"}, "fast (30) must be below slow (10)"),
    ("sma_crossover", {"fast": "0"}, "must be positive"),
    ("ema_crossover", {"fast": "26", "slow": "26"}, "fast (26) must be below slow (26)"),
    ("rsi_reversion", {"period": "1"}, "period 1"),
    ("rsi_reversion", {"oversold": "60"}, "oversold < exit_level"),
    ("opening_range_breakout", {"minutes": "0"}, "minutes 0"),
    ("opening_range_breakout", {"exit_time": "09:20"}, "inside the opening range"),
    ("opening_range_breakout", {"exit_time": "25:00"}, "'25:00'"),
    ("vwap_reversion", {"band_bps": "0"}, "band_bps 0"),
    ("vwap_reversion", {"exit_time": "late"}, "'late'"),
    ("supertrend", {"period": "0"}, "period 0"),
    ("supertrend", {"multiplier": "-1"}, "multiplier -1"),
    ("supertrend", {"multiplier": "2.5x"}, "multiplier='2.5x'"),
    ("rsi_reversion", {"allow_short": "maybe"}, "allow_short='maybe'"),
    ("ema_crossover", {"slow": "abc"}, "slow='abc'"),
]


@pytest.mark.parametrize(
    ("name", "raw", "fact"), BAD_PARAMS, ids=[f"{n}-{'-'.join(r)}" for n, r, _ in BAD_PARAMS]
)
def test_bad_parameter_is_a_config_error_naming_the_strategy(
    name: str, raw: dict[str, str], fact: str
) -> None:
    with pytest.raises(ConfigError) as info:
        build_strategy(BUILTIN_STRATEGIES[name], raw)
    message = str(info.value)
    assert name in message
    assert fact in message


def test_supertrend_multiplier_is_an_exact_decimal() -> None:
    strategy = build_strategy(BUILTIN_STRATEGIES["supertrend"], {"multiplier": "2.35"})
    assert strategy.params.multiplier == Decimal("2.35")


@dataclass(frozen=True)
class SampleParams:
    period: int = 14
    allow_short: bool = False
    band: Decimal = Decimal("0.5")
    label: str = "x"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        (" True ", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_bool_parameter_accepts_the_usual_spellings(text: str, value: bool) -> None:
    params = parse_params("sample", SampleParams, {"allow_short": text})
    assert params.allow_short is value


def test_int_decimal_and_text_parameters_convert_from_text() -> None:
    params = parse_params(
        "sample", SampleParams, {"period": " 21 ", "band": "0.125", "label": " keep spaces "}
    )

    assert params == SampleParams(21, False, Decimal("0.125"), " keep spaces ")
    assert isinstance(params.band, Decimal)


def test_missing_parameters_keep_their_defaults() -> None:
    assert parse_params("sample", SampleParams, {}) == SampleParams()


@pytest.mark.parametrize(
    ("raw", "fact"),
    [
        ({"period": "1.5"}, "period='1.5' is not an integer"),
        ({"period": ""}, "period='' is not an integer"),
        ({"allow_short": "maybe"}, "allow_short='maybe' is not true or false"),
        ({"band": "abc"}, "band='abc' is not a number"),
        ({"band": "nan"}, "band='nan' is not a number"),
        ({"band": "inf"}, "band='inf' is not a number"),
    ],
)
def test_parameter_of_the_wrong_type_names_strategy_key_and_value(
    raw: dict[str, str], fact: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params("sample", SampleParams, raw)
    assert "sample" in str(info.value)
    assert fact in str(info.value)


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        parse_params("sample", SampleParams, {"perod": "3"})
    message = str(info.value)
    assert "'perod'" in message
    assert "period, allow_short, band, label" in message


@dataclass(frozen=True)
class FloatParams:
    ratio: float = 0.5


def test_a_float_field_is_refused_as_an_unsupported_type() -> None:
    # floats never decide trades; a strategy author must pick Decimal instead
    with pytest.raises(ConfigError) as info:
        parse_params("floaty", FloatParams, {"ratio": "0.3"})
    assert "ratio" in str(info.value)
    assert "unsupported type" in str(info.value)


# --- the SMA crossover's one-call-a-bar path ----------------------------------------------------


def _sma_runs(
    monkeypatch: pytest.MonkeyPatch, bars: BarSeries, strategy: type[SmaCrossover], **params: str
) -> tuple[BacktestRun, BacktestRun]:
    """The same run through the strategy's own bar_calls and through the default one (its
    indicators, then its on_bar)."""
    fused = run_backtest(
        build_strategy(strategy, params, quantity=7, symbols=(bars.symbol,)), [bars]
    )
    monkeypatch.setattr(strategy, "bar_calls", Strategy.bar_calls)
    default = run_backtest(
        build_strategy(strategy, params, quantity=7, symbols=(bars.symbol,)), [bars]
    )
    return fused, default


@pytest.mark.parametrize("allow_short", ["false", "true"])
def test_the_sma_crossovers_single_call_a_bar_trades_exactly_as_its_indicators_and_on_bar(
    monkeypatch: pytest.MonkeyPatch, bars: BarSeries, allow_short: str
) -> None:
    fused, default = _sma_runs(
        monkeypatch, bars, SmaCrossover, fast="3", slow="7", allow_short=allow_short
    )
    assert len(fused.fills) > 50
    assert fused.fills == default.fills
    assert [o.snapshot() for o in fused.orders] == [o.snapshot() for o in default.orders]
    assert fused.final_equity_paise == default.final_equity_paise
    # the indicators the strategy holds end where the default path leaves them
    mine, theirs = fused.strategy, default.strategy
    assert isinstance(mine, SmaCrossover)
    assert isinstance(theirs, SmaCrossover)
    for sym in mine.symbols:
        a, b = mine.cross[sym], theirs.cross[sym]
        assert (a.value, a.ready, a._prev) == (b.value, b.ready, b._prev)


class _CountingSma(SmaCrossover):
    name = "counting_sma"

    def on_start(self) -> None:
        super().on_start()
        self.seen = 0

    def on_bar(self, bar: Bar) -> None:
        self.seen += 1
        super().on_bar(bar)


def test_a_subclass_with_its_own_on_bar_is_called_on_every_bar(bars: BarSeries) -> None:
    strategy = _CountingSma(SmaCrossover.Params(3, 7), symbols=(bars.symbol,), quantity=7)
    run_backtest(strategy, [bars])
    assert strategy.seen == len(bars)
    assert strategy.bar_calls(bars.symbol)[-1] == strategy.on_bar


def test_an_sma_crossover_whose_on_start_failed_still_lets_the_engine_start() -> None:
    # The engine asks bar_calls of every strategy at start, a failed one included; it must
    # not raise for want of what on_start would have made.
    strategy = SmaCrossover(SmaCrossover.Params(3, 7), symbols=("SBIN",), quantity=7)
    calls = strategy.bar_calls("SBIN")
    assert calls == (strategy.on_bar,)


def _sma_state(s: SmaCrossover, sym: str) -> tuple[object, ...]:
    both = s._fused[sym]
    a, b, c = both.fast, both.slow, both.cross
    return (
        (a.num, list(a._buf), a._i, a.count, a.ready),
        (b.num, list(b._buf), b._i, b.count, b.ready),
        (c.value, c._prev, c.ready, both.ready),
    )


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("fast", "slow"), [(3, 7), (3, 9), (4, 6), (2, 10)])
def test_the_fused_sma_step_matches_indicators_then_on_bar_on_every_bar(
    allow_short: bool, seed: int, fast: int, slow: int
) -> None:
    # Bar by bar, cold and warm: the same orders asked (target_position) and the same
    # indicator state after each bar, on prices of a few ticks so ties and crossings are
    # frequent.
    rng = random.Random(seed)
    asked: dict[str, list[tuple[int, int, str | None]]] = {"fused": [], "default": []}
    strategies = {}
    for name in asked:
        s = SmaCrossover(
            SmaCrossover.Params(fast, slow, allow_short), symbols=("SBIN",), quantity=7
        )
        s.on_start()
        log = asked[name]

        def target(
            q: int,
            sym: str | None = None,
            *,
            log: list[tuple[int, int, str | None]] = log,
            **kw: object,
        ) -> None:
            log.append((len(log), q, sym))

        s.target_position = target  # type: ignore[assignment,method-assign]
        strategies[name] = s
    fused = strategies["fused"].bar_calls("SBIN")
    default = Strategy.bar_calls(strategies["default"], "SBIN")
    assert len(fused) == 1
    assert len(default) == 2
    price = 1_000
    for n in range(2_000):
        price = max(5, price + 5 * rng.choice((-1, 0, 1)))
        bar = Bar("SBIN", n, price, price, price, price, 1)
        for call in fused:
            call(bar)
        for call in default:
            call(bar)
        assert _sma_state(strategies["fused"], "SBIN") == _sma_state(
            strategies["default"], "SBIN"
        ), n
        assert asked["fused"] == asked["default"], n
    assert len(asked["fused"]) > 100
