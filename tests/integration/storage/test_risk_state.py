"""The risk state survives a restart within the trading day (issue #10 item 5), on SQLite and
PostgreSQL: the day's loss keeps counting what was lost before the restart (the baseline kept
in `risk_state`, the charges from the trades table), the drawdown's peak is kept, a halt and
the kill switch tripped before the restart hold after it; a daily loss halt ends with its day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog
from algo_trading.adapters.storage.sql.risk_state import SqlRiskState
from algo_trading.domain import OrderSide, OrderStatus
from algo_trading.engine import SimulatedClock, TradingEngine
from algo_trading.engine.ports import HaltRecord, KillRecord, ScopeState
from algo_trading.engine.risk import RiskLimits, RiskManager
from algo_trading.services.bootstrap import RunIds
from algo_trading.services.recovery import Recovery
from algo_trading.services.risk_setup import RiskPersistence, ist_day_start_ns
from tests.support.alerts import RecordingNotifier
from tests.support.builders import ist_ns
from tests.support.fakes import FakeBroker, FlatCharges
from tests.support.recovery import BookBroker
from tests.unit.engine.risk_rig import CASH, DAY, INSTRUMENTS, RiskRig

BUY, SELL = OrderSide.BUY, OrderSide.SELL


@dataclass
class Run:
    """One life of the trading process: its engine over the shared database."""

    rig: RiskRig
    persistence: RiskPersistence


@pytest.fixture
def account() -> str:
    return f"rs{uuid.uuid4().hex[:10]}"  # the session's database is shared: our own account


def _start(
    db: Database,
    account: str,
    hhmm: str,
    *,
    strategies: dict[str, RiskLimits] | None = None,
    limits: RiskLimits | None = None,
    day: str = DAY,
    charges: int = 0,
) -> Run:
    """Build the engine as a restarted service does: books from the database (the start-up
    recovery), then the risk state restored over them, before anything trades."""
    clock = SimulatedClock(ist_ns(day, hhmm))
    broker = FakeBroker()
    notifier = RecordingNotifier()
    manager = RiskManager(limits, strategies, account=account)
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=CASH,
        instruments=INSTRUMENTS,
        trade_log=SqlTradeLog(db, account=account),
        ids=RunIds(),
        charges=FlatCharges(charges),
        risk_manager=manager,
        notifier=notifier,
        account=account,
    )
    Recovery(db, BookBroker(), engine, notifier, clock, "me", account=account).recover()
    persistence = RiskPersistence(SqlRiskState(db), engine, clock, account=account)
    persistence.restore()
    engine.start()
    return Run(RiskRig(engine, broker, clock, manager, notifier), persistence)


def test_the_days_loss_counts_across_a_restart(database: Database, account: str) -> None:
    limits = {"alpha": RiskLimits(max_daily_loss_paise=1_000_00)}
    first = _start(database, account, "10:00", strategies=limits, charges=200_00)
    r = first.rig
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.fill(r.order(SELL, 100), 99_00)  # -100 on prices, -400 in charges: -500
    assert r.manager.halts() == {}
    # killed at 13:00 without a word; started again
    second = _start(database, account, "13:00", strategies=limits, charges=200_00)
    r = second.rig
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.fill(r.order(SELL, 100), 99_00)  # another -500: -1000 today, the limit
    assert [h.code for h in r.manager.halts()["alpha"]] == ["DAILY_LOSS_LIMIT"]
    assert r.code(r.order(BUY, 1)) == "DAILY_LOSS_LIMIT"


def test_a_loss_halt_holds_after_a_restart_that_day_and_ends_with_it(
    database: Database, account: str
) -> None:
    limits = {"alpha": RiskLimits(max_daily_loss_paise=1_000_00)}
    first = _start(database, account, "10:00", strategies=limits)
    r = first.rig
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.tick(89_00)  # -1100: halted, flattened
    assert r.manager.halted("alpha") is not None
    flatten = r.broker.submitted[-1]
    r.fill(flatten.client_order_id, 89_00)

    again = _start(database, account, "13:00", strategies=limits).rig
    halt = again.manager.halted("alpha")
    assert halt is not None
    assert halt.code == "DAILY_LOSS_LIMIT"
    assert again.code(again.order(BUY, 1)) == "DAILY_LOSS_LIMIT"
    assert again.notifier.alerts == []  # the breach acted once, before the restart

    tomorrow = _start(database, account, "09:30", strategies=limits, day="2024-01-03").rig
    assert tomorrow.manager.halted("alpha") is None
    assert tomorrow.code(tomorrow.order(BUY, 1)) == ""


def test_the_drawdowns_peak_survives_a_restart(database: Database, account: str) -> None:
    limits = {"alpha": RiskLimits(max_drawdown_paise=300_00)}
    first = _start(database, account, "10:00", strategies=limits)
    r = first.rig
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.tick(105_00)  # +500 open: the peak
    first.persistence.save()  # the loop's periodic save
    second = _start(database, account, "13:00", strategies=limits).rig
    second.tick(103_00)  # +300: 200 below the peak
    assert second.manager.halts() == {}
    second.tick(102_00)  # +200: 300 below the peak kept from before the restart
    assert [h.code for h in second.manager.halts()["alpha"]] == ["MAX_DRAWDOWN"]


def test_a_kill_switch_tripped_before_a_restart_holds_after_it_until_reset(
    database: Database, account: str
) -> None:
    first = _start(database, account, "10:00")
    r = first.rig
    r.tick(100_00)
    working = r.order(BUY, 10, 95_00)
    r.broker.accept(working, ts_ns=r.clock.now_ns())
    r.engine.drain()
    r.engine.kill_switch("desk says stop", "ops")  # written at once, not at the next save
    assert r.status(working) is OrderStatus.PENDING_CANCEL

    second = _start(database, account, "13:00")
    s = second.rig
    assert s.engine.kill_switch_active
    assert s.code(s.order(BUY, 1)) == "KILL_SWITCH"
    s.engine.reset_kill_switch("ops")
    third = _start(database, account, "13:05").rig
    assert not third.engine.kill_switch_active
    assert third.code(third.order(BUY, 1)) == ""


def test_instances_write_only_their_own_scopes_and_the_kill_switch_apart(
    database: Database, account: str
) -> None:
    store = SqlRiskState(database)
    day = 19_724
    alpha = ScopeState("alpha", day, 0, 10, (HaltRecord("HALTED", "by hand", 5, "ops"),))
    beta = ScopeState("beta", day, -5, None)
    store.save_scopes(account, [alpha, beta], ist_day_start_ns(day))
    store.save_kill(account, KillRecord("stop", "ops", 7_000), ist_day_start_ns(day))
    store.save_scopes(account, [ScopeState("", day, 100, 120)], ist_day_start_ns(day))
    store.save_scopes(account, [ScopeState("beta", day, -6, -1)], ist_day_start_ns(day))
    state = store.load(account)
    assert state.kill == KillRecord("stop", "ops", 7_000)  # the account's figures left it alone
    assert {s.strategy: s for s in state.scopes} == {
        "": ScopeState("", day, 100, 120),
        "alpha": alpha,
        "beta": ScopeState("beta", day, -6, -1),
    }
    store.save_kill(account, None, ist_day_start_ns(day))
    assert store.load(account).kill is None
    assert store.load(f"{account}x").scopes == ()
