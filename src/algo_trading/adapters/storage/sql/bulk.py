"""Bulk writes of a backtest's trades: 100,000 rows in well under two seconds.

PostgreSQL gets `COPY … FROM STDIN` (psycopg 3) in text form, money as exact rupee text;
SQLite gets one prepared INSERT run over every row, each value converted by its column's own
type (so the rows read back exactly as if written one by one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.domain.fills import Fill

__all__ = ["write_backtest_trades"]

_TABLE = metadata.tables["backtest_trades"]
_COLUMNS = (
    "backtest_run_id",
    "seq",
    "trade_id",
    "strategy",
    "symbol",
    "side",
    "quantity",
    "price",
    "charges",
    "pnl",
    "executed_at",
)
_BATCH = 20_000
_EPOCH = dt.date(1970, 1, 1)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def write_backtest_trades(
    conn: Connection, run_pk: int, first_seq: int, trades: Iterable[tuple[Fill, int]]
) -> int:
    """Append (fill, realized P&L paise) rows to run `run_pk`, numbered from `first_seq`."""
    if conn.dialect.name == "postgresql":
        return _copy(conn, run_pk, first_seq, trades)
    return _insert_many(conn, run_pk, first_seq, trades)


def _rupees(paise: int) -> str:
    rupees, p = divmod(abs(paise), 100)
    return f"{'-' if paise < 0 else ''}{rupees}.{p:02d}"


def _copy(conn: Connection, run_pk: int, first_seq: int, trades: Iterable[tuple[Fill, int]]) -> int:
    # Prices and symbols repeat a lot in a backtest: each is formatted (and escaped) once.
    money: dict[int, str] = {}
    text: dict[str, str] = {}
    days: dict[int, str] = {}

    def rupees(paise: int) -> str:
        out = money.get(paise)
        if out is None:
            out = money[paise] = _rupees(paise)
        return out

    def utc(ts_ns: int) -> str:
        # PostgreSQL's timestamptz text; the calendar day is looked up once per day
        seconds, ns = divmod(ts_ns, 1_000_000_000)
        day, second = divmod(seconds, 86_400)
        date = days.get(day)
        if date is None:
            date = days[day] = (_EPOCH + dt.timedelta(days=day)).isoformat()
        hour, rest = divmod(second, 3_600)
        return f"{date} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}.{ns // 1_000:06d}+00"

    def escaped(value: str) -> str:
        out = text.get(value)
        if out is None:
            out = text[value] = value.translate(_COPY_ESCAPES)
        return out

    dbapi: Any = conn.connection.driver_connection
    n = 0
    lines: list[str] = []
    sql = f"COPY backtest_trades ({', '.join(_COLUMNS)}) FROM STDIN"
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        for seq, (f, pnl) in enumerate(trades, start=first_seq):
            lines.append(
                f"{run_pk}\t{seq}\t{f.trade_id.translate(_COPY_ESCAPES)}\t"
                f"{escaped(f.strategy_id)}\t{escaped(f.symbol)}\t{f.side.value}\t{f.quantity}\t"
                f"{rupees(f.price_paise)}\t{rupees(f.charges_paise)}\t{rupees(pnl)}\t"
                f"{utc(f.ts_ns)}\n"
            )
            if len(lines) == _BATCH:
                copy.write("".join(lines))
                n += len(lines)
                lines.clear()
        if lines:
            copy.write("".join(lines))
            n += len(lines)
    return n


def _insert_many(
    conn: Connection, run_pk: int, first_seq: int, trades: Iterable[tuple[Fill, int]]
) -> int:
    dialect = conn.dialect
    money = _TABLE.c.price.type.bind_processor(dialect) or _same
    when = _TABLE.c.executed_at.type.bind_processor(dialect) or _same
    names, marks = ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
    sql = f"INSERT INTO backtest_trades ({names}) VALUES ({marks})"  # noqa: S608 - our own names
    n = 0
    batch: list[tuple[Any, ...]] = []
    for seq, (f, pnl) in enumerate(trades, start=first_seq):
        batch.append(
            (
                run_pk,
                seq,
                f.trade_id,
                f.strategy_id,
                f.symbol,
                f.side.value,
                f.quantity,
                money(f.price_paise),
                money(f.charges_paise),
                money(pnl),
                when(ns_to_datetime(f.ts_ns)),
            )
        )
        if len(batch) == _BATCH:
            conn.exec_driver_sql(sql, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
        n += len(batch)
    return n


def _same(value: Any) -> Any:
    return value
