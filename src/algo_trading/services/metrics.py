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

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

__all__ = ["LOOP_LATENCY_BUCKETS_S", "EngineMetrics", "ServiceMetrics"]

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
        r = self.registry
        Info("algo_instance", "Which instance of the service this is", registry=r).info(
            {"instance_id": _label(instance_id, "instance_id"), "mode": mode, "version": version}
        )
        self._orders = Counter(
            "algo_orders", "Orders that reached each status", ["strategy", "status"], registry=r
        )
        self._refusals = Counter(
            "algo_risk_refusals",
            "Orders refused by the risk manager, by refusal code",
            ["strategy", "code"],
            registry=r,
        )
        self._fills = Counter("algo_fills", "Fills received", ["strategy", "side"], registry=r)
        self._filled_qty = Counter(
            "algo_filled_quantity", "Units filled", ["strategy", "side"], registry=r
        )
        self._realised = Gauge(
            "algo_realised_pnl_rupees", "Realised P&L today in rupees", ["strategy"], registry=r
        )
        self._unrealised = Gauge(
            "algo_unrealised_pnl_rupees",
            "Mark-to-market P&L of open positions in rupees",
            ["strategy"],
            registry=r,
        )
        self._feed_lag = Gauge(
            "algo_feed_lag_seconds",
            "Receive time minus exchange time of the last tick",
            ["feed"],
            registry=r,
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
        self._throttle = Gauge(
            "algo_throttle_queue_depth",
            "Requests waiting for the broker's rate limit",
            ["queue"],
            registry=r,
        )
        self._recon_runs = Counter(
            "algo_reconciliation_runs", "Reconciliations with the broker's books", registry=r
        )
        self._recon_diffs = Counter(
            "algo_reconciliation_differences",
            "Differences between the local and the broker's books, by kind",
            ["kind"],
            registry=r,
        )
        self._recon_last = Gauge(
            "algo_reconciliation_last_differences",
            "Differences found by the latest reconciliation",
            registry=r,
        )
        self._alerts_sent = Counter(
            "algo_alerts_sent", "Alerts delivered, by channel", ["channel"], registry=r
        )
        self._alerts_failed = Counter(
            "algo_alerts_failed", "Alerts a channel could not deliver", ["channel"], registry=r
        )

    def order_status(self, strategy: str, status: str) -> None:
        """An order of `strategy` reached `status` (the domain's OrderStatus value)."""
        self._orders.labels(_label(strategy, "strategy"), _label(status, "status")).inc()

    def refusal(self, code: str, strategy: str) -> None:
        """The risk manager refused an order of `strategy` with the stable `code`."""
        self._refusals.labels(_label(strategy, "strategy"), _label(code, "code")).inc()

    def fill(self, strategy: str, side: str, quantity: int) -> None:
        """A fill of `quantity` units (BUY or SELL) for `strategy`."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValueError(f"fill quantity must be a positive integer, not {quantity!r}")
        labels = (_label(strategy, "strategy"), _label(side, "side"))
        self._fills.labels(*labels).inc()
        self._filled_qty.labels(*labels).inc(quantity)

    def pnl(self, strategy: str, *, realised_paise: int, unrealised_paise: int) -> None:
        """`strategy`'s P&L now, in paise (published in rupees)."""
        name = _label(strategy, "strategy")
        self._realised.labels(name).set(_rupees(realised_paise, "realised_paise"))
        self._unrealised.labels(name).set(_rupees(unrealised_paise, "unrealised_paise"))

    def drop_strategy(self, strategy: str) -> None:
        """Stop publishing `strategy`'s P&L: it moved to another instance (its lease), whose
        figures would otherwise be added to this instance's stale ones. Counters stay: they
        count what this instance did."""
        for gauge in (self._realised, self._unrealised):
            with contextlib.suppress(KeyError):  # never published here
                gauge.remove(strategy)

    def feed_lag(self, seconds: float, feed: str = "market") -> None:
        """The last tick of `feed` arrived `seconds` after its exchange time (may be < 0 when
        the clocks disagree: published as measured, it is worth seeing)."""
        self._feed_lag.labels(_label(feed, "feed")).set(_finite(seconds, "feed lag"))

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
        self._throttle.labels(_label(queue, "queue")).set(depth)

    def reconciliation(self, differences: Mapping[str, int]) -> None:
        """One reconciliation ran and found `differences` (count by kind; empty when the books
        agree)."""
        for kind, count in differences.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"reconciliation count for {kind!r} must be >= 0: {count!r}")
        self._recon_runs.inc()
        for kind, count in differences.items():
            if count:
                self._recon_diffs.labels(_label(kind, "kind")).inc(count)
        self._recon_last.set(sum(differences.values()))

    def alert_sent(self, channel: str) -> None:
        self._alerts_sent.labels(_label(channel, "channel")).inc()

    def alert_failed(self, channel: str) -> None:
        self._alerts_failed.labels(_label(channel, "channel")).inc()

    def watch_heartbeat(self, age_s: Callable[[], float]) -> None:
        """Publish `age_s()` (the heartbeat's age) as read at each scrape."""
        self._heartbeat_age.set_function(age_s)


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
