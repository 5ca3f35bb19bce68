"""Demo rows for the dashboard (issue #12): a few days of paper trading by two strategies, open
positions, a rejected and a resting order, leases, strategy runs and two stored backtests, so
`make run` and the browser test show every page with something on it. `seed_bulk` writes the
benchmark's volume (100,000 trades, 200 positions).

Rows go in through SQLAlchemy Core in bulk, deterministic from a seed and a start time passed
in (no clock read). Only for demo and benchmark databases: it writes rows the trading service
would otherwise write.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime
from algo_trading.backtest.charges import RoundTripCharges
from algo_trading.domain.fills import new_fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.engine.ports import BarKey
from algo_trading.market import BROKERS

__all__ = ["DEMO_SYMBOLS", "SeedReport", "seed_bulk", "seed_candles", "seed_demo"]

DEMO_SYMBOLS = {  # symbol -> a reference close (paise), near the simulator's shipped prices
    "SBIN-EQ": 1015_00,
    "RELIANCE-EQ": 1278_00,
    "INFY-EQ": 1040_90,
    "TCS-EQ": 2254_30,
}
_STRATEGIES = ("sma_crossover", "rsi_reversion")
_NS_PER_S = 1_000_000_000
_DAY_NS = 86_400 * _NS_PER_S
_OPEN_OFFSET_NS = (3 * 3600 + 45 * 60) * _NS_PER_S  # 09:15 IST is 03:45 UTC
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class SeedReport:
    orders: int
    trades: int
    positions: int


def _table(name: str) -> Any:
    return metadata.tables[name]


def _write(db: Database, name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with db.engine.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(_table(name)), rows[start : start + _CHUNK])


def _tick(paise: int) -> int:
    return max(5, paise - paise % 5)


def _weekdays(start_ns: int, days: int) -> list[int]:
    """The UTC midnights of the Monday-to-Friday days among `days` calendar days from start."""
    first = start_ns - start_ns % _DAY_NS
    out = []
    for n in range(max(days, 1)):
        midnight = first + n * _DAY_NS
        if (midnight // _DAY_NS + 3) % 7 < 5:  # 1970-01-01 was a Thursday (weekday 3)
            out.append(midnight)
    return out or [first]


def _trade_pairs(
    rng: random.Random, count: int, start_ns: int, days: int, symbols: dict[str, int], tag: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(order, trade, events) for `count` executions: buys and sells in pairs per strategy and
    symbol, the sell realizing P&L, spread over `days` trading days from `start_ns`. Charges
    are the trading service's: each round trip its calculator total at its closing fill."""
    model = RoundTripCharges(BROKERS["angelone"])
    names = list(symbols)
    held: dict[tuple[str, str], tuple[int, int]] = {}
    sessions = _weekdays(start_ns, days)
    per_day = max(1, -(-count // len(sessions)))
    for i in range(count):
        strategy = _STRATEGIES[i % len(_STRATEGIES)]
        symbol = names[(i // 2) % len(names)]
        day, slot = divmod(i, per_day)
        ts = sessions[day] + _OPEN_OFFSET_NS + (slot * 20_000 // per_day) * _NS_PER_S
        base = symbols[symbol]
        price = _tick(base + int(base * rng.uniform(-0.03, 0.03)))
        key = (strategy, symbol)
        qty = rng.choice((1, 2, 5, 10))
        if key in held:
            side, (bqty, bprice) = "SELL", held.pop(key)
            qty, pnl = bqty, (price - bprice) * bqty
        else:
            side, pnl = "BUY", 0
            held[key] = (qty, price)
        coid = f"{tag}{i:07d}"
        when = ns_to_datetime(ts)
        sid, oside = StrategyId(strategy), OrderSide(side)
        fill = new_fill(
            TradeId(f"T{tag}{i:07d}"), ClientOrderId(coid), sid, symbol, oside, qty, price, ts
        )
        charges = model.charges_paise(
            fill, Order(ClientOrderId(coid), sid, symbol, oside, qty, product=ProductType.INTRADAY)
        )
        order = {
            "client_order_id": coid,
            "broker_order_id": f"B{tag}{i:07d}",
            "tag": coid[:20],
            "account": "default",
            "strategy": strategy,
            "symbol": symbol,
            "exchange": "NSE",
            "product": "INTRADAY",
            "side": side,
            "order_type": "MARKET",
            "validity": "DAY",
            "quantity": qty,
            "price": None,
            "trigger_price": None,
            "status": "FILLED",
            "filled_quantity": qty,
            "filled_value": price * qty,
            "average_fill_price": Decimal(price).scaleb(-2),
            "charges": charges,
            "rejection_reason": None,
            "created_at": when,
            "updated_at": when,
            "acknowledged_at": when,
        }
        trade = {
            "trade_id": f"T{tag}{i:07d}",
            "client_order_id": coid,
            "broker_order_id": order["broker_order_id"],
            "account": "default",
            "strategy": strategy,
            "symbol": symbol,
            "exchange": "NSE",
            "product": "INTRADAY",
            "side": side,
            "quantity": qty,
            "price": price,
            "charges": charges,
            "pnl": pnl,
            "executed_at": when,
        }
        events = [
            {
                "client_order_id": coid,
                "event": ev,
                "status": st,
                "broker_order_id": None if ev == "CREATED" else order["broker_order_id"],
                "filled_quantity": qty if st == "FILLED" else 0,
                "reason": "",
                "occurred_at": when,
            }
            for ev, st in (("CREATED", "NEW"), ("ACCEPTED", "OPEN"), ("FILLED", "FILLED"))
        ]
        yield order, trade, events


def _positions(
    rng: random.Random, count: int, symbols: dict[str, int], when_ns: int
) -> list[dict[str, Any]]:
    rows = []
    names = list(symbols)
    for i in range(count):
        strategy = _STRATEGIES[i % len(_STRATEGIES)] if count <= 8 else f"strategy_{i // 10:03d}"
        symbol = names[i % len(names)] if count <= 8 else f"{names[i % len(names)][:-3]}{i}-EQ"
        base = symbols[names[i % len(names)]]
        price = _tick(base + int(base * rng.uniform(-0.02, 0.02)))
        qty = rng.choice((-10, -5, 0, 5, 10, 25))
        lots = [[qty, price]] if qty else []
        rows.append(
            {
                "account": "default",
                "strategy": strategy,
                "symbol": symbol if count > 8 else names[i % len(names)],
                "exchange": "NSE",
                "product": "INTRADAY",
                "quantity": qty,
                "avg_price": Decimal(price if qty else 0).scaleb(-2),
                "cost": price * qty,
                "realized_pnl": rng.randint(-5000_00, 8000_00) // 5 * 5,
                "current_price": price,
                "unrealized_pnl": 0,
                "lots": json.dumps(lots),
                "updated_at": ns_to_datetime(when_ns),
            }
        )
    return rows


def seed_bulk(
    db: Database,
    *,
    trades: int,
    positions: int,
    start_ns: int,
    days: int = 60,
    seed: int = 7,
    tag: str = "D",
) -> SeedReport:
    """`trades` filled orders with their trades and events, and `positions` positions."""
    rng = random.Random(seed)
    orders_rows: list[dict[str, Any]] = []
    trade_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for order, trade, events in _trade_pairs(rng, trades, start_ns, days, DEMO_SYMBOLS, tag):
        orders_rows.append(order)
        trade_rows.append(trade)
        event_rows.extend(events)
    _write(db, "orders", orders_rows)
    _write(db, "order_events", event_rows)
    _write(db, "trades", trade_rows)
    end_ns = start_ns + days * _DAY_NS
    _write(db, "positions", _positions(rng, positions, DEMO_SYMBOLS, end_ns))
    return SeedReport(len(orders_rows), len(trade_rows), positions)


def seed_demo(
    db: Database, *, now_ns: int, seed: int = 7, history: Path | None = None
) -> SeedReport:
    """A small, complete picture for `make run` and the browser test (ending at `now_ns`);
    with `history` (a history store's folder), minute candles of the demo symbols there that
    pass through the demo trades' prices, for the Charts page."""
    days = 30
    start = now_ns - days * _DAY_NS
    start -= start % _DAY_NS
    report = seed_bulk(db, trades=240, positions=4, start_ns=start, days=days, seed=seed)
    if history is not None:
        seed_candles(db, history, start_ns=start, days=days, seed=seed)
    when = ns_to_datetime(now_ns - 3600 * _NS_PER_S)
    _write(db, "orders", [_resting(when), _rejected(when)])
    _write(
        db,
        "order_audit",
        [
            {
                "occurred_at": when,
                "stage": "RISK",
                "decision_code": "MAX_ORDER_VALUE",
                "strategy": "sma_crossover",
                "order_tag": "DREJ0001",
                "client_order_id": "DREJ0001",
                "symbol": "TCS-EQ",
                "side": "BUY",
                "quantity": 500,
                "price": 2254_30,
                "numbers": {"value_paise": 112_715_000, "limit_paise": 50_000_000},
                "detail": "order value above the strategy's limit",
                "parent_client_order_id": None,
            }
        ],
    )
    _write(db, "strategy_runs", _runs(when))
    _write(db, "leases", _leases(now_ns))
    _write_backtests(db, when)
    return SeedReport(report.orders + 2, report.trades, report.positions)


def seed_candles(db: Database, history: Path, *, start_ns: int, days: int, seed: int = 7) -> int:
    """One-minute candles (09:15-15:30 IST on weekdays) for each symbol the trades table
    holds, in the history store at `history`: a path through the trades' prices (each trade's
    minute spans its price) with a few ticks of noise. Returns the candles written."""
    rng = np.random.default_rng(seed)
    trades = metadata.tables["trades"]
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(trades.c.symbol, trades.c.exchange, trades.c.executed_at, trades.c.price)
            .where(trades.c.executed_at >= ns_to_datetime(start_ns))
            .order_by(trades.c.id)
        ).all()
    minutes = np.array(
        [
            day + _OPEN_OFFSET_NS + m * 60 * _NS_PER_S
            for day in _weekdays(start_ns, days)
            for m in range(375)
        ],
        dtype=np.int64,
    )
    store = ParquetBarStore(history)
    written = 0
    for (symbol, exchange), group in _by_series(rows).items():
        times = np.array([t for t, _ in group], dtype=np.int64)
        prices = np.array([p for _, p in group], dtype=np.int64)
        order = np.argsort(times, kind="stable")
        times, prices = times[order], prices[order]
        path = np.interp(minutes, times, prices)
        close = (np.round(path / 5) * 5).astype(np.int64) + 5 * rng.integers(-2, 3, len(minutes))
        open_ = np.concatenate([close[:1], close[:-1]])
        high = np.maximum(open_, close) + 5 * rng.integers(0, 3, len(minutes))
        low = np.minimum(open_, close) - 5 * rng.integers(0, 3, len(minutes))
        at = np.searchsorted(minutes, times, side="right") - 1  # each trade's minute
        inside = at >= 0
        np.maximum.at(high, at[inside], prices[inside])
        np.minimum.at(low, at[inside], prices[inside])
        volume = rng.integers(100, 5000, len(minutes)).astype(np.int64)
        bars = BarSeries(symbol, minutes, open_, high, low, close, volume)
        written += store.write(BarKey(exchange, symbol, "ONE_MINUTE"), bars)
    return written


def _by_series(rows: Any) -> dict[tuple[str, str], list[tuple[int, int]]]:
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for row in rows:
        out.setdefault((row.symbol, row.exchange), []).append(
            (datetime_to_ns(row.executed_at), int(row.price))
        )
    return out


def _resting(when: Any) -> dict[str, Any]:
    return {
        "client_order_id": "DOPEN0001",
        "broker_order_id": "BDOPEN0001",
        "tag": "DOPEN0001",
        "account": "default",
        "strategy": "rsi_reversion",
        "symbol": "INFY-EQ",
        "exchange": "NSE",
        "product": "INTRADAY",
        "side": "BUY",
        "order_type": "LIMIT",
        "validity": "DAY",
        "quantity": 10,
        "price": 1000_00,
        "trigger_price": None,
        "status": "OPEN",
        "filled_quantity": 0,
        "filled_value": 0,
        "average_fill_price": None,
        "charges": 0,
        "rejection_reason": None,
        "created_at": when,
        "updated_at": when,
        "acknowledged_at": when,
    }


def _rejected(when: Any) -> dict[str, Any]:
    row = _resting(when) | {
        "client_order_id": "DREJ0001",
        "broker_order_id": None,
        "tag": "DREJ0001",
        "strategy": "sma_crossover",
        "symbol": "TCS-EQ",
        "quantity": 500,
        "price": 2254_30,
        "status": "REJECTED",
        "rejection_reason": "MAX_ORDER_VALUE: value=1127150.00, limit=500000.00",
        "acknowledged_at": None,
    }
    return row


_DEMO_PARAMS = {  # as the trading service records them: text, and the strategy's code
    "sma_crossover": {"fast": "10", "slow": "30", "allow_short": "False"},
    "rsi_reversion": {"period": "14", "oversold": "30", "overbought": "70", "exit_level": "50"},
}


def _runs(when: Any) -> list[dict[str, Any]]:
    return [
        {
            "run_id": f"demo-run-{name}",
            "strategy": name,
            "mode": "paper",
            "params": _DEMO_PARAMS[name] | {"_strategy": name, "_bar_minutes": "15"},
            "status": "RUNNING",
            "started_at": when,
            "stopped_at": None,
            "stop_reason": "",
        }
        for name in _STRATEGIES
    ]


def _leases(now_ns: int) -> list[dict[str, Any]]:
    return [
        {
            "strategy": name,
            "owner": "demo-host-1",
            "epoch": 1,
            "acquired_at": ns_to_datetime(now_ns - 600 * _NS_PER_S),
            "renewed_at": ns_to_datetime(now_ns - 5 * _NS_PER_S),
            "expires_at": ns_to_datetime(now_ns + 25 * _NS_PER_S),
        }
        for name in _STRATEGIES
    ]


def _write_backtests(db: Database, when: Any) -> None:
    rng = random.Random(11)
    for n, name in enumerate(_STRATEGIES, start=1):
        with db.engine.begin() as conn:
            pk = conn.execute(
                insert(_table("backtest_runs")).returning(_table("backtest_runs").c.id),
                {
                    "run_id": f"demo-backtest-{n}",
                    "strategy": name,
                    "params": _DEMO_PARAMS[name],
                    "status": "DONE",
                    "started_at": when,
                    "finished_at": when,
                    "trade_count": 40,
                    "summary": {
                        "total_return": f"{rng.uniform(-0.05, 0.2):.4f}",
                        "sharpe": f"{rng.uniform(0.2, 2.0):.2f}",
                        "max_drawdown": f"{rng.uniform(0.02, 0.15):.4f}",
                        "trades": "40",
                    },
                    "results_uri": None,
                },
            ).scalar_one()
            conn.execute(
                insert(_table("backtest_trades")),
                [
                    {
                        "backtest_run_id": pk,
                        "seq": i,
                        "trade_id": f"bt{n}-{i}",
                        "strategy": name,
                        "symbol": "SBIN-EQ",
                        "side": "BUY" if i % 2 == 0 else "SELL",
                        "quantity": 10,
                        "price": 1000_00 + rng.randint(-50, 50) * 5,
                        "charges": 20_00,
                        "pnl": 0 if i % 2 == 0 else rng.randint(-800, 1500) * 100,
                        "executed_at": when,
                    }
                    for i in range(40)
                ],
            )
