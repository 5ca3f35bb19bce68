"""`RiskPersistence` (services/risk_setup.py) writing through a store that fails: the engine's
kill switch and risk checks never see the failure, and the next save writes what changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from algo_trading.domain import OrderSide
from algo_trading.domain.errors import StorageError
from algo_trading.engine.ports import KillRecord, RiskState, ScopeState
from algo_trading.engine.risk import RiskLimits
from algo_trading.services.risk_setup import RiskPersistence
from tests.unit.engine.risk_rig import risk_rig


class FlakyStore:
    def __init__(self) -> None:
        self.fail: list[Exception] = []
        self.scopes: dict[str, ScopeState] = {}
        self.kill: KillRecord | None = None

    def load(self, account: str) -> RiskState:
        return RiskState(account, tuple(self.scopes.values()), self.kill)

    def _maybe_fail(self) -> None:
        if self.fail:
            raise self.fail.pop(0)

    def save_scopes(self, account: str, scopes: Sequence[ScopeState], now_ns: int) -> None:
        self._maybe_fail()
        self.scopes.update({s.strategy: s for s in scopes})

    def save_kill(self, account: str, kill: KillRecord | None, now_ns: int) -> None:
        self._maybe_fail()
        self.kill = kill

    def day_totals(self, account: str, start_ns: int, end_ns: int) -> Mapping[str, tuple[int, int]]:
        return {}


def test_a_failing_store_never_reaches_the_engine_and_the_next_save_catches_up() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_daily_loss_paise=1_000_00)})
    store = FlakyStore()
    persistence = RiskPersistence(store, r.engine, r.clock, account="default")
    persistence.restore()
    store.fail = [StorageError("database down"), RuntimeError("a driver's own error")]
    r.engine.kill_switch("stop", "ops")  # the write fails: the kill switch holds anyway
    assert r.engine.kill_switch_active
    assert r.code(r.order(OrderSide.BUY, 1)) == "KILL_SWITCH"
    persistence.save()  # fails again, logged
    assert store.kill is None
    persistence.save()
    assert store.kill is not None
    assert store.kill.by == "ops"


def test_a_strategy_taken_over_gets_the_stored_halts_not_the_ones_seen_before() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_daily_loss_paise=1_000_00)})
    store = FlakyStore()
    owned: set[str] = set()
    persistence = RiskPersistence(
        store, r.engine, r.clock, account="default", owns=owned.__contains__
    )
    r.manager.halt("alpha", "by hand", "ops", r.clock.now_ns())  # seen while another ran it
    assert "alpha" not in store.scopes  # not ours: not written
    owned.add("alpha")
    persistence.restore(["alpha"])  # its owner's row: a person had lifted that halt
    assert r.manager.halted("alpha") is None
    assert r.code(r.order(OrderSide.BUY, 1, strategy="alpha")) == ""
