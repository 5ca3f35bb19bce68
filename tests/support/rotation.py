"""A momentum rotation over several symbols, written for the multi-symbol parity test (issue
#9, item 6): its decisions as plain rules, the same rules on backtrader, and a straightforward
reference venue and ledger in integer paise to check both against.

The rules (`RotationRules`), decided once per timestamp on the first symbol's bar, seeing that
bar's close and the other symbols' closes up to the previous bar (what our engine has shown a
strategy when the first symbol's bar of t reaches it; backtrader's `close[-1]`):
* every `every` decisions (once `lookback` closes of each symbol are known): cancel every working
  order; the target is the symbol whose latest close rose most against its close `lookback`
  closes earlier (compared exactly, by cross-multiplication; the first symbol wins a tie; none
  when no symbol rose); sell at market every holding that is not the target; buy the target,
  when not held, with a limit one tick below its latest close;
* on other decisions: give each holding without a working stop a stop-loss sell (stop-market)
  at `stop_per_mille` below its entry price, rounded down to the tick;
* on the session's last bar (15:29): cancel every working order and place none, so no order
  lives into the next day (our DAY orders expire there; backtrader's live on).

Charges are Angel One's round-trip schedule for intraday equity (`round_trip_charges`), charged
when a trip closes, one order a side, as `RoundTripCharges` charges them in the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import numpy as np

from algo_trading.adapters.history import BarSeries
from algo_trading.domain.instruments import Exchange
from algo_trading.market import ANGEL_ONE, ChargeSegment
from algo_trading.market.charges import round_trip_charges
from tests.support.parity import IST, BarSeriesFeed, Outcome, paise

__all__ = [
    "Action",
    "PeerRotation",
    "RotationRules",
    "reference_rotation",
    "run_backtrader_many",
    "trip_charges",
    "walk_bars",
]

TICK = 5
BARS_PER_DAY = 375
LAST_MINUTE = 15 * 60 + 29  # minute of the IST day of the session's last bar
_SESSION_OPEN_UTC_NS = (3 * 60 + 45) * 60 * 10**9
_NS_PER_DAY = 86_400 * 10**9
_IST_NS = 19_800 * 10**9

MultiRow = tuple[int, str, str, int, int]
"""(ts_ns of the bar it filled on, symbol, "BUY" or "SELL", quantity, price in paise)."""


def walk_bars(
    symbol: str, days: int, seed: int, start_price_paise: int, annual_vol: float = 0.4
) -> BarSeries:
    """Weekdays from 2024-01-01 of 375 one-minute bars: a geometric random walk of the close
    on the 0.05 tick; each bar opens a few ticks from the previous close (gaps through limits
    and stops happen) and reaches beyond its open and close."""
    rng = np.random.default_rng(seed)
    n = days * BARS_PER_DAY
    weekdays, d = [], dt.date(2024, 1, 1)
    while len(weekdays) < days:
        if d.weekday() < 5:
            weekdays.append((d - dt.date(1970, 1, 1)).days)
        d += dt.timedelta(days=1)
    ts = (
        np.repeat(np.array(weekdays, dtype=np.int64) * _NS_PER_DAY, BARS_PER_DAY)
        + _SESSION_OPEN_UTC_NS
        + np.tile(np.arange(BARS_PER_DAY, dtype=np.int64), days) * 60 * 10**9
    )
    sigma = annual_vol / np.sqrt(250 * BARS_PER_DAY)
    path = np.exp(np.cumsum(rng.normal(0.0, sigma, size=n)))
    close_t = np.rint(start_price_paise / TICK * path).astype(np.int64)
    open_t = np.concatenate(([start_price_paise // TICK], close_t[:-1])) + rng.integers(-2, 3, n)
    reach = np.rint(np.abs(rng.normal(0.0, sigma, size=(2, n))) * close_t).astype(np.int64)
    high_t = np.maximum(open_t, close_t) + reach[0]
    low_t = np.minimum(open_t, close_t) - reach[1]
    volume = rng.integers(100, 50_000, size=n).astype(np.int64)
    return BarSeries(symbol, ts, open_t * TICK, high_t * TICK, low_t * TICK, close_t * TICK, volume)


def ist_minute(ts_ns: int) -> int:
    return (ts_ns + _IST_NS) // (60 * 10**9) % 1440


@dataclass(frozen=True)
class Action:
    """One thing the rules ask for: cancel `order_id`, or place an order."""

    kind: str  # "cancel", "market", "limit" or "stop"
    symbol: str = ""
    is_buy: bool = False
    quantity: int = 0
    price_paise: int = 0  # the limit, or the stop's trigger
    order_id: object = None


@dataclass
class RotationRules:
    """The strategy's decisions; each harness feeds it closes, fills and finished orders, and
    carries out the actions it returns."""

    symbols: Sequence[str]
    lookback: int = 20
    every: int = 30
    quantity: int = 100
    stop_per_mille: int = 5
    closes: dict[str, list[int]] = field(default_factory=dict)
    held: dict[str, tuple[int, int]] = field(default_factory=dict)  # symbol -> (qty, entry)
    working: dict[object, Action] = field(default_factory=dict)  # order id -> its action
    decisions: int = 0

    def __post_init__(self) -> None:
        self.closes = {s: [] for s in self.symbols}

    def filled(self, symbol: str, is_buy: bool, quantity: int, price_paise: int) -> None:
        qty, entry = self.held.get(symbol, (0, 0))
        qty += quantity if is_buy else -quantity
        if qty == 0:
            self.held.pop(symbol, None)
        else:
            self.held[symbol] = (qty, price_paise if is_buy and entry == 0 else entry)

    def done(self, order_id: object) -> None:
        self.working.pop(order_id, None)

    def placed(self, order_id: object, action: Action) -> None:
        self.working[order_id] = action

    def decide(self, minute: int) -> list[Action]:
        k = self.decisions
        self.decisions += 1
        if minute == LAST_MINUTE:
            return self._cancel_all()
        ready = all(len(c) > self.lookback for c in self.closes.values())
        if ready and k % self.every == 0:
            return [*self._cancel_all(), *self._rotate()]
        stopped = {a.symbol for a in self.working.values() if a.kind == "stop"}
        return [
            Action(
                "stop", sym, False, qty, entry * (1000 - self.stop_per_mille) // 1000 // TICK * TICK
            )
            for sym, (qty, entry) in self.held.items()
            if sym not in stopped
        ]

    def _cancel_all(self) -> list[Action]:
        out = [Action("cancel", order_id=oid) for oid in self.working]
        self.working.clear()  # both venues take a cancel at once
        return out

    def _rotate(self) -> list[Action]:
        best: str | None = None
        best_now, best_then = 1, 1  # a target must have risen: now / then > 1
        for sym in self.symbols:
            now, then = self.closes[sym][-1], self.closes[sym][-1 - self.lookback]
            if now * best_then > best_now * then:
                best, best_now, best_then = sym, now, then
        out = [
            Action("market", sym, False, qty) for sym, (qty, _) in self.held.items() if sym != best
        ]
        if best is not None and best not in self.held:
            limit = self.closes[best][-1] - TICK
            out.append(Action("limit", best, True, self.quantity, limit))
        return out


def trip_charges(buy_value: int, sell_value: int, buy_ns: int, sell_ns: int) -> int:
    """Angel One's charges of one intraday equity round trip, one order a side."""
    return round_trip_charges(
        ChargeSegment.EQUITY_INTRADAY,
        buy_value,
        sell_value,
        exchange=Exchange.NSE,
        broker=ANGEL_ONE,
        trade_date=dt.datetime.fromtimestamp(buy_ns // 10**9, IST).date(),
        sell_date=dt.datetime.fromtimestamp(sell_ns // 10**9, IST).date(),
    ).total_paise


@dataclass
class _Ledger:
    """Cash, positions and round trips from fills, in integer paise (long-only trips)."""

    cash: int
    positions: dict[str, int] = field(default_factory=dict)
    trips: dict[str, tuple[int, int]] = field(default_factory=dict)  # symbol -> (value, ts)
    closed: int = 0
    charges: int = 0
    rows: list[MultiRow] = field(default_factory=list)

    def fill(self, ts: int, symbol: str, is_buy: bool, qty: int, price: int) -> None:
        self.rows.append((ts, symbol, "BUY" if is_buy else "SELL", qty, price))
        signed = qty if is_buy else -qty
        self.cash -= signed * price
        before = self.positions.get(symbol, 0)
        self.positions[symbol] = before + signed
        if is_buy:
            assert before == 0, "the rules never add to a holding"
            self.trips[symbol] = (qty * price, ts)
        else:
            assert before == qty, "the rules sell whole holdings only"
            buy_value, buy_ns = self.trips.pop(symbol)
            charges = trip_charges(buy_value, qty * price, buy_ns, ts)
            self.cash -= charges
            self.charges += charges
            self.closed += 1


def _fill_price(a: Action, open_: int, high: int, low: int) -> int | None:
    """The rules every venue here follows: market at the open; a limit at the open when the
    bar opens through it, else at the limit when the bar reaches it; a stop at the open when
    the bar gaps through the trigger, else at the trigger when the bar reaches it."""
    if a.kind == "market":
        return open_
    p = a.price_paise
    if a.kind == "limit":
        if a.is_buy:
            return open_ if open_ <= p else (p if low <= p else None)
        return open_ if open_ >= p else (p if high >= p else None)
    if a.is_buy:
        return open_ if open_ >= p else (p if high >= p else None)
    return open_ if open_ <= p else (p if low <= p else None)


def reference_rotation(
    series: Sequence[BarSeries], rules: RotationRules, cash_paise: int
) -> Outcome:
    """Bar by bar, in plain Python on integers: match every symbol's bar of t against its
    resting orders (oldest first), then let the rules decide on the first symbol's bar."""
    ts = series[0].ts_ns.tolist()
    assert all(s.ts_ns.tolist() == ts for s in series), "the reference needs aligned bars"
    cols = [
        (s.symbol, s.open.tolist(), s.high.tolist(), s.low.tolist(), s.close.tolist())
        for s in series
    ]
    ledger = _Ledger(cash_paise)
    resting: dict[str, list[tuple[int, Action]]] = {s.symbol: [] for s in series}
    next_id = 0
    for i, t in enumerate(ts):
        for sym, o, h, lo, _ in cols:
            keep = []
            for oid, a in resting[sym]:
                price = _fill_price(a, o[i], h[i], lo[i])
                if price is None:
                    keep.append((oid, a))
                    continue
                ledger.fill(t, sym, a.is_buy, a.quantity, price)
                rules.filled(sym, a.is_buy, a.quantity, price)
                rules.done(oid)
            resting[sym] = keep
        first, *others = cols
        rules.closes[first[0]].append(first[4][i])
        for a in rules.decide(ist_minute(t)):
            if a.kind == "cancel":
                for sym in resting:
                    resting[sym] = [(oid, x) for oid, x in resting[sym] if oid != a.order_id]
            else:
                next_id += 1
                resting[a.symbol].append((next_id, a))
                rules.placed(next_id, a)
        for sym, *_, c in others:
            rules.closes[sym].append(c[i])
    last_close = {sym: c[-1] for sym, *_, c in cols}
    equity = ledger.cash + sum(q * last_close[s] for s, q in ledger.positions.items())
    return Outcome(sorted(ledger.rows), ledger.closed, equity)


class PeerRotation(bt.Strategy):  # type: ignore[misc]
    """The rules on backtrader: its broker matches and keeps the cash; charges are added here,
    in paise, when a trip closes (backtrader's commission hook sees neither dates nor trips)."""

    params = (("rules", None),)

    def __init__(self) -> None:
        self.rows: list[MultiRow] = []
        self.refused: list[str] = []
        self.closed_trades = 0
        self.charges_paise = 0
        self.orders: dict[int, Any] = {}
        self.trips: dict[str, tuple[int, int]] = {}

    def notify_order(self, order: Any) -> None:
        rules: RotationRules = self.p.rules
        if order.status == order.Completed:
            ex, sym = order.executed, order.data._name
            ts = _bt_ns(bt.num2date(ex.dt))
            qty, price = abs(int(ex.size)), paise(ex.price)
            self.rows.append((ts, sym, "BUY" if order.isbuy() else "SELL", qty, price))
            if order.isbuy():
                self.trips[sym] = (qty * price, ts)
            else:
                buy_value, buy_ns = self.trips.pop(sym)
                self.charges_paise += trip_charges(buy_value, qty * price, buy_ns, ts)
            rules.filled(sym, order.isbuy(), qty, price)
            rules.done(order.ref)
        elif order.status == order.Canceled:
            rules.done(order.ref)
        elif order.status in (order.Margin, order.Rejected, order.Partial, order.Expired):
            self.refused.append(f"{order.getstatusname()} at {bt.num2date(order.created.dt)}")

    def notify_trade(self, trade: Any) -> None:
        if trade.isclosed:
            self.closed_trades += 1

    def next(self) -> None:
        rules: RotationRules = self.p.rules
        first, *others = self.datas
        rules.closes[first._name].append(paise(first.close[0]))
        minute = ist_minute(_bt_ns(first.datetime.datetime(0)))
        by_name = {d._name: d for d in self.datas}
        for a in rules.decide(minute):
            if a.kind == "cancel":
                self.cancel(self.orders[a.order_id])
                continue
            exectype = {"market": bt.Order.Market, "limit": bt.Order.Limit, "stop": bt.Order.Stop}
            send: Callable[..., Any] = self.buy if a.is_buy else self.sell
            price = None if a.kind == "market" else a.price_paise / 100
            order = send(
                data=by_name[a.symbol], size=a.quantity, exectype=exectype[a.kind], price=price
            )
            self.orders[order.ref] = order
            rules.placed(order.ref, a)
        for d in others:
            rules.closes[d._name].append(paise(d.close[0]))


_EPOCH_IST_WALL = dt.datetime(1970, 1, 1, 5, 30)  # noqa: DTZ001 - backtrader's naive IST times


def _bt_ns(wall_ist: dt.datetime) -> int:
    return (wall_ist - _EPOCH_IST_WALL) // dt.timedelta(microseconds=1) * 1_000


def run_backtrader_many(
    series: Sequence[BarSeries], rules: RotationRules, cash_paise: int
) -> Outcome:
    """One backtrader run over several feeds with its default broker (no commission, no
    slippage); the final value less the charges added here."""
    cerebro = bt.Cerebro(stdstats=False)
    for s in series:
        cerebro.adddata(
            BarSeriesFeed(series=s, name=s.symbol, timeframe=bt.TimeFrame.Minutes, compression=1)
        )
    cerebro.addstrategy(PeerRotation, rules=rules)
    cerebro.broker.setcash(cash_paise / 100)
    (strat,) = cerebro.run()
    assert not strat.refused, f"backtrader refused or cut orders: {strat.refused[:5]}"
    final = paise(cerebro.broker.getvalue()) - strat.charges_paise
    return Outcome(sorted(strat.rows), strat.closed_trades, final)
