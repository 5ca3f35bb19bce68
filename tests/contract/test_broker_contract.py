"""The Broker port (engine/ports.py), one suite for every broker: the backtest's in-process
SimulatedBroker, fed ticks, and AngelOneBroker over real HTTP to the Angel One simulator, made
to trade with `force_trade`. FakeBroker, whose venue is the test itself, joins only what needs
no venue: calls the engine may make in any order never raise.

Each broker comes with a small venue driver: where the market is, how to make it trade at a
price, and how to let the broker catch up. The Angel One side runs on a virtual clock shared
by the simulator and the adapter: the adapter's rate-limit waits move that clock instead of
sleeping, so the one-call-a-second books cost no real time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    ROUTE_LIMITS,
    AngelOneConfig,
    AngelOneCredentials,
)
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.domain import (
    Bar,
    ClientOrderId,
    ExecutionReport,
    Order,
    OrderEvent,
    OrderSide,
    OrderSnapshot,
    OrderType,
    ProductType,
    StrategyId,
)
from algo_trading.domain.events import IST
from algo_trading.domain.instruments import Instrument, equity
from algo_trading.engine import Broker, SimulatedClock
from algo_trading.market.audit import order_tag
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.server import SimulatorServer
from algo_trading.simulator.testing import running_simulator
from tests.support.fakes import FakeBroker

SYMBOL = "SBIN-EQ"
NS = 1_000_000_000
START = dt.datetime(2025, 3, 4, 10, 0, tzinfo=IST)  # a Tuesday, NSE open
FILLS = (OrderEvent.FILL, OrderEvent.PARTIAL_FILL)
ENDS = (OrderEvent.FILL, OrderEvent.CANCEL, OrderEvent.REJECT, OrderEvent.EXPIRE)
_RUN = uuid.uuid4().hex[:4]
_ids = itertools.count(1)


class Sink:
    """The engine's side of the port: every report, in order."""

    def __init__(self) -> None:
        self.reports: list[ExecutionReport] = []

    def __call__(self, report: ExecutionReport) -> None:
        self.reports.append(report)

    def of(self, coid: str) -> list[ExecutionReport]:
        return [r for r in self.reports if r.client_order_id == coid]

    def events(self, coid: str) -> list[OrderEvent]:
        return [r.event for r in self.of(coid)]

    def fills(self, coid: str) -> list[ExecutionReport]:
        return [r for r in self.of(coid) if r.event in FILLS]

    def filled(self, coid: str) -> int:
        return sum(r.fill_quantity for r in self.fills(coid))


class Venue(Protocol):
    """How a test plays the market behind one broker."""

    sink: Sink
    tick_paise: int

    @property
    def broker(self) -> Broker: ...

    def market_paise(self) -> int:
        """Where the market trades now."""
        ...

    def trade_at(self, price_paise: int, quantity: int) -> None:
        """Make the market trade `quantity` at `price_paise`, and let the broker see it."""
        ...

    def settle(self) -> None:
        """Let the broker catch up on what the venue did (a poll, or nothing in-process)."""
        ...

    def place_elsewhere(self) -> None:
        """Put an order that is not this broker's at the same venue and account, if the
        venue has other clients."""
        ...


# --- the in-process simulated broker ------------------------------------------------------


class SimulatedVenue:
    """SimulatedBroker fed one tick per trade (a bar with open = high = low = close)."""

    tick_paise = 5

    def __init__(self) -> None:
        self._clock = SimulatedClock(int(START.timestamp()) * NS)
        self._last = 80_000
        inst = equity(SYMBOL, tick_size_paise=self.tick_paise)
        self.broker: SimulatedBroker = SimulatedBroker(
            self._clock, lambda _symbol: inst, max_volume_pct=100
        )
        self.sink = Sink()
        self.broker.connect(self.sink)

    def market_paise(self) -> int:
        return self._last

    def trade_at(self, price_paise: int, quantity: int) -> None:
        self._clock.set(self._clock.now_ns() + NS)
        ts = self._clock.now_ns()
        self._last = price_paise
        self.broker.on_bar(
            Bar(SYMBOL, ts, price_paise, price_paise, price_paise, price_paise, quantity)
        )

    def settle(self) -> None:
        """Everything is reported during submit, cancel and on_bar."""

    def place_elsewhere(self) -> None:
        """An in-process venue has one client: this broker."""


# --- Angel One over the simulator --------------------------------------------------------


class VirtualClock:
    """Epoch nanoseconds that move only when something waits: the simulator reads it, the
    adapter paces its calls by it, and its `sleep` moves it instead of blocking."""

    def __init__(self, start: dt.datetime) -> None:
        self._ns = int(start.timestamp()) * NS
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._ns

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._ns += max(0, int(seconds * NS))


class AngelOneVenue:
    """AngelOneBroker on the simulator's account; trades forced at a price, then a poll."""

    def __init__(
        self,
        server: SimulatorServer,
        session: AngelOneSession,
        inst: Instrument,
        clock: VirtualClock,
    ) -> None:
        self._server = server
        self._session = session
        self._inst = inst
        self._clock = clock
        self.tick_paise = inst.tick_size_paise
        self.sink = Sink()
        self.broker = self._new_broker(self.sink)

    def _new_broker(self, sink: Sink) -> AngelOneBroker:
        broker = AngelOneBroker(
            self._session,
            lambda _symbol: self._inst,
            self._clock,
            sleep=self._clock.sleep,
        )
        broker.connect(sink)
        return broker

    def market_paise(self) -> int:
        inst = self._inst
        quote = AngelOneMarketData(self._session).ltp(inst.exchange.value, SYMBOL, str(inst.token))
        return int(quote.ltp_paise)

    def trade_at(self, price_paise: int, quantity: int) -> None:
        self._server.force_trade(SYMBOL, price_paise, quantity)
        self.broker.poll()

    def settle(self) -> None:
        self.broker.poll()

    def place_elsewhere(self) -> None:
        """Another copy of the trading service on the same account places its own order."""
        self._new_broker(Sink()).submit(_order(OrderType.MARKET, quantity=1))


class FakeVenue:
    """FakeBroker: the test is its venue, so nothing trades and nothing is reported."""

    tick_paise = 5

    def __init__(self) -> None:
        self.broker = FakeBroker()
        self.sink = Sink()
        self.broker.connect(self.sink)

    def market_paise(self) -> int:
        return 80_000

    def trade_at(self, price_paise: int, quantity: int) -> None:
        """No venue behind the fake."""

    def settle(self) -> None:
        """No venue behind the fake."""

    def place_elsewhere(self) -> None:
        """No venue behind the fake."""


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def angel_world() -> Iterator[tuple[SimulatorServer, AngelOneSession, Instrument, VirtualClock]]:
    """One simulator and one logged-in session for the module; each test gets its own
    broker, and the account's books keep every earlier test's orders (other people's)."""
    clock = VirtualClock(START)
    config = SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=None)
    with running_simulator(config) as server:
        adapter = AngelOneConfig(
            rest_base_url=server.base_url,
            feed_ws_url=server.ws_url,
            order_ws_url=server.order_ws_url,
            instrument_master_url=f"{server.base_url}/OpenAPI_File/files/OpenAPIScripMaster.json",
            retry_initial_s=0.02,
            retry_max_s=0.2,
            rate_limits=dict(ROUTE_LIMITS),  # Angel One's own limits, paced on virtual time
        )
        with AngelOneHttp(adapter, monotonic_ns=clock.now_ns, sleep=clock.sleep) as http:
            creds = AngelOneCredentials(
                api_key=config.api_key,
                client_code=config.client_code,
                mpin=config.mpin,
                totp_secret=config.totp_secret,
            )
            session = AngelOneSession(http, creds, clock)
            master: InstrumentMaster = parse_scrip_master_bytes(download_scrip_master(http))
            yield server, session, master.by_symbol(SYMBOL), clock


def _simulated(_request: pytest.FixtureRequest) -> Venue:
    return SimulatedVenue()


def _angelone(request: pytest.FixtureRequest) -> Venue:
    return AngelOneVenue(*request.getfixturevalue("angel_world"))


def _fake(_request: pytest.FixtureRequest) -> Venue:
    return FakeVenue()


VENUES: dict[str, Callable[[pytest.FixtureRequest], Venue]] = {
    "simulated": _simulated,
    "angelone": _angelone,
}


@pytest.fixture(params=list(VENUES))
def venue(request: pytest.FixtureRequest) -> Venue:
    """A broker with a venue that matches orders by itself."""
    return VENUES[request.param](request)


@pytest.fixture(params=[*VENUES, "fake"])
def any_venue(request: pytest.FixtureRequest) -> Venue:
    return {**VENUES, "fake": _fake}[request.param](request)


# --- helpers -------------------------------------------------------------------------------


def _order(
    order_type: OrderType,
    *,
    quantity: int,
    price_paise: int | None = None,
    side: OrderSide = OrderSide.BUY,
) -> OrderSnapshot:
    """An order as the engine hands it to `submit`: SUBMITTED, tagged, with a fresh id."""
    coid = ClientOrderId(f"K{_RUN}{next(_ids):04d}")
    order = Order(
        coid,
        StrategyId("contract"),
        SYMBOL,
        side,
        quantity,
        order_type,
        price_paise,
        None,
        ProductType.INTRADAY,
    )
    order.tag = order_tag(order.strategy_id, coid)
    order.apply(OrderEvent.SUBMIT, 0)
    return order.snapshot()


def _away(venue: Venue) -> int:
    """A buy limit on the tick, 20 ticks below the market: nothing at the market fills it."""
    market = venue.market_paise()
    return market - market % venue.tick_paise - 20 * venue.tick_paise


def _until(venue: Venue, condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Let the broker catch up until `condition` holds; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; reports: {venue.sink.reports}")
        venue.settle()


def _fill_completely(venue: Venue, order: OrderSnapshot) -> None:
    coid = order.client_order_id

    def filled() -> bool:
        if venue.sink.filled(coid) < order.quantity:
            venue.trade_at(venue.market_paise(), 500)
        return venue.sink.filled(coid) >= order.quantity

    _until(venue, filled, f"{coid} to fill")


def _named(venue: Venue) -> set[str]:
    """Every client order id the broker's reports have named."""
    return {r.client_order_id for r in venue.sink.reports}


# --- the contract --------------------------------------------------------------------------


def test_a_market_order_is_acknowledged_then_filled_in_reports_summing_to_its_quantity(
    venue: Venue,
) -> None:
    order = _order(OrderType.MARKET, quantity=5)
    coid = order.client_order_id
    venue.broker.submit(order)
    _until(venue, lambda: OrderEvent.ACCEPT in venue.sink.events(coid), "the acknowledgement")
    (ack,) = [r for r in venue.sink.of(coid) if r.event is OrderEvent.ACCEPT]
    assert ack.broker_order_id

    price = venue.market_paise()
    venue.trade_at(price, 3)  # only 3 change hands: at most 3 can be filled
    _until(venue, lambda: venue.sink.filled(coid) == 3, "the first 3 to fill")
    venue.trade_at(price, 500)
    _until(venue, lambda: venue.sink.filled(coid) == 5, "the rest to fill")

    fills = venue.sink.fills(coid)
    assert [r.fill_quantity for r in fills] == [3, 2]
    assert {r.fill_price_paise for r in fills} == {price}
    assert price % venue.tick_paise == 0
    assert venue.sink.events(coid)[0] is OrderEvent.ACCEPT
    assert venue.sink.events(coid).count(OrderEvent.ACCEPT) == 1


def test_no_fill_is_reported_twice_however_often_the_broker_looks(venue: Venue) -> None:
    order = _order(OrderType.MARKET, quantity=4)
    venue.broker.submit(order)
    _fill_completely(venue, order)
    before = list(venue.sink.of(order.client_order_id))

    for _ in range(3):
        venue.settle()
    venue.trade_at(venue.market_paise(), 500)

    assert venue.sink.of(order.client_order_id) == before
    trade_ids = [r.trade_id for r in venue.sink.fills(order.client_order_id)]
    assert all(trade_ids)
    assert len(set(trade_ids)) == len(trade_ids)
    assert venue.sink.filled(order.client_order_id) == 4


def test_a_limit_order_away_from_the_market_rests_until_cancelled_once_and_never_fills_after(
    venue: Venue,
) -> None:
    price = _away(venue)
    order = _order(OrderType.LIMIT, quantity=2, price_paise=price)
    coid = order.client_order_id
    venue.broker.submit(order)
    venue.trade_at(venue.market_paise(), 500)  # above a buy limit: no fill
    venue.settle()
    assert venue.sink.events(coid) == [OrderEvent.ACCEPT]

    venue.broker.cancel(coid)
    _until(venue, lambda: OrderEvent.CANCEL in venue.sink.events(coid), "the cancel")
    venue.broker.cancel(coid)  # a second cancel of a finished order: nothing new
    venue.trade_at(price - venue.tick_paise, 500)  # through the old limit
    venue.settle()

    assert venue.sink.events(coid) == [OrderEvent.ACCEPT, OrderEvent.CANCEL]


def test_cancelling_twice_or_cancelling_an_unknown_order_is_harmless(any_venue: Venue) -> None:
    order = _order(OrderType.LIMIT, quantity=1, price_paise=_away(any_venue))
    coid = order.client_order_id
    any_venue.broker.submit(order)
    any_venue.broker.cancel(coid)
    any_venue.broker.cancel(coid)
    any_venue.broker.cancel(ClientOrderId(f"NEVER{_RUN}"))
    any_venue.settle()

    assert _named(any_venue) <= {coid}
    assert any_venue.sink.events(coid).count(OrderEvent.CANCEL) <= 1
    assert OrderEvent.FILL not in any_venue.sink.events(coid)


def test_an_off_tick_limit_price_is_a_reject_report_never_an_exception(venue: Venue) -> None:
    assert venue.tick_paise > 1
    order = _order(OrderType.LIMIT, quantity=1, price_paise=_away(venue) + 1)
    coid = order.client_order_id
    venue.broker.submit(order)
    _until(venue, lambda: any(e in ENDS for e in venue.sink.events(coid)), "an answer")
    venue.trade_at(_away(venue), 500)  # the nearest tick below trades: still nothing
    venue.settle()

    *_, last = venue.sink.of(coid)
    assert last.event is OrderEvent.REJECT
    assert last.reason
    assert not venue.sink.fills(coid)
    assert venue.sink.events(coid).count(OrderEvent.REJECT) == 1


def test_every_report_names_an_order_this_broker_was_given(venue: Venue) -> None:
    venue.place_elsewhere()
    market = _order(OrderType.MARKET, quantity=1)
    resting = _order(OrderType.LIMIT, quantity=1, price_paise=_away(venue))
    venue.broker.submit(market)
    venue.broker.submit(resting)
    _fill_completely(venue, market)
    venue.broker.cancel(resting.client_order_id)
    venue.settle()

    ours = {market.client_order_id, resting.client_order_id}
    assert _named(venue) == ours
    assert venue.sink.events(market.client_order_id)[-1] in FILLS
    assert venue.sink.events(resting.client_order_id)[-1] is OrderEvent.CANCEL
