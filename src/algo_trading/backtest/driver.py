"""The historical driver: feeds bars to the one engine through a simulated clock and broker.

No trading logic lives here. Per timestamp: set the clock to the bars' open time, let the
simulated broker match resting orders against every bar of that time (an order placed on a bar
of t first meets its symbol's next bar), then hand the bars to the engine, which applies the
fills and calls the strategies.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import numpy.typing as npt

from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.adapters.brokers.simulated.funds import BuyingPower
from algo_trading.adapters.history import BarSeries
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar
from algo_trading.domain.fills import Fill
from algo_trading.domain.instruments import Instrument, equity
from algo_trading.domain.orders import Order
from algo_trading.domain.positions import RoundTrip
from algo_trading.engine import (
    MemoryAuditLog,
    MemoryTradeLog,
    SequentialIds,
    SimulatedClock,
    TradingEngine,
)
from algo_trading.engine.engine import InlineRoute
from algo_trading.engine.ports import ChargesModel
from algo_trading.engine.risk import NoDeliveryShort, RiskChain, RiskCheck
from algo_trading.engine.squareoff import IntradaySquareOff, broker_cutoffs
from algo_trading.market.audit import OrderAuditRecord
from algo_trading.market.margins import ANGEL_ONE_MARGINS, MarginRates
from algo_trading.market.sessions import Broker
from algo_trading.market.throttle import DEFAULT_ORDERS_PER_SECOND, OrderThrottle
from algo_trading.strategy.base import Strategy

__all__ = ["BacktestConfig", "BacktestRun", "run_backtest"]


@dataclass(frozen=True)
class BacktestConfig:
    cash_paise: int = 1_000_000 * 100
    slippage_ticks: int = 0
    max_volume_pct: int | None = None
    tick_size_paise: int = 5
    instruments: dict[str, Instrument] = field(default_factory=dict)
    charges: ChargesModel | None = None
    # Checks of our own, asked after the market rules (no naked cash short; no intraday
    # exposure after the cut-off), which always apply.
    risk: RiskCheck | None = None
    # Whose intraday square-off times apply to INTRADAY positions; None: no square-off.
    squareoff_broker: Broker | None = Broker.ANGEL_ONE
    # Order actions per second per client (SEBI/Angel One, indian-market.md §5): orders beyond
    # it wait for the next slot. None: no throttle.
    orders_per_second: int | None = DEFAULT_ORDERS_PER_SECOND
    # Keep the audit record of every order decision (costs time on order-heavy runs).
    audit: bool = False
    # Buying power (indian-market.md §6.6): the share of an order's value the broker blocks per
    # product (DELIVERY 100 %, INTRADAY 20 % = 5x, F&O placeholders); an order beyond the
    # account's funds is rejected INSUFFICIENT_FUNDS by the simulated broker. None: unlimited.
    margins: MarginRates | None = ANGEL_ONE_MARGINS


@dataclass
class BacktestRun:
    """What a run leaves behind: the engine's books, the timeline and its equity curve."""

    strategy: Strategy
    symbols: list[str]
    bars: int
    starting_cash_paise: int
    timeline_ns: npt.NDArray[np.int64]
    equity_paise: npt.NDArray[np.int64]
    exposed: npt.NDArray[np.bool_]
    fills: list[Fill]
    orders: list[Order]
    round_trips: list[RoundTrip]
    charges_paise: int
    final_equity_paise: int
    audit: list[OrderAuditRecord]


def run_backtest(
    strategy: Strategy, series: Iterable[BarSeries], config: BacktestConfig | None = None
) -> BacktestRun:
    cfg = config or BacktestConfig()
    data = [s for s in series if len(s)]
    if not data:
        raise ConfigError("backtest: no bars to run on")
    names = [s.symbol for s in data]
    if len(set(names)) != len(names):
        raise ConfigError(f"backtest: symbol given twice among {', '.join(names)}")
    if not strategy.symbols:
        strategy.symbols = tuple(names)
    unknown = [s for s in strategy.symbols if s not in names]
    if unknown:
        raise ConfigError(
            f"backtest: no data for symbol {unknown[0]!r} (data has {', '.join(names)})"
        )
    instruments = {
        n: cfg.instruments.get(n) or equity(n, tick_size_paise=cfg.tick_size_paise) for n in names
    }
    clock = SimulatedClock()
    engine_ref: list[TradingEngine] = []
    # each symbol's latest close: a market order's price for margin
    marks: dict[str, int] | _LastClose = {} if len(data) > 1 else _LastClose(data[0].symbol)
    funds = None
    if cfg.margins is not None:
        funds = BuyingPower(cfg.margins, lambda: engine_ref[0].portfolio.cash, marks)
    broker = SimulatedBroker(
        clock,
        lambda sym: engine_ref[0].instrument(sym),
        slippage_ticks=cfg.slippage_ticks,
        max_volume_pct=cfg.max_volume_pct,
        buying_power=funds,
    )
    log = MemoryTradeLog()
    audit = MemoryAuditLog() if cfg.audit else None
    cutoffs = None
    if cfg.squareoff_broker is not None:
        cutoffs = broker_cutoffs(instruments, cfg.squareoff_broker)
    squareoff = IntradaySquareOff(cutoffs, clock)
    checks: list[RiskCheck] = [NoDeliveryShort(), squareoff]
    if cfg.risk is not None:
        checks.append(cfg.risk)
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=cfg.cash_paise,
        instruments=instruments.values(),
        risk=RiskChain(*checks),
        trade_log=log,
        ids=SequentialIds("BT"),
        charges=cfg.charges,
        throttle=None if cfg.orders_per_second is None else OrderThrottle(cfg.orders_per_second),
        audit=audit,
    )
    engine_ref.append(engine)
    engine.add_strategy(strategy)
    engine.start()
    # The loop makes a million short-lived objects and no reference cycles worth chasing:
    # the cyclic collector would only scan the books again and again (about 8 % of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if isinstance(marks, _LastClose):
            _run_one(engine, broker, clock, data[0], squareoff, marks)
        else:
            _run_many(engine, broker, clock, data, squareoff, marks)
    finally:
        if collecting:
            gc.enable()
    engine.stop()

    timeline, equity_curve, exposed = _equity_curve(data, log.fills, cfg.cash_paise)
    final = engine.portfolio.equity()
    if len(equity_curve) and int(equity_curve[-1]) != final:
        raise RuntimeError(f"equity curve ends at {equity_curve[-1]} paise, books say {final}")
    return BacktestRun(
        strategy=strategy,
        symbols=names,
        bars=sum(len(s) for s in data),
        starting_cash_paise=cfg.cash_paise,
        timeline_ns=timeline,
        equity_paise=equity_curve,
        exposed=exposed,
        fills=list(log.fills),
        orders=list(engine.orders.orders.values()),
        round_trips=engine.portfolio.round_trips(),
        charges_paise=engine.portfolio.charges_paid,
        final_equity_paise=final,
        audit=audit.records if audit is not None else [],
    )


# Bars turned into Python ints at a time: bounds memory, and keeps the ints of a chunk (about
# 1.5 MB) in the processor's cache while the loop walks them.
_CHUNK = 8_192


class _LastClose:
    """One symbol's latest close, as the marks dict would hold it (`PriceMarks`): a slot the
    single-symbol loop sets at each bar, cheaper than a dict's item."""

    __slots__ = ("close", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.close: int | None = None

    def get(self, symbol: str, /) -> int | None:
        return self.close if symbol == self.symbol else None


def _run_one(
    engine: TradingEngine,
    broker: SimulatedBroker,
    clock: SimulatedClock,
    s: BarSeries,
    squareoff: IntradaySquareOff,
    marks: _LastClose,
) -> None:
    # The hot loop: locals only, Python ints, one Bar per bar and nothing else. The Bar is
    # filled in place rather than by its __init__ (which only stores the seven fields): a
    # Python call less per bar.
    new, bar_type = object.__new__, Bar
    sym = s.symbol
    on_bar = engine.bar_handler(sym)
    match = broker.on_bar
    resting = broker.matcher.by_id
    held, release = engine.orders.held, engine.orders.release
    arrays = (s.ts_ns, s.open, s.high, s.low, s.close, s.volume)
    cutoff = squareoff.next_cutoff_ns(sym, int(s.ts_ns[0]) - 1)
    inline = engine.inline_route(sym)
    if inline is not None:
        _run_one_inline(inline, engine, broker, clock, s, squareoff, marks, cutoff)
        return
    for start in range(0, len(s), _CHUNK):
        columns = (a[start : start + _CHUNK].tolist() for a in arrays)
        for t, op, hi, lw, cl, vo in zip(*columns, strict=True):
            bar = new(bar_type)
            bar.symbol = sym
            bar.ts_ns = t
            bar.open = op
            bar.high = hi
            bar.low = lw
            bar.close = cl
            bar.volume = vo
            clock.ts_ns = t
            if t >= cutoff:
                engine.square_off(sym)
                cutoff = squareoff.next_cutoff_ns(sym, t)
            if held:
                release(t)
            if resting:
                match(bar)
            marks.close = cl
            on_bar(bar)


def _run_one_inline(
    inline: InlineRoute,
    engine: TradingEngine,
    broker: SimulatedBroker,
    clock: SimulatedClock,
    s: BarSeries,
    squareoff: IntradaySquareOff,
    marks: _LastClose,
    cutoff: int,
) -> None:
    """`_run_one` with the engine's one-strategy bar handler (`on_bar_one_strategy`) done
    in the loop rather than called: the same steps in the same order, a call less per bar."""
    new, bar_type = object.__new__, Bar
    sym = s.symbol
    match = broker.on_bar
    resting = broker.matcher.by_id
    held, release = engine.orders.held, engine.orders.release
    routes, books, queue, drain, failed = inline
    arrays = (s.ts_ns, s.open, s.high, s.low, s.close, s.volume)
    # routes[0] as last read, and its one call (None: loop over its calls). A failed strategy
    # has its entry replaced, so the entry is compared at every bar and unpacked again when
    # it changed: the same as re-reading it, without unpacking it each bar.
    route = routes[0]
    calls, strategy = route
    call = calls[0] if len(calls) == 1 else None
    # The intraday cut-off is found by a binary search in each chunk's times rather than a
    # comparison of two large ints at every bar: bars [lo, hi) are before it, bar hi meets it
    # (and squares off first, as the per-bar check did). Only for times that never go back;
    # otherwise each bar is its own run of one, checked as before.
    ordered = bool((s.ts_ns[1:] >= s.ts_ns[:-1]).all())
    for start in range(0, len(s), _CHUNK):
        columns = [a[start : start + _CHUNK].tolist() for a in arrays]
        times = columns[0]
        n = len(times)
        lo = 0
        rows = zip(*columns, strict=True)  # walked once, in runs of bars (no copies made)
        while lo < n:
            if times[lo] >= cutoff:
                now = times[lo]
                clock.ts_ns = now
                engine.square_off(sym)
                cutoff = squareoff.next_cutoff_ns(sym, now)
            hi = bisect_left(times, cutoff, lo) if ordered else lo + 1
            count, lo = hi - lo, hi
            for t, op, hi_, lw, cl, vo in rows if count == n else islice(rows, count):
                bar = new(bar_type)
                bar.symbol = sym
                bar.ts_ns = t
                bar.open = op
                bar.high = hi_
                bar.low = lw
                bar.close = cl
                bar.volume = vo
                clock.ts_ns = t
                if held:
                    release(t)
                if resting:
                    match(bar)
                marks.close = cl
                # The engine's handler from here (engine.py, on_bar_one_strategy). Its first
                # step, `if held: release(t)`, was just done above: nothing since (matching
                # only queues reports) can change what the throttle holds or admits at t.
                if queue:
                    drain()
                # one book is the common case: indexed, no iterator made
                if len(books) == 1:
                    books[0].last_price_paise = cl
                else:
                    for pos in books:
                        pos.last_price_paise = cl
                if routes[0] is not route:
                    route = routes[0]
                    calls, strategy = route
                    call = calls[0] if len(calls) == 1 else None
                try:
                    if call is not None:
                        call(bar)
                    else:
                        for each in calls:
                            each(bar)
                except Exception as exc:  # user code: stop this strategy only
                    failed(strategy, "on_bar", exc, bar.time.isoformat())
                if queue:
                    drain()


def _run_many(
    engine: TradingEngine,
    broker: SimulatedBroker,
    clock: SimulatedClock,
    data: list[BarSeries],
    squareoff: IntradaySquareOff,
    marks: dict[str, int],
) -> None:
    """Bars of several symbols, one timestamp at a time. No look-ahead across symbols: every
    bar stamped t is matched against the resting orders first, then the strategies see the
    bars of t; so an order decided on any bar of t (whichever symbol's bar it was decided on)
    meets its own symbol's next bar, never a bar of t that was already open."""
    ts = np.concatenate([s.ts_ns for s in data])
    which = np.concatenate([np.full(len(s), k, dtype=np.int64) for k, s in enumerate(data)])
    order = np.lexsort((which, ts))
    ts_sorted = ts[order]
    # Index where each run of equal timestamps ends.
    ends = [*(np.flatnonzero(np.diff(ts_sorted)) + 1).tolist(), len(ts_sorted)]
    cols = [
        np.concatenate([getattr(s, f) for s in data])[order].tolist()
        for f in ("open", "high", "low", "close", "volume")
    ]
    names = [s.symbol for s in data]
    syms = [names[k] for k in which[order].tolist()]
    times = ts_sorted.tolist()
    on_bar, match, resting = engine.on_bar, broker.on_bar, broker.matcher.by_id
    held, release = engine.orders.held, engine.orders.release
    cutoffs = {s.symbol: squareoff.next_cutoff_ns(s.symbol, int(s.ts_ns[0]) - 1) for s in data}
    earliest = min(cutoffs.values())
    o, h, lo, c, v = cols
    start = 0
    for end in ends:
        now = times[start]
        clock.ts_ns = now
        if now >= earliest:
            for sym, cut in cutoffs.items():
                if now >= cut:
                    engine.square_off(sym)
                    cutoffs[sym] = squareoff.next_cutoff_ns(sym, now)
            earliest = min(cutoffs.values())
        if held:
            release(now)
        bars = [Bar(syms[i], now, o[i], h[i], lo[i], c[i], v[i]) for i in range(start, end)]
        if resting:
            for bar in bars:
                match(bar)
        for bar in bars:
            marks[bar.symbol] = bar.close
            on_bar(bar)
        start = end


def _latest_close(timeline: npt.NDArray[np.int64], s: BarSeries) -> npt.NDArray[np.int64]:
    """`s`'s latest close at each time of `timeline` (0 before its first bar)."""
    ts = s.ts_ns
    if ts is timeline and len(ts) and bool((ts[1:] > ts[:-1]).all()):
        # A single symbol's own, strictly increasing times: bar i is at position i, its close
        # is the latest (what the general lines give, without a binary search per bar).
        return np.asarray(s.close, dtype=np.int64)
    return _latest_close_searched(timeline, s)


def _latest_close_searched(timeline: npt.NDArray[np.int64], s: BarSeries) -> npt.NDArray[np.int64]:
    n = len(timeline)
    pos = np.searchsorted(timeline, s.ts_ns)
    close = np.zeros(n, dtype=np.int64)
    close[pos] = s.close
    has = np.zeros(n, dtype=np.bool_)
    has[pos] = True
    last = np.maximum.accumulate(np.where(has, np.arange(n), -1))
    return np.where(last >= 0, close[np.maximum(last, 0)], 0)


def _equity_curve(
    data: list[BarSeries], fills: list[Fill], cash_paise: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Equity at each bar's close on the union of bar times, exact in paise: cash after the
    fills up to that time plus each position at its symbol's latest close."""
    timeline = (
        data[0].ts_ns if len(data) == 1 else np.unique(np.concatenate([s.ts_ns for s in data]))
    )
    n = len(timeline)
    cash_delta = np.zeros(n, dtype=np.int64)
    market = np.zeros(n, dtype=np.int64)
    exposed = np.zeros(n, dtype=np.bool_)
    by_symbol: dict[str, list[Fill]] = {}
    for f in fills:
        by_symbol.setdefault(f.symbol, []).append(f)
    if fills:
        idx = np.searchsorted(timeline, np.array([f.ts_ns for f in fills], dtype=np.int64))
        flows = np.array(
            [-(f.signed_quantity * f.price_paise) - f.charges_paise for f in fills], dtype=np.int64
        )
        np.add.at(cash_delta, idx, flows)
    for s in data:
        sym_fills = by_symbol.get(s.symbol)
        if not sym_fills:
            continue
        close_ff = _latest_close(timeline, s)
        qty_delta = np.zeros(n, dtype=np.int64)
        fidx = np.searchsorted(timeline, np.array([f.ts_ns for f in sym_fills], dtype=np.int64))
        np.add.at(qty_delta, fidx, np.array([f.signed_quantity for f in sym_fills], dtype=np.int64))
        qty = np.cumsum(qty_delta)
        market += qty * close_ff
        exposed |= qty != 0
    equity_curve = cash_paise + np.cumsum(cash_delta) + market
    return timeline, equity_curve, exposed
