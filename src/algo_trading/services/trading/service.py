"""The trading service's loop (issue #10, items 3, 4 and 6): one thread owns the engine.

Per turn: take the feed's ticks, build bars and close them by the exchange clock, hand ticks
and bars to the engine (strategies behind the gate), let the engine send what the throttle
held and apply the broker's reports, square off intraday books at the cut-off, watch the feed
for staleness, and, on their own cadence, poll the order book when the order-status stream is
down, reconcile with the broker, run the command processor, beat the heartbeat and publish
metrics. Other threads (sockets, the sender) only queue; `stop()` may be called from any
thread or a signal handler.

What the other parts of the service plug in (constructor arguments):
- `commands`: an object with `poll_once()`, called about every `command_poll_s`;
- `owns(strategy_id) -> bool`: whether this instance holds the strategy's lease (default: yes);
- `paused`: the set of strategy ids the loop does not call (pause/resume commands change it);
- `startup(service)`: run before any strategy starts (default: `reconcile_at_start`);
- `reconcile(now_ns)`: the one reconciliation round each `reconcile_every_s` (default: the
  broker adapter's `reconcile()`; the service's composition root gives resilience's round,
  which reconciles orders, trades and positions from one read of the broker's books);
- `drain()` / `stop()`: what SIGTERM calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from algo_trading.adapters.logs import log_context
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar, Tick
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import ProductType
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity, Clock, Notifier
from algo_trading.engine.squareoff import NEVER, IntradaySquareOff
from algo_trading.services.observability import Observability
from algo_trading.services.trading.bars import BarBuilder, aggregate_candles
from algo_trading.services.trading.feed import MarketFeed
from algo_trading.strategy.base import Strategy

__all__ = [
    "CommandProcessor",
    "ExecutionLink",
    "OrderStreamLike",
    "SenderLike",
    "ServiceOptions",
    "StrategyPlan",
    "TradingService",
    "WarmUp",
]

log = logging.getLogger(__name__)

MonotonicS = Callable[[], float]
_SWEEP_NS = 3600 * 1_000_000_000  # after a cut-off, reopened intraday books are closed for an hour


class CommandProcessor(Protocol):
    """The commands table's processor (services/commands.py): one look per call."""

    def poll_once(self) -> object: ...


class ExecutionLink(Protocol):
    """What the loop asks of the broker adapter beyond the engine's Broker port
    (AngelOneBroker's surface)."""

    alerts: list[str]
    errors: list[Any]  # typed errors met while following orders (AngelOneError)

    def poll(self) -> None: ...

    def reconcile(self) -> object: ...


class SenderLike(Protocol):
    """The ThreadedSender's life cycle (adapters/brokers/sender.py)."""

    def wait_idle(self, timeout_s: float) -> bool: ...

    def close(self, timeout_s: float = 5.0) -> None: ...


class OrderStreamLike(Protocol):
    connected: threading.Event

    def close(self, timeout_s: float = 10.0) -> None: ...


WarmUp = Callable[[Instrument, int], Sequence[tuple[int, int, int, int, int, int]]]
"""(instrument, bar minutes) -> one-minute candles to warm the indicators with, oldest first."""


@dataclass(frozen=True, slots=True)
class StrategyPlan:
    """One configured strategy: the object, the bars it wants, its instruments."""

    strategy: Strategy
    bar_minutes: int
    instruments: tuple[Instrument, ...]

    @property
    def strategy_id(self) -> str:
        return self.strategy.strategy_id


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    feed_stale_s: float = 10.0  # no tick this long while open: stale (real seconds)
    order_poll_s: float = 2.0  # order-book poll while the order-status stream is down
    reconcile_every_s: float = 60.0
    command_poll_s: float = 0.25
    metrics_every_s: float = 5.0
    loop_wait_s: float = 0.05  # the longest a turn waits for a tick
    drain_timeout_s: float = 10.0
    cancel_open_on_drain: bool = False


def always(_strategy_id: str) -> bool:
    return True


@dataclass(slots=True)
class _Cadence:
    every_s: float
    next_s: float = 0.0

    def due(self, now_s: float) -> bool:
        if now_s < self.next_s:
            return False
        self.next_s = now_s + self.every_s
        return True


@dataclass(slots=True)
class _FeedState:
    stale: bool = False
    since_s: float = 0.0  # when the market was last seen opening (or the loop started)
    was_open: bool = False
    stale_events: int = 0
    last_resubscribe_s: float = 0.0


@dataclass(slots=True)
class _Counters:
    turns: int = 0
    bars: int = 0
    ticks: int = 0
    squareoffs: int = 0
    reconciliations: int = 0


class TradingService:
    """Runs configured strategies on one engine against one broker, until stopped."""

    def __init__(
        self,
        engine: TradingEngine,
        *,
        plans: Sequence[StrategyPlan],
        broker: ExecutionLink,
        feed: MarketFeed,
        clock: Clock,
        market_open: Callable[[int], bool],
        notifier: Notifier,
        squareoff: IntradaySquareOff | None = None,
        order_stream: OrderStreamLike | None = None,
        sender: SenderLike | None = None,
        observability: Observability | None = None,
        options: ServiceOptions | None = None,
        commands: CommandProcessor | None = None,
        owns: Callable[[str], bool] = always,
        paused: set[str] | None = None,
        startup: Callable[[TradingService], object] | None = None,
        reconcile: Callable[[int], object] | None = None,
        warm_up: WarmUp | None = None,
        on_close: Iterable[Callable[[], object]] = (),
        instance_id: str = "",
        monotonic: MonotonicS = time.monotonic,
    ) -> None:
        self.engine = engine
        self.plans = tuple(plans)
        self.broker = broker
        self.feed = feed
        self.clock = clock
        self.market_open = market_open
        self.notifier = notifier
        self.squareoff = squareoff
        self.order_stream = order_stream
        self.sender = sender
        self.observability = observability
        self.options = options or ServiceOptions()
        self.commands = commands
        self.owns = owns
        self.paused: set[str] = paused if paused is not None else set()
        self.startup = startup
        self.reconcile_round = reconcile
        self.warm_up = warm_up
        self.instance_id = instance_id
        self._on_close = list(on_close)
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._draining = False
        self._feed_state = _FeedState()
        self.counters = _Counters()
        self._builders = self._make_builders()
        self._cutoffs: dict[str, int] = {}
        self._sweep_until: dict[str, int] = {}
        self._intraday_symbols = sorted(
            {
                i.symbol
                for p in self.plans
                if p.strategy.product is ProductType.INTRADAY
                for i in p.instruments
            }
        )
        self._alerts_reported = 0
        self._errors_reported = 0
        self._broker_errors_seen = 0
        opts = self.options
        self._poll = _Cadence(opts.order_poll_s)
        self._reconcile = _Cadence(opts.reconcile_every_s)
        self._command = _Cadence(opts.command_poll_s)
        self._metrics = _Cadence(opts.metrics_every_s)
        self._periodic: list[tuple[_Cadence, Callable[[int], object], str]] = []
        self.started = threading.Event()
        self.stopped = threading.Event()
        for plan in self.plans:
            self._gate(plan.strategy)

    # --- set-up -----------------------------------------------------------------------------
    def _make_builders(self) -> dict[str, BarBuilder]:
        minutes: dict[str, tuple[int, str]] = {}
        for plan in self.plans:
            for inst in plan.instruments:
                seen = minutes.setdefault(inst.symbol, (plan.bar_minutes, plan.strategy_id))
                if seen[0] != plan.bar_minutes:
                    raise ConfigError(
                        f"strategies {seen[1]} and {plan.strategy_id} both trade {inst.symbol} "
                        f"with different intervals ({seen[0]}m, {plan.bar_minutes}m); one "
                        "symbol's bars have one interval in this version"
                    )
        return {sym: BarBuilder(sym, m) for sym, (m, _) in minutes.items()}

    def _gate(self, strategy: Strategy) -> None:
        """Wrap the strategy's market hooks so the loop's gate is asked first (paused, not
        owned, draining, market closed, feed stale: the strategy is not called, so it places
        no new order). Fills and order updates still reach it."""
        sid = strategy.strategy_id
        on_bar, on_tick = strategy.on_bar, strategy.on_tick
        may_trade = self.may_trade

        def gated_bar(bar: Bar) -> None:
            if may_trade(sid):
                with log_context(strategy=sid):  # the strategy's log lines name it
                    on_bar(bar)

        def gated_tick(tick: Tick) -> None:
            if may_trade(sid):
                with log_context(strategy=sid):
                    on_tick(tick)

        # Instance attributes shadow the methods; the engine reads them when it starts.
        setattr(strategy, "on_bar", gated_bar)  # noqa: B010 - assigning a method on purpose
        setattr(strategy, "on_tick", gated_tick)  # noqa: B010

    def add_periodic(self, every_s: float, fn: Callable[[int], object], name: str = "") -> None:
        """Call `fn(now_ns)` on the loop's thread about every `every_s` monotonic seconds (a
        lease keeper's renewals, a risk manager's continuous checks). An exception is logged
        and the loop goes on."""
        if not every_s > 0:
            raise ValueError(f"periodic {name or fn!r}: every_s must be positive, not {every_s}")
        self._periodic.append((_Cadence(every_s), fn, name or getattr(fn, "__name__", "hook")))

    def may_trade(self, strategy_id: str) -> bool:
        """Whether the loop calls this strategy now."""
        return (
            not self._draining
            and strategy_id not in self.paused
            and not self._feed_state.stale
            and self._feed_state.was_open
            and self.owns(strategy_id)
        )

    # --- life cycle -------------------------------------------------------------------------
    def run(self) -> None:
        """Start, loop until `stop()`, drain and close. Runs on the calling thread."""
        try:
            self.start()
            while not self._stop.is_set():
                self.turn(self.options.loop_wait_s)
            self.drain()
        finally:
            self.close()

    def start(self) -> None:
        """Listen for health, reconcile at start, start the strategies, warm them up and
        subscribe to the feed (`run` does it; tests drive `start`, `turn` and `close`)."""
        if self.observability is not None:
            self.observability.start()
        if self.startup is not None:
            self.startup(self)  # reconciliation before any strategy runs
        self.engine.start()
        self._warm_up()
        self.feed.start()
        now = self.clock.now_ns()
        if self.squareoff is not None:
            for sym in self._intraday_symbols:
                self._cutoffs[sym] = self.squareoff.next_cutoff_ns(sym, now)
        mono = self._monotonic()
        self._feed_state.since_s = mono
        self._poll.next_s = mono + self.options.order_poll_s
        self._reconcile.next_s = mono + self.options.reconcile_every_s  # just reconciled
        for cadence, _fn, _name in self._periodic:  # start-up just recovered, took leases
            cadence.next_s = mono + cadence.every_s
        self.started.set()
        log.info(
            "trading service started",
            extra={
                "strategies": [p.strategy_id for p in self.plans],
                "symbols": sorted(self._builders),
            },
        )

    def stop(self) -> None:
        """Ask the loop to drain and return (any thread, a signal handler)."""
        self._stop.set()

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def feed_stale(self) -> bool:
        return self._feed_state.stale

    def drain(self, *, cancel_open: bool | None = None, timeout_s: float | None = None) -> bool:
        """No new orders from here on; open orders cancelled when asked (or by the options);
        wait until every action handed to the sender went out and its answers are applied.
        On the loop's thread. True when everything settled within the timeout."""
        self._draining = True
        cancel = self.options.cancel_open_on_drain if cancel_open is None else cancel_open
        if cancel:
            for order in list(self.engine.orders.open_orders()):
                self.engine.orders.cancel(order.client_order_id)
        limit = self.options.drain_timeout_s if timeout_s is None else timeout_s
        deadline = self._monotonic() + limit
        settled = True
        if self.sender is not None:
            settled = self.sender.wait_idle(max(0.0, deadline - self._monotonic()))
        self.engine.on_timer(self.clock.now_ns())
        self.engine.drain()
        return settled

    def close(self) -> None:
        """Close the feed, the order stream, the sender and the rest; stop the strategies."""
        self.feed.close()
        if self.order_stream is not None:
            self.order_stream.close(5.0)
        if self.sender is not None:
            self.sender.close(5.0)
        try:
            self.engine.stop()
        except Exception:  # a strategy's on_stop: logged, the close goes on
            log.exception("stopping the strategies failed")
        for fn in self._on_close:
            try:
                fn()
            except Exception:  # each closer on its own: one failing must not keep others open
                log.exception("closing a service part failed")
        if self.observability is not None:
            self.observability.stop()
        self.stopped.set()
        log.info("trading service stopped")

    # --- one turn ---------------------------------------------------------------------------
    def turn(self, wait_s: float = 0.0) -> None:
        """One pass of the loop (tests call it directly)."""
        started = self._monotonic()
        ticks = self.feed.take(wait_s)
        now = self.clock.now_ns()
        mono = self._monotonic()
        self._watch_session(now, mono, bool(ticks))
        engine = self.engine
        builders = self._builders
        for tick in ticks:
            builder = builders.get(tick.symbol)
            if builder is not None:
                bar = builder.on_tick(tick.ts_ns, tick.ltp_paise, tick.volume)
                if bar is not None:
                    self._bar(bar)
            engine.on_tick(tick)
        self.counters.ticks += len(ticks)
        for builder in builders.values():
            bar = builder.close_due(now)
            if bar is not None:
                self._bar(bar)
        engine.on_timer(now)
        self._square_off_due(now)
        self._every(mono, ticks, now)
        self.counters.turns += 1
        obs = self.observability
        if obs is not None:
            obs.heartbeat.beat()
            obs.metrics.loop_latency(max(0.0, self._monotonic() - started))

    def _bar(self, bar: Bar) -> None:
        self.counters.bars += 1
        self.engine.on_bar(bar)

    def _watch_session(self, now_ns: int, mono: float, got_ticks: bool) -> None:
        state = self._feed_state
        is_open = self.market_open(now_ns)
        if is_open and not state.was_open:
            state.since_s = mono  # silence before the open is not staleness
            log.info("market open: strategies run")
        elif not is_open and state.was_open:
            log.info("market closed: strategies wait")
        state.was_open = is_open
        if got_ticks:
            if state.stale:
                state.stale = False
                log.warning("market feed fresh again: new orders allowed")
            return
        if not is_open:
            return
        silent = self.feed.silent_for_s(state.since_s)
        limit = self.options.feed_stale_s
        if silent < limit:
            return
        if not state.stale:
            state.stale = True
            state.stale_events += 1
            log.warning("market feed stale: no tick for %.1fs; resubscribing", silent)
            self._alert(
                AlertCode.FEED_STALE,
                AlertSeverity.WARNING,
                f"market feed stale: no tick for {silent:.0f}s while the market is open; "
                "resubscribed, new orders held until it is fresh",
                now_ns,
            )
        if mono - state.last_resubscribe_s >= limit:
            state.last_resubscribe_s = mono
            try:
                self.feed.resubscribe()
            except Exception as exc:  # the broker's: alerted above, tried again next period
                log.warning("feed resubscribe failed: %s", exc)

    def _square_off_due(self, now_ns: int) -> None:
        if self.squareoff is None:
            return
        for sym, cut in self._cutoffs.items():
            if now_ns < cut or cut == NEVER:
                continue
            sent = self.engine.square_off(sym)
            self.counters.squareoffs += 1
            log.info(
                "intraday square-off of %s at the cut-off: %d order(s)",
                sym,
                len(sent),
                extra={"symbol": sym},
            )
            self._cutoffs[sym] = self.squareoff.next_cutoff_ns(sym, now_ns)
            self._sweep_until[sym] = cut + _SWEEP_NS
        if self._sweep_until:
            self._sweep(now_ns)

    def _sweep(self, now_ns: int) -> None:
        """After the cut-off, an intraday book an in-flight order opened again (its fill came
        after the square-off) is closed as soon as nothing of the symbol is working."""
        books = self.engine.portfolio.books
        working = {o.symbol for o in self.engine.orders.open_orders()}
        for sym, until in list(self._sweep_until.items()):
            if now_ns >= until:
                del self._sweep_until[sym]
                continue
            if sym in working:
                continue
            if any(
                k.symbol == sym and k.product is ProductType.INTRADAY and p.quantity
                for k, p in books.items()
            ):
                sent = self.engine.square_off(sym)
                self.counters.squareoffs += 1
                log.warning(
                    "intraday %s reopened after the square-off: closed again (%d order(s))",
                    sym,
                    len(sent),
                    extra={"symbol": sym},
                )

    # --- on their own cadence ----------------------------------------------------------------
    def _every(self, mono: float, ticks: list[Tick], now_ns: int) -> None:
        stream = self.order_stream
        if (stream is None or not stream.connected.is_set()) and self._poll.due(mono):
            self.broker.poll()  # the order-status stream is down: the order book instead
        if self._reconcile.due(mono):
            self.reconcile_now(now_ns)
        for cadence, fn, name in self._periodic:
            if cadence.due(mono):
                try:
                    fn(now_ns)
                except Exception:  # a part's failure is its own; trading goes on
                    log.exception("periodic %s failed", name)
        if self.commands is not None and self._command.due(mono):
            try:
                self.commands.poll_once()
            except Exception:  # the processor's own failure must not stop trading
                log.exception("command processor failed")
        self._report_broker_alerts(now_ns)
        obs = self.observability
        if obs is not None:
            if ticks:
                lag = max(0.0, (now_ns - max(t.ts_ns for t in ticks)) / 1e9)
                obs.metrics.feed_lag(lag)
            obs.metrics.throttle_depth(len(self.engine.orders.held))
            if self._metrics.due(mono):
                self._publish_pnl()

    def reconcile_now(self, now_ns: int) -> object:
        """The minute's one reconciliation round (`reconcile`, or else the broker adapter's
        orders in doubt settled from its books)."""
        self.counters.reconciliations += 1
        try:
            if self.reconcile_round is not None:
                result = self.reconcile_round(now_ns)
            else:
                result = self.broker.reconcile()
        except Exception:  # the broker's: logged; the next minute tries again
            log.exception("reconciliation failed")
            return None
        self._report_broker_alerts(now_ns)
        obs = self.observability
        if obs is not None and result is not None:
            counts: dict[str, int] = {}
            verdicts = getattr(result, "verdicts", None)  # a recovery report's
            if verdicts is not None:
                counts = {str(v): int(n) for v, n in verdicts.items()}
            else:
                for d in getattr(result, "decisions", ()):
                    counts[str(d.verdict)] = counts.get(str(d.verdict), 0) + 1
            obs.metrics.reconciliation(counts)
        return result

    def _report_broker_alerts(self, now_ns: int) -> None:
        alerts = self.broker.alerts
        while self._alerts_reported < len(alerts):
            text = alerts[self._alerts_reported]
            self._alerts_reported += 1
            self._alert(AlertCode.RECONCILIATION_DIFF, AlertSeverity.CRITICAL, text, now_ns)
        broker_errors = self.broker.errors
        while self._broker_errors_seen < len(broker_errors):
            error = broker_errors[self._broker_errors_seen]
            self._broker_errors_seen += 1
            if type(error).__name__ == "LoginError":  # re-login could not fix the session
                self._alert(
                    AlertCode.SESSION_EXPIRED,
                    AlertSeverity.CRITICAL,
                    f"broker session lost and logging in again failed: {error}",
                    now_ns,
                )
        errors = self.engine.strategy_errors
        while self._errors_reported < len(errors):
            error = errors[self._errors_reported]
            self._errors_reported += 1
            self._alert(
                AlertCode.STRATEGY_ERROR,
                AlertSeverity.CRITICAL,
                f"strategy stopped: {error}",
                now_ns,
                strategy=str(getattr(error, "strategy_id", "")),
            )

    def _publish_pnl(self) -> None:
        obs = self.observability
        if obs is None:
            return
        per: dict[str, list[int]] = {p.strategy_id: [0, 0] for p in self.plans}
        for key, pos in self.engine.portfolio.books.items():
            figures = per.setdefault(key.strategy_id, [0, 0])
            figures[0] += pos.realized_pnl_paise
            figures[1] += pos.unrealized_pnl_paise
        for sid, (realised, unrealised) in per.items():
            obs.metrics.pnl(sid, realised_paise=realised, unrealised_paise=unrealised)

    def _alert(
        self, code: str, severity: AlertSeverity, text: str, now_ns: int, **scope: Any
    ) -> None:
        try:
            self.notifier.notify(
                Alert(code, severity, text, now_ns, instance=self.instance_id, **scope)
            )
        except Exception:  # a notifier never raises; if one does, trading goes on
            log.exception("alert %s could not be handed over", code)

    def _warm_up(self) -> None:
        """Feed the candle history to each strategy's indicators (not to on_bar: history
        places no orders), so they are ready at the first live bar."""
        if self.warm_up is None:
            return
        for plan in self.plans:
            updates = plan.strategy.indicator_updates
            for inst in plan.instruments:
                calls = updates.get(inst.symbol, ())
                if not calls:
                    continue
                try:
                    candles = self.warm_up(inst, plan.bar_minutes)
                except Exception as exc:  # history is a help, not a condition to trade
                    log.warning("warm-up of %s %s failed: %s", plan.strategy_id, inst.symbol, exc)
                    continue
                bars = aggregate_candles(inst.symbol, candles, plan.bar_minutes)
                for bar in bars:
                    for call in calls:
                        call(bar)
                log.info(
                    "warmed up %s on %s with %d bars",
                    plan.strategy_id,
                    inst.symbol,
                    len(bars),
                    extra={"strategy": plan.strategy_id},
                )
