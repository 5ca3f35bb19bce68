"""The trading loop on fakes: a feed the test feeds, a clock and a monotonic clock it moves, the
engine with a fake broker. Each test drives `turn()` by hand; nothing sleeps."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping

import pytest

from algo_trading.adapters.brokers.angelone.errors import LoginError, SessionExpiredError
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, Bar
from algo_trading.domain.instruments import equity
from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType
from algo_trading.engine import TradingEngine
from algo_trading.engine.risk import NoDeliveryShort, RiskChain
from algo_trading.engine.squareoff import IntradaySquareOff
from algo_trading.services.trading.feed import MarketFeed
from algo_trading.services.trading.service import ServiceOptions, StrategyPlan, TradingService
from tests.support.alerts import RecordingNotifier
from tests.support.fakes import FakeBroker, RecordingStrategy

NS = 1_000_000_000
MIN = 60 * NS
OPEN = int(dt.datetime(2025, 11, 4, 9, 15, tzinfo=IST).timestamp()) * NS
CUTOFF = OPEN + 5 * 60 * MIN  # 14:15 in these tests
INST = equity("SBIN-EQ", token="3045")  # noqa: S106 - an instrument token, not a secret


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def now_ns(self) -> int:
        return self.ns


class Mono:
    def __init__(self) -> None:
        self.s = 1000.0

    def __call__(self) -> float:
        return self.s


class Source:
    def __init__(self, on_packet: Callable[[FeedPacket], None]) -> None:
        self.on_packet = on_packet
        self.subscribed: list[Mapping[int, list[str]]] = []
        self.closed = False

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        self.subscribed.append(tokens)

    def close(self) -> None:
        self.closed = True


class Link:
    def __init__(self) -> None:
        self.alerts: list[str] = []
        self.errors: list[object] = []
        self.polls = 0
        self.reconciles = 0

    def poll(self) -> None:
        self.polls += 1

    def reconcile(self) -> object:
        self.reconciles += 1
        return None


class Stream:
    def __init__(self) -> None:
        self.connected = threading.Event()

    def close(self, timeout_s: float = 10.0) -> None:
        self.connected.clear()


class Commands:
    def __init__(self) -> None:
        self.polls = 0

    def poll_once(self) -> object:
        self.polls += 1
        return None


class Rig:
    """One service on fakes, with handles on every fake."""

    def __init__(self, *, act: Callable[[RecordingStrategy, Bar], object] | None = None) -> None:
        self.clock = Clock(OPEN - 10 * MIN)
        self.mono = Mono()
        self.sources: list[Source] = []
        self.broker = FakeBroker()
        self.link = Link()
        self.stream = Stream()
        self.commands = Commands()
        self.notifier = RecordingNotifier()
        self.open = False
        self.owned = True
        squareoff = IntradaySquareOff(lambda sym, day: CUTOFF, self.clock)
        self.engine = TradingEngine(
            self.clock,
            self.broker,
            starting_cash_paise=10**9,
            instruments=[INST],
            risk=RiskChain(NoDeliveryShort(), squareoff),
            raise_strategy_errors=False,
        )
        self.strategy = RecordingStrategy(symbols=("SBIN-EQ",), strategy_id="rec", act=act)
        self.engine.add_strategy(self.strategy)

        def connect(on_packet: Callable[[FeedPacket], None]) -> Source:
            source = Source(on_packet)
            self.sources.append(source)
            return source

        self.feed = MarketFeed(connect, [INST], monotonic=self.mono)
        self.service = TradingService(
            self.engine,
            plans=[StrategyPlan(self.strategy, 1, (INST,))],
            broker=self.link,
            feed=self.feed,
            clock=self.clock,
            market_open=lambda _ts: self.open,
            notifier=self.notifier,
            squareoff=squareoff,
            order_stream=self.stream,
            options=ServiceOptions(feed_stale_s=10, order_poll_s=2, reconcile_every_s=60),
            commands=self.commands,
            owns=lambda _sid: self.owned,
            warm_up=lambda inst, minutes: [
                (OPEN - (30 - i) * MIN, 100_00 + i, 100_00 + i, 100_00 + i, 100_00 + i, 10)
                for i in range(30)
            ],
            monotonic=self.mono,
        )

    def tick(self, price: int, at_ns: int | None = None) -> None:
        ts = self.clock.ns if at_ns is None else at_ns
        self.sources[-1].on_packet(FeedPacket(Mode.QUOTE, 1, "3045", 1, ts // 1_000_000, price))

    def minute(self, price: int = 100_00) -> None:
        """A tick now, then the clock and the monotonic clock one minute on, and a turn."""
        self.tick(price)
        self.service.turn()
        self.clock.ns += MIN
        self.mono.s += 1.0
        self.service.turn()

    def bars_seen(self) -> list[object]:
        return [at for hook, at in self.strategy.calls if hook == "on_bar"]


@pytest.fixture
def rig() -> Rig:
    r = Rig()
    r.service.start()
    return r


def test_start_subscribes_the_strategies_instruments_and_warms_the_indicators(rig: Rig) -> None:
    assert rig.sources[0].subscribed == [{1: ["3045"]}]
    assert rig.strategy.hooks() == ["on_start"]  # history reached no on_bar
    assert rig.service.started.is_set()


def test_before_the_open_bars_are_built_but_no_strategy_is_called(rig: Rig) -> None:
    rig.minute()
    assert rig.service.counters.bars == 1
    assert rig.bars_seen() == []


def test_when_the_market_is_open_each_closed_bar_reaches_on_bar(rig: Rig) -> None:
    rig.open = True
    rig.clock.ns = OPEN
    rig.minute()
    rig.minute()
    assert rig.bars_seen() == [OPEN, OPEN + MIN]


def test_a_paused_or_not_owned_strategy_is_not_called_and_resumes_after(rig: Rig) -> None:
    rig.open = True
    rig.clock.ns = OPEN
    rig.service.paused.add("rec")
    rig.minute()
    rig.service.paused.discard("rec")
    rig.owned = False
    rig.minute()
    rig.owned = True
    rig.minute()
    assert rig.bars_seen() == [OPEN + 2 * MIN]


def test_a_silent_feed_while_open_is_stale_alerted_resubscribed_and_holds_strategies(
    rig: Rig,
) -> None:
    rig.open = True
    rig.clock.ns = OPEN
    rig.service.turn()  # the market opens: silence counts from here
    rig.mono.s += 9.9
    rig.service.turn()
    assert rig.notifier.codes() == []
    rig.mono.s += 0.2
    rig.service.turn()
    assert rig.notifier.codes() == ["FEED_STALE"]
    assert len(rig.sources) == 2  # a fresh connection, subscribed again
    assert rig.sources[0].closed
    assert rig.sources[1].subscribed == [{1: ["3045"]}]
    assert not rig.service.may_trade("rec")
    rig.tick(100_00)
    rig.service.turn()
    assert rig.service.may_trade("rec")
    assert rig.notifier.codes() == ["FEED_STALE"]  # once per stale spell


def test_a_closed_market_is_not_stale(rig: Rig) -> None:
    rig.mono.s += 3600
    rig.service.turn()
    assert rig.notifier.codes() == []
    assert len(rig.sources) == 1


def test_intraday_books_are_squared_off_at_the_cut_off_and_not_reopened_after(rig: Rig) -> None:
    rig.open = True
    rig.clock.ns = OPEN
    order_id = rig.engine.submit(
        OrderIntent(
            "rec", "SBIN-EQ", OrderSide.BUY, 3, OrderType.MARKET, None, None, ProductType.INTRADAY
        )
    )
    rig.broker.accept(order_id, broker_order_id="B1")
    rig.broker.fill(order_id, 3, 100_00, trade_id="T1")
    rig.service.turn()
    assert rig.engine.book_quantity("rec", "SBIN-EQ", ProductType.INTRADAY) == 3
    rig.clock.ns = CUTOFF - 1
    rig.service.turn()
    assert len(rig.broker.submitted) == 1
    rig.clock.ns = CUTOFF
    rig.service.turn()
    closing = rig.broker.submitted[-1]
    assert (closing.side, closing.quantity) == (OrderSide.SELL, 3)
    rig.service.turn()
    assert len(rig.broker.submitted) == 2  # the square-off is working: nothing more is sent
    rig.broker.accept(closing.client_order_id, broker_order_id="B2")
    rig.broker.fill(closing.client_order_id, 3, 100_00, trade_id="T2")
    rig.service.turn()
    assert rig.engine.book_quantity("rec", "SBIN-EQ", ProductType.INTRADAY) == 0
    assert len(rig.broker.submitted) == 2


def test_a_book_an_in_flight_order_reopens_after_the_square_off_is_closed_again(
    rig: Rig,
) -> None:
    rig.open = True
    rig.clock.ns = CUTOFF - MIN
    buy = rig.engine.submit(
        OrderIntent(
            "rec", "SBIN-EQ", OrderSide.BUY, 2, OrderType.MARKET, None, None, ProductType.INTRADAY
        )
    )
    rig.broker.accept(buy, broker_order_id="B1")
    rig.service.turn()
    rig.clock.ns = CUTOFF
    rig.service.turn()  # the square-off cancels the working buy; the book is flat
    assert rig.broker.cancelled == [buy]
    assert len(rig.broker.submitted) == 1
    rig.broker.fill(buy, 2, 100_00, trade_id="T1")  # the venue filled it before the cancel
    rig.service.turn()
    closing = rig.broker.submitted[-1]
    assert (closing.side, closing.quantity) == (OrderSide.SELL, 2)
    rig.service.turn()
    assert len(rig.broker.submitted) == 2  # once: the closing order is working


def test_the_order_book_is_polled_only_while_the_order_stream_is_down(rig: Rig) -> None:
    rig.mono.s += 2.0
    rig.service.turn()
    assert rig.link.polls == 1
    rig.stream.connected.set()
    rig.mono.s += 10.0
    rig.service.turn()
    assert rig.link.polls == 1


def test_reconciliation_runs_every_minute_and_its_findings_are_alerted(rig: Rig) -> None:
    rig.mono.s += 59.0
    rig.service.turn()
    assert rig.link.reconciles == 0
    rig.link.alerts.append("order X: two broker orders carry its tag")
    rig.mono.s += 1.0
    rig.service.turn()
    assert rig.link.reconciles == 1
    assert rig.notifier.codes() == ["RECONCILIATION_DIFF"]
    rig.service.turn()
    assert rig.notifier.codes() == ["RECONCILIATION_DIFF"]  # each finding once


def test_a_login_that_fails_while_trading_is_a_session_expired_alert(rig: Rig) -> None:
    rig.link.errors.append(SessionExpiredError("expired", code="AG8001", route="r"))
    rig.service.turn()
    assert rig.notifier.codes() == []  # re-login fixes an expired session by itself
    rig.link.errors.append(LoginError("refused", code="AB1050", route="login"))
    rig.service.turn()
    rig.service.turn()
    assert rig.notifier.codes() == ["SESSION_EXPIRED"]


def test_a_periodic_hook_runs_on_its_cadence_and_its_failure_does_not_stop_the_loop(
    rig: Rig,
) -> None:
    seen: list[int] = []

    def renew(now_ns: int) -> None:
        seen.append(now_ns)
        raise RuntimeError("the lease table is gone")

    rig.service.add_periodic(5.0, renew, "renew")
    rig.service.turn()
    rig.mono.s += 4.0
    rig.service.turn()
    rig.mono.s += 1.0
    rig.service.turn()
    assert seen == [rig.clock.ns, rig.clock.ns]
    with pytest.raises(ValueError, match="positive"):
        rig.service.add_periodic(0, renew)


def test_the_command_processor_is_asked_on_its_cadence(rig: Rig) -> None:
    for _ in range(3):
        rig.mono.s += 0.25
        rig.service.turn()
    assert rig.commands.polls == 3


def test_drain_stops_new_orders_and_stop_from_another_thread_ends_run() -> None:
    r = Rig()
    r.open = True
    r.clock.ns = OPEN
    runner = threading.Thread(target=r.service.run)
    runner.start()
    assert r.service.started.wait(10)
    r.service.stop()
    runner.join(10)
    assert not runner.is_alive()
    assert r.service.draining
    assert not r.service.may_trade("rec")
    assert r.sources[-1].closed
    assert r.strategy.hooks()[-1] == "on_stop"


def test_two_strategies_on_one_symbol_with_different_intervals_are_refused() -> None:
    r = Rig()
    other = RecordingStrategy(symbols=("SBIN-EQ",), strategy_id="other")
    with pytest.raises(ConfigError, match="different intervals"):
        TradingService(
            r.engine,
            plans=[StrategyPlan(r.strategy, 1, (INST,)), StrategyPlan(other, 5, (INST,))],
            broker=r.link,
            feed=r.feed,
            clock=r.clock,
            market_open=lambda _ts: True,
            notifier=r.notifier,
        )


def test_a_periodic_hook_given_before_the_start_first_runs_one_period_after_it() -> None:
    # The start-up recovery has just read the broker's books and taken the leases: a
    # reconciliation pass at the first turn read the rate-limited order book again and held
    # the first order back by a second at every restart.
    r = Rig()
    seen: list[float] = []
    r.service.add_periodic(60.0, lambda _now: seen.append(r.mono.s), "reconcile")
    r.service.start()
    r.service.turn()
    r.mono.s += 59.0
    r.service.turn()
    assert seen == []
    r.mono.s += 1.0
    r.service.turn()
    assert seen == [r.mono.s]
