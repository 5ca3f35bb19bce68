"""The Strategy base class: hooks the engine calls, and helpers to ask for orders.

A strategy never knows which mode it runs in. Prices it sees and gives are integer paise
(`bar.close`, `limit_paise=`); quantities are units (a multiple of the lot size in F&O).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, TypeVar

from algo_trading.domain.errors import ConfigError, OrderError
from algo_trading.domain.events import Bar, Tick
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    ProductType,
    Validity,
    new_intent,
)
from algo_trading.strategy.context import StrategyContext
from algo_trading.strategy.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    VWAP,
    Bollinger,
    CrossOver,
    Exact,
    Indicator,
    Supertrend,
)
from algo_trading.strategy.params import NoParams

__all__ = ["Strategy"]

# Enum members read once: `OrderSide.BUY` in a function is a lookup through the enum's
# metaclass each time (about ten times a global's cost), on every order.
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL
_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT
_SL_MARKET, _SL_LIMIT = OrderType.STOPLOSS_MARKET, OrderType.STOPLOSS_LIMIT
_DAY = Validity.DAY

IndicatorT = TypeVar("IndicatorT", bound=Indicator)


class Strategy:
    """Subclass it, set `name` and `Params`, and override the hooks you need.

    Hooks: on_start, on_bar, on_tick, on_order_update, on_fill, on_stop. Indicators made with
    the helpers (`self.sma(20)`) are updated before `on_bar` for their symbol.
    """

    name: ClassVar[str] = "strategy"
    Params: ClassVar[type[Any]] = NoParams

    def __init__(
        self,
        params: Any = None,
        *,
        symbols: tuple[str, ...] = (),
        quantity: int = 1,
        product: ProductType | None = None,
        strategy_id: str | None = None,
    ) -> None:
        if quantity <= 0:
            raise ConfigError(f"strategy {self.name}: quantity {quantity} must be positive")
        self.params = params if params is not None else self.Params()
        self.symbols = tuple(symbols)
        self.quantity = quantity
        self.product = product if product is not None else self.default_product()
        self.strategy_id = strategy_id or self.name
        self._ctx: StrategyContext | None = None
        # symbol -> bound on_bar methods of that symbol's indicators, in creation order
        self.indicator_updates: dict[str, list[Callable[[Bar], None]]] = {}

    def default_product(self) -> ProductType:
        """The product orders use unless told otherwise: DELIVERY (CNC, may be held overnight,
        never short) here; intraday strategies, and any that sell short, answer INTRADAY (MIS,
        squared off at the broker's cut-off)."""
        allow_short = getattr(self.params, "allow_short", False)
        return ProductType.INTRADAY if allow_short else ProductType.DELIVERY

    # --- wiring -------------------------------------------------------------------------
    def bind(self, ctx: StrategyContext) -> None:
        """Called once by the engine before on_start."""
        self._ctx = ctx

    @property
    def ctx(self) -> StrategyContext:
        if self._ctx is None:
            raise ConfigError(f"strategy {self.name}: not attached to an engine yet")
        return self._ctx

    @property
    def symbol(self) -> str:
        """The first (often the only) symbol this strategy trades."""
        if not self.symbols:
            raise ConfigError(f"strategy {self.name}: no symbol to trade")
        return self.symbols[0]

    # --- hooks --------------------------------------------------------------------------
    def on_start(self) -> None:
        """Before the first event: create indicators and state here."""

    def on_bar(self, bar: Bar) -> None:
        """A bar of one of `symbols` closed."""

    def on_tick(self, tick: Tick) -> None:
        """A trade print or quote for one of `symbols` (paper and live)."""

    def on_order_update(self, order: OrderSnapshot) -> None:
        """One of this strategy's orders changed state."""

    def on_fill(self, fill: Fill) -> None:
        """One of this strategy's orders was (partly) filled."""

    def on_stop(self) -> None:
        """After the last event."""

    def bar_calls(self, symbol: str) -> tuple[Callable[[Bar], None], ...]:
        """What the engine calls, in this order, for each bar of `symbol`: the indicators'
        updates, then `on_bar`. Asked once, when the engine starts. The default is right for
        every strategy; one may answer with a function that does the same work in fewer
        Python calls (the SMA crossover does: a backtest calls it a million times)."""
        return (*self.indicator_updates.get(symbol, ()), self.on_bar)

    # --- indicators ---------------------------------------------------------------------
    def indicator(self, ind: IndicatorT, symbol: str | None = None) -> IndicatorT:
        """Register an indicator to be updated with each bar of `symbol`."""
        self.indicator_updates.setdefault(symbol or self.symbol, []).append(ind.on_bar)
        return ind

    def sma(self, period: int, symbol: str | None = None, source: str = "close") -> SMA:
        return self.indicator(SMA(period, source), symbol)

    def ema(self, period: int, symbol: str | None = None, source: str = "close") -> EMA:
        return self.indicator(EMA(period, source), symbol)

    def rsi(self, period: int = 14, symbol: str | None = None) -> RSI:
        return self.indicator(RSI(period), symbol)

    def atr(self, period: int = 14, symbol: str | None = None) -> ATR:
        return self.indicator(ATR(period), symbol)

    def vwap(self, symbol: str | None = None) -> VWAP:
        return self.indicator(VWAP(), symbol)

    def bollinger(
        self, period: int = 20, k: int | str | Decimal | Fraction = 2, symbol: str | None = None
    ) -> Bollinger:
        return self.indicator(Bollinger(period, k), symbol)

    def supertrend(
        self,
        period: int = 10,
        multiplier: int | str | Decimal | Fraction = 3,
        symbol: str | None = None,
    ) -> Supertrend:
        return self.indicator(Supertrend(period, multiplier), symbol)

    def crossover(self, a: Exact, b: Exact, symbol: str | None = None) -> CrossOver:
        return self.indicator(CrossOver(a, b), symbol)

    # --- portfolio ----------------------------------------------------------------------
    def position(self, symbol: str | None = None) -> int:
        """This strategy's net quantity over its products (negative when short)."""
        return self.ctx.position_quantity(symbol or self.symbol)

    def open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        ctx = self._ctx  # `ctx` inlined where set (target_position asks this on every order)
        if ctx is None:
            ctx = self.ctx  # raises, naming the strategy
        return ctx.open_orders(symbol)

    # --- orders -------------------------------------------------------------------------
    def buy(
        self,
        quantity: int | None = None,
        symbol: str | None = None,
        *,
        limit_paise: int | None = None,
        stop_paise: int | None = None,
        product: ProductType | None = None,
        validity: Validity = Validity.DAY,
    ) -> ClientOrderId:
        """Buy `quantity` (default: the strategy's quantity). `limit_paise` makes it a limit
        order, `stop_paise` a stop-loss (market, or limit if both are given)."""
        return self._order(_BUY, quantity, symbol, limit_paise, stop_paise, product, validity)

    def sell(
        self,
        quantity: int | None = None,
        symbol: str | None = None,
        *,
        limit_paise: int | None = None,
        stop_paise: int | None = None,
        product: ProductType | None = None,
        validity: Validity = Validity.DAY,
    ) -> ClientOrderId:
        return self._order(_SELL, quantity, symbol, limit_paise, stop_paise, product, validity)

    def close(
        self, symbol: str | None = None, product: ProductType | None = None
    ) -> ClientOrderId | None:
        """Flatten one book (`symbol` under the strategy's product by default) at market:
        its resting orders (protective stops, limits) are cancelled first, since either
        could change its exposure after it is flat. None when nothing needs sending."""
        sym = symbol or self.symbol
        book = product or self.product
        for o in self.open_orders(sym):
            if o.product is book and o.order_type is not _MARKET:
                self.ctx.cancel_order(o.client_order_id)
        return self.target_position(0, sym, product=book)

    def target_position(
        self, quantity: int, symbol: str | None = None, *, product: ProductType | None = None
    ) -> ClientOrderId | None:
        """Send the market order that brings one book (`symbol` under the strategy's
        product by default), counting the working orders that would change its exposure,
        to `quantity` (negative for short). Stops wait for a trigger and orders being
        cancelled are on their way out, so neither counts. None when nothing needs doing."""
        sym = symbol or self.symbol
        book = product or self.product
        working = self.open_orders(sym)
        pending = (
            sum(
                (o.remaining if o.side is _BUY else -o.remaining)
                for o in working
                if o.product is book and _changes_exposure(o)
            )
            if working
            else 0  # the common case: no generator to make
        )
        ctx = self._ctx  # `ctx` inlined where set (every order of a backtest comes here)
        if ctx is None:
            ctx = self.ctx  # raises, naming the strategy
        delta = quantity - ctx.book_quantity(sym, book) - pending
        if delta == 0:
            return None
        side = _BUY if delta > 0 else _SELL
        return self._order(side, abs(delta), sym, None, None, book, _DAY)

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.ctx.cancel_order(client_order_id)

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        limit_paise: int | None = None,
        stop_paise: int | None = None,
    ) -> str:
        """Ask for new terms for a working order; "" when asked, else why not (a code)."""
        if isinstance(limit_paise, float) or isinstance(stop_paise, float):
            raise OrderError(f"strategy {self.name}: prices are integer paise, not floats")
        return self.ctx.modify_order(
            client_order_id,
            quantity=quantity,
            price_paise=limit_paise,
            trigger_price_paise=stop_paise,
        )

    def _order(
        self,
        side: OrderSide,
        quantity: int | None,
        symbol: str | None,
        limit_paise: int | None,
        stop_paise: int | None,
        product: ProductType | None,
        validity: Validity,
    ) -> ClientOrderId:
        qty = self.quantity if quantity is None else quantity
        if isinstance(limit_paise, float) or isinstance(stop_paise, float):
            raise OrderError(f"strategy {self.name}: prices are integer paise, not floats")
        if stop_paise is not None:
            order_type = _SL_MARKET if limit_paise is None else _SL_LIMIT
        else:
            order_type = _MARKET if limit_paise is None else _LIMIT
        ctx = self._ctx  # `ctx` inlined where set
        if ctx is None:
            ctx = self.ctx  # raises, naming the strategy
        return ctx.submit_order(
            new_intent(
                self.strategy_id,
                symbol or self.symbol,
                side,
                qty,
                order_type,
                limit_paise,
                stop_paise,
                product or self.product,
                validity,
            )
        )


_STOPS = (OrderType.STOPLOSS_MARKET, OrderType.STOPLOSS_LIMIT)
_TRIGGERED = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL


def _changes_exposure(order: OrderSnapshot) -> bool:
    """Whether a working order may move its book without a trigger or a new request."""
    if order.status is _PENDING_CANCEL:
        return False
    if order.order_type in _STOPS:  # only once triggered (then it rests or fills as any)
        return order.status in _TRIGGERED
    return True
