"""The metrics facade (issue #10 item 9): each method records what its name says in the
service's own registry, which no other service shares."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from algo_trading.services.metrics import EngineMetrics, ServiceMetrics


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics(instance_id="trading-1", mode="paper", version="0.1.0")


def _value(m: ServiceMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_the_service_metrics_are_what_the_engine_side_needs(metrics: ServiceMetrics) -> None:
    # Checked by mypy: the facade satisfies the Protocol the engine will hold.
    sink: EngineMetrics = metrics
    sink.loop_latency(0.001)


def test_each_service_has_its_own_registry_not_the_global_one() -> None:
    one = ServiceMetrics(instance_id="a", mode="paper")
    two = ServiceMetrics(instance_id="b", mode="paper")  # same names: would collide if shared
    one.refusal("MAX_QTY", strategy="s")
    assert _value(one, "algo_risk_refusals_total", strategy="s", code="MAX_QTY") == 1
    assert _value(two, "algo_risk_refusals_total", strategy="s", code="MAX_QTY") is None
    assert REGISTRY.get_sample_value("algo_risk_refusals_total", {"strategy": "s"}) is None


def test_a_given_registry_is_used() -> None:
    registry = CollectorRegistry()
    ServiceMetrics(instance_id="x", mode="live", registry=registry).alert_sent("log")
    assert registry.get_sample_value("algo_alerts_sent_total", {"channel": "log"}) == 1


def test_the_instance_is_published_once_as_an_info_metric(metrics: ServiceMetrics) -> None:
    labels = {"instance_id": "trading-1", "mode": "paper", "version": "0.1.0"}
    assert _value(metrics, "algo_instance_info", **labels) == 1


def test_orders_are_counted_by_strategy_and_status(metrics: ServiceMetrics) -> None:
    for status in ("SUBMITTED", "OPEN", "FILLED"):
        metrics.order_status("sma", status)
    metrics.order_status("sma", "SUBMITTED")
    metrics.order_status("rsi", "REJECTED")
    assert _value(metrics, "algo_orders_total", strategy="sma", status="SUBMITTED") == 2
    assert _value(metrics, "algo_orders_total", strategy="sma", status="FILLED") == 1
    assert _value(metrics, "algo_orders_total", strategy="rsi", status="REJECTED") == 1


def test_refusals_are_counted_by_code(metrics: ServiceMetrics) -> None:
    metrics.refusal("DAILY_LOSS_LIMIT", strategy="sma")
    metrics.refusal("DAILY_LOSS_LIMIT", strategy="sma")
    metrics.refusal("PRICE_BAND", strategy="sma")
    assert _value(metrics, "algo_risk_refusals_total", strategy="sma", code="DAILY_LOSS_LIMIT") == 2
    assert _value(metrics, "algo_risk_refusals_total", strategy="sma", code="PRICE_BAND") == 1


def test_fills_count_executions_and_units(metrics: ServiceMetrics) -> None:
    metrics.fill("sma", "BUY", 10)
    metrics.fill("sma", "BUY", 5)
    metrics.fill("sma", "SELL", 15)
    assert _value(metrics, "algo_fills_total", strategy="sma", side="BUY") == 2
    assert _value(metrics, "algo_filled_quantity_total", strategy="sma", side="BUY") == 15
    assert _value(metrics, "algo_filled_quantity_total", strategy="sma", side="SELL") == 15


def test_pnl_is_given_in_paise_and_published_in_rupees(metrics: ServiceMetrics) -> None:
    metrics.pnl("sma", realised_paise=123_456, unrealised_paise=-5)
    assert _value(metrics, "algo_realised_pnl_rupees", strategy="sma") == 1234.56
    assert _value(metrics, "algo_unrealised_pnl_rupees", strategy="sma") == -0.05
    metrics.pnl("sma", realised_paise=0, unrealised_paise=0)
    assert _value(metrics, "algo_realised_pnl_rupees", strategy="sma") == 0


def test_a_strategy_that_moved_away_stops_publishing_its_pnl(metrics: ServiceMetrics) -> None:
    metrics.pnl("sma", realised_paise=100, unrealised_paise=100)
    metrics.order_status("sma", "FILLED")
    metrics.drop_strategy("sma")
    metrics.drop_strategy("never-seen")
    assert _value(metrics, "algo_realised_pnl_rupees", strategy="sma") is None
    assert _value(metrics, "algo_unrealised_pnl_rupees", strategy="sma") is None
    assert _value(metrics, "algo_orders_total", strategy="sma", status="FILLED") == 1


def test_feed_lag_throttle_depth_and_alerts_are_recorded(metrics: ServiceMetrics) -> None:
    metrics.feed_lag(0.25)
    metrics.feed_lag(1.5, feed="order_status")
    metrics.throttle_depth(7)
    metrics.throttle_depth(0)
    metrics.alert_sent("telegram")
    metrics.alert_failed("smtp")
    assert _value(metrics, "algo_feed_lag_seconds", feed="market") == 0.25
    assert _value(metrics, "algo_feed_lag_seconds", feed="order_status") == 1.5
    assert _value(metrics, "algo_throttle_queue_depth", queue="orders") == 0
    assert _value(metrics, "algo_alerts_sent_total", channel="telegram") == 1
    assert _value(metrics, "algo_alerts_failed_total", channel="smtp") == 1


def test_loop_latency_fills_the_histogram_buckets(metrics: ServiceMetrics) -> None:
    for seconds in (0.0002, 0.0004, 0.003, 0.2):
        metrics.loop_latency(seconds)
    name = "algo_engine_loop_latency_seconds"
    assert _value(metrics, f"{name}_count") == 4
    assert _value(metrics, f"{name}_bucket", le="0.0005") == 2
    assert _value(metrics, f"{name}_bucket", le="0.005") == 3
    assert _value(metrics, f"{name}_bucket", le="+Inf") == 4
    assert math.isclose(_value(metrics, f"{name}_sum") or 0, 0.2036)


def test_reconciliation_counts_runs_differences_by_kind_and_the_latest(
    metrics: ServiceMetrics,
) -> None:
    metrics.reconciliation({"missing_fill": 2, "unknown_order": 1, "position": 0})
    metrics.reconciliation({})
    assert _value(metrics, "algo_reconciliation_runs_total") == 2
    assert _value(metrics, "algo_reconciliation_differences_total", kind="missing_fill") == 2
    assert _value(metrics, "algo_reconciliation_differences_total", kind="position") is None
    assert _value(metrics, "algo_reconciliation_last_differences") == 0


def test_the_heartbeat_age_is_read_at_scrape_time(metrics: ServiceMetrics) -> None:
    age = [1.0]
    metrics.watch_heartbeat(lambda: age[0])
    assert _value(metrics, "algo_engine_heartbeat_age_seconds") == 1.0
    age[0] = 42.0
    assert _value(metrics, "algo_engine_heartbeat_age_seconds") == 42.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.fill("s", "BUY", 0), "positive integer"),
        (lambda m: m.fill("s", "BUY", 1.5), "positive integer"),
        (lambda m: m.fill("s", "BUY", True), "positive integer"),
        (lambda m: m.pnl("s", realised_paise=1.5, unrealised_paise=0), "integer paise"),
        (lambda m: m.loop_latency(-0.001), "negative"),
        (lambda m: m.loop_latency(math.nan), "finite"),
        (lambda m: m.feed_lag(math.inf), "finite"),
        (lambda m: m.throttle_depth(-1), "non-negative"),
        (lambda m: m.reconciliation({"x": -1}), ">= 0"),
        (lambda m: m.refusal("", strategy="s"), "code"),
        (lambda m: m.order_status("s" * 65, "OPEN"), "strategy"),
    ],
)
def test_a_value_no_caller_should_pass_is_a_value_error(
    metrics: ServiceMetrics, call: Callable[[ServiceMetrics], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(metrics)


def test_a_refused_reconciliation_records_nothing(metrics: ServiceMetrics) -> None:
    with pytest.raises(ValueError, match="reconciliation"):
        metrics.reconciliation({"a": 3, "b": -1})
    assert _value(metrics, "algo_reconciliation_runs_total") == 0
    assert _value(metrics, "algo_reconciliation_differences_total", kind="a") is None


@settings(max_examples=100)
@given(paise=st.integers(min_value=-(10**13), max_value=10**13))
def test_any_pnl_in_paise_reads_back_exactly_from_the_exposition(paise: int) -> None:
    m = ServiceMetrics(instance_id="p", mode="paper")
    m.pnl("s", realised_paise=paise, unrealised_paise=-paise)
    text = generate_latest(m.registry).decode()
    values = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert round(values["algo_realised_pnl_rupees"] * 100) == paise
    assert round(values["algo_unrealised_pnl_rupees"] * 100) == -paise
