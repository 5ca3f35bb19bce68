"""What the dashboard writes, the trading service reads: each of the dashboard's commands,
written by `dashboard.commands.submit`, is claimed by the service's CommandProcessor and reaches
its control with the same meaning (a fake control records the calls)."""

from __future__ import annotations

from algo_trading.adapters.storage.sql import Database
from algo_trading.dashboard import commands, queries
from algo_trading.engine import SimulatedClock
from algo_trading.services.commands import CommandProcessor
from algo_trading.services.users import demo_store
from tests.integration.dashboard.conftest import NOW_NS
from tests.support.commands import FakeControl

ACCOUNT = "contract"
SENT = (  # action, strategy, payload, the control call it must become
    ("place", "manual", {"symbol": "SBIN-EQ", "side": "BUY", "quantity": "2",
                         "order_type": "LIMIT", "product": "INTRADAY", "price": "1010.50"},
     "place"),
    ("cancel", None, {"client_order_id": "DOPEN0001"}, "cancel"),
    ("modify", None, {"client_order_id": "DOPEN0001", "price": "1001.00"}, "modify"),
    ("square_off", "sma_crossover", {"symbol": "SBIN-EQ"}, "square_off"),
    ("square_off", None, {}, "square_off"),
    ("pause", "sma_crossover", {}, "pause"),
    ("resume", "sma_crossover", {}, "resume"),
    ("kill", None, {"reason": "market halt"}, "kill"),
    ("reset_kill", None, {}, "reset_kill"),
)  # fmt: skip


def test_every_dashboard_command_reaches_the_services_control(database: Database) -> None:
    users = demo_store()
    ids = [
        commands.submit(
            database, users, "demo", action, payload,
            now_ns=NOW_NS, strategy_id=strategy, account=ACCOUNT,
        )
        for action, strategy, payload, _ in SENT
    ]  # fmt: skip
    control = FakeControl(
        symbols=("SBIN-EQ",), strategies=("sma_crossover", "rsi_reversion"), account=ACCOUNT
    )
    processor = CommandProcessor(
        database, control, users, SimulatedClock(NOW_NS + 1), "contract-1", follow=False
    )
    try:
        while processor.poll_once():
            pass
    finally:
        processor.close()
    outcomes = [queries.command(database, command_id) for command_id in ids]
    answered = [(o["status"], o["outcome_code"], o["outcome_detail"]) for o in outcomes if o]
    assert [a[0] for a in answered] == ["DONE"] * len(SENT), answered
    assert [name for name, _ in control.calls] == [call for *_, call in SENT]
