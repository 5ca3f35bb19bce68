"""The historical driver: its equity curve is exact, several symbols' bars arrive in time order,
bad inputs are refused with a ConfigError, and the outputs are written whole."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import (
    BacktestConfig,
    BacktestRun,
    generate_bars,
    metrics_of,
    run_backtest,
    summary,
    write_outputs,
)
from algo_trading.domain.errors import ConfigError, StrategyError
from algo_trading.domain.events import Bar
from algo_trading.domain.fills import Fill
from algo_trading.engine import TradingEngine
from algo_trading.strategy.builtin.ema_crossover import EmaCrossover, EmaCrossoverParams
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover, SmaCrossoverParams
from tests.support.builders import ist_ns
from tests.support.fakes import FlatCharges, RecordingStrategy

CASH = 1_000_000 * 100
MINUTE_NS = 60 * 10**9


def _sma_run(n: int = 3_000) -> BacktestRun:
    strategy = SmaCrossover(
        SmaCrossoverParams(fast=5, slow=20, allow_short=True), symbols=("SYNTH",), quantity=7
    )
    return run_backtest(
        strategy,
        [generate_bars(n, symbol="SYNTH", seed=11)],
        BacktestConfig(cash_paise=CASH, charges=FlatCharges(1_234)),
    )


@pytest.fixture(scope="module")
def sma_run() -> BacktestRun:
    return _sma_run()


def _series(symbol: str, minutes: list[int], close: list[int]) -> BarSeries:
    ts = np.array([ist_ns("2024-01-01", "09:15") + m * MINUTE_NS for m in minutes], np.int64)
    c = np.array(close, dtype=np.int64)
    return BarSeries(symbol, ts, c, c + 10, c - 10, c, np.full(len(c), 1_000, np.int64))


def _equity_by_hand(
    timeline: list[int], series: list[BarSeries], fills: list[Fill], cash: int
) -> tuple[list[int], list[bool]]:
    """Replay the fills in time order; value each position at its symbol's latest close."""
    closes = {s.symbol: dict(zip(s.ts_ns.tolist(), s.close.tolist(), strict=True)) for s in series}
    pending = sorted(fills, key=lambda f: f.ts_ns)
    held: dict[str, int] = {}
    last_close: dict[str, int] = {}
    equity, exposed = [], []
    j = 0
    for t in timeline:
        while j < len(pending) and pending[j].ts_ns <= t:
            f = pending[j]
            cash -= f.signed_quantity * f.price_paise + f.charges_paise
            held[f.symbol] = held.get(f.symbol, 0) + f.signed_quantity
            j += 1
        for sym, by_time in closes.items():
            if t in by_time:
                last_close[sym] = by_time[t]
        equity.append(cash + sum(q * last_close[sym] for sym, q in held.items()))
        exposed.append(any(held.values()))
    return equity, exposed


def test_equity_curve_ends_at_the_portfolios_equity(sma_run: BacktestRun) -> None:
    last_close = int(generate_bars(3_000, symbol="SYNTH", seed=11).close[-1])
    cash = CASH - sum(f.signed_quantity * f.price_paise + f.charges_paise for f in sma_run.fills)
    held = sum(f.signed_quantity for f in sma_run.fills)

    assert len(sma_run.round_trips) > 5
    assert int(sma_run.equity_paise[-1]) == sma_run.final_equity_paise
    assert sma_run.final_equity_paise == cash + held * last_close


def test_equity_curve_matches_a_replay_of_the_fills_at_every_bar(sma_run: BacktestRun) -> None:
    bars = generate_bars(3_000, symbol="SYNTH", seed=11)
    expected, exposed = _equity_by_hand(bars.ts_ns.tolist(), [bars], sma_run.fills, CASH)

    assert sma_run.timeline_ns.tolist() == bars.ts_ns.tolist()
    assert sma_run.equity_paise.tolist() == expected
    assert sma_run.exposed.tolist() == exposed
    assert sma_run.charges_paise == 1_234 * len(sma_run.fills)


def test_bars_of_several_symbols_reach_the_strategy_in_time_order() -> None:
    seen: list[tuple[str, int]] = []
    t0 = ist_ns("2024-01-01", "09:15")

    def record(_: RecordingStrategy, bar: Bar) -> None:
        seen.append((bar.symbol, (bar.ts_ns - t0) // MINUTE_NS))

    a = _series("A", [0, 2, 4], [10_000, 10_100, 10_200])
    b = _series("B", [1, 2, 3], [5_000, 5_050, 5_100])
    run = run_backtest(RecordingStrategy(symbols=("A", "B"), act=record), [a, b])

    # at minute 2 both have a bar: they come in the order the series were given
    assert seen == [("A", 0), ("B", 1), ("A", 2), ("B", 2), ("B", 3), ("A", 4)]
    assert run.bars == 6
    assert ((run.timeline_ns - t0) // MINUTE_NS).tolist() == [0, 1, 2, 3, 4]


def _fill_minutes(run: BacktestRun) -> list[tuple[str, str, int, int]]:
    t0 = ist_ns("2024-01-01", "09:15")
    return [(f.symbol, f.side.value, (f.ts_ns - t0) // MINUTE_NS, f.price_paise) for f in run.fills]


def test_an_order_decided_on_one_symbols_bar_fills_at_the_next_bar_of_its_own_symbol() -> None:
    # A's bar of minute 0 comes before B's bar of minute 0; an order for B decided on it must
    # not meet B's bar of minute 0 (it opened at the same moment as A's: filling at its open
    # would trade at a price from before the decision). It meets B's bar of minute 1.
    a = _series("A", [0, 1, 2], [10_000, 10_100, 10_200])
    b = _series("B", [0, 1, 2], [5_000, 5_050, 5_100])

    def trade(s: RecordingStrategy, bar: Bar) -> None:
        if bar.symbol == "A" and bar.ts_ns == a.ts_ns[0]:
            s.buy(10, "B")
            s.buy(10, "B", limit_paise=5_045)  # B opened below it at minute 0
            s.buy(10, "B", stop_paise=5_000)

    run = run_backtest(RecordingStrategy(symbols=("A", "B"), act=trade), [a, b])

    assert _fill_minutes(run) == [
        ("B", "BUY", 1, 5_050),
        ("B", "BUY", 1, 5_045),  # minute 1 opened above the limit and traded down through it
        ("B", "BUY", 1, 5_050),  # the stop gapped through at the open of minute 1
    ]


def test_every_bar_of_a_time_is_matched_before_any_strategy_sees_a_bar_of_that_time() -> None:
    # B's resting order fills on B's bar of minute 1; the strategy, on A's bar of minute 1
    # (which comes before B's), already sees the position: fills of t are booked before any
    # bar of t reaches a strategy, whichever symbol's bar comes first.
    a = _series("A", [0, 1, 2], [10_000, 10_100, 10_200])
    b = _series("B", [0, 1, 2], [5_000, 5_050, 5_100])
    seen: list[tuple[str, int, int]] = []

    def trade(s: RecordingStrategy, bar: Bar) -> None:
        seen.append((bar.symbol, (bar.ts_ns - a.ts_ns[0]) // MINUTE_NS, s.position("B")))
        if bar.symbol == "B" and bar.ts_ns == b.ts_ns[0]:
            s.buy(10, "B")

    run_backtest(RecordingStrategy(symbols=("A", "B"), act=trade), [a, b])

    assert seen == [
        ("A", 0, 0),
        ("B", 0, 0),
        ("A", 1, 10),
        ("B", 1, 10),
        ("A", 2, 10),
        ("B", 2, 10),
    ]


def test_an_order_for_a_symbol_with_gaps_fills_at_its_first_bar_after_the_decision() -> None:
    a = _series("A", [0, 1, 2, 3], [10_000, 10_100, 10_200, 10_300])
    b = _series("B", [0, 3], [5_000, 5_100])  # B does not trade at minutes 1 and 2

    def trade(s: RecordingStrategy, bar: Bar) -> None:
        if bar.symbol == "A" and bar.ts_ns == a.ts_ns[1]:
            s.buy(10, "B")

    run = run_backtest(RecordingStrategy(symbols=("A", "B"), act=trade), [a, b])

    assert _fill_minutes(run) == [("B", "BUY", 3, 5_100)]


def test_equity_curve_of_several_symbols_values_each_at_its_latest_close() -> None:
    a = generate_bars(900, symbol="A", seed=1)
    raw = generate_bars(600, symbol="B", seed=2, start_price_paise=50_000)
    keep = np.arange(600) % 7 != 3  # B misses some minutes and stops early
    b = BarSeries(
        "B",
        raw.ts_ns[keep] + 30 * 10**9,  # and trades half a minute after A
        raw.open[keep],
        raw.high[keep],
        raw.low[keep],
        raw.close[keep],
        raw.volume[keep],
    )
    count: dict[str, int] = {}

    def trade(s: RecordingStrategy, bar: Bar) -> None:
        k = count[bar.symbol] = count.get(bar.symbol, 0) + 1
        if k % 60 == 10:
            s.target_position(10 if bar.symbol == "A" else -4, bar.symbol)
        elif k % 60 == 40:
            s.target_position(0, bar.symbol)

    run = run_backtest(
        RecordingStrategy(symbols=("A", "B"), act=trade),
        [a, b],
        BacktestConfig(cash_paise=CASH, charges=FlatCharges(99)),
    )
    timeline = np.unique(np.concatenate([a.ts_ns, b.ts_ns])).tolist()
    expected, exposed = _equity_by_hand(timeline, [a, b], run.fills, CASH)

    assert {f.symbol for f in run.fills} == {"A", "B"}
    assert run.timeline_ns.tolist() == timeline
    assert run.equity_paise.tolist() == expected
    assert run.exposed.tolist() == exposed
    assert expected[-1] == run.final_equity_paise


def _ema_run(n: int) -> BacktestRun:
    # several calls a bar (two EMAs, their crossover, then on_bar), where the SMA one makes one
    strategy = EmaCrossover(
        EmaCrossoverParams(fast=3, slow=9, allow_short=True), symbols=("SYNTH",), quantity=7
    )
    return run_backtest(
        strategy,
        [generate_bars(n, symbol="SYNTH", seed=11)],
        BacktestConfig(cash_paise=CASH, charges=FlatCharges(1_234)),
    )


@pytest.mark.parametrize(
    ("make_run", "bars"), [(_sma_run, 4_000), (_ema_run, 4_000), (_ema_run, 20_000)]
)
def test_the_inlined_one_strategy_loop_does_what_the_engines_bar_handler_does(
    monkeypatch: pytest.MonkeyPatch, make_run: Callable[[int], BacktestRun], bars: int
) -> None:
    # The driver runs the engine's one-strategy handler inline; made to call the handler
    # instead, the same run must leave the same orders, fills, charges and equity. The EMA
    # run is intraday (allow_short): squared off at each day's cut-off, which the inline loop
    # finds by a search per chunk; 20,000 bars cross chunks of the loop.
    inlined = make_run(bars)
    monkeypatch.setattr(TradingEngine, "inline_route", lambda self, symbol: None)
    called = make_run(bars)

    assert len(inlined.fills) > 50  # an order-heavy run, not a quiet one
    assert inlined.fills == called.fills
    assert [o.snapshot() for o in inlined.orders] == [o.snapshot() for o in called.orders]
    assert inlined.charges_paise == called.charges_paise
    assert inlined.equity_paise.tolist() == called.equity_paise.tolist()


class _FailsOnThirdBar(RecordingStrategy):
    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if self.hooks().count("on_bar") == 3:
            raise ValueError("boom")


@pytest.mark.parametrize("inline", [True, False])
def test_a_strategy_failing_on_a_bar_stops_the_backtest_naming_the_bar(
    monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    if not inline:
        monkeypatch.setattr(TradingEngine, "inline_route", lambda self, symbol: None)
    series = _series("A", [0, 1, 2, 3], [100, 101, 102, 103])
    with pytest.raises(StrategyError) as caught:
        run_backtest(_FailsOnThirdBar(symbols=("A",)), [series])
    assert caught.value.hook == "on_bar"
    assert "09:17" in str(caught.value)


def test_an_empty_list_of_series_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no bars"):
        run_backtest(RecordingStrategy(symbols=("A",)), [])


def test_series_without_bars_count_as_no_data() -> None:
    empty = BarSeries("A", *(np.array([], dtype=np.int64) for _ in range(6)))

    with pytest.raises(ConfigError, match="no bars"):
        run_backtest(RecordingStrategy(symbols=("A",)), [empty])


def test_a_strategy_symbol_without_data_is_a_config_error_naming_it() -> None:
    data = _series("SBIN-EQ", [0, 1], [10_000, 10_005])

    with pytest.raises(ConfigError, match="'INFY'"):
        run_backtest(RecordingStrategy(symbols=("SBIN-EQ", "INFY")), [data])


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def test_write_outputs_writes_the_five_files_with_their_headers_and_one_row_per_item(
    sma_run: BacktestRun, tmp_path: Path
) -> None:
    m = metrics_of(sma_run)
    out = tmp_path / "results"

    written = write_outputs(sma_run, m, out)

    names = ["trades.csv", "orders.csv", "fills.csv", "equity.csv", "summary.json"]
    assert sorted(p.name for p in written) == sorted(names)
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary left behind
    trades_header, trades = _rows(out / "trades.csv")
    assert trades_header == [
        "symbol",
        "direction",
        "quantity",
        "entry_time",
        "exit_time",
        "entry_value",
        "exit_value",
        "pnl",
        "charges",
        "net_pnl",
    ]
    assert len(trades) == len(sma_run.round_trips) > 0
    orders_header, orders = _rows(out / "orders.csv")
    assert orders_header == [
        "client_order_id",
        "symbol",
        "side",
        "order_type",
        "quantity",
        "price",
        "trigger_price",
        "product",
        "status",
        "filled_quantity",
        "created",
        "updated",
        "reason",
    ]
    assert len(orders) == len(sma_run.orders)
    fills_header, fills = _rows(out / "fills.csv")
    assert fills_header == [
        "trade_id",
        "client_order_id",
        "symbol",
        "side",
        "quantity",
        "price",
        "time",
        "charges",
    ]
    assert len(fills) == len(sma_run.fills)
    equity_header, equity = _rows(out / "equity.csv")
    assert equity_header == ["time", "equity"]
    assert len(equity) == len(sma_run.timeline_ns) == sma_run.bars
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == json.loads(
        json.dumps(summary(sma_run, m))
    )


def test_write_outputs_leaves_the_old_file_whole_when_writing_the_new_one_fails(
    sma_run: BacktestRun, tmp_path: Path
) -> None:
    # Each file is written to NAME.part and renamed; a directory in the way of the temporary
    # makes the write fail, and the previous summary must survive untouched.
    (tmp_path / "summary.json").write_text('{"old": true}\n', encoding="utf-8")
    (tmp_path / "summary.json.part").mkdir()

    with pytest.raises(OSError):
        write_outputs(sma_run, metrics_of(sma_run), tmp_path)

    assert (tmp_path / "summary.json").read_text(encoding="utf-8") == '{"old": true}\n'


@pytest.mark.parametrize("steps", [[1, 1, 2, 5, 1, 3], [1, 0, 2, 0, 0, 3], [4]])
def test_a_single_symbols_latest_close_is_what_the_searched_lines_give(steps: list[int]) -> None:
    # The single-symbol shortcut (no binary search per bar) applies only to strictly
    # increasing times; with equal times it must fall back and still agree.
    from algo_trading.backtest.driver import _latest_close, _latest_close_searched

    ts = np.cumsum(np.array(steps, dtype=np.int64)) * 60_000_000_000
    closes = np.arange(100, 100 + len(ts), dtype=np.int64) * 5
    s = BarSeries("SBIN", ts, closes, closes, closes, closes, np.ones(len(ts), dtype=np.int64))
    fast = _latest_close(s.ts_ns, s)
    assert fast.tolist() == _latest_close_searched(s.ts_ns, s).tolist()
    if 0 not in steps[1:]:
        assert fast.tolist() == closes.tolist()


def test_the_inlined_loop_on_times_that_go_back_checks_the_cut_off_at_every_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Times that go back (each day's last hour moved before its first bar): no search for
    # the cut-off, each bar checked as the engine's handler path does.
    base = generate_bars(3_000, symbol="SYNTH", seed=11)
    order = np.arange(len(base))
    for day_start in range(0, len(base) - 375, 375):
        order[day_start : day_start + 375] = np.roll(order[day_start : day_start + 375], 60)
    series = BarSeries(
        "SYNTH",
        base.ts_ns[order],
        base.open[order],
        base.high[order],
        base.low[order],
        base.close[order],
        base.volume[order],
    )
    assert not bool((series.ts_ns[1:] >= series.ts_ns[:-1]).all())

    def one() -> BacktestRun:
        strategy = EmaCrossover(
            EmaCrossoverParams(fast=3, slow=9, allow_short=True), symbols=("SYNTH",), quantity=7
        )
        return run_backtest(strategy, [series], BacktestConfig(cash_paise=CASH))

    inlined = one()
    monkeypatch.setattr(TradingEngine, "inline_route", lambda self, symbol: None)
    called = one()
    assert len(inlined.fills) > 50
    assert inlined.fills == called.fills
    assert [o.snapshot() for o in inlined.orders] == [o.snapshot() for o in called.orders]


def test_the_single_symbol_mark_answers_as_the_marks_dict_would() -> None:
    # One symbol's latest close kept in a slot instead of a dict's item (the buying power
    # check prices a market order by it): None before its first bar and for any other symbol.
    from algo_trading.backtest.driver import _LastClose

    mark, marks = _LastClose("A"), {}
    for close in (None, 100, 105):
        if close is not None:
            mark.close = marks["A"] = close
        for sym in ("A", "B"):
            assert mark.get(sym) == marks.get(sym)
