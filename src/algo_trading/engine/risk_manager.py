"""The risk manager: every order checked before it goes, the books watched while they move
(issue #10 item 5). Each rule is configured per strategy and per account (`RiskLimits`); each
refusal and each breach carries a stable `RiskCode`, never an exception.

Before an order (`check`): a halted scope first, then the market's rules (tick, lot, the day's
band), then each scope's limits, the strategy's before the account's: trading window, price
distance from the last trade, order quantity and value, open orders, position per symbol in
units and value, gross exposure. An order that only reduces the scope's position is not held
to the window or the position limits (a stop-loss exit must not be trapped).

Continuously (`evaluate`, and `on_report` for each applied broker report): the day's loss and
the drawdown from the peak, per scope, and the breaker (N broker rejections within M minutes).
A breach halts its scope (no new orders) and asks, as `RiskAction`s, for what the engine then
does: cancel the scope's open orders and flatten it (loss and drawdown), alert, and for an
account breach whose code is in `kill_on`, the kill switch. A halt holds until the IST day ends
(daily loss) or a person resets it (`reset`); the breach it records never repeats its actions.

The day's loss of a strategy is its books' realized and unrealized P&L less its charges, against
the same at the start of the IST day; the account's is its equity against the day's start.

Across a restart (`scope_states`, `restore`, `on_change`): the day's baselines, the peaks and
the halts are kept by the service (services/risk_setup.py, the `risk_state` table); the
charges are counted again from the trades table. `on_change` is called whenever a halt is set
or lifted or a day starts, so the service writes those at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from algo_trading.domain.events import ist_day
from algo_trading.domain.fills import Fill
from algo_trading.domain.orders import Order, OrderSide, OrderStatus, ProductType
from algo_trading.engine.ports import (
    Alert,
    AlertCode,
    AlertSeverity,
    Clock,
    HaltRecord,
    ScopeState,
)
from algo_trading.engine.risk_rules import (
    Exposure,
    check_band,
    check_open_orders,
    check_order_size,
    check_position,
    check_price_distance,
    check_tick_and_lot,
    check_window,
    is_reducing,
    order_prices,
)
from algo_trading.engine.risk_types import (
    ALLOW,
    ExposureView,
    RiskAction,
    RiskActionKind,
    RiskCode,
    RiskDecision,
    RiskLimits,
    RiskView,
)
from algo_trading.market.prices import PriceBand

__all__ = ["DEFAULT_KILL_ON", "Halt", "RiskManager"]

Scope = str | None  # a strategy id, or None for the account

DEFAULT_KILL_ON = frozenset({RiskCode.DAILY_LOSS_LIMIT.value, RiskCode.MAX_DRAWDOWN.value})
"""Account breaches that trip the kill switch by default: the account losing money."""

_FLATTENING = frozenset({RiskCode.DAILY_LOSS_LIMIT.value, RiskCode.MAX_DRAWDOWN.value})
_NS_PER_MINUTE = 60 * 10**9
_NO_LIMITS = RiskLimits()


@dataclass(frozen=True, slots=True)
class Halt:
    """Why a scope takes no new orders, since when, and who or what said so."""

    code: str
    detail: str
    since_ns: int
    by: str = "risk"


def _name(scope: Scope) -> str:
    return "account" if scope is None else f"strategy {scope}"


class RiskManager:
    """Implements `RiskCheck` (pre-trade) and the continuous checks; its `check` and `evaluate`
    need an `ExposureView` (the `TradingEngine`)."""

    def __init__(
        self,
        account_limits: RiskLimits | None = None,
        strategy_limits: Mapping[str, RiskLimits] | None = None,
        *,
        account: str = "default",
        kill_on: Collection[str] = DEFAULT_KILL_ON,
        price_bands: Mapping[str, PriceBand] | None = None,
        evaluate_interval_ns: int = 200_000_000,
    ) -> None:
        self.account_limits = account_limits or _NO_LIMITS
        self.strategy_limits: dict[str, RiskLimits] = dict(strategy_limits or {})
        self.account = account
        self.kill_on = frozenset(str(c) for c in kill_on)
        self.price_bands: dict[str, PriceBand] = dict(price_bands or {})
        self.evaluate_interval_ns = evaluate_interval_ns
        # refusals by code since start (for metrics); halts by scope, then by code
        self.refusals: dict[str, int] = {}
        self._halts: dict[Scope, dict[str, Halt]] = {}
        self._day: int | None = None
        self._day_base: dict[Scope, int] = {}
        self._peak: dict[Scope, int] = {}
        self._charges: dict[str, int] = {}
        self._rejections: dict[Scope, list[int]] = {}
        self._pending: list[RiskAction] = []
        self._clock: Clock | None = None
        self.dirty = False  # a fill or rejection arrived since the last evaluate
        # called when a halt is set or lifted or a new day's baselines are taken (the service
        # writes the state down at once); never raises into the manager
        self.on_change: Callable[[], None] | None = None

    # --- configuration -------------------------------------------------------------------
    def limits_for(self, strategy_id: str) -> RiskLimits:
        return self.strategy_limits.get(strategy_id, _NO_LIMITS)

    def set_price_band(self, symbol: str, band: PriceBand | None) -> None:
        """The day's band of `symbol` (from the broker's quote, or `band_around` the previous
        close); None forgets it (no band check)."""
        if band is None:
            self.price_bands.pop(symbol, None)
        else:
            self.price_bands[symbol] = band

    # --- halts ---------------------------------------------------------------------------
    def halts(self) -> dict[str | None, list[Halt]]:
        """Every scope that takes no new orders now, and why."""
        return {scope: list(h.values()) for scope, h in self._halts.items() if h}

    def halted(self, strategy_id: str | None) -> Halt | None:
        """The first reason `strategy_id` (None: the account as a whole) may not trade."""
        found = self._halted(strategy_id)
        return None if found is None else found[1]

    def _halted(self, strategy_id: str | None) -> tuple[Scope, Halt] | None:
        for scope in (None, strategy_id) if strategy_id is not None else (None,):
            held = self._halts.get(scope)
            if held:
                return scope, next(iter(held.values()))
        return None

    def halt(self, strategy_id: str | None, detail: str, by: str, now_ns: int) -> None:
        """A person stops new orders in a scope (HALTED); nothing is cancelled or closed."""
        self._halts.setdefault(strategy_id, {})[RiskCode.HALTED.value] = Halt(
            RiskCode.HALTED.value, detail, now_ns, by
        )
        self._changed()

    def reset(
        self, strategy_id: str | None, by: str, now_ns: int, code: str | None = None
    ) -> list[Halt]:
        """A person lifts a scope's halts (one `code`, or all); returns those lifted. The
        drawdown peak restarts from the next evaluation and the breaker's count from zero. A
        daily loss still above its limit trips again at the next evaluation."""
        held = self._halts.get(strategy_id, {})
        lifted = [h for c, h in list(held.items()) if code is None or c == code]
        for h in lifted:
            del held[h.code]
            if h.code == RiskCode.MAX_DRAWDOWN.value:
                self._peak.pop(strategy_id, None)
            if h.code == RiskCode.BREAKER.value:
                self._rejections.pop(strategy_id, None)
        if lifted:
            self._changed()
        return lifted

    def flat_scopes(self) -> list[str | None]:
        """Scopes halted by a loss: they must stay flat while the halt holds."""
        return [s for s, h in self._halts.items() if _FLATTENING.intersection(h)]

    # --- before an order -----------------------------------------------------------------
    def check(self, order: Order, view: RiskView) -> RiskDecision:
        decision = self._check(order, cast(ExposureView, view))
        if not decision.allowed:
            self.refusals[decision.code] = self.refusals.get(decision.code, 0) + 1
        return decision

    def _check(self, order: Order, view: ExposureView) -> RiskDecision:
        sid = order.strategy_id
        if self._halts:
            found = self._halted(sid)
            if found is not None:
                scope, halt = found
                return RiskDecision(False, halt.code, f"{_name(scope)} halted: {halt.detail}")
        symbol = order.symbol
        refusal = check_tick_and_lot(order, view.instrument(symbol)) or check_band(
            order, self.price_bands.get(symbol)
        )
        if refusal is not None:
            return refusal
        scopes = [(self.limits_for(sid), sid), (self.account_limits, None)]
        scopes = [(lim, s) for lim, s in scopes if lim is not _NO_LIMITS]
        if not scopes:
            return ALLOW
        last = view.last_price_paise(symbol)
        prices = order_prices(order)
        price = prices[0] if prices else last
        exposures = self._exposures(order, view, scopes)
        for limits, scope in scopes:
            e = exposures[scope]
            name = _name(scope)
            reducing = is_reducing(order, e)
            refusal = (
                (None if reducing else check_window(order.created_ns, limits, name))
                or check_price_distance(order, last, limits, name)
                or check_order_size(order, price, limits, name)
                or check_open_orders(e, limits, name)
                or check_position(order, e, price, limits, name)
            )
            if refusal is not None:
                return refusal
        return ALLOW

    def _exposures(
        self, order: Order, view: ExposureView, scopes: Sequence[tuple[RiskLimits, Scope]]
    ) -> dict[Scope, Exposure]:
        """Each scope's numbers: its net position in the symbol from the books' index, its
        gross exposure in one pass over the books (only when a scope limits it), its open orders
        in one pass over them. Books are valued at their mark, which every tick moves."""
        sid, symbol = order.strategy_id, order.symbol
        out = {s: Exposure() for _, s in scopes}
        strategy = out.get(sid)
        account = out.get(None)
        if strategy is not None:
            strategy.net = sum(view.book_quantity(sid, symbol, p) for p in ProductType)
        if account is not None:
            account.net = view.position_quantity(symbol)
        if any(lim.max_gross_exposure_paise is not None for lim, _ in scopes):
            self._gross(view, sid, symbol, strategy, account)
        for o in view.working_orders():
            targets = (strategy, account) if o.strategy_id == sid else (account,)
            for target in targets:
                if target is None:
                    continue
                target.open_orders += 1
                if o.symbol == symbol:
                    if o.side is OrderSide.BUY:
                        target.pending_buy += o.remaining
                    else:
                        target.pending_sell += o.remaining
        return out

    @staticmethod
    def _gross(
        view: ExposureView,
        sid: str,
        symbol: str,
        strategy: Exposure | None,
        account: Exposure | None,
    ) -> None:
        """Σ |net| × mark over the symbols of each scope (products netted within a symbol)."""
        own: dict[str, int] = {}
        every: dict[str, int] = {}
        marks: dict[str, int] = {}
        for key, pos in view.position_books():
            q = pos.quantity
            if not q:
                continue
            sym = key.symbol
            marks[sym] = pos.last_price_paise or marks.get(sym, 0)
            every[sym] = every.get(sym, 0) + q
            if key.strategy_id == sid:
                own[sym] = own.get(sym, 0) + q
        for e, nets in ((strategy, own), (account, every)):
            if e is None:
                continue
            gross = 0
            for sym, q in nets.items():
                gross += abs(q) * marks[sym]
            e.gross_paise = gross
            e.symbol_gross_paise = abs(nets.get(symbol, 0)) * marks.get(symbol, 0)

    # --- while the books move ------------------------------------------------------------
    def bind(self, view: RiskView, clock: Clock) -> None:
        """Start the day's count and the peaks from the books as they are now, and take the
        clock that times broker rejections (the engine calls this when it is built)."""
        self._clock = clock
        now_ns = clock.now_ns()
        self._day = ist_day(now_ns)
        pnl = self._pnl(cast(ExposureView, view))
        self._day_base = dict(pnl)
        self._peak = dict(pnl)

    def on_report(self, order: Order, fill: Fill | None) -> None:
        """An applied broker report: count a fill's charges, a rejection for the breaker."""
        if fill is not None:
            if fill.charges_paise:
                sid = fill.strategy_id
                self._charges[sid] = self._charges.get(sid, 0) + fill.charges_paise
            self.dirty = True
        elif order.status is OrderStatus.REJECTED:
            # timed by our clock: a broker's timestamp may be missing or skewed
            clock = self._clock
            self._rejected(order.strategy_id, order.updated_ns if clock is None else clock.now_ns())
            self.dirty = True

    def _rejected(self, strategy_id: str, ts_ns: int) -> None:
        scopes = ((strategy_id, self.limits_for(strategy_id)), (None, self.account_limits))
        for scope, limits in scopes:
            n, minutes = limits.breaker_rejections, limits.breaker_window_minutes
            if n is None or minutes is None:
                continue
            window = minutes * _NS_PER_MINUTE
            times = self._rejections.setdefault(scope, [])
            bisect.insort(times, ts_ns)
            del times[: bisect.bisect_left(times, times[-1] - window)]
            # N rejections whose first and last are less than M minutes apart, anywhere in
            # the list (reports may arrive a little out of order)
            for i in range(len(times) - n + 1):
                if times[i + n - 1] - times[i] < window:
                    self._breach(
                        RiskCode.BREAKER.value,
                        scope,
                        f"{n} broker rejections within {minutes} min",
                        ts_ns,
                        {"rejections": str(n), "window_minutes": str(minutes)},
                    )
                    break

    def evaluate(self, now_ns: int, view: RiskView) -> list[RiskAction]:
        """The continuous checks at `now_ns`; returns the actions of new breaches (and of any
        breach found in a report since), each once."""
        v = cast(ExposureView, view)
        self.dirty = False
        pnl = self._pnl(v)
        if self._day is None:  # never bound: the count starts now
            self._day = ist_day(now_ns)
            self._day_base = dict(pnl)
        day = ist_day(now_ns)
        if day != self._day:  # a new IST day: its count starts here, its loss halts end
            self._day = day
            self._day_base = dict(pnl)
            for held in self._halts.values():
                held.pop(RiskCode.DAILY_LOSS_LIMIT.value, None)
            self._changed()
        for scope, value in pnl.items():
            limits = self.account_limits if scope is None else self.limits_for(scope)
            base = self._day_base.setdefault(scope, value)
            peak = self._peak[scope] = max(self._peak.get(scope, value), value)
            loss, limit = base - value, limits.max_daily_loss_paise
            if limit is not None and loss >= limit:
                self._breach(
                    RiskCode.DAILY_LOSS_LIMIT.value,
                    scope,
                    f"loss={loss}, limit={limit}",
                    now_ns,
                    {"loss_paise": str(loss), "limit_paise": str(limit)},
                )
            drawdown, limit = peak - value, limits.max_drawdown_paise
            if limit is not None and drawdown >= limit:
                self._breach(
                    RiskCode.MAX_DRAWDOWN.value,
                    scope,
                    f"drawdown={drawdown}, peak={peak}, limit={limit}",
                    now_ns,
                    {"drawdown_paise": str(drawdown), "limit_paise": str(limit)},
                )
        actions, self._pending = self._pending, []
        return actions

    def _pnl(self, view: ExposureView) -> dict[Scope, int]:
        """The P&L figure each watched scope is judged on: a strategy's books' realized and
        unrealized P&L less its charges; the account's equity."""
        watched = {
            sid
            for sid, lim in self.strategy_limits.items()
            if lim.max_daily_loss_paise is not None or lim.max_drawdown_paise is not None
        }
        out: dict[Scope, int] = {sid: -self._charges.get(sid, 0) for sid in watched}
        if watched:
            for key, pos in view.position_books():
                sid = key.strategy_id
                if sid in watched:
                    out[sid] += pos.realized_pnl_paise + pos.unrealized_pnl_paise
        acc = self.account_limits
        if acc.max_daily_loss_paise is not None or acc.max_drawdown_paise is not None:
            out[None] = view.equity_paise()
        return out

    def _breach(
        self, code: str, scope: Scope, detail: str, now_ns: int, numbers: dict[str, str]
    ) -> None:
        held = self._halts.setdefault(scope, {})
        if code in held:
            return  # in force already: its actions were asked for once
        held[code] = Halt(code, detail, now_ns)
        sid = scope
        self._changed()

        def act(kind: RiskActionKind, alert: Alert | None = None) -> None:
            self._pending.append(RiskAction(kind, code, sid, detail, now_ns, alert))

        act(RiskActionKind.HALT)
        flattening = code in _FLATTENING
        if flattening:
            act(RiskActionKind.CANCEL_OPEN_ORDERS)
            act(RiskActionKind.FLATTEN)
        then = "open orders cancelled, positions closed" if flattening else "no new orders"
        act(
            RiskActionKind.ALERT,
            Alert(
                AlertCode.RISK_BREACH.value,
                AlertSeverity.CRITICAL,
                f"{code} {_name(scope)}: {detail}; {then}",
                now_ns,
                strategy=scope or "",
                account=self.account,
                details={"code": code, **numbers},
            ),
        )
        if scope is None and code in self.kill_on:
            act(RiskActionKind.KILL_SWITCH)

    # --- across a restart ----------------------------------------------------------------
    def _changed(self) -> None:
        listener = self.on_change
        if listener is not None:
            listener()

    def scope_states(self, now_ns: int) -> list[ScopeState]:
        """Each scope's day baseline, peak and halts as the service stores them (the
        account's scope is named "")."""
        day = self._day if self._day is not None else ist_day(now_ns)
        scopes = set(self._day_base) | set(self._peak) | {s for s, h in self._halts.items() if h}
        out = []
        for scope in sorted(scopes, key=lambda s: "" if s is None else s):
            halts = tuple(
                HaltRecord(h.code, h.detail, h.since_ns, h.by)
                for h in self._halts.get(scope, {}).values()
            )
            out.append(
                ScopeState(
                    "" if scope is None else scope,
                    day,
                    self._day_base.get(scope),
                    self._peak.get(scope),
                    halts,
                )
            )
        return out

    def restore(
        self,
        stored: Sequence[ScopeState],
        view: RiskView,
        now_ns: int,
        *,
        charges: Mapping[str, int],
        today: Mapping[str, tuple[int, int]],
        scopes: Collection[str] | None = None,
    ) -> None:
        """After a restart, once the books are loaded: the halts stored (a daily loss halt
        only on its own day), the peaks, and the day's baselines when stored for today;
        otherwise a baseline is derived as the figure now less the day's realized P&L net of
        charges (`today`: per strategy, from the trades table). `charges`: each strategy's
        charges booked so far (its P&L figure is net of them). `scopes`: only these
        strategies (a takeover), the account's scope included when None."""
        day = ist_day(now_ns)
        wanted = None if scopes is None else set(scopes)

        def mine(scope: Scope) -> bool:
            return wanted is None or (scope is not None and scope in wanted)

        for sid, paise in charges.items():
            if mine(sid):
                self._charges[sid] = paise
        for sid in wanted or ():  # taken over: the database's halts, not what we last saw
            self._halts.pop(sid, None)
        if self._day is None:
            self._day = day
        by_key = {s.strategy: s for s in stored}
        for kept in stored:
            scope: Scope = None if kept.strategy == "" else kept.strategy
            if not mine(scope) or not kept.halts:
                continue
            held = self._halts.setdefault(scope, {})
            for h in kept.halts:
                if h.code == RiskCode.DAILY_LOSS_LIMIT.value and kept.day != day:
                    continue  # yesterday's loss halt ended with its day
                held.setdefault(h.code, Halt(h.code, h.detail, h.since_ns, h.by))
        pnl = self._pnl(cast(ExposureView, view))
        for scope, value in pnl.items():
            if not mine(scope):
                continue
            st = by_key.get("" if scope is None else scope)
            if st is not None and st.day == day and st.base_paise is not None:
                base = st.base_paise
            else:
                if scope is None:
                    realized = sum(r for r, _ in today.values())
                    paid = sum(c for _, c in today.values())
                else:
                    realized, paid = today.get(scope, (0, 0))
                base = value - (realized - paid)
            self._day_base[scope] = base
            seen = [value] if st is None or st.peak_paise is None else [value, st.peak_paise]
            self._peak[scope] = max(seen)
