"""The dashboard's read side: every query the pages run, in SQLAlchemy Core over the storage
adapter's tables, in read-only units of work (readers never make the trading path wait).

Money stays integer paise in every frame (the `Paise` column type converts); pages turn it
into rupees only to print it. Large tables are read with limits and in aggregate, so a page
stays quick with 100,000 trades (benchmarks/dashboard_render.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, Table, desc, func, select

from algo_trading.adapters.live.quotes import decode, quote_key
from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.adapters.storage.sql.account_funds import FundsRecord, SqlAccountFunds
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain.events import IST
from algo_trading.engine.ports import Cache, CacheKind

__all__ = [
    "OrderFilter",
    "PriceSource",
    "Totals",
    "audit_log",
    "backtest_runs",
    "backtest_trades",
    "cache_prices",
    "command",
    "daily_pnl",
    "funds",
    "last_prices",
    "leases",
    "order_audit",
    "order_events",
    "orders",
    "portfolio",
    "recent_commands",
    "recent_refusals",
    "strategies",
    "strategy_params",
    "strategy_runs",
    "symbols",
    "totals",
    "trades",
    "trades_for_charges",
    "trades_for_chart",
    "trades_version",
]

ORDERS: Table = metadata.tables["orders"]
EVENTS: Table = metadata.tables["order_events"]
TRADES: Table = metadata.tables["trades"]
POSITIONS: Table = metadata.tables["positions"]
COMMANDS: Table = metadata.tables["commands"]
AUDIT: Table = metadata.tables["audit_log"]
ORDER_AUDIT: Table = metadata.tables["order_audit"]
RUNS: Table = metadata.tables["strategy_runs"]
BACKTESTS: Table = metadata.tables["backtest_runs"]
BACKTEST_TRADES: Table = metadata.tables["backtest_trades"]
LEASES: Table = metadata.tables["leases"]

PriceSource = Callable[[Sequence[str]], Mapping[str, int]]
"""Live prices in paise by quote key (the cache's latest quotes, keyed EXCHANGE:SYMBOL by the
data service); keys it lacks are left out."""


def cache_prices(cache: Cache) -> PriceSource:
    """Live prices from the data service's latest quotes in the cache (one round trip); a
    symbol without a quote, or a quote not ours, is left out."""

    def prices(symbols: Sequence[str]) -> Mapping[str, int]:
        values = cache.get_many(CacheKind.QUOTE, [quote_key(s) for s in symbols])
        out: dict[str, int] = {}
        for symbol, raw in zip(symbols, values, strict=True):
            quote = decode(raw)
            ltp = quote.get("ltp_paise") if quote else None
            if isinstance(ltp, int) and not isinstance(ltp, bool) and ltp > 0:
                out[symbol] = ltp
        return out

    return prices


def _frame(db: Database, query: Select[Any]) -> pd.DataFrame:
    with SqlUnitOfWork(db, read_only=True) as uow:
        result = uow.connection.execute(query)
        # plain tuples: pandas probes each Row for array attributes, a raised KeyError each
        return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()))


def _scalars(db: Database, query: Select[Any]) -> list[Any]:
    with SqlUnitOfWork(db, read_only=True) as uow:
        return list(uow.connection.execute(query).scalars())


def last_prices(db: Database, symbols: Sequence[str] | None = None) -> dict[str, int]:
    """The price of each symbol's newest trade (paise)."""
    newest = select(func.max(TRADES.c.id)).group_by(TRADES.c.symbol)
    if symbols is not None:
        if not symbols:
            return {}
        newest = newest.where(TRADES.c.symbol.in_(list(symbols)))
    query = select(TRADES.c.symbol, TRADES.c.price).where(TRADES.c.id.in_(newest.scalar_subquery()))
    with SqlUnitOfWork(db, read_only=True) as uow:
        return {row.symbol: int(row.price) for row in uow.connection.execute(query)}


def portfolio(db: Database, prices: PriceSource | None = None) -> pd.DataFrame:
    """Open and closed positions per strategy with a mark price and exact P&L (paise).

    Mark: the live price from `prices` (the cache) when it has the symbol, else the newest
    trade's price, else the price the trading service last stored. Unrealized P&L is
    mark × quantity - cost of the open lots, so it is exact.
    """
    frame = _frame(
        db,
        select(
            POSITIONS.c.account,
            POSITIONS.c.strategy,
            POSITIONS.c.symbol,
            POSITIONS.c.exchange,
            POSITIONS.c.product,
            POSITIONS.c.quantity,
            POSITIONS.c.avg_price,
            POSITIONS.c.cost,
            POSITIONS.c.realized_pnl,
            POSITIONS.c.current_price,
            POSITIONS.c.updated_at,
        ).order_by(POSITIONS.c.strategy, POSITIONS.c.symbol),
    )
    if frame.empty:
        return frame.assign(mark=[], price_source=[], unrealized_pnl=[], total_pnl=[])
    symbols = sorted(set(frame["symbol"]))
    # The data service keys its quotes EXCHANGE:SYMBOL (services.capture), as NSE:SBIN-EQ.
    keys = [f"{e}:{s}" for e, s in zip(frame["exchange"], frame["symbol"], strict=True)]
    live = dict(prices(sorted(set(keys)))) if prices is not None else {}
    live_symbols = {k.partition(":")[2] for k in live}
    traded = last_prices(db, [s for s in symbols if s not in live_symbols])
    marks, sources = [], []
    for key, symbol, stored in zip(keys, frame["symbol"], frame["current_price"], strict=True):
        if key in live:
            marks.append(int(live[key]))
            sources.append("live")
        elif symbol in traded:
            marks.append(traded[symbol])
            sources.append("last trade")
        else:
            marks.append(int(stored))
            sources.append("stored")
    frame["mark"] = marks
    frame["price_source"] = sources
    frame["unrealized_pnl"] = [
        int(m) * int(q) - int(c)
        for m, q, c in zip(frame["mark"], frame["quantity"], frame["cost"], strict=True)
    ]
    frame["total_pnl"] = [
        int(r) + int(u) for r, u in zip(frame["realized_pnl"], frame["unrealized_pnl"], strict=True)
    ]
    return frame


def funds(db: Database) -> list[FundsRecord]:
    """The broker's funds and margin per account as the trading service last recorded them
    (getRMS, at its start and each reconciliation); empty until it has run once."""
    return SqlAccountFunds(db).latest()


@dataclass(frozen=True, slots=True)
class Totals:
    realized_paise: int
    unrealized_paise: int
    open_positions: int
    gross_exposure_paise: int
    charges_today_paise: int

    @property
    def total_paise(self) -> int:
        return self.realized_paise + self.unrealized_paise


def totals(frame: pd.DataFrame, charges_today_paise: int = 0) -> Totals:
    if frame.empty:
        return Totals(0, 0, 0, 0, charges_today_paise)
    open_rows = frame[frame["quantity"] != 0]
    return Totals(
        realized_paise=sum(int(x) for x in frame["realized_pnl"]),
        unrealized_paise=sum(int(x) for x in frame["unrealized_pnl"]),
        open_positions=len(open_rows),
        gross_exposure_paise=sum(
            abs(int(m) * int(q))
            for m, q in zip(open_rows["mark"], open_rows["quantity"], strict=True)
        ),
        charges_today_paise=charges_today_paise,
    )


def charges_since(db: Database, since: dt.datetime) -> int:
    query = select(func.coalesce(func.sum(TRADES.c.charges), 0)).where(
        TRADES.c.executed_at >= since
    )
    with SqlUnitOfWork(db, read_only=True) as uow:
        return int(uow.connection.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class OrderFilter:
    strategy: str | None = None
    symbol: str | None = None
    statuses: tuple[str, ...] = ()
    side: str | None = None
    since: dt.datetime | None = None
    limit: int = 2000


def _filtered(query: Select[Any], table: Table, f: OrderFilter, time_col: str) -> Select[Any]:
    if f.strategy:
        query = query.where(table.c.strategy == f.strategy)
    if f.symbol:
        query = query.where(table.c.symbol == f.symbol)
    if f.side:
        query = query.where(table.c.side == f.side)
    if f.since is not None:
        query = query.where(table.c[time_col] >= f.since)
    return query


def orders(db: Database, f: OrderFilter | None = None) -> pd.DataFrame:
    f = f or OrderFilter()
    query = _filtered(
        select(
            ORDERS.c.created_at,
            ORDERS.c.client_order_id,
            ORDERS.c.broker_order_id,
            ORDERS.c.strategy,
            ORDERS.c.symbol,
            ORDERS.c.side,
            ORDERS.c.order_type,
            ORDERS.c.product,
            ORDERS.c.quantity,
            ORDERS.c.filled_quantity,
            ORDERS.c.price,
            ORDERS.c.trigger_price,
            ORDERS.c.average_fill_price,
            ORDERS.c.status,
            ORDERS.c.rejection_reason,
            ORDERS.c.charges,
            ORDERS.c.updated_at,
        ),
        ORDERS,
        f,
        "created_at",
    )
    if f.statuses:
        query = query.where(ORDERS.c.status.in_(list(f.statuses)))
    return _frame(db, query.order_by(desc(ORDERS.c.id)).limit(f.limit))


def trades(db: Database, f: OrderFilter | None = None) -> pd.DataFrame:
    f = f or OrderFilter()
    query = _filtered(
        select(
            TRADES.c.executed_at,
            TRADES.c.trade_id,
            TRADES.c.client_order_id,
            TRADES.c.strategy,
            TRADES.c.symbol,
            TRADES.c.exchange,
            TRADES.c.product,
            TRADES.c.side,
            TRADES.c.quantity,
            TRADES.c.price,
            TRADES.c.charges,
            TRADES.c.pnl,
        ),
        TRADES,
        f,
        "executed_at",
    )
    return _frame(db, query.order_by(desc(TRADES.c.id)).limit(f.limit))


def trade_count(db: Database, f: OrderFilter | None = None) -> int:
    f = f or OrderFilter()
    query = _filtered(select(func.count()).select_from(TRADES), TRADES, f, "executed_at")
    return int(_scalars(db, query)[0])


def order_events(db: Database, client_order_id: str) -> pd.DataFrame:
    return _frame(
        db,
        select(
            EVENTS.c.occurred_at,
            EVENTS.c.event,
            EVENTS.c.status,
            EVENTS.c.filled_quantity,
            EVENTS.c.broker_order_id,
            EVENTS.c.reason,
        )
        .where(EVENTS.c.client_order_id == client_order_id)
        .order_by(EVENTS.c.id),
    )


def order_audit(db: Database, client_order_id: str) -> pd.DataFrame:
    return _frame(
        db,
        select(
            ORDER_AUDIT.c.occurred_at,
            ORDER_AUDIT.c.stage,
            ORDER_AUDIT.c.decision_code,
            ORDER_AUDIT.c.quantity,
            ORDER_AUDIT.c.price,
            ORDER_AUDIT.c.numbers,
            ORDER_AUDIT.c.detail,
        )
        .where(ORDER_AUDIT.c.client_order_id == client_order_id)
        .order_by(ORDER_AUDIT.c.id),
    )


def strategies(db: Database) -> list[str]:
    names = set(_scalars(db, select(POSITIONS.c.strategy).distinct()))
    names |= set(_scalars(db, select(ORDERS.c.strategy).distinct()))
    names |= set(_scalars(db, select(LEASES.c.strategy)))
    return sorted(names)


def symbols(db: Database) -> list[str]:
    names = set(_scalars(db, select(POSITIONS.c.symbol).distinct()))
    names |= set(_scalars(db, select(TRADES.c.symbol).distinct()))
    return sorted(names)


def daily_pnl(db: Database, strategy: str | None = None) -> pd.DataFrame:
    """Realized P&L, charges and net per IST day and strategy, from the trades (paise).

    Summed in the database per UTC hour (cheap on 100,000 rows), then moved to IST days here,
    because SQLite and PostgreSQL spell time zones differently."""
    hour = _utc_hour(db)
    query = select(
        TRADES.c.strategy,
        hour.label("hour"),
        func.sum(TRADES.c.pnl).label("pnl"),
        func.sum(TRADES.c.charges).label("charges"),
        func.count().label("trades"),
    ).group_by(TRADES.c.strategy, hour)
    if strategy:
        query = query.where(TRADES.c.strategy == strategy)
    frame = _frame(db, query)
    if frame.empty:
        return pd.DataFrame(columns=["strategy", "day", "pnl", "charges", "trades", "net"])
    utc = pd.to_datetime(frame["hour"] + ":00:00", utc=True, format="%Y-%m-%d %H:%M:%S")
    frame["day"] = utc.dt.tz_convert(IST).dt.date
    frame["pnl"] = frame["pnl"].astype("int64")
    frame["charges"] = frame["charges"].astype("int64")
    out = frame.groupby(["strategy", "day"], as_index=False)[["pnl", "charges", "trades"]].sum()
    out["net"] = out["pnl"] - out["charges"]
    return out.sort_values(["day", "strategy"]).reset_index(drop=True)


def _utc_hour(db: Database) -> Any:
    """'YYYY-MM-DD HH' of a trade's UTC time, in each dialect's words."""
    if db.dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC
        return func.substr(TRADES.c.executed_at, 1, 13)
    return func.to_char(func.timezone("UTC", TRADES.c.executed_at), "YYYY-MM-DD HH24")


def trades_version(db: Database) -> tuple[int, int]:
    """(count, newest id) of the trades: changes whenever one is written (a cache key)."""
    with SqlUnitOfWork(db, read_only=True) as uow:
        row = uow.connection.execute(
            select(func.count(), func.coalesce(func.max(TRADES.c.id), 0)).select_from(TRADES)
        ).one()
    return int(row[0]), int(row[1])


def trades_for_charges(db: Database) -> pd.DataFrame:
    """Every trade, oldest first, with what the charges model reads (executed_ns in epoch ns)."""
    frame = _frame(
        db,
        select(
            TRADES.c.trade_id,
            TRADES.c.client_order_id,
            TRADES.c.strategy,
            TRADES.c.symbol,
            TRADES.c.exchange,
            TRADES.c.product,
            TRADES.c.side,
            TRADES.c.quantity,
            TRADES.c.price,
            TRADES.c.charges,
            TRADES.c.executed_at,
        ).order_by(TRADES.c.id),
    )
    frame["executed_ns"] = _epoch_ns(frame["executed_at"])
    return frame.drop(columns=["executed_at"])


def _epoch_ns(times: pd.Series) -> list[int]:
    """Epoch ns of stored times, vectorised (naive SQLite times are UTC, as stored)."""
    if times.empty:
        return []
    return [int(v) for v in pd.to_datetime(times, utc=True).dt.as_unit("ns").astype("int64")]


def trades_for_chart(
    db: Database, symbol: str, strategy: str | None = None, limit: int = 5000
) -> pd.DataFrame:
    """A symbol's newest `limit` trades (of one strategy), oldest first, with executed_ns."""
    query = select(
        TRADES.c.executed_at,
        TRADES.c.strategy,
        TRADES.c.exchange,
        TRADES.c.side,
        TRADES.c.quantity,
        TRADES.c.price,
        TRADES.c.pnl,
    ).where(TRADES.c.symbol == symbol)
    if strategy is not None:
        query = query.where(TRADES.c.strategy == strategy)
    frame = _frame(db, query.order_by(desc(TRADES.c.id)).limit(limit)).iloc[::-1]
    frame = frame.reset_index(drop=True)
    frame["executed_ns"] = _epoch_ns(frame["executed_at"])
    return frame


def strategy_params(db: Database, strategy: str) -> dict[str, Any]:
    """The parameters the strategy's newest run recorded (text values); {} when none."""
    rows = _scalars(
        db,
        select(RUNS.c.params).where(RUNS.c.strategy == strategy).order_by(desc(RUNS.c.id)).limit(1),
    )
    return dict(rows[0]) if rows and isinstance(rows[0], dict) else {}


def backtest_runs(db: Database) -> pd.DataFrame:
    return _frame(
        db,
        select(
            BACKTESTS.c.id,
            BACKTESTS.c.run_id,
            BACKTESTS.c.strategy,
            BACKTESTS.c.status,
            BACKTESTS.c.started_at,
            BACKTESTS.c.finished_at,
            BACKTESTS.c.trade_count,
            BACKTESTS.c.params,
            BACKTESTS.c.summary,
            BACKTESTS.c.results_uri,
        ).order_by(desc(BACKTESTS.c.id)),
    )


def backtest_trades(db: Database, run_pk: int) -> pd.DataFrame:
    return _frame(
        db,
        select(
            BACKTEST_TRADES.c.executed_at,
            BACKTEST_TRADES.c.symbol,
            BACKTEST_TRADES.c.side,
            BACKTEST_TRADES.c.quantity,
            BACKTEST_TRADES.c.price,
            BACKTEST_TRADES.c.charges,
            BACKTEST_TRADES.c.pnl,
        )
        .where(BACKTEST_TRADES.c.backtest_run_id == run_pk)
        .order_by(BACKTEST_TRADES.c.seq),
    )


def strategy_runs(db: Database) -> pd.DataFrame:
    return _frame(
        db,
        select(
            RUNS.c.run_id,
            RUNS.c.strategy,
            RUNS.c.mode,
            RUNS.c.status,
            RUNS.c.started_at,
            RUNS.c.stopped_at,
            RUNS.c.stop_reason,
        )
        .order_by(desc(RUNS.c.id))
        .limit(200),
    )


def leases(db: Database) -> pd.DataFrame:
    return _frame(
        db,
        select(
            LEASES.c.strategy,
            LEASES.c.owner,
            LEASES.c.epoch,
            LEASES.c.acquired_at,
            LEASES.c.renewed_at,
            LEASES.c.expires_at,
        ).order_by(LEASES.c.strategy),
    )


def recent_refusals(db: Database, limit: int = 50) -> pd.DataFrame:
    """Order decisions that said no (risk, throttle, broker): the recent errors to look at."""
    return _frame(
        db,
        select(
            ORDER_AUDIT.c.occurred_at,
            ORDER_AUDIT.c.stage,
            ORDER_AUDIT.c.decision_code,
            ORDER_AUDIT.c.strategy,
            ORDER_AUDIT.c.symbol,
            ORDER_AUDIT.c.detail,
        )
        .where(ORDER_AUDIT.c.decision_code.not_in(["OK", "ACCEPTED", "SENT", ""]))
        .order_by(desc(ORDER_AUDIT.c.id))
        .limit(limit),
    )


def audit_log(db: Database, limit: int = 100) -> pd.DataFrame:
    return _frame(
        db,
        select(AUDIT.c.occurred_at, AUDIT.c.actor, AUDIT.c.action, AUDIT.c.subject, AUDIT.c.detail)
        .order_by(desc(AUDIT.c.id))
        .limit(limit),
    )


def recent_commands(db: Database, limit: int = 50) -> pd.DataFrame:
    return _frame(
        db,
        select(
            COMMANDS.c.requested_at,
            COMMANDS.c.command_id,
            COMMANDS.c.kind,
            COMMANDS.c.strategy,
            COMMANDS.c.payload,
            COMMANDS.c.requested_by,
            COMMANDS.c.status,
            COMMANDS.c.outcome_code,
            COMMANDS.c.outcome_detail,
            COMMANDS.c.finished_at,
        )
        .order_by(desc(COMMANDS.c.id))
        .limit(limit),
    )


def command(db: Database, command_id: str) -> dict[str, Any] | None:
    with SqlUnitOfWork(db, read_only=True) as uow:
        row = uow.connection.execute(
            select(COMMANDS).where(COMMANDS.c.command_id == command_id)
        ).one_or_none()
        return None if row is None else dict(row._mapping)


def pending_commands(db: Database) -> int:
    query = (
        select(func.count())
        .select_from(COMMANDS)
        .where(COMMANDS.c.status.in_(["PENDING", "CLAIMED"]))
    )
    return int(_scalars(db, query)[0])
