"""The repositories, the unit of work and the SQL trade log, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork
from algo_trading.adapters.storage.sql.models import (
    AuditEntry,
    BacktestRun,
    BacktestTrade,
    OrderRow,
)
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.domain import (
    ClientOrderId,
    ExecutionReport,
    Fill,
    OrderEvent,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    Position,
    ProductType,
    StrategyId,
    TradeId,
)
from algo_trading.domain.errors import DuplicateOrderError
from algo_trading.engine import ReportSink
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus
from tests.support.fakes import FakeBroker, RefusingRisk
from tests.support.storage import make_manager, submit

UoW = Callable[[], SqlUnitOfWork]
T0 = 1_700_000_000_000_000_000


def _fill(
    coid: str,
    trade: str,
    qty: int,
    price: int,
    *,
    symbol: str,
    side: OrderSide = OrderSide.BUY,
    ts_ns: int = T0,
    charges: int = 0,
) -> Fill:
    return Fill(
        TradeId(trade),
        ClientOrderId(coid),
        StrategyId("s"),
        symbol,
        side,
        qty,
        price,
        ts_ns,
        ProductType.INTRADAY,
        charges,
    )


class BrokerThatLooks:
    """A broker whose submit reads the database through its own unit of work, as the real
    broker call would happen after the intent: it records what it found there."""

    def __init__(self, uow: UoW) -> None:
        self._uow = uow
        self.found: list[OrderStatus | None] = []

    def connect(self, sink: ReportSink) -> None:
        self.sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        with self._uow() as uow:
            stored = uow.orders.get(order.client_order_id)
            self.found.append(None if stored is None else stored.status)

    def cancel(self, client_order_id: ClientOrderId) -> None:
        raise AssertionError("not used")


def test_the_intent_is_committed_before_the_broker_is_called(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    broker = BrokerThatLooks(uow)
    manager = make_manager(broker, trade_log, unique("I"))
    order = submit(manager, unique("SYM"))
    assert broker.found == [OrderStatus.SUBMITTED]
    with uow() as u:
        assert u.orders.events(order.client_order_id) == [
            (OrderEvent.SUBMIT, OrderStatus.SUBMITTED)
        ]


def test_a_client_order_id_taken_by_another_writer_is_refused_and_never_sent(
    trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid = unique("D")
    first, second = FakeBroker(), FakeBroker()
    submit(make_manager(first, trade_log, coid), unique("SYM"))
    with pytest.raises(DuplicateOrderError, match=coid):
        submit(make_manager(second, trade_log, coid), unique("SYM"))
    assert len(first.submitted) == 1
    assert second.submitted == []


def test_an_order_is_recorded_through_acknowledgement_and_fills_with_exact_money(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid, symbol = unique("L"), unique("SYM")
    manager = make_manager(FakeBroker(), trade_log, coid)
    submit(manager, symbol, 3, price_paise=123_456_789)
    manager.apply(ExecutionReport(coid, OrderEvent.ACCEPT, T0 + 1, broker_order_id="B1"))
    manager.apply(
        ExecutionReport(coid, OrderEvent.FILL, T0 + 2, "B1", 1, 123_456_789, unique("t1"))
    )
    manager.apply(
        ExecutionReport(coid, OrderEvent.FILL, T0 + 3, "B1", 2, 123_456_790, unique("t2"))
    )
    with uow() as u:
        order = u.orders.get(ClientOrderId(coid))
        assert order is not None
        assert (order.status, order.broker_order_id, order.filled_quantity) == (
            OrderStatus.FILLED,
            "B1",
            3,
        )
        assert order.fill_value_paise == 123_456_789 + 2 * 123_456_790
        assert [e for e, _ in u.orders.events(ClientOrderId(coid))] == [
            OrderEvent.SUBMIT,
            OrderEvent.ACCEPT,
            OrderEvent.PARTIAL_FILL,
            OrderEvent.FILL,
        ]
        row = u.connection.execute(select(OrderRow).filter_by(client_order_id=coid)).one()
        assert row.average_fill_price == Decimal("1234567.8967")
        assert row.acknowledged_at == dt.datetime.fromtimestamp(T0 // 10**9, dt.UTC).replace(
            microsecond=0
        )
        assert [f.price_paise for f in u.trades.for_order(ClientOrderId(coid))] == [
            123_456_789,
            123_456_790,
        ]


def test_money_is_stored_as_numeric_rupees_on_postgresql(
    database: Database, uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid = unique("M")
    submit(make_manager(FakeBroker(), trade_log, coid), unique("SYM"), price_paise=1_005)
    with uow() as u:
        raw = u.connection.execute(
            text("SELECT price FROM orders WHERE client_order_id = :c"), {"c": coid}
        ).scalar_one()
    expected = Decimal("10.05") if database.dialect == "postgresql" else 1_005
    assert raw == expected
    assert type(raw) is type(expected)


def test_a_fill_recorded_twice_books_one_trade_and_moves_the_position_once(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid, symbol = unique("F"), unique("SYM")
    submit(make_manager(FakeBroker(), trade_log, coid), symbol, 10, strategy="s")
    fill = _fill(coid, unique("T"), 4, 10_000, symbol=symbol)
    trade_log.record_fill(fill)
    trade_log.record_fill(fill)
    with uow() as u:
        assert len(u.trades.for_order(ClientOrderId(coid))) == 1
        pos = u.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY)
        order = u.orders.get(ClientOrderId(coid))
    assert pos is not None
    assert pos.quantity == 4
    assert order is not None
    assert order.filled_quantity == 4


def test_positions_book_fills_first_in_first_out_like_the_domain(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    symbol, buy, sell = unique("SYM"), unique("B"), unique("S")
    manager = make_manager(FakeBroker(), trade_log, buy, sell)
    submit(manager, symbol, 20, strategy="s")
    submit(manager, symbol, 15, strategy="s", side=OrderSide.SELL)
    fills = [
        _fill(buy, unique("t1"), 10, 10_000, symbol=symbol),
        _fill(buy, unique("t2"), 10, 10_105, symbol=symbol, charges=7),
        _fill(sell, unique("t3"), 15, 10_210, symbol=symbol, side=OrderSide.SELL),
    ]
    expected = Position(symbol)
    for f in fills:
        trade_log.record_fill(f)
        expected.apply_fill(f.signed_quantity, f.price_paise, f.ts_ns, f.charges_paise)
    with uow() as u:
        got = u.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY)
        pnl = [
            u.connection.execute(
                text("SELECT pnl FROM trades WHERE trade_id = :t"), {"t": f.trade_id}
            ).scalar_one()
            for f in fills
        ]
    assert got == expected.snapshot()
    assert got.realized_pnl_paise == 10 * 210 + 5 * 105
    assert pnl[2] in (Decimal("26.25"), 2_625)  # rupees on PostgreSQL, paise on SQLite


def test_marking_a_symbol_updates_current_price_and_unrealized_pnl(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    symbol, coid = unique("SYM"), unique("K")
    submit(make_manager(FakeBroker(), trade_log, coid), symbol, 5, strategy="s")
    trade_log.record_fill(_fill(coid, unique("t"), 5, 10_000, symbol=symbol))
    with uow() as u:
        assert u.positions.mark(symbol, 10_250, T0 + 5) == 1
        u.commit()
    with uow() as u:
        pos = u.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY)
    assert pos is not None
    assert (pos.last_price_paise, pos.unrealized_pnl_paise) == (10_250, 5 * 250)


def test_an_order_refused_by_risk_is_recorded_rejected_with_its_reason(
    uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid = unique("R")
    broker = FakeBroker()
    manager = make_manager(
        broker, trade_log, coid, risk=RefusingRisk("MAX_ORDER_QTY", "qty=10, limit=5")
    )
    submit(manager, unique("SYM"))
    assert broker.submitted == []
    with uow() as u:
        order = u.orders.get(ClientOrderId(coid))
        assert u.orders.events(ClientOrderId(coid)) == [(OrderEvent.REJECT, OrderStatus.REJECTED)]
    assert order is not None
    assert order.reason == "MAX_ORDER_QTY: qty=10, limit=5"


def test_unresolved_orders_are_the_sent_and_unfinished_ones(
    uow: UoW, unique: Callable[[str], str], database: Database
) -> None:
    account = unique("acct")
    log = SqlTradeLog(database, account=account)
    a, b, c = unique("a"), unique("b"), unique("c")
    manager = make_manager(FakeBroker(), log, a, b, c)
    for _ in range(3):
        submit(manager, unique("SYM"))
    manager.apply(ExecutionReport(b, OrderEvent.ACCEPT, T0, broker_order_id="B-b"))
    manager.apply(ExecutionReport(c, OrderEvent.REJECT, T0, reason="price band"))
    with uow() as u:
        found = u.orders.unresolved(account)
    assert [(o.client_order_id, o.status) for o in found] == [
        (a, OrderStatus.SUBMITTED),
        (b, OrderStatus.OPEN),
    ]


def test_leaving_a_unit_of_work_without_commit_rolls_back(
    uow: UoW, unique: Callable[[str], str]
) -> None:
    coid = unique("U")
    with uow() as u:
        u.audit.append("tester", "noop", coid, "", T0)
    with uow() as u:
        rows = u.connection.execute(select(AuditEntry.id).filter_by(subject=coid)).all()
    assert rows == []


@pytest.mark.parametrize("table", ["order_events", "audit_log"])
def test_order_events_and_the_audit_log_refuse_updates_and_deletes(
    table: str, uow: UoW, trade_log: SqlTradeLog, unique: Callable[[str], str]
) -> None:
    coid = unique("A")
    submit(make_manager(FakeBroker(), trade_log, coid), unique("SYM"))
    with uow() as u:
        u.audit.append("tester", "submit", coid, "", T0)
        u.commit()
    column = "client_order_id" if table == "order_events" else "subject"
    for sql in (
        f"UPDATE {table} SET id = id WHERE {column} = :c",  # noqa: S608 - fixed names
        f"DELETE FROM {table} WHERE {column} = :c",  # noqa: S608 - fixed names
    ):
        with uow() as u, pytest.raises(DBAPIError, match="append-only"):
            u.connection.execute(text(sql), {"c": coid})


def test_commands_are_claimed_once_and_keep_their_outcome(
    uow: UoW, unique: Callable[[str], str]
) -> None:
    ids = [unique(f"cmd{i}-") for i in range(2)]
    with uow() as u:
        for i, cid in enumerate(ids):
            u.commands.add(
                CommandRecord(cid, CommandKind.SQUARE_OFF, "asha", T0 + i, {"symbol": "SBIN-EQ"})
            )
        u.commit()
    claimed = []
    for worker in ("w1", "w2", "w3"):
        with uow() as u:
            cmd = u.commands.claim_next(worker, T0 + 10)
            claimed.append(None if cmd is None else (cmd.command_id, cmd.claimed_by))
            u.commit()
    assert claimed == [(ids[0], "w1"), (ids[1], "w2"), None]
    with uow() as u:
        u.commands.finish(
            ids[0], CommandStatus.REFUSED, code="KILL_SWITCH_ON", detail="", ts_ns=T0 + 20
        )
        u.commit()
    with uow() as u:
        got = u.commands.get(ids[0])
    assert got is not None
    assert (got.status, got.outcome_code, got.claimed_by, got.requested_by) == (
        CommandStatus.REFUSED,
        "KILL_SWITCH_ON",
        "w1",
        "asha",
    )
    assert got.payload == {"symbol": "SBIN-EQ"}


def test_a_backtest_run_keeps_its_metadata_and_its_trades_in_bulk(
    uow: UoW, unique: Callable[[str], str]
) -> None:
    run_id = unique("run")
    # odd nanoseconds, negative P&L, a symbol with a tab: what the bulk path must keep exact
    trades = [
        (
            _fill(f"O{i}", f"T{i}", 1 + i % 3, 10_000 + i, symbol="SYN\tTH", ts_ns=T0 + i * 7_001),
            i - 50,
        )
        for i in range(1_000)
    ]
    with uow() as u:
        u.runs.start_backtest(run_id, "sma_crossover", {"fast": "10"}, T0)
        assert u.runs.add_backtest_trades(run_id, trades[:600]) == 600
        assert u.runs.add_backtest_trades(run_id, trades[600:]) == 400
        u.runs.finish_backtest(run_id, "DONE", {"trades": "1000"}, f"s3://r/{run_id}", T0 + 9)
        u.commit()
    with uow() as u:
        rows = u.connection.execute(
            text(
                "SELECT r.trade_count, r.results_uri, SUM(t.quantity), MAX(t.seq) "
                "FROM backtest_runs r JOIN backtest_trades t ON t.backtest_run_id = r.id "
                "WHERE r.run_id = :r GROUP BY r.trade_count, r.results_uri"
            ),
            {"r": run_id},
        ).one()
        table = BacktestTrade.__table__.c
        first = u.connection.execute(
            select(table.symbol, table.price, table.pnl, table.executed_at)
            .join_from(BacktestTrade, BacktestRun)
            .where(BacktestRun.run_id == run_id)
            .order_by(table.seq)
            .limit(2)
        ).all()
    assert tuple(rows) == (1_000, f"s3://r/{run_id}", sum(f.quantity for f, _ in trades), 999)
    assert [tuple(r) for r in first] == [
        ("SYN\tTH", 10_000, -50, ns_to_datetime(T0)),
        ("SYN\tTH", 10_001, -49, ns_to_datetime(T0 + 7_001)),
    ]


def test_a_strategy_run_is_recorded_from_start_to_stop(
    uow: UoW, unique: Callable[[str], str]
) -> None:
    run_id = unique("srun")
    with uow() as u:
        u.runs.start_strategy_run(run_id, "ema", "paper", {"fast": "9"}, T0)
        u.commit()
    with uow() as u:
        u.runs.stop_strategy_run(run_id, "STOPPED", "operator asked", T0 + 1)
        u.commit()
    with uow() as u:
        row = u.connection.execute(
            text("SELECT status, stop_reason, mode FROM strategy_runs WHERE run_id = :r"),
            {"r": run_id},
        ).one()
    assert tuple(row) == ("STOPPED", "operator asked", "paper")
