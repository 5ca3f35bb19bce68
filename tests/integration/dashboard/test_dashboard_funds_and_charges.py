"""Funds and margin from the broker (recorded by the trading service, shown on Portfolio) and
the charges by kind of the recorded trades (Performance), exact to the paisa against the
calculator in market.charges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from algo_trading.adapters.brokers.angelone.parsing_books import BrokerFunds
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.dashboard import analytics, queries
from algo_trading.dashboard.format import rupees
from algo_trading.domain.instruments import Exchange
from algo_trading.market import ANGEL_ONE, ChargeSegment
from algo_trading.market.charges import round_trip_charges
from algo_trading.services.funds_recorder import FundsRecorder
from tests.integration.dashboard.conftest import NOW_NS, log_in

_IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


class _Broker:
    def __init__(self, *answers: BrokerFunds | Exception) -> None:
        self.answers = list(answers)

    def funds(self) -> BrokerFunds:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _funds(cash: int, used: int) -> BrokerFunds:
    return BrokerFunds(
        net_paise=cash + used,
        available_cash_paise=cash,
        available_intraday_payin_paise=0,
        collateral_paise=5_000_00,
        m2m_realized_paise=0,
        m2m_unrealized_paise=-12_34,
        utilised_debits_paise=used,
    )


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def test_funds_show_an_empty_state_until_recorded_then_the_newest_reading(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    funds_table = metadata.tables["account_funds"]
    with database.engine.begin() as conn:
        conn.execute(delete(funds_table))
    at = log_in(app_env(), "viewer")
    assert not at.exception
    assert any("Funds: not recorded yet" in str(i.value) for i in at.info)
    assert "Margin used" not in _metrics(at)

    broker = _Broker(
        _funds(12_34_567_89, 2_50_000_00), RuntimeError("broker down"), _funds(9_00_000_00, 75)
    )
    recorder = FundsRecorder(broker, database, "default")
    first = recorder(NOW_NS)
    assert first is not None
    assert first.available_cash == 12_34_567_89
    assert recorder(NOW_NS + 60 * 10**9) is None  # a failed reading keeps the older one
    assert [f.available_cash for f in queries.funds(database)] == [12_34_567_89]
    at.run()
    metrics = _metrics(at)
    assert metrics["Available cash (default)"] == "₹12,34,567.89"
    assert metrics["Margin used"] == rupees(2_50_000_00)
    assert metrics["Net"] == rupees(12_34_567_89 + 2_50_000_00)
    assert not any("Funds: not recorded yet" in str(i.value) for i in at.info)

    recorder(NOW_NS + 120 * 10**9)  # the next reading replaces it
    (latest,) = queries.funds(database)
    assert (latest.available_cash, latest.utilised_debits) == (9_00_000_00, 75)
    assert latest.recorded_ns == NOW_NS + 120 * 10**9
    with database.engine.begin() as conn:
        conn.execute(delete(funds_table))


def _ns(day: int, hh: int, mm: int) -> int:
    return int(dt.datetime(2026, 7, day, hh, mm, tzinfo=_IST).timestamp()) * 10**9


def _trade(
    trade_id: str, order: str, symbol: str, side: str, qty: int, price: int, ns: int, product: str
) -> dict[str, object]:
    return {
        "trade_id": trade_id,
        "client_order_id": order,
        "strategy": "sma_crossover",
        "symbol": symbol,
        "exchange": "NSE",
        "product": product,
        "side": side,
        "quantity": qty,
        "price": price,
        "charges": 0,
        "executed_ns": ns,
    }


def test_charges_by_kind_are_the_calculators_lines_to_the_paisa() -> None:
    """An intraday trip bought in one order of two fills and sold in two orders, a delivery
    trip over two days, and a position still open: each closed trip's lines are the
    calculator's, with its own orders and dates; the open one is not charged yet."""
    trades = pd.DataFrame(
        [
            _trade("t1", "o1", "SBIN-EQ", "BUY", 6, 1010_50, _ns(20, 9, 20), "INTRADAY"),
            _trade("t2", "o1", "SBIN-EQ", "BUY", 4, 1010_60, _ns(20, 9, 20), "INTRADAY"),
            _trade("t3", "o2", "SBIN-EQ", "SELL", 5, 1020_00, _ns(20, 11, 0), "INTRADAY"),
            _trade("t4", "o3", "SBIN-EQ", "SELL", 5, 1019_90, _ns(20, 14, 0), "INTRADAY"),
            _trade("t5", "o4", "TCS-EQ", "BUY", 3, 2254_30, _ns(20, 10, 0), "DELIVERY"),
            _trade("t6", "o5", "TCS-EQ", "SELL", 3, 2301_10, _ns(21, 10, 0), "DELIVERY"),
            _trade("t7", "o6", "INFY-EQ", "BUY", 7, 1040_90, _ns(21, 10, 5), "INTRADAY"),
        ]
    )
    intraday = round_trip_charges(
        ChargeSegment.EQUITY_INTRADAY,
        6 * 1010_50 + 4 * 1010_60,
        5 * 1020_00 + 5 * 1019_90,
        exchange=Exchange.NSE,
        broker=ANGEL_ONE,
        trade_date=dt.date(2026, 7, 20),
        sell_date=dt.date(2026, 7, 20),
        buy_orders=1,
        sell_orders=2,
    )
    delivery = round_trip_charges(
        ChargeSegment.EQUITY_DELIVERY,
        3 * 2254_30,
        3 * 2301_10,
        exchange=Exchange.NSE,
        broker=ANGEL_ONE,
        trade_date=dt.date(2026, 7, 20),
        sell_date=dt.date(2026, 7, 21),
    )
    split = analytics.charges_from_trades(trades, None)
    expected = {k: v + delivery.lines()[k] for k, v in intraday.lines().items()}
    assert split.lines == expected
    assert split.total_paise == intraday.total_paise + delivery.total_paise
    assert (split.trips, split.open_trips) == (2, 1)
    assert all(v > 0 for k, v in expected.items())  # every kind is exercised


def test_performance_shows_the_charges_by_kind_that_add_up_to_the_recorded_charges(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    split = analytics.charges_from_trades(queries.trades_for_charges(database), None)
    assert split.trips > 0
    assert split.total_paise == split.recorded_paise  # charged by the same model when recorded
    at = log_in(app_env(), "viewer")
    at.switch_page("pages/performance.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    shown = dict(zip(table["kind"], table["paid"], strict=True))
    assert shown["STT/CTT"] == rupees(split.lines["stt"])
    assert shown["GST"] == rupees(split.lines["gst"])
    assert shown["Total"] == rupees(split.recorded_paise)


@pytest.mark.parametrize("kind", ["brokerage", "stt", "exchange_charges", "sebi_fees", "gst"])
def test_the_demo_trades_pay_every_intraday_kind(database: Database, kind: str) -> None:
    split = analytics.charges_from_trades(queries.trades_for_charges(database), None)
    assert split.lines[kind] > 0


def test_performance_puts_each_strategy_beside_its_newest_finished_backtest(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    at = log_in(app_env(), "viewer")
    at.switch_page("pages/performance.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "backtest return %" in d.value.columns)
    row = table[table["strategy"] == "sma_crossover"].iloc[0]
    stored = queries.backtest_runs(database)
    bt = stored[stored["strategy"] == "sma_crossover"].iloc[0]
    assert row["backtest"] == bt["run_id"]
    assert row["mode"] == "paper"
    assert row["backtest return %"] == f"{float(bt['summary']['total_return']) * 100:.2f}"
    assert row["backtest sharpe"] == f"{float(bt['summary']['sharpe']):.2f}"


def test_a_run_named_otherwise_finds_the_backtest_of_its_strategy_code(
    database: Database,
) -> None:
    """A trade config's id (demo-sma-banks) is not the code a backtest records (sma_crossover):
    the run's recorded `_strategy` joins them; a RUNNING backtest is not compared."""
    from types import SimpleNamespace

    from sqlalchemy import insert

    from algo_trading.adapters.storage.sql.types import ns_to_datetime
    from algo_trading.dashboard.pages.performance import beside_backtests

    when = ns_to_datetime(NOW_NS)
    with database.engine.begin() as conn:
        conn.execute(
            insert(metadata.tables["strategy_runs"]),
            {
                "run_id": "banks-run-1", "strategy": "demo-sma-banks", "mode": "paper",
                "params": {"fast": "5", "slow": "20", "_strategy": "sma_crossover"},
                "status": "RUNNING", "started_at": when, "stopped_at": None, "stop_reason": "",
            },
        )  # fmt: skip
        conn.execute(
            insert(metadata.tables["backtest_runs"]),
            {
                "run_id": "still-running", "strategy": "sma_crossover", "params": {},
                "status": "RUNNING", "started_at": when, "finished_at": None, "trade_count": 0,
                "summary": {}, "results_uri": None,
            },
        )  # fmt: skip
    metrics = pd.DataFrame(
        [{"strategy": "demo-sma-banks", "total_return_pct": 1.5, "max_drawdown_pct": -0.5,
          "sharpe": None}]
    )  # fmt: skip
    table = beside_backtests(SimpleNamespace(db=database), metrics)  # type: ignore[arg-type]
    stored = queries.backtest_runs(database)
    done = stored[(stored["strategy"] == "sma_crossover") & (stored["status"] == "DONE")]
    assert table.iloc[0]["backtest"] == done.iloc[0]["run_id"]
    assert table.iloc[0]["sharpe"] == "-"
