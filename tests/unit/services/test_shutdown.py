"""The drain on SIGTERM (issue #10, item 10): the signal, the gate, cancels, leases."""

from __future__ import annotations

import os
import signal
import time

from algo_trading.domain.ids import ClientOrderId
from algo_trading.engine.risk import AllowAll
from algo_trading.services.shutdown import DRAINING, DrainGate, ShutdownSignal, drain
from tests.support.builders import make_order
from tests.support.storage import NoView


class FakeEngine:
    """Open orders; a cancel closes its order at the next pump unless the broker is deaf."""

    def __init__(self, *ids: str, deaf: bool = False) -> None:
        self.open = [ClientOrderId(i) for i in ids]
        self.cancelled: list[str] = []
        self.pumps = 0
        self.deaf = deaf

    def open_order_ids(self) -> list[ClientOrderId]:
        return list(self.open)

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.cancelled.append(client_order_id)

    def pump(self) -> None:
        self.pumps += 1
        if not self.deaf:
            self.open = [c for c in self.open if c not in self.cancelled]


def test_sigterm_sets_the_request_and_a_second_signal_is_no_longer_caught() -> None:
    shutdown = ShutdownSignal(stop_timeout_s=30)
    before = signal.getsignal(signal.SIGTERM)
    shutdown.install((signal.SIGTERM,))
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not shutdown.requested.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shutdown.requested.is_set()
        assert shutdown.signal_name == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) == before
        assert shutdown.deadline() - time.monotonic() <= 25
    finally:
        signal.signal(signal.SIGTERM, before)


def test_the_gate_refuses_new_orders_once_the_drain_begins() -> None:
    shutdown = ShutdownSignal()
    gate = DrainGate(AllowAll(), shutdown)
    order = make_order()
    assert gate.check(order, NoView()).allowed
    shutdown.request("test")
    decision = gate.check(order, NoView())
    assert (decision.allowed, decision.code) == (False, DRAINING)


def test_drain_cancels_open_orders_when_told_and_releases_the_leases() -> None:
    engine, released = FakeEngine("A1", "A2"), []

    def release() -> list[str]:
        released.append("sma")
        return ["sma"]

    report = drain(
        engine,
        cancel_open=True,
        deadline_monotonic=time.monotonic() + 5,
        release_leases=release,
        poll_every_s=0.001,
    )
    assert engine.cancelled == ["A1", "A2"]
    assert (report.cancels_sent, report.still_open, report.leases_released) == (2, (), ("sma",))


def test_drain_keeps_open_orders_when_told_to() -> None:
    engine = FakeEngine("A1")
    report = drain(
        engine,
        cancel_open=False,
        deadline_monotonic=time.monotonic() + 5,
        release_leases=list,
    )
    assert engine.cancelled == []
    assert report.still_open == ("A1",)


def test_drain_ends_at_its_deadline_when_cancels_go_unanswered_and_still_releases() -> None:
    engine = FakeEngine("A1", deaf=True)
    start = time.monotonic()
    report = drain(
        engine,
        cancel_open=True,
        deadline_monotonic=start + 0.2,
        release_leases=lambda: ["x"],
        poll_every_s=0.01,
    )
    assert time.monotonic() - start < 2
    assert report.still_open == ("A1",)
    assert report.leases_released == ("x",)


def test_a_failing_release_does_not_stop_the_drain() -> None:
    def broken() -> list[str]:
        raise RuntimeError("database gone")

    report = drain(
        FakeEngine(),
        cancel_open=True,
        deadline_monotonic=time.monotonic() + 1,
        release_leases=broken,
    )
    assert report.leases_released == ()
