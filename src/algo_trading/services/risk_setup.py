"""The risk manager from a validated trade config (issue #10 item 5): the account's limits from
`[risk]`, each strategy's from its `[strategies.risk]`. The composition root calls this and hands
the manager to the `TradingEngine` (`risk_manager=`), with the notifier for its alerts; then
`RiskPersistence` keeps the risk state (baselines, peaks, halts, kill switch) across restarts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping

from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.events import ist_day, ist_minute
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import (
    Clock,
    KillRecord,
    RiskState,
    RiskStateStore,
    ScopeState,
)
from algo_trading.engine.risk import DEFAULT_KILL_ON, KillSwitchState, RiskLimits, RiskManager
from algo_trading.market.prices import PriceBand
from algo_trading.services.trade_config import TradeConfig

__all__ = ["BandSource", "PriceBands", "RiskPersistence", "build_risk_manager", "ist_day_start_ns"]

log = logging.getLogger(__name__)


def build_risk_manager(
    config: TradeConfig,
    *,
    account: str = "default",
    kill_on: Collection[str] = DEFAULT_KILL_ON,
    evaluate_interval_ns: int = 200_000_000,
) -> RiskManager:
    """`kill_on`: the account breaches that trip the kill switch by themselves (by default
    the daily loss limit and the drawdown). A strategy without limits of its own is held to
    the account's only."""
    strategies: dict[str, RiskLimits] = {s.id: s.risk for s in config.strategies}
    return RiskManager(
        config.risk,
        strategies,
        account=account,
        kill_on=kill_on,
        evaluate_interval_ns=evaluate_interval_ns,
    )


_DAY_NS = 86_400 * 1_000_000_000
_IST_OFFSET_NS = (5 * 3600 + 1800) * 1_000_000_000


def ist_day_start_ns(day: int) -> int:
    """When IST day `day` (days since 1970-01-01, `domain.events.ist_day`) begins."""
    return day * _DAY_NS - _IST_OFFSET_NS


def _kill_record(state: KillSwitchState | None) -> KillRecord | None:
    return None if state is None else KillRecord(state.reason, state.by, state.since_ns)


class RiskPersistence:
    """Keeps one engine's risk state in a `RiskStateStore` so a restart within the trading
    day finds it again: the day's baselines, the peaks, every halt, and the kill switch.

    - `restore(strategies=None)` after the start-up recovery loaded the books (and for each
      strategy taken over from another instance): the stored state back into the risk
      manager and the engine's gate; the charges and, when no baseline was stored for
      today, the day's realized P&L from the trades table. Then it writes what it derived.
    - halts set or lifted and the kill switch tripped or reset are written at once (the
      manager's and the control's `on_change`); peaks that move are written by `save`, which
      the loop calls every `SAVE_EVERY_S`.
    - only the account's scope and the strategies `owns` says this instance runs are written,
      and only when they changed: instances sharing an account do not undo each other's
      halts. A write that fails is logged and tried again at the next `save`.
    """

    SAVE_EVERY_S = 5.0

    def __init__(
        self,
        store: RiskStateStore,
        engine: TradingEngine,
        clock: Clock,
        *,
        account: str,
        owns: Callable[[str], bool] = lambda _sid: True,
    ) -> None:
        self._store = store
        self._engine = engine
        self._clock = clock
        self._account = account
        self._owns = owns
        self._saved: dict[str, ScopeState] = {}
        self._saved_kill: KillRecord | None = None
        self.restored: RiskState | None = None
        self.writes = 0
        manager = engine.risk_manager
        if manager is not None:
            manager.on_change = self.save
        engine.risk_control.on_change = self.save

    def restore(self, strategies: Collection[str] | None = None) -> RiskState:
        now = self._clock.now_ns()
        state = self._store.load(self._account)
        start = ist_day_start_ns(ist_day(now))
        manager = self._engine.risk_manager
        if manager is not None:
            ever = self._store.day_totals(self._account, 0, start + _DAY_NS)
            today = self._store.day_totals(self._account, start, start + _DAY_NS)
            manager.restore(
                state.scopes,
                self._engine,
                now,
                charges={sid: c for sid, (_, c) in ever.items()},
                today=today,
                scopes=strategies,
            )
        for s in state.scopes:
            self._saved.setdefault(s.strategy, s)
        if state.kill is not None and strategies is None:
            kill = state.kill
            self._engine.risk_control.restore_kill(
                KillSwitchState(kill.reason, kill.by, kill.since_ns), now
            )
            log.warning(
                "kill switch still on after the restart (since %d, by %s: %s); reset it to trade",
                kill.since_ns,
                kill.by,
                kill.reason,
            )
        if strategies is None:
            self._saved_kill = state.kill
        self.restored = state
        self.save()
        return state

    def save(self, _now_ns: int | None = None) -> None:
        now = self._clock.now_ns()
        try:
            manager = self._engine.risk_manager
            if manager is not None:
                changed = [
                    s
                    for s in manager.scope_states(now)
                    if (s.strategy == "" or self._owns(s.strategy))
                    and self._saved.get(s.strategy) != s
                ]
                if changed:
                    self._store.save_scopes(self._account, changed, now)
                    self.writes += 1
                    for s in changed:
                        self._saved[s.strategy] = s
            kill = _kill_record(self._engine.risk_gate.killed)
            if kill != self._saved_kill:
                self._store.save_kill(self._account, kill, now)
                self.writes += 1
                self._saved_kill = kill
        except AlgoTradingError as exc:  # the database's: the next save tries again
            log.warning("risk state not saved: %s", exc)
        except Exception:  # called from the engine's risk checks: never raise into them
            log.exception("risk state not saved")


BandSource = Callable[[], Mapping[str, PriceBand | None]]
"""Reads the day's band of every traded symbol from the broker (None: it gave none)."""


class PriceBands:
    """The day's price bands (circuit limits) into the risk manager, read from the broker at
    start and again at each IST day's pre-open (`refresh`, which the loop calls every minute;
    it reads only when the day's band has not been read since 09:00 IST, or the last read
    failed). A symbol the broker gives no
    band for, or a read that fails, is logged once and left without a band: the band check
    is skipped for it and every other check goes on."""

    REFRESH_EVERY_S = 60.0
    DAY_FROM_MINUTE = 9 * 60
    """09:00 IST, the pre-open: from then the quote carries the new day's band. A read before
    it (a service started at 08:00) is read again then; a day's read after it is final."""

    def __init__(self, source: BandSource, manager: RiskManager, symbols: Collection[str]) -> None:
        self._source = source
        self._manager = manager
        self._symbols = tuple(sorted(symbols))
        self._day: int | None = None  # the day whose band was read from the pre-open on
        self._early: int | None = None  # the day read before its pre-open
        self._warned: set[str] = set()  # symbols (or "" for a failed read) already logged
        self.reads = 0

    def refresh(self, now_ns: int) -> None:
        day = ist_day(now_ns)
        if day == self._day:
            return
        final = ist_minute(now_ns) >= self.DAY_FROM_MINUTE
        if not final and day == self._early:
            return
        self.reads += 1
        try:
            bands = self._source()
        except Exception as exc:  # the broker's: no band today until a read succeeds
            if "" not in self._warned:
                self._warned.add("")
                log.warning(
                    "price bands not read from the broker (%s); no band check until they are", exc
                )
            for symbol in self._symbols:
                self._manager.set_price_band(symbol, None)
            return
        if final:
            self._day = day
        else:
            self._early = day
        self._warned.discard("")
        for symbol in self._symbols:
            band = bands.get(symbol)
            self._manager.set_price_band(symbol, band)
            if band is None and symbol not in self._warned:
                self._warned.add(symbol)
                log.warning(
                    "the broker gives no price band for %s: its orders are not checked against one",
                    symbol,
                    extra={"symbol": symbol},
                )
