"""The moving-average crossovers evaluated with numpy: the same fills, charges and metrics as the
event-driven engine's backtest, without replaying it bar by bar.

What it models, exactly as the engine does it (`backtest.driver`, `strategy.builtin._crossover`):
* the averages on the closes in integer paise (SMA: sums of the last `period` closes; EMA:
  the engine's fixed-point recursion, seeded with the SMA of the first `period` closes), and
  the crossing decided exactly on them: +1 where fast goes above slow (above on this bar,
  not above on the previous one), -1 the mirror, and nothing until both averages were ready
  on the previous bar;
* the strategy's reply on the bar's close: `target_position(quantity)` on +1, to 0 on -1
  (or to -quantity with `allow_short`), which sends a market order only when the book is not
  already there (a flip is one order of twice the quantity);
* the market order meeting the next bar at its open, `slippage_ticks` ticks worse (a sell
  never below one tick); an order sent on the last bar never fills;
* buying power (`adapters.brokers.simulated.funds`): the part of an order that opens exposure
  needs its value at the bar's close times the product's margin per cent, and is refused
  (INSUFFICIENT_FUNDS) when the funds (cash after every earlier fill and charge, plus for an
  open INTRADAY position its cost back, its margin off and any unrealised loss) are short;
* the INTRADAY product's square-off (`engine.squareoff`, Angel One's cut-offs from the
  calendar): on the first bar at or after a cut-off the working order is cancelled and the
  position closed at that bar's open, and orders that would open exposure are refused for
  the rest of that day (AFTER_SQUAREOFF_CUTOFF);
* charges (`backtest.charges.RoundTripCharges`): each round trip pays the calculator's total
  (`market.charges.round_trip_charges`) at its closing fill; on the INTRADAY path the fills go
  through `RoundTripCharges` and the domain's `Position` themselves (a flip's charges split
  as the engine splits them);
* the equity curve at every bar's close, the round trips, and the metrics, which are
  `backtest.metrics.compute_metrics` itself on those.

Anything else (several symbols, a DELIVERY short, a user's or another built-in strategy, bars
closer than a second apart where the order throttle could act, prices whose products would not
fit 64 bits) is not modelled: `unsupported` names why, and the caller runs the engine instead.
Never an approximation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import build_strategy, compute_metrics, resolve_strategy
from algo_trading.backtest.charges import CHARGES_CHOICES, backtest_charges, backtest_product
from algo_trading.backtest.driver import BacktestConfig
from algo_trading.backtest.metrics import Metrics
from algo_trading.domain.events import ist_day, ns_to_ist
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.instruments import Exchange, equity
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.domain.positions import Position, RoundTrip
from algo_trading.engine import SimulatedClock
from algo_trading.engine.squareoff import IntradaySquareOff, broker_cutoffs
from algo_trading.market import BROKERS, ChargeSegment
from algo_trading.market.charges import round_trip_charges
from algo_trading.market.margins import ANGEL_ONE_MARGINS, margin_pct
from algo_trading.market.sessions import Broker
from algo_trading.strategy.builtin.ema_crossover import EmaCrossover
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover
from algo_trading.strategy.indicators import SCALE

__all__ = ["VectorFill", "VectorRun", "unsupported", "vector_metrics", "vector_run"]

Int64s = npt.NDArray[np.int64]
_NS_PER_S = 10**9
_VECTORISED = ("sma_crossover", "ema_crossover")
_SAFE = 2**62  # products of paise and periods must stay below this to be exact in int64


@dataclass(frozen=True, slots=True)
class VectorFill:
    """A fill as the engine would book it."""

    ts_ns: int
    side: OrderSide
    quantity: int
    price_paise: int
    charges_paise: int


@dataclass
class VectorRun:
    fills: list[VectorFill]
    round_trips: list[RoundTrip]
    refused: int  # buys refused for funds
    timeline_ns: Int64s
    equity_paise: Int64s
    exposed: npt.NDArray[np.bool_]
    charges_paise: int
    metrics: Metrics


@dataclass(frozen=True)
class _Setup:
    kind: str  # "sma" or "ema"
    fast: int
    slow: int
    quantity: int
    charges: str
    slippage_ticks: int
    cash_paise: int
    intraday: bool = False
    allow_short: bool = False


def _setup(spec: Any, series: Sequence[BarSeries], params: Mapping[str, Any]) -> _Setup | str:
    """What the vectorised path needs, or why it cannot give the engine's answer."""
    if getattr(spec, "engine", "auto") != "auto":
        return "the event-driven engine was asked for"
    if len(series) != 1:
        return f"{len(series)} symbols (the vectorised path runs one)"
    if spec.strategy not in _VECTORISED:  # before resolving: a user's file is not run twice
        return f"strategy {spec.strategy} has no vectorised form (only {', '.join(_VECTORISED)})"
    cls = resolve_strategy(spec.strategy)
    if cls not in (SmaCrossover, EmaCrossover):
        return f"strategy {spec.strategy} has no vectorised form"
    raw = {**spec.fixed_params, **{k: _text(v) for k, v in params.items()}}
    product = backtest_product(spec.product) if spec.product else None
    strategy = build_strategy(cls, raw, quantity=spec.quantity, product=product)
    p = strategy.params
    if p.allow_short and strategy.product is not ProductType.INTRADAY:
        return "shorts under the DELIVERY product (refused by the risk chain) are not vectorised"
    if strategy.product not in (ProductType.DELIVERY, ProductType.INTRADAY):
        return f"the {strategy.product.value} product is not vectorised"
    if spec.charges not in CHARGES_CHOICES:
        return f"charges {spec.charges!r}"
    if ANGEL_ONE_MARGINS.delivery_pct != 100:
        return "a DELIVERY margin below 100 per cent"
    s = series[0]
    if len(s) < 2:
        return "fewer than two bars"
    ts = np.asarray(s.ts_ns, dtype=np.int64)
    if int(np.diff(ts).min()) < _NS_PER_S:
        return "bars less than a second apart (the order throttle could act)"
    top = max(int(np.max(s.close)), int(np.max(s.open)), 1)
    if top * p.slow * p.slow >= _SAFE or top * SCALE * 4 >= _SAFE:
        return "prices too large for exact 64-bit sums"
    if top * spec.quantity >= _SAFE // 4 or spec.cash_paise >= _SAFE // 4:
        return "values too large for exact 64-bit sums"
    return _Setup(
        "sma" if cls is SmaCrossover else "ema",
        p.fast,
        p.slow,
        spec.quantity,
        spec.charges,
        spec.slippage_ticks,
        spec.cash_paise,
        strategy.product is ProductType.INTRADAY,
        bool(p.allow_short),
    )


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def unsupported(spec: Any, series: Sequence[BarSeries], params: Mapping[str, Any]) -> str | None:
    """None when `vector_metrics` gives the engine's answer for these, else why not."""
    setup = _setup(spec, series, params)
    return setup if isinstance(setup, str) else None


# --- averages and crossings, cached per series ------------------------------------------


class _Cache:
    """Per series: the closes' prefix sums and each EMA period's fixed-point values. A worker
    evaluates many parameter sets on one series, so each average is worked out once."""

    def __init__(self) -> None:
        self.series: BarSeries | None = None
        self.close: Int64s = np.zeros(0, dtype=np.int64)
        self.prefix: Int64s = np.zeros(0, dtype=np.int64)
        self.emas: dict[int, Int64s] = {}
        self.cutoffs: tuple[BarSeries, list[int], Any] | None = None

    def use(self, s: BarSeries) -> None:
        if self.series is s:
            return
        self.series = s
        self.close = np.asarray(s.close, dtype=np.int64)
        self.prefix = np.concatenate([[0], np.cumsum(self.close)]).astype(np.int64)
        self.emas = {}

    def sma_sum(self, period: int) -> Int64s:
        """Sum of the last `period` closes at each bar from `period - 1` on (index 0 there)."""
        return self.prefix[period:] - self.prefix[:-period]

    def ema(self, period: int) -> Int64s:
        """The EMA's numerator (den SCALE) at each bar from `period - 1` on, as
        `strategy.indicators.EMA` computes it."""
        got = self.emas.get(period)
        if got is None:
            closes = self.close.tolist()
            seed = sum(closes[:period])
            num = (2 * seed * SCALE + period) // (2 * period)
            out = [num]
            d = period + 1
            for x in closes[period:]:
                num += (4 * (x * SCALE - num) + d) // (2 * d)
                out.append(num)
            got = self.emas[period] = np.array(out, dtype=np.int64)
            if len(self.emas) > 64:
                self.emas.pop(next(iter(self.emas)))
        return got


_CACHE = _Cache()


def _signals(setup: _Setup, cache: _Cache) -> tuple[Int64s, Int64s]:
    """Indices of the bars where the crossover says +1 or -1, and the sign said."""
    fast, slow = setup.fast, setup.slow
    if setup.kind == "sma":
        f = cache.sma_sum(fast)[slow - fast :]
        s = cache.sma_sum(slow)
        diff = f * slow - s * fast
    else:
        diff = cache.ema(fast)[slow - fast :] - cache.ema(slow)
    sign = np.sign(diff)  # index k is bar slow - 1 + k, where both are first ready
    now, before = sign[1:], sign[:-1]
    value = (now > 0) & (before <= 0)
    down = (now < 0) & (before >= 0)
    at = np.flatnonzero(value | down)
    return at + slow, np.where(value[at], 1, -1).astype(np.int64)


# --- fills, charges, equity, metrics ------------------------------------------------------

_DATES: dict[int, dt.date] = {}


def _ist_date(ts_ns: int) -> dt.date:
    day = ist_day(ts_ns)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = ns_to_ist(ts_ns).date()
    return date


def _run(setup: _Setup, s: BarSeries) -> VectorRun:
    if setup.intraday:
        return _run_intraday(setup, s)
    _CACHE.use(s)
    at, sign = _signals(setup, _CACHE)
    n = len(s)
    ts = np.asarray(s.ts_ns, dtype=np.int64)
    opens = np.asarray(s.open, dtype=np.int64)
    close = _CACHE.close
    q = setup.quantity
    slip = setup.slippage_ticks * BacktestConfig().tick_size_paise
    tick = BacktestConfig().tick_size_paise
    broker = BROKERS[setup.charges] if setup.charges != "none" else None
    # Only the crossings that change the book matter: a buy from flat, a sell from long.
    at_l, sign_l = at.tolist(), sign.tolist()
    close_at = close[np.minimum(at, n - 1)].tolist()
    next_i = np.minimum(at + 1, n - 1)
    open_next = opens[next_i].tolist()
    ts_next = ts[next_i].tolist()
    cash = setup.cash_paise
    held = False
    refused = 0
    fills: list[VectorFill] = []
    trips: list[RoundTrip] = []
    fill_idx: list[int] = []
    entry_ns = entry_value = 0
    charges_total = 0
    for k in range(len(at_l)):
        i = at_l[k]
        if sign_l[k] > 0:
            if held:
                continue
            if q * close_at[k] > cash:  # DELIVERY: 100 % of the value at the last price
                refused += 1
                continue
            if i + 1 >= n:
                break
            price = open_next[k] + slip
            entry_ns, entry_value = ts_next[k], q * price
            cash -= entry_value
            held = True
            fills.append(VectorFill(entry_ns, OrderSide.BUY, q, price, 0))
            fill_idx.append(i + 1)
        else:
            if not held:
                continue
            if i + 1 >= n:
                break
            price = max(open_next[k] - slip, tick)
            exit_ns, exit_value = ts_next[k], q * price
            charge = 0
            if broker is not None:
                charge = round_trip_charges(
                    ChargeSegment.EQUITY_DELIVERY,
                    entry_value,
                    exit_value,
                    exchange=Exchange.NSE,
                    broker=broker,
                    trade_date=_ist_date(entry_ns),
                    sell_date=_ist_date(exit_ns),
                    buy_orders=1,
                    sell_orders=1,
                ).total_paise
            cash += exit_value - charge
            charges_total += charge
            held = False
            fills.append(VectorFill(exit_ns, OrderSide.SELL, q, price, charge))
            fill_idx.append(i + 1)
            trips.append(
                RoundTrip(
                    s.symbol,
                    1,
                    q,
                    entry_ns,
                    exit_ns,
                    entry_value,
                    exit_value,
                    exit_value - entry_value,
                    charge,
                )
            )
    flows = np.zeros(n, dtype=np.int64)
    moves = np.zeros(n, dtype=np.int64)
    if fills:
        idx = np.array(fill_idx, dtype=np.int64)
        flows[idx] = [
            (-f.quantity if f.side is OrderSide.BUY else f.quantity) * f.price_paise
            - f.charges_paise
            for f in fills
        ]
        moves[idx] = [f.quantity if f.side is OrderSide.BUY else -f.quantity for f in fills]
    qty = np.cumsum(moves)
    equity = setup.cash_paise + np.cumsum(flows) + qty * close
    exposed = qty != 0
    metrics = compute_metrics(ts, equity, exposed, trips, setup.cash_paise, charges_total, n)
    return VectorRun(fills, trips, refused, ts, equity, exposed, charges_total, metrics)


def vector_run(spec: Any, series: Sequence[BarSeries], params: Mapping[str, Any]) -> VectorRun:
    """The whole vectorised run (fills, trips, equity); ValueError when not supported."""
    setup = _setup(spec, series, params)
    if isinstance(setup, str):
        raise ValueError(f"not vectorised: {setup}")
    return _run(setup, series[0])


def vector_metrics(
    spec: Any, series: Sequence[BarSeries], params: Mapping[str, Any]
) -> Metrics | None:
    """The engine's metrics for these, or None when the vectorised path does not model them."""
    setup = _setup(spec, series, params)
    if isinstance(setup, str):
        return None
    return _run(setup, series[0]).metrics


# --- the INTRADAY product: shorts, flips, the square-off and the cut-off -------------------


def _cutoffs(s: BarSeries) -> tuple[list[int], Any]:
    """Indices of the bars at which the driver squares off (the first bar at or after each
    cut-off, as `backtest.driver` finds them), and today's cut-off by IST day number."""
    got = _CACHE.cutoffs
    if got is not None and got[0] is s:
        return got[1], got[2]
    instruments = {s.symbol: equity(s.symbol, tick_size_paise=BacktestConfig().tick_size_paise)}
    fn = broker_cutoffs(instruments, Broker.ANGEL_ONE)
    squareoff = IntradaySquareOff(fn, SimulatedClock())
    ts = np.asarray(s.ts_ns, dtype=np.int64)
    bars: list[int] = []
    cut = squareoff.next_cutoff_ns(s.symbol, int(ts[0]) - 1)
    while True:
        j = int(np.searchsorted(ts, cut, side="left"))
        if j >= len(ts):
            break
        bars.append(j)
        cut = squareoff.next_cutoff_ns(s.symbol, int(ts[j]))
    days: dict[int, int | None] = {}

    def today(ts_ns: int) -> int | None:
        day = ist_day(ts_ns)
        if day not in days:
            days[day] = fn(s.symbol, day)
        return days[day]

    _CACHE.cutoffs = (s, bars, today)
    return bars, today


def _run_intraday(setup: _Setup, s: BarSeries) -> VectorRun:
    """The same decisions as the engine for an INTRADAY crossover, event by event: crossings,
    cut-offs and fills, never bar by bar. Fills are booked through the domain's `Position` and
    the backtest's `RoundTripCharges`, so the round trips and charges are theirs."""
    _CACHE.use(s)
    at, sign = _signals(setup, _CACHE)
    cut_bars, today = _cutoffs(s)
    n = len(s)
    ts = np.asarray(s.ts_ns, dtype=np.int64).tolist()
    opens = np.asarray(s.open, dtype=np.int64).tolist()
    close = _CACHE.close
    closes = close.tolist()
    q = setup.quantity
    tick = BacktestConfig().tick_size_paise
    slip = setup.slippage_ticks * tick
    inst = equity(s.symbol, tick_size_paise=tick)
    pct = margin_pct(ANGEL_ONE_MARGINS, inst, ProductType.INTRADAY, True)
    if pct != margin_pct(ANGEL_ONE_MARGINS, inst, ProductType.INTRADAY, False):
        raise ValueError("intraday margins differ by side")  # not the case for equity
    charges = backtest_charges(setup.charges)
    position = Position(s.symbol)
    sid = StrategyId("vector")
    # (bar, 0, 0) a cut-off, (bar, 1, +1 or -1) a crossing: a cut-off comes first on its bar
    # (the driver squares off before the bar is matched and before the strategy sees it)
    crossings = [(b, 1, d) for b, d in zip(at.tolist(), sign.tolist(), strict=True)]
    events = sorted([(b, 0, 0) for b in cut_bars] + crossings)
    cash = setup.cash_paise
    pos = 0
    cost = 0  # the book's cost (price x signed quantity of the open lots)
    pending: tuple[int, int, str] | None = None  # (bar it meets, signed quantity, order id)
    orders = 0
    refused = 0
    fills: list[VectorFill] = []
    fill_idx: list[int] = []
    flows: list[int] = []
    moves: list[int] = []
    charges_total = 0

    def fill(bar: int, signed: int, order_id: str) -> None:
        nonlocal cash, pos, cost, charges_total
        o = opens[bar]
        price = o + slip if signed > 0 else max(o - slip, tick)
        side = OrderSide.BUY if signed > 0 else OrderSide.SELL
        f = Fill(
            TradeId(order_id),
            ClientOrderId(order_id),
            sid,
            s.symbol,
            side,
            abs(signed),
            price,
            ts[bar],
            ProductType.INTRADAY,
        )
        charge = charges.charges_paise(f, cast(Order, None)) if charges is not None else 0
        position.apply_fill(signed, price, ts[bar], charge)
        cash += -signed * price - charge
        charges_total += charge
        left = pos + signed
        if pos == 0 or (pos > 0) == (signed > 0):  # opened or added to
            cost += signed * price
        elif left == 0 or (left > 0) == (pos > 0):  # reduced (as the broker's RMS keeps it)
            cost = cost * left // pos
        else:  # through zero: a new position at this price
            cost = left * price
        pos = left
        fills.append(VectorFill(ts[bar], side, abs(signed), price, charge))
        fill_idx.append(bar)
        flows.append(-signed * price - charge)
        moves.append(signed)

    for bar, kind, what in events:
        if pending is not None and pending[0] < bar:
            fill(*pending)
            pending = None
        if kind == 0:  # the cut-off: cancel the working order, close the book at this open
            if pending is not None:  # it meets this bar: cancelled before it could
                pending = None
            if pos:
                orders += 1
                fill(bar, -pos, f"V{orders}")
            continue
        if pending is not None:  # it meets this bar's open, before the strategy sees it
            fill(*pending)
            pending = None
        target = q if what > 0 else (-q if setup.allow_short else 0)
        delta = target - pos
        if delta == 0:
            continue
        now = ts[bar]
        reducing = (delta > 0 and pos < 0 and delta <= -pos) or (
            delta < 0 and pos > 0 and -delta <= pos
        )
        cut = today(now)
        if cut is not None and now >= cut and not reducing:
            continue  # AFTER_SQUAREOFF_CUTOFF
        opening = max(abs(delta) - abs(pos), 0) if pos and (pos > 0) != (delta > 0) else abs(delta)
        if opening:
            mark = closes[bar]
            need = -(-opening * mark * pct // 100)
            free = cash
            if pos and pct != 100:
                free += cost - (-(-abs(cost) * pct // 100)) + min(0, pos * mark - cost)
            if need > free:
                refused += 1
                continue  # INSUFFICIENT_FUNDS
        orders += 1
        if bar + 1 < n:
            pending = (bar + 1, delta, f"V{orders}")
    if pending is not None:
        fill(*pending)
    flow_arr = np.zeros(n, dtype=np.int64)
    move_arr = np.zeros(n, dtype=np.int64)
    if fills:
        idx = np.array(fill_idx, dtype=np.int64)
        np.add.at(flow_arr, idx, np.array(flows, dtype=np.int64))
        np.add.at(move_arr, idx, np.array(moves, dtype=np.int64))
    qty = np.cumsum(move_arr)
    equity_curve = setup.cash_paise + np.cumsum(flow_arr) + qty * close
    exposed = qty != 0
    ts_arr = np.asarray(s.ts_ns, dtype=np.int64)
    trips = list(position.round_trips)
    metrics = compute_metrics(
        ts_arr, equity_curve, exposed, trips, setup.cash_paise, charges_total, n
    )
    return VectorRun(fills, trips, refused, ts_arr, equity_curve, exposed, charges_total, metrics)
