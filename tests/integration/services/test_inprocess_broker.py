"""`kind = "inprocess"`: the service starts a simulator inside its own process, trades against
it over loopback like any simulator, and stops it when it stops."""

from __future__ import annotations

import time
from pathlib import Path

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.dashboard.commands import submit
from algo_trading.engine.ports import CommandRecord, CommandStatus
from algo_trading.services.bootstrap import Plugins
from algo_trading.services.users import demo_store
from tests.support.alerts import RecordingNotifier
from tests.support.inprocess import (
    inprocess_config,
    inprocess_plugins,
    inprocess_settings,
    intent,
    running,
)


def test_an_inprocess_broker_is_a_simulator_in_this_process_started_and_stopped_with_it(
    tmp_path: Path,
) -> None:
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-inproc")
    with running(settings, config, Plugins(notifier=RecordingNotifier())) as service:
        deadline = time.monotonic() + 30
        while service.counters.ticks == 0 and time.monotonic() < deadline:
            service.turn(0.1)
        assert service.counters.ticks > 0
        assert service.may_trade("sma-inproc")
    assert service.stopped.is_set()


def test_the_default_plugins_put_the_configs_limits_in_front_of_every_order(
    tmp_path: Path,
) -> None:
    """`algo-trading trade` builds the risk manager from `[risk]`: an order above the account's
    maximum quantity is refused with its code before anything reaches the broker."""
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-inproc", "[risk]\nmax_order_quantity = 5\n")
    with running(settings, config, inprocess_plugins(settings, config)) as service:
        engine = service.engine
        assert engine.risk_manager is not None
        big = intent("sma-inproc", 6)
        coid = engine.submit(big)
        order = engine.orders.orders[coid]
        assert order.status.value == "REJECTED"
        assert order.reason.startswith("MAX_ORDER_QUANTITY")


def test_the_default_plugins_answer_the_dashboards_commands(tmp_path: Path) -> None:
    """`algo-trading trade` picks up the commands table: a trader's order from the dashboard
    becomes an order at the broker and its outcome is written back; the kill switch too."""
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-inproc")
    db = Database(settings.database_url.get_secret_value())
    try:
        with running(settings, config, inprocess_plugins(settings, config)) as service:
            users = demo_store()
            now = time.time_ns()
            order = submit(
                db,
                users,
                "demo",
                "place",
                {
                    "symbol": "SBIN-EQ",
                    "side": "BUY",
                    "quantity": "1",
                    "order_type": "MARKET",
                    "product": "INTRADAY",
                },
                now_ns=now,
                strategy_id="sma-inproc",
            )
            kill = submit(db, users, "demo", "kill", {"reason": "test"}, now_ns=now)

            def answered(command_id: str) -> CommandRecord:
                with SqlUnitOfWork(db) as uow:
                    record = uow.commands.get(command_id)
                assert record is not None
                return record

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                service.turn(0.1)
                if all(answered(c).status is not CommandStatus.PENDING for c in (order, kill)):
                    break
            placed, killed = answered(order), answered(kill)
            assert placed.status is CommandStatus.DONE, placed
            assert killed.status is CommandStatus.DONE, killed
            assert service.engine.kill_switch_active
    finally:
        db.dispose()


def test_with_leases_every_send_asks_the_lease_at_the_brokers_door(tmp_path: Path) -> None:
    """Several instances (leases on, PostgreSQL): the engine and its sender talk to the broker
    through FencedBroker, so an order committed under a lease this instance no longer holds
    (it was paused, and another took the strategy) is refused STALE_LEASE at the door and never
    reaches the broker."""
    import dataclasses

    from algo_trading.domain.ids import ClientOrderId
    from algo_trading.services.fenced_broker import STALE_LEASE, FencedBroker
    from tests.support.storage import fresh_schema, require_postgres

    with fresh_schema(require_postgres()) as url:
        settings = inprocess_settings(tmp_path, database_url=url, leases="on")
        config = inprocess_config(settings, tmp_path, "sma-inproc")
        with running(settings, config, inprocess_plugins(settings, config)) as service:
            deadline = time.monotonic() + 30
            while not service.may_trade("sma-inproc") and time.monotonic() < deadline:
                service.turn(0.1)
            engine = service.engine
            door = engine.broker
            assert isinstance(door, FencedBroker)
            coid = engine.submit(intent("sma-inproc"))
            deadline = time.monotonic() + 30
            while engine.orders.orders[coid].broker_order_id is None:
                assert time.monotonic() < deadline, "the owned order never reached the broker"
                service.turn(0.1)
        # The service is closed: its leases are released, so this instance owns nothing now.
        stale = dataclasses.replace(
            engine.orders.orders[coid].snapshot(), client_order_id=ClientOrderId("STALE-1")
        )
        sent: list[object] = []
        reports: list[object] = []

        class Recorder:
            def connect(self, sink: object) -> None:
                pass

            def submit(self, order: object) -> None:
                sent.append(order)

        door.inner = Recorder()  # type: ignore[assignment]
        door.connect(reports.append)
        door.submit(stale)
        assert sent == []
        assert door.refused == 1
        [report] = reports
        assert getattr(report, "reason", "").startswith(STALE_LEASE)
