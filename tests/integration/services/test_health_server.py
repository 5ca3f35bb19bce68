"""The health and metrics server over HTTP on loopback (issue #10 item 9): probes follow the
injected checks and a hand-turned clock, /metrics parses as Prometheus text and shows what was
recorded, bad paths and methods get 404 and 405, a taken port is one typed line, and a stuck
check never holds up the other answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from algo_trading.adapters.logs import current_log_context, set_instance_id
from algo_trading.services.health import CheckResult, Health, Heartbeat
from algo_trading.services.health_server import HealthServer, HealthServerError
from algo_trading.services.metrics import ServiceMetrics
from algo_trading.services.observability import Observability
from algo_trading.services.settings import Settings

TIMEOUT_S = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Switch:
    def __init__(self) -> None:
        self.result = CheckResult.passed("fine")

    def __call__(self) -> CheckResult:
        return self.result


class Stack:
    """A started server with its clock, checks and metrics, and a client pointed at it."""

    def __init__(self, client: httpx.Client) -> None:
        self.clock = FakeClock()
        self.heartbeat = Heartbeat(10.0, self.clock)
        self.broker, self.feed = Switch(), Switch()
        self.health = Health(self.heartbeat, {"broker_session": self.broker, "feed": self.feed})
        self.metrics = ServiceMetrics(instance_id="trading-1", mode="paper")
        self.metrics.watch_heartbeat(self.heartbeat.age_s)
        self.server = HealthServer(self.health, self.metrics.registry, host="127.0.0.1", port=0)
        self.client = client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.server.url + path, **kwargs)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # One client for the module: building its TLS context takes longer than a test.
    with httpx.Client(timeout=TIMEOUT_S) as c:
        yield c


@pytest.fixture
def stack(client: httpx.Client) -> Iterator[Stack]:
    s = Stack(client)
    s.server.start()
    try:
        yield s
    finally:
        s.server.stop()


def test_healthz_is_200_while_the_loop_turns_and_503_when_it_stalls(stack: Stack) -> None:
    answer = stack.get("/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["status"] == "ok"
    stack.clock.now += 10.5
    answer = stack.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "stale", "heartbeat_age_s": 10.5, "stale_after_s": 10.0}
    stack.heartbeat.beat()
    assert stack.get("/healthz").status_code == 200


def test_readyz_lists_each_check_and_is_200_only_when_all_pass(stack: Stack) -> None:
    answer = stack.get("/readyz")
    assert answer.status_code == 200
    assert [(c["name"], c["ok"]) for c in answer.json()["checks"]] == [
        ("heartbeat", True),
        ("broker_session", True),
        ("feed", True),
    ]
    stack.feed.result = CheckResult.failed("no tick for 31s")
    answer = stack.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"
    assert {"name": "feed", "ok": False, "reason": "no tick for 31s"} in answer.json()["checks"]
    stack.feed.result = CheckResult.passed()
    assert stack.get("/readyz").status_code == 200
    stack.clock.now += 60  # the loop stalls: not ready either
    assert stack.get("/readyz").status_code == 503


def test_a_check_that_raises_is_a_503_with_its_reason_not_a_500(stack: Stack) -> None:
    def broken() -> CheckResult:
        raise OSError("connection refused by db.internal:5432")

    stack.health.add_check("database", broken)
    answer = stack.get("/readyz")
    assert answer.status_code == 503
    database = answer.json()["checks"][-1]
    assert database == {
        "name": "database",
        "ok": False,
        "reason": "check raised OSError: connection refused by db.internal:5432",
    }
    assert "Traceback" not in answer.text


def test_metrics_parse_as_prometheus_text_and_show_what_was_recorded(stack: Stack) -> None:
    m = stack.metrics
    m.order_status("sma-sbin", "FILLED")
    m.refusal("MAX_ORDER_VALUE", strategy="sma-sbin")
    m.fill("sma-sbin", "BUY", 25)
    m.pnl("sma-sbin", realised_paise=-12_345, unrealised_paise=678)
    m.feed_lag(0.125)
    m.loop_latency(0.0007)
    m.throttle_depth(3)
    m.reconciliation({"missing_fill": 1})
    m.alert_sent("telegram")
    stack.clock.now += 4
    answer = stack.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("algo_orders_total", strategy="sma-sbin", status="FILLED") == 1
    assert value("algo_risk_refusals_total", strategy="sma-sbin", code="MAX_ORDER_VALUE") == 1
    assert value("algo_fills_total", strategy="sma-sbin", side="BUY") == 1
    assert value("algo_filled_quantity_total", strategy="sma-sbin", side="BUY") == 25
    assert value("algo_realised_pnl_rupees", strategy="sma-sbin") == -123.45
    assert value("algo_unrealised_pnl_rupees", strategy="sma-sbin") == 6.78
    assert value("algo_feed_lag_seconds", feed="market") == 0.125
    assert value("algo_engine_loop_latency_seconds_bucket", le="0.001") == 1
    assert value("algo_engine_loop_latency_seconds_bucket", le="0.0005") == 0
    assert value("algo_throttle_queue_depth", queue="orders") == 3
    assert value("algo_reconciliation_differences_total", kind="missing_fill") == 1
    assert value("algo_alerts_sent_total", channel="telegram") == 1
    assert value("algo_engine_heartbeat_age_seconds") == 4
    info = {"instance_id": "trading-1", "mode": "paper", "version": ""}
    assert value("algo_instance_info", **info) == 1


def test_metrics_speak_openmetrics_to_a_scraper_that_asks(stack: Stack) -> None:
    stack.metrics.alert_failed("smtp")
    answer = stack.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in openmetrics_families(answer.text)}
    assert families["algo_alerts_failed"].samples[0].value == 1


def test_a_query_string_is_ignored(stack: Stack) -> None:
    assert stack.get("/healthz?verbose=1").status_code == 200


@pytest.mark.parametrize("path", ["/", "/healthz/", "/metricsx", "/HEALTHZ", "/../etc/passwd"])
def test_any_other_path_is_404(stack: Stack, path: str) -> None:
    answer = stack.get(path)
    assert answer.status_code == 404
    assert "error" in answer.json()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO"])
def test_any_method_but_get_and_head_is_405_naming_the_allowed_ones(
    stack: Stack, method: str
) -> None:
    answer = stack.client.request(method, stack.server.url + "/healthz", content=b"x=1")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert stack.get("/healthz").status_code == 200  # the body sent was not taken for a request


def test_head_answers_the_status_without_a_body(stack: Stack) -> None:
    stack.broker.result = CheckResult.failed("session expired")
    answer = stack.client.head(stack.server.url + "/readyz")
    assert answer.status_code == 503
    assert answer.content == b""
    assert int(answer.headers["content-length"]) > 0


def test_a_garbled_request_is_a_400_without_a_traceback(stack: Stack) -> None:
    with socket.create_connection(("127.0.0.1", stack.server.port), timeout=TIMEOUT_S) as conn:
        conn.sendall(b"GARBAGE\r\n\r\n")
        reply = _read_all(conn)
    assert reply.startswith(b"HTTP/1.1 400") or reply.startswith(b"HTTP/1.0 400")
    assert b"Traceback" not in reply


def test_a_collector_that_fails_is_a_500_with_one_line_not_a_traceback(
    client: httpx.Client,
) -> None:
    class Broken(Collector):
        def collect(self) -> Any:
            raise RuntimeError("boom\nat some/file.py line 3")

    registry = CollectorRegistry()
    registry.register(Broken())
    health = Health(Heartbeat(10.0, FakeClock()))
    with HealthServer(health, registry, port=0) as server:
        answer = client.get(server.url + "/metrics")
        assert answer.status_code == 500
        assert answer.json() == {"error": "internal error; see the service's log"}
        assert client.get(server.url + "/healthz").status_code == 200


def test_a_stuck_check_does_not_hold_up_the_other_answers(stack: Stack) -> None:
    release, entered = threading.Event(), threading.Event()

    def stuck() -> CheckResult:
        entered.set()
        release.wait(TIMEOUT_S)
        return CheckResult.passed()

    stack.health.add_check("leases", stuck)
    results: list[int] = []
    reader = threading.Thread(target=lambda: results.append(stack.get("/readyz").status_code))
    reader.start()
    try:
        assert entered.wait(TIMEOUT_S)
        assert stack.get("/healthz").status_code == 200
        assert stack.get("/metrics").status_code == 200
    finally:
        release.set()
        reader.join(TIMEOUT_S)
    assert results == [200]


def test_a_port_in_use_is_one_typed_line_naming_address_and_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HealthServer(Health(Heartbeat(1.0, FakeClock())), CollectorRegistry(), port=port)
        with pytest.raises(HealthServerError) as caught:
            server.start()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "already in use" in message
    assert "ALGO_HEALTH_PORT" in message
    server.stop()  # never started: nothing to do


def test_an_address_not_of_this_machine_is_one_typed_line() -> None:
    server = HealthServer(
        Health(Heartbeat(1.0, FakeClock())), CollectorRegistry(), host="192.0.2.1", port=0
    )
    with pytest.raises(HealthServerError, match=r"192\.0\.2\.1:0: the address is not one of"):
        server.start()


def test_stop_closes_the_port_and_the_thread_and_the_port_can_be_taken_again(
    client: httpx.Client,
) -> None:
    health = Health(Heartbeat(10.0, FakeClock()))
    server = HealthServer(health, CollectorRegistry(), port=0).start()
    port = server.port
    with pytest.raises(HealthServerError, match="already listening"):
        server.start()
    assert client.get(server.url + "/healthz").status_code == 200
    server.stop()
    server.stop()
    assert not [t for t in threading.enumerate() if t.name == f"health-server:{port}"]
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/healthz")
    again = HealthServer(health, CollectorRegistry(), port=port).start()
    try:
        assert again.port == port
        assert client.get(again.url + "/healthz").status_code == 200
    finally:
        again.stop()


def test_the_server_listens_on_loopback_by_default() -> None:
    with HealthServer(Health(Heartbeat(10.0, FakeClock())), CollectorRegistry()) as server:
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_port_out_of_range_is_one_typed_line() -> None:
    server = HealthServer(Health(Heartbeat(1.0, FakeClock())), CollectorRegistry(), port=70000)
    with pytest.raises(HealthServerError, match="port must be between 0 and 65535"):
        server.start()


def test_an_ipv6_loopback_host_is_served(client: httpx.Client) -> None:
    if not _can_bind_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback")
    health = Health(Heartbeat(10.0, FakeClock()))
    with HealthServer(health, CollectorRegistry(), host="::1", port=0) as server:
        assert server.url.startswith("http://[::1]:")
        assert client.get(server.url + "/healthz").status_code == 200


def _can_bind_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_the_settings_build_a_working_set_that_serves_the_heartbeat(client: httpx.Client) -> None:
    clock = FakeClock()
    settings = Settings(health_host="127.0.0.1", health_port=0, health_stale_after_s=3)
    obs = Observability.from_settings(settings, instance_id="trading-3", mode="paper", clock=clock)
    assert obs.server.port == 0  # nothing listens before start()
    obs.start()
    try:
        assert current_log_context()["instance_id"] == "trading-3"
        assert obs.server.host == "127.0.0.1"
        clock.now += 4
        assert client.get(obs.server.url + "/healthz").status_code == 503
        obs.heartbeat.beat()
        assert client.get(obs.server.url + "/readyz").status_code == 200
        text = client.get(obs.server.url + "/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["algo_instance_info"].samples[0].labels["instance_id"] == "trading-3"
        assert families["algo_engine_heartbeat_age_seconds"].samples[0].value == 0
    finally:
        obs.stop()
        set_instance_id(None)


def test_stop_returns_while_a_request_is_stuck_in_a_check(client: httpx.Client) -> None:
    release, entered = threading.Event(), threading.Event()

    def stuck() -> CheckResult:
        entered.set()
        release.wait(TIMEOUT_S)
        return CheckResult.passed()

    health = Health(Heartbeat(10.0, FakeClock()), {"leases": stuck})
    server = HealthServer(health, CollectorRegistry(), port=0).start()
    url = server.url
    reader = threading.Thread(target=lambda: _ignore_errors(lambda: client.get(url + "/readyz")))
    reader.start()
    try:
        assert entered.wait(TIMEOUT_S)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(TIMEOUT_S)
        assert not stopper.is_alive()
        with pytest.raises(httpx.ConnectError):
            client.get(url + "/healthz")
    finally:
        release.set()
        reader.join(TIMEOUT_S)


def _ignore_errors(call: Any) -> None:
    # The answer of a request cut short by stop() is not what this test is about.
    with contextlib.suppress(httpx.HTTPError):
        call()
