"""Start-up recovery, the periodic reconciliation pass and the lease keeper, as the hooks the
trading service's composition root plugs in (issue #10, items 4 and 10).

    res = build_resilience(db, account=..., instance_id=..., strategies=[...],
                           leases=SqlLeases(db) if several instances else None, clock=clock)
    Plugins(startup=res.startup, owns=res.owns, fence=res.fence, periodic=res.periodic(),
            leases_ready=res.readiness, on_close=[res.close])

(`broker` may be left out: `startup` takes the service's own, the Angel One adapter.)

`startup(service)` runs on the loop's thread before any strategy: it builds the `Recovery`
over the service's engine, notifier, clock and instance id; without leases it recovers every
strategy; with them it takes what leases it can, each gained strategy recovered before it is
traded (`on_gained`). `periodic()` gives the loop the lease keeper's pass every renewal
period; `reconcile(now_ns)` is the service's one reconciliation round each minute (the
service's `reconcile=`; on the loop's thread, so the engine is never touched from two
threads): the broker's order book and trade book are read once, the adapter settles its
orders in doubt from them, then the recovery pass checks the database's orders, fills and
positions against the same books and alerts on differences. A lost lease stops the strategy
at once: `owns` says no from then on and the loop's gate stops calling it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.domain.errors import AlgoTradingError, ConfigError
from algo_trading.domain.ids import StrategyId
from algo_trading.domain.orders import OrderSnapshot
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import (
    Alert,
    AlertSeverity,
    Clock,
    Leases,
    LeaseToken,
    Notifier,
)
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    CancelAction,
    ReconcileConfig,
)
from algo_trading.services.health import CheckResult
from algo_trading.services.lease_keeper import LeaseConfig, LeaseKeeper
from algo_trading.services.recovery import (
    BrokerPositions,
    Recovery,
    RecoveryBroker,
    RecoveryReport,
)

__all__ = ["LEASE_LOST", "Resilience", "ServiceLike", "build_resilience"]

log = logging.getLogger(__name__)

LEASE_LOST = "LEASE_LOST"
RECONCILE_EVERY_S = 60.0


class ServiceLike(Protocol):
    """What the hooks read of the trading service (services/trading/service.py): its
    engine, notifier, clock and instance id, and its broker (the Angel One adapter, when the
    hooks were built without one: `Plugins` exist before the broker does)."""

    engine: TradingEngine
    notifier: Notifier
    clock: Clock
    instance_id: str
    broker: Any


class _RoundBroker:
    """The broker as the recovery pass sees it. During a round (`capture`), `books()` reads the
    broker's rows once (`read_books`) and keeps them, so the adapter settles its own orders in
    doubt from the very rows the pass judged; outside a round it reads as usual."""

    def __init__(self, broker: RecoveryBroker) -> None:
        self.broker = broker
        self._capturing = False
        self.rows: Any = None  # the rows the round read (the adapter's `BookRows`)

    def capture(self, on: bool) -> None:
        self._capturing = on
        self.rows = None

    def books(self) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        read = getattr(self.broker, "read_books", None)
        if not self._capturing or read is None:
            return self.broker.books()
        self.rows = read()
        return self.broker.books(self.rows)  # type: ignore[call-arg]

    def follow(self, order: OrderSnapshot, *, sent_ns: int, trade_ids: Iterable[str] = ()) -> None:
        self.broker.follow(order, sent_ns=sent_ns, trade_ids=trade_ids)

    def execute(self, actions: Sequence[CancelAction]) -> None:
        self.broker.execute(actions)


class Resilience:
    """The hooks; `recovery` exists once `startup` has run."""

    def __init__(
        self,
        database: Database,
        broker: RecoveryBroker | None,
        *,
        account: str,
        instance_id: str,
        strategies: Sequence[str],
        leases: Leases | None = None,
        lease_config: LeaseConfig | None = None,
        positions: BrokerPositions | None = None,
        reconcile_config: ReconcileConfig | None = None,
        reconcile_every_s: float = RECONCILE_EVERY_S,
        clock: Clock | None = None,
        cash_from_books: bool = True,
        renew_on_thread: bool = False,
    ) -> None:
        self._cash_from_books = cash_from_books
        self._renew_on_thread = renew_on_thread
        self._db = database
        self._broker = broker
        self._account = account
        self._instance = instance_id
        self._strategies = tuple(strategies)
        self._positions = positions
        self._reconcile_config = reconcile_config
        self.reconcile_every_s = reconcile_every_s
        self.recovery: Recovery | None = None
        self.reports: list[RecoveryReport] = []
        self._service: ServiceLike | None = None
        self._round: _RoundBroker | None = None
        self.rounds = 0  # reconciliation rounds run (start-up and takeovers not counted)
        # after a strategy taken over from another instance is recovered (its books loaded):
        # the risk state of that strategy is restored here (services/risk_setup.py)
        self.on_takeover: Callable[[Sequence[str]], object] | None = None
        self._beat = time.monotonic()  # the loop's last lease pass (the renewer's check)
        self.keeper: LeaseKeeper | None = None
        if leases is not None:
            if clock is None:
                raise ValueError("a lease keeper needs the service's clock")
            self.keeper = LeaseKeeper(
                leases,
                instance_id,
                self._strategies,
                clock,
                config=lease_config,
                on_gained_batch=self._gained,
                on_lost=self._lost,
            )

    # --- the hooks --------------------------------------------------------------------------
    def startup(self, service: ServiceLike) -> RecoveryReport | None:
        """Before any strategy runs: recover (every strategy, or each one as its lease is
        taken). Raises when the broker's books cannot be read: the service must not start."""
        self._service = service
        broker = self._broker if self._broker is not None else service.broker
        missing = [m for m in ("books", "follow", "execute") if not hasattr(broker, m)]
        if missing:
            raise ConfigError(
                f"start-up recovery: the broker {type(broker).__name__} cannot "
                f"{', '.join(missing)} (the Angel One adapter can)"
            )
        self._round = _RoundBroker(broker)
        self.recovery = Recovery(
            self._db,
            self._round,
            service.engine,
            service.notifier,
            service.clock,
            self._instance,
            account=self._account,
            positions=self._positions,
            config=self._reconcile_config,
            cash_from_books=self._cash_from_books,
        )
        if self.keeper is None:
            report = self.recovery.recover(None)
            self.reports.append(report)
            return report
        self.keeper.tick()  # takes what it can; `_gained` recovers each before it trades
        # Renewals on their own thread: a loop busy with a takeover's recovery (the broker's
        # books under their rate limits) must not let the leases it holds run out.
        if self._renew_on_thread:
            self.keeper.start_renewing(alive=self._loop_alive)
        return None

    def owns(self, strategy_id: str) -> bool:
        return self.keeper is None or self.keeper.owns(strategy_id)

    def fence(self, strategy_id: StrategyId) -> LeaseToken | None:
        """The trade log's fence; None when there are no leases (one instance)."""
        return None if self.keeper is None else self.keeper.token(strategy_id)

    @property
    def fenced(self) -> bool:
        return self.keeper is not None

    def periodic(self) -> list[tuple[float, Callable[[int], object]]]:
        """(every_s, fn(now_ns)) for the loop: the lease renewals. The minute's
        reconciliation is `reconcile`, which the service calls on its own cadence."""
        hooks: list[tuple[float, Callable[[int], object]]] = []
        if self.keeper is not None:
            hooks.append((self.keeper.config.renew_every_s, self._renew))
        return hooks

    def leases_held(self) -> bool:
        """Readiness: without leases always; with them, when the keeper's passes reach the
        database (it holds its leases, or stands by able to take them: a standby instance
        holding none is ready too)."""
        return self.keeper is None or self.keeper.healthy()

    def readiness(self) -> CheckResult:
        """`/readyz`'s "this instance's leases held" (Plugins.leases_ready)."""
        if self.keeper is None:
            return CheckResult.passed("one instance: no leases")
        owned = self.keeper.owned()
        if not self.keeper.healthy():
            return CheckResult.failed("the lease keeper has not reached the database lately")
        return CheckResult.passed(f"{len(owned)} of {len(self._strategies)} strategies held")

    def close(self) -> list[str]:
        """On drain: release every lease so another instance takes the strategies at once."""
        return [] if self.keeper is None else self.keeper.stop(release=True)

    # --- inside ---------------------------------------------------------------------------------
    def _renew(self, _now_ns: int) -> None:
        self._beat = time.monotonic()  # the loop turns: its renewer may keep the leases
        if self.keeper is not None:
            self.keeper.tick()

    def _loop_alive(self) -> bool:
        """Whether the loop ran a lease pass within two times to live (a takeover's
        recovery counts as a pass begun): a hung loop lets its leases run out."""
        if self.keeper is None:
            return False
        return time.monotonic() - self._beat < 2 * self.keeper.config.ttl_s

    def reconcile(self, _now_ns: int) -> RecoveryReport | None:
        """One reconciliation round (the service's, each minute): the recovery pass reconciles
        the database's orders, fills and positions of the strategies this instance owns with
        the broker's books (read after the pass took its orders, so an order sent meanwhile is
        never judged against a book read before it), repairs and alerts; then the adapter
        settles the orders it holds in doubt from the same rows (`reconcile(rows)`, the Angel
        One adapter). One order-book and one trade-book read. None when the pass did not run."""
        round_ = self._round
        if self.recovery is None or round_ is None:
            return None
        self.rounds += 1
        owned = None if self.keeper is None else self.keeper.owned()
        broker = round_.broker
        shares = hasattr(broker, "read_books")
        report: RecoveryReport | None = None
        try:
            if owned != []:
                round_.capture(True)
                try:
                    report = self.recovery.reconcile_once(owned)
                finally:
                    rows = round_.rows
                    round_.capture(False)
            else:
                rows = None  # nothing of ours in the database: the adapter's orders only
            settle = getattr(broker, "reconcile", None)
            if settle is not None:
                if shares and rows is not None:
                    settle(rows)
                elif report is not None or owned == []:
                    settle()  # a broker that cannot share its rows reads its own
        except AlgoTradingError as exc:  # the books could not be read: the next round tries
            log.warning("reconciliation round failed: %s", exc)
            return None
        if report is not None:
            self.reports.append(report)
        return report

    def _gained(self, tokens: dict[str, LeaseToken]) -> None:
        """The strategies of one lease pass, recovered together (one read of the books)."""
        self._beat = time.monotonic()
        if self.recovery is None:
            raise RuntimeError("a lease was gained before start-up: call startup() first")
        report = self.recovery.recover(list(tokens))  # raises: the keeper releases the leases
        self.reports.append(report)
        if self.on_takeover is not None:
            self.on_takeover(list(tokens))
        for strategy_id, token in tokens.items():
            log.info(
                "strategy %s taken with lease epoch %d and reconciled",
                strategy_id,
                token.epoch,
                extra={"strategy": strategy_id},
            )

    def _lost(self, strategy_id: str, why: str) -> None:
        if self._service is None:
            return
        service = self._service
        service.notifier.notify(
            Alert(
                LEASE_LOST,
                AlertSeverity.WARNING,
                f"this instance lost the lease of {strategy_id} ({why}); it stopped trading it",
                service.clock.now_ns(),
                strategy=strategy_id,
                instance=self._instance,
                account=self._account,
            )
        )


def build_resilience(
    database: Database,
    broker: RecoveryBroker | None = None,
    *,
    account: str,
    instance_id: str,
    strategies: Sequence[str],
    leases: Leases | None = None,
    clock: Clock | None = None,
    lease_config: LeaseConfig | None = None,
    positions: BrokerPositions | None = None,
    reconcile_config: ReconcileConfig | None = None,
    cash_from_books: bool = True,
    renew_on_thread: bool = False,
) -> Resilience:
    """The hooks for one trading process (see the module's docstring)."""
    return Resilience(
        database,
        broker,
        account=account,
        instance_id=instance_id,
        strategies=strategies,
        leases=leases,
        lease_config=lease_config,
        positions=positions,
        reconcile_config=reconcile_config,
        clock=clock,
        cash_from_books=cash_from_books,
        renew_on_thread=renew_on_thread,
    )
