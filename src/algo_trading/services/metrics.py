"""The trading service's Prometheus metrics behind a small typed facade (issue #10 item 9).

The engine is pure and never imports prometheus-client: it calls the methods of
`EngineMetrics` (plain strings and numbers), which `ServiceMetrics` implements over a
`CollectorRegistry` of its own (one per service, never the library's global one, so two
services or two tests in one process do not collide).

Metrics, all prefixed `algo_` (a counter's name ends in `_total` on the wire):

- `algo_instance_info{instance_id, mode, version}` (info): which instance this is.
- `algo_orders_total{strategy, status}` (counter): orders that reached each status
  (the domain's OrderStatus: SUBMITTED, OPEN, FILLED, REJECTED, ...).
- `algo_risk_refusals_total{strategy, code}` (counter): orders the risk manager refused, by
  its stable refusal code.
- `algo_fills_total{strategy, side}` (counter): fills, partial ones included;
  `algo_filled_quantity_total{strategy, side}` (counter): units filled.
- `algo_realised_pnl_rupees{strategy}`, `algo_unrealised_pnl_rupees{strategy}` (gauges): P&L
  today, kept in paise and published in rupees (paise / 100) for display only.
- `algo_feed_lag_seconds{feed}` (gauge): receive time minus exchange time of the last tick.
- `algo_engine_loop_latency_seconds` (histogram): one turn of the trading loop, with buckets
  around the issue's 5 ms target.
- `algo_engine_heartbeat_age_seconds` (gauge): seconds since the loop's last turn, read at
  each scrape.
- `algo_throttle_queue_depth{queue}` (gauge): requests waiting for the broker's rate limit.
- `algo_reconciliation_runs_total` (counter), `algo_reconciliation_differences_total{kind}`
  (counter: differences found and repaired, by kind), `algo_reconciliation_last_differences`
  (gauge: found by the latest run; alert on > 0).
- `algo_alerts_sent_total{channel}`, `algo_alerts_failed_total{channel}` (counters): alerts
  delivered or not, by channel (log, sns, smtp, telegram).

No label carries an order id, a symbol or a price: each label's values are few and known in
advance (strategies from the config, statuses and codes from the code), so the number of series
stays bounded. The instance is a label of `algo_instance_info` only; Prometheus adds the
scrape target's `instance` to every series itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from algo_trading.services.cloudwatch import EmfEmitter

_EMF_LAG_EVERY_S = 10.0
# reconciliation verdicts that are differences between the books (engine.reconciliation)
_DIFFERENCES = frozenset({"NEVER_SENT", "ADOPTED_LATE", "DUPLICATE", "UNRESOLVED"})

__all__ = ["LOOP_LATENCY_BUCKETS_S", "EngineMetrics", "ServiceMetrics"]

_M = TypeVar("_M", Counter, Gauge)

# Around the targets (p99 tick-to-order under 5 ms): fine below 10 ms, coarse above.
LOOP_LATENCY_BUCKETS_S = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
_LABEL_MAX = 64


class EngineMetrics(Protocol):
    """What the engine side records. The pure core will hold its own copy of this Protocol in
    `engine/ports.py` (it cannot import `services`); `ServiceMetrics` satisfies it."""

    def order_status(self, strategy: str, status: str) -> None: ...
    def refusal(self, code: str, strategy: str) -> None: ...
    def fill(self, strategy: str, side: str, quantity: int) -> None: ...
    def pnl(self, strategy: str, *, realised_paise: int, unrealised_paise: int) -> None: ...
    def feed_lag(self, seconds: float, feed: str = "market") -> None: ...
    def loop_latency(self, seconds: float) -> None: ...
    def throttle_depth(self, depth: int, queue: str = "orders") -> None: ...
    def reconciliation(self, differences: Mapping[str, int]) -> None: ...
    def alert_sent(self, channel: str) -> None: ...
    def alert_failed(self, channel: str) -> None: ...


class ServiceMetrics:
    """The metrics of one service, in `registry` (a new one unless given).

    Every method is thread-safe (prometheus-client locks each series) and raises ValueError for
    a value no caller should pass (a negative quantity, an empty label): that is a bug to find
    in tests, not a figure to publish.
    """

    def __init__(
        self,
        *,
        instance_id: str,
        mode: str,
        version: str = "",
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        # CloudWatch embedded-metric-format lines for the alarms (set by the composition root
        # when ALGO_METRICS_EMF is on); the Prometheus series stay either way
        self.emf: EmfEmitter | None = None
        self._emf_lag_at = float("-inf")
        r = self.registry
        Info("algo_instance", "Which instance of the service this is", registry=r).info(
            {"instance_id": _label(instance_id, "instance_id"), "mode": mode, "version": version}
        )

        def counter(name: str, doc: str, *labels: str) -> _Labelled[Counter]:
            return _Labelled(Counter(name, doc, labels, registry=r), labels)

        def gauge(name: str, doc: str, *labels: str) -> _Labelled[Gauge]:
            return _Labelled(Gauge(name, doc, labels, registry=r), labels)

        self._orders = counter(
            "algo_orders", "Orders that reached each status", "strategy", "status"
        )
        self._refusals = counter(
            "algo_risk_refusals", "Orders refused by the risk manager, by code", "strategy", "code"
        )
        self._fills = counter("algo_fills", "Fills received", "strategy", "side")
        self._filled_qty = counter("algo_filled_quantity", "Units filled", "strategy", "side")
        self._realised = gauge(
            "algo_realised_pnl_rupees", "Realised P&L today in rupees", "strategy"
        )
        self._unrealised = gauge(
            "algo_unrealised_pnl_rupees", "Mark-to-market P&L of open positions", "strategy"
        )
        self._feed_lag = gauge(
            "algo_feed_lag_seconds", "Receive minus exchange time of the last tick", "feed"
        )
        self._loop = Histogram(
            "algo_engine_loop_latency_seconds",
            "Duration of one turn of the trading loop",
            buckets=LOOP_LATENCY_BUCKETS_S,
            registry=r,
        )
        self._heartbeat_age = Gauge(
            "algo_engine_heartbeat_age_seconds",
            "Seconds since the trading loop's last turn",
            registry=r,
        )
        self._throttle = gauge(
            "algo_throttle_queue_depth", "Requests waiting for the broker's rate limit", "queue"
        )
        self._recon_runs = Counter(
            "algo_reconciliation_runs", "Reconciliations with the broker's books", registry=r
        )
        self._recon_diffs = counter(
            "algo_reconciliation_differences",
            "Differences between the local and the broker's books, by kind",
            "kind",
        )
        self._recon_last = Gauge(
            "algo_reconciliation_last_differences",
            "Differences found by the latest reconciliation",
            registry=r,
        )
        self._alerts_sent = counter("algo_alerts_sent", "Alerts delivered", "channel")
        self._alerts_failed = counter(
            "algo_alerts_failed", "Alerts a channel could not deliver", "channel"
        )

    def order_status(self, strategy: str, status: str) -> None:
        """An order of `strategy` reached `status` (the domain's OrderStatus value)."""
        self._orders(strategy, status).inc()

    def refusal(self, code: str, strategy: str) -> None:
        """The risk manager refused an order of `strategy` with the stable `code`."""
        self._refusals(strategy, code).inc()
        if self.emf is not None:  # the CloudWatch alarms' figures (issue #13 item 4)
            self.emf.emit("OrderRejections", 1)
            if code == "DAILY_LOSS_LIMIT":
                self.emf.emit("DailyLossLimitHit", 1)

    def fill(self, strategy: str, side: str, quantity: int) -> None:
        """A fill of `quantity` units (BUY or SELL) for `strategy`."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValueError(f"fill quantity must be a positive integer, not {quantity!r}")
        self._fills(strategy, side).inc()
        self._filled_qty(strategy, side).inc(quantity)

    def pnl(self, strategy: str, *, realised_paise: int, unrealised_paise: int) -> None:
        """`strategy`'s P&L now, in paise (published in rupees)."""
        realised = _rupees(realised_paise, "realised_paise")
        unrealised = _rupees(unrealised_paise, "unrealised_paise")
        self._realised(strategy).set(realised)
        self._unrealised(strategy).set(unrealised)

    def drop_strategy(self, strategy: str) -> None:
        """Stop publishing `strategy`'s P&L: it moved to another instance (its lease), whose
        figures would otherwise be added to this instance's stale ones. Counters stay: they
        count what this instance did."""
        for gauge in (self._realised, self._unrealised):
            gauge.remove(strategy)

    def feed_lag(self, seconds: float, feed: str = "market") -> None:
        """The last tick of `feed` arrived `seconds` after its exchange time (may be < 0 when
        the clocks disagree: published as measured, it is worth seeing)."""
        lag = _finite(seconds, "feed lag")
        self._feed_lag(feed).set(lag)
        if self.emf is not None and feed == "market":
            now = time.monotonic()
            if now - self._emf_lag_at >= _EMF_LAG_EVERY_S:  # one line a period, not a tick
                self._emf_lag_at = now
                self.emf.emit("FeedStaleSeconds", max(lag, 0.0))

    def loop_latency(self, seconds: float) -> None:
        """One turn of the trading loop took `seconds`."""
        value = _finite(seconds, "loop latency")
        if value < 0:
            raise ValueError(f"loop latency cannot be negative: {seconds!r}")
        self._loop.observe(value)

    def throttle_depth(self, depth: int, queue: str = "orders") -> None:
        """`depth` requests wait in the throttle's `queue`."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"throttle queue depth must be a non-negative integer: {depth!r}")
        self._throttle(queue).set(depth)

    def reconciliation(self, differences: Mapping[str, int]) -> None:
        """One reconciliation ran and found `differences` (count by kind; empty when the books
        agree)."""
        for kind, count in differences.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"reconciliation count for {kind!r} must be >= 0: {count!r}")
        self._recon_runs.inc()
        for kind, count in differences.items():
            if count:
                self._recon_diffs(kind).inc(count)
        self._recon_last.set(sum(differences.values()))
        if self.emf is not None:
            found = sum(n for kind, n in differences.items() if kind in _DIFFERENCES)
            self.emf.emit("ReconciliationDifferences", found)

    def alert_sent(self, channel: str) -> None:
        self._alerts_sent(channel).inc()

    def alert_failed(self, channel: str) -> None:
        self._alerts_failed(channel).inc()

    def watch_heartbeat(self, age_s: Callable[[], float]) -> None:
        """Publish `age_s()` (the heartbeat's age) as read at each scrape."""
        self._heartbeat_age.set_function(age_s)


class _Labelled(Generic[_M]):
    """A labelled metric whose series are kept by their label values: `labels()` checks its
    arguments and takes a lock at every call, which the loop's hot path need not pay again."""

    def __init__(self, metric: _M, names: tuple[str, ...]) -> None:
        self._metric: _M = metric
        self._names = names
        self._series: dict[tuple[str, ...], _M] = {}

    def __call__(self, *values: str) -> _M:
        series = self._series.get(values)
        if series is None:
            for name, value in zip(self._names, values, strict=True):
                _label(value, name)
            series = self._series[values] = self._metric.labels(*values)
        return series

    def remove(self, *values: str) -> None:
        """Stop publishing the series (nothing if it never was)."""
        if self._series.pop(values, None) is not None:
            self._metric.remove(*values)


def _label(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _LABEL_MAX:
        raise ValueError(f"metric label {what} must be 1 to {_LABEL_MAX} characters: {value!r}")
    return value


def _rupees(paise: int, what: str) -> float:
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise ValueError(f"{what} must be integer paise, not {paise!r}")
    # Exact for any amount below 2**53 paise; the gauge is for display, never for decisions.
    return paise / 100


def _finite(seconds: float, what: str) -> float:
    value = float(seconds)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds: {seconds!r}")
    return value
