"""An engine with a risk manager on a fake broker, for the risk tests: the test plays the venue
(accept, fill, reject) and the market (ticks), and reads the engine's books and the alerts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from algo_trading.domain import OrderEvent, OrderSide, OrderStatus, OrderType, ProductType, Tick
from algo_trading.domain.ids import ClientOrderId, InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType, equity
from algo_trading.domain.orders import OrderIntent
from algo_trading.engine import ChargesModel, SimulatedClock, TradingEngine
from algo_trading.engine.risk import RiskLimits, RiskManager
from tests.support.alerts import RecordingNotifier
from tests.support.builders import ist_ns
from tests.support.fakes import FakeBroker

DAY = "2024-01-02"  # a Tuesday
CASH = 10_00_000_00  # ₹10 lakh
SBIN, INFY = "SBIN-EQ", "INFY-EQ"
FUT = "NIFTY24JANFUT"
NIFTY = "NIFTY"
INSTRUMENTS = [
    equity(SBIN, "3045"),
    equity(INFY, "1594"),
    Instrument(FUT, Exchange.NFO, InstrumentToken("1"), InstrumentType.FUTURE, 10, lot_size=25),
    Instrument(NIFTY, Exchange.NSE, InstrumentToken("2"), InstrumentType.INDEX, 0),
]
_trades = itertools.count(1)


@dataclass
class RiskRig:
    engine: TradingEngine
    broker: FakeBroker
    clock: SimulatedClock
    manager: RiskManager
    notifier: RecordingNotifier
    strategy: str = "alpha"
    sent: list[ClientOrderId] = field(default_factory=list)

    # --- the strategy's side ---
    def order(
        self,
        side: OrderSide = OrderSide.BUY,
        quantity: int = 10,
        price_paise: int | None = None,
        *,
        symbol: str = SBIN,
        strategy: str | None = None,
        product: ProductType = ProductType.INTRADAY,
        trigger_paise: int | None = None,
    ) -> ClientOrderId:
        if trigger_paise is not None:
            otype = OrderType.STOPLOSS_LIMIT if price_paise else OrderType.STOPLOSS_MARKET
        else:
            otype = OrderType.LIMIT if price_paise is not None else OrderType.MARKET
        intent = OrderIntent(
            strategy or self.strategy,
            symbol,
            side,
            quantity,
            otype,
            price_paise,
            trigger_paise,
            product,
        )
        coid = self.engine.submit(intent)
        self.sent.append(coid)
        return coid

    def code(self, coid: ClientOrderId) -> str:
        """The stable code an order was refused with; "" when it was not refused."""
        o = self.engine.orders.orders[coid]
        return o.reason.partition(":")[0] if o.status is OrderStatus.REJECTED else ""

    def status(self, coid: ClientOrderId) -> OrderStatus:
        return self.engine.orders.orders[coid].status

    # --- the venue's and the market's side ---
    def at(self, hhmm: str, day: str = DAY) -> None:
        self.clock.set(ist_ns(day, hhmm))

    def tick(self, price_paise: int, symbol: str = SBIN) -> None:
        """A trade a second after the clock: later than the risk checks' round."""
        self.clock.set(self.clock.now_ns() + 10**9)
        self.engine.on_tick(Tick(symbol, self.clock.now_ns(), price_paise))

    def fill(self, coid: ClientOrderId, price_paise: int, quantity: int | None = None) -> None:
        o = self.engine.orders.orders[coid]
        if o.status is OrderStatus.SUBMITTED:
            self.broker.accept(coid, ts_ns=self.clock.now_ns())
        self.broker.fill(
            coid,
            o.remaining if quantity is None else quantity,
            price_paise,
            trade_id=f"T{next(_trades)}",
            ts_ns=self.clock.now_ns(),
        )
        self.engine.drain()

    def reject(self, coid: ClientOrderId) -> None:
        self.broker.event(coid, OrderEvent.REJECT, reason="RMS: rejected")
        self.engine.drain()

    def position(self, symbol: str = SBIN, strategy: str | None = None) -> int:
        if strategy is None:
            return self.engine.position_quantity(symbol)
        return self.engine.portfolio.net_of(strategy).get(symbol, 0)

    def submitted_for(self, strategy: str) -> list[tuple[str, str, int, str]]:
        """(side, symbol, quantity, type) of each order the broker got from `strategy`."""
        return [
            (o.side.value, o.symbol, o.quantity, o.order_type.value)
            for o in self.broker.submitted
            if o.strategy_id == strategy
        ]


def risk_rig(
    account: RiskLimits | None = None,
    strategies: dict[str, RiskLimits] | None = None,
    *,
    hhmm: str = "10:00",
    charges: ChargesModel | None = None,
    **manager_kwargs: object,
) -> RiskRig:
    clock = SimulatedClock(ist_ns(DAY, hhmm))
    broker = FakeBroker()
    notifier = RecordingNotifier()
    manager = RiskManager(account, strategies, **manager_kwargs)  # type: ignore[arg-type]
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=CASH,
        instruments=INSTRUMENTS,
        risk_manager=manager,
        notifier=notifier,
        charges=charges,
    )
    engine.start()
    return RiskRig(engine, broker, clock, manager, notifier)
