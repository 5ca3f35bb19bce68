"""The composition root of the trading service (issue #10, item 1): settings and the checked
trade config in, a `TradingService` out, by plain calls. The only place that chooses
implementations: the broker (the simulator over HTTP/WebSocket, Angel One, or a simulator
started in this process), the database (ALGO_DATABASE_URL; SQLite under ./var by default),
the notifier, the metrics and the secret store.

What other parts plug in comes in as arguments (`Plugins`): a risk check (the risk manager),
a command processor, a lease keeper's `owns` and fence, a start-up recovery. Building the
service logs in to the broker and reads its funds; nothing trades until `run()`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import secrets as token_source
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    SECRET_NAMES,
    AngelOneConfig,
    AngelOneCredentials,
    LimitGroup,
    credentials_from_store,
)
from algo_trading.adapters.brokers.angelone.errors import AngelOneError
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.brokers.angelone.packets import FeedPacket
from algo_trading.adapters.brokers.angelone.ws import FeedPool, OrderStream, SocketOptions
from algo_trading.adapters.brokers.sender import ThreadedSender
from algo_trading.adapters.storage.sql import (
    Database,
    SqlOrderAuditLog,
    SqlTradeLog,
    SqlUnitOfWork,
    prepare,
)
from algo_trading.adapters.storage.sql.leases import SqlLeases
from algo_trading.adapters.storage.sql.risk_state import SqlRiskState
from algo_trading.backtest.charges import RoundTripCharges
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ns_to_ist
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.instruments import Exchange, Instrument, Segment
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import Broker, Clock, LeaseToken, Notifier, SecretStore
from algo_trading.engine.reconciliation import ReconcileConfig
from algo_trading.engine.risk import NoDeliveryShort, RiskChain, RiskCheck, RiskManager
from algo_trading.engine.squareoff import CutoffFn, IntradaySquareOff, broker_cutoffs
from algo_trading.market import BROKERS
from algo_trading.market.calendar import calendar_for
from algo_trading.market.throttle import DEFAULT_ORDERS_PER_SECOND, OrderThrottle
from algo_trading.services.alerts import build_notifier
from algo_trading.services.clock import WallClock
from algo_trading.services.commands import CommandProcessor as TableCommands
from algo_trading.services.commands import EngineControl
from algo_trading.services.fenced_broker import FencedBroker
from algo_trading.services.funds_recorder import FundsRecorder
from algo_trading.services.health import CheckResult, ReadinessCheck, probe
from algo_trading.services.lease_keeper import LeaseConfig
from algo_trading.services.live_gate import secret_store_for
from algo_trading.services.observability import Observability
from algo_trading.services.recovery import angelone_positions
from algo_trading.services.resilience import Resilience, build_resilience
from algo_trading.services.risk_setup import PriceBands, RiskPersistence, build_risk_manager
from algo_trading.services.settings import Settings
from algo_trading.services.simulator_thread import SimulatorThread
from algo_trading.services.trade_config import TradeConfig
from algo_trading.services.trading.feed import FeedSource, MarketFeed
from algo_trading.services.trading.gate import ServiceGate
from algo_trading.services.trading.metered import MeteredTradeLog
from algo_trading.services.trading.service import (
    CommandProcessor,
    ServiceOptions,
    StrategyPlan,
    TradingService,
)
from algo_trading.services.trading.startup import startup_reconciliation
from algo_trading.services.users import load_user_store
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
    SimulatorConfig,
)

__all__ = [
    "Plugins",
    "RunIds",
    "build_trading_service",
    "default_plugins",
    "market_hours",
    "simulator_endpoints",
]

log = logging.getLogger(__name__)

_NS = 1_000_000_000


class RunIds:
    """Client order ids unique across restarts and instances: a random run prefix (8 hex
    characters) and a counter. A collision could only make the database refuse the intent
    (DuplicateOrderError), never send an order twice."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or token_source.token_hex(4)
        self._n = 0

    def next_id(self) -> ClientOrderId:
        self._n += 1
        return ClientOrderId(f"{self.prefix}{self._n:06d}")


@dataclass(slots=True)
class Plugins:
    """What the other parts of the service hand to the composition root; all optional.

    - `risk`: checked after the market rules (no naked delivery short, the intraday cut-off);
      or `risk_factory(config, clock)`, which builds it from the config's limits: the risk
      manager (engine/risk*.py) goes here.
    - `periodic`: (every_s, fn(now_ns)) hooks the loop calls on its thread (a lease keeper's
      renewals, continuous risk checks).
    - `on_close`: called when the service closes, after the drain and before the database
      and the broker's connections go (a lease keeper releases its leases here).
    - `commands(service)`: builds the command processor (services/commands.py) once the
      service exists; it gets `poll_once()` calls from the loop.
    - `owns` and `fence`: the lease keeper's answers (services/lease_keeper.py): whether this
      instance runs a strategy, and the lease term its intents carry.
    - `startup(service)`: the start-up recovery (services/recovery.py); default:
      `services.trading.startup.reconcile_at_start`.
    - `leases_ready`: the readiness check "this instance's leases held".
    - `clock`, `monotonic`: time (tests and replays inject them).
    - `rate_limits`: the broker client's budgets (default: Angel One's §6.1 table).
    """

    risk: RiskCheck | None = None
    risk_factory: Callable[[TradeConfig, Clock], RiskCheck] | None = None
    risk_manager: Callable[[TradeConfig], RiskManager] | None = None
    # Start-up recovery, the minute's reconciliation of positions too, and (with several
    # instances) the lease keeper: services/resilience.py. Replaces `startup`, `owns`,
    # `fence` and `leases_ready` when on.
    resilience: bool = False
    # The commands table (services/commands.py): the dashboard's orders, cancels, square-offs,
    # pauses and the kill switch, authorised against the dashboard's users. `commands`, when
    # given, is used instead.
    command_table: bool = False
    periodic: list[tuple[float, Callable[[int], object]]] = field(default_factory=list)
    on_close: list[Callable[[], object]] = field(default_factory=list)
    commands: Callable[[TradingService], CommandProcessor] | None = None
    owns: Callable[[str], bool] | None = None
    fence: Callable[[StrategyId], LeaseToken | None] | None = None
    startup: Callable[[TradingService], object] | None = None
    leases_ready: ReadinessCheck | None = None
    clock: Clock | None = None
    monotonic: Callable[[], float] = time.monotonic
    rate_limits: Mapping[LimitGroup, Any] | None = None
    secrets: SecretStore | None = None
    environ: Mapping[str, str] | None = None
    notifier: Notifier | None = None
    observe: bool = True
    paused: set[str] = field(default_factory=set)


def default_plugins(settings: Settings, config: TradeConfig) -> Plugins:
    """What `algo-trading trade` and `algo-trading run` plug in: the risk manager built from
    the config's `[risk]` and `[strategies.risk]` limits (pre-trade and continuous, with the
    kill switch), on top of the market rules; start-up recovery and the reconciliation of
    orders, fills and positions; leases per strategy when several instances share the
    database (ALGO_LEASES)."""
    del config  # each part reads the config when the service is built
    account = settings.account
    return Plugins(
        risk_manager=lambda cfg: build_risk_manager(cfg, account=account),
        resilience=True,
        command_table=True,
    )


def simulator_endpoints(url: str) -> AngelOneConfig:
    """Angel One's client pointed at the simulator: REST, feed, order-status and scrip-master
    addresses from its base URL."""
    base = url.rstrip("/")
    ws = "ws" + base[len("http") :] if base.startswith("http") else base
    return AngelOneConfig(
        rest_base_url=base,
        feed_ws_url=f"{ws}/smart-stream",
        order_ws_url=f"{ws}/smart-order-update",
        instrument_master_url=f"{base}/OpenAPI_File/files/OpenAPIScripMaster.json",
    )


def _credentials(kind: str, store: SecretStore) -> AngelOneCredentials:
    """Angel One's from the secret store; for the simulator, the store's when all four are
    there and the simulator's published demo ones otherwise."""
    if kind == "angelone":
        return credentials_from_store(store)
    try:
        return credentials_from_store(store)
    except ConfigError:
        missing = []
        for name in SECRET_NAMES.values():
            try:
                store.get(name)
            except ConfigError:
                missing.append(name)
        if len(missing) != len(SECRET_NAMES):
            raise ConfigError(
                f"the simulator's credentials are half set in the secret store: missing "
                f"{', '.join(missing)} (set all four, or none for the demo ones)"
            ) from None
        return AngelOneCredentials(
            api_key=DEMO_API_KEY,
            client_code=DEMO_CLIENT_CODE,
            mpin=DEMO_MPIN,
            totp_secret=DEMO_TOTP_SECRET,
        )


def market_hours(instruments: Sequence[Instrument], *, always_open: bool) -> Callable[[int], bool]:
    """Whether any of the instruments' markets is in continuous trading at a time (the
    exchange calendar: sessions, weekends, holidays); always, with `always_open`."""
    if always_open:
        return lambda _ts: True
    kinds = sorted(
        {
            (
                Exchange.BSE if i.exchange in (Exchange.BSE, Exchange.BFO) else Exchange.NSE,
                i.segment,
            )
            for i in instruments
        }
    ) or [(Exchange.NSE, Segment.CASH)]

    def is_open(ts_ns: int) -> bool:
        for exchange, segment in kinds:
            try:
                if calendar_for(exchange).is_open(ts_ns, segment):
                    return True
            except ConfigError:  # a year the calendar does not cover: Mon-Fri 09:15-15:30
                local = ns_to_ist(ts_ns)
                minutes = local.hour * 60 + local.minute
                if local.weekday() < 5 and 555 <= minutes < 930:
                    return True
        return False

    return is_open


def _lead_cutoffs(base: CutoffFn, lead_s: float) -> CutoffFn:
    lead_ns = int(lead_s * _NS)

    def cutoff(symbol: str, day: int) -> int | None:
        c = base(symbol, day)
        return None if c is None else c - lead_ns

    return cutoff


def _warm_up(
    market_data: AngelOneMarketData, clock: Clock
) -> Callable[[Instrument, int], list[tuple[int, int, int, int, int, int]]]:
    """One-minute candles of the last session before today (the warm-up's history)."""

    def candles(inst: Instrument, minutes: int) -> list[tuple[int, int, int, int, int, int]]:
        today = ns_to_ist(clock.now_ns()).date()
        exchange = Exchange.BSE if inst.exchange in (Exchange.BSE, Exchange.BFO) else Exchange.NSE
        try:
            day = calendar_for(exchange).previous_trading_day(today)
        except ConfigError:
            day = today - dt.timedelta(days=1 if today.weekday() else 3)
        start = dt.datetime.combine(day, dt.time(9, 15), tzinfo=IST)
        end = dt.datetime.combine(day, dt.time(15, 29), tzinfo=IST)
        download = market_data.candles(
            inst.exchange.value, str(inst.token), "ONE_MINUTE", start, end
        )
        return list(download)

    return candles


def _strategies(config: TradeConfig, engine: TradingEngine) -> list[StrategyPlan]:
    plans = []
    for sc in config.strategies:
        strategy = sc.strategy_class(
            sc.params,
            symbols=tuple(i.symbol for i in sc.instruments),
            quantity=sc.quantity,
            product=sc.product,
            strategy_id=sc.id,
        )
        engine.add_strategy(strategy)
        plans.append(StrategyPlan(strategy, sc.bar_minutes, sc.instruments))
    return plans


def _database(settings: Settings) -> Database:
    url = settings.database_url.get_secret_value()
    if settings.is_sqlite:
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = Database(url, pool_size=settings.database_pool_size)
    prepare(db, migrate=settings.database_migrate_on_start)
    return db


def _angelone_config(
    settings: Settings, config: TradeConfig, plugins: Plugins, stack: ExitStack
) -> AngelOneConfig:
    kind = config.broker.kind
    if kind == "angelone":
        base = AngelOneConfig()
    else:
        url = config.broker.url or settings.broker_url
        if kind == "inprocess":
            sim = SimulatorThread(
                SimulatorConfig(host="127.0.0.1", port=0, always_open=settings.market_always_open)
            )
            server = sim.start()
            stack.callback(sim.stop)
            url = server.base_url
            log.info("in-process simulator at %s", url)
        base = simulator_endpoints(url)
    if plugins.rate_limits is not None:
        base = replace(base, rate_limits=dict(plugins.rate_limits))
    return base


def _login(session: AngelOneSession, where: str) -> None:
    try:
        session.login()
    except AngelOneError as exc:
        raise ConfigError(f"cannot log in to the broker at {where}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot reach the broker at {where}: {exc}") from None


def build_trading_service(
    settings: Settings, config: TradeConfig, plugins: Plugins | None = None
) -> TradingService:
    """Everything the service needs, wired; ConfigError on one line when something the
    settings or the config name cannot be reached (the database, the broker's login)."""
    p = plugins or Plugins()
    stack = ExitStack()
    try:
        return _build(settings, config, p, stack)
    except BaseException:
        stack.close()
        raise


def _build(settings: Settings, config: TradeConfig, p: Plugins, stack: ExitStack) -> TradingService:
    clock: Clock = p.clock or WallClock()
    environ = p.environ if p.environ is not None else os.environ
    store = p.secrets or secret_store_for(settings, environ)
    instance_id = settings.instance_id
    account = settings.account

    db = _database(settings)
    stack.callback(db.dispose)
    if p.notifier is not None:
        notifier: Notifier = p.notifier
    else:
        fanout = build_notifier(settings, secrets=store)
        fanout.start()
        stack.callback(fanout.close)
        notifier = fanout
    obs = (
        Observability.from_settings(settings, instance_id=instance_id, mode=config.mode)
        if p.observe
        else None
    )

    ang = _angelone_config(settings, config, p, stack)
    http = AngelOneHttp(ang)
    stack.callback(http.close)
    session = AngelOneSession(http, _credentials(config.broker.kind, store), clock)
    _login(session, ang.rest_base_url)

    instruments: dict[str, Instrument] = {}
    for sc in config.strategies:
        for inst in sc.instruments:
            instruments.setdefault(inst.symbol, inst)

    def instrument(symbol: str) -> Instrument:
        return instruments[symbol]

    confirm = ReconcileConfig(confirm_window_ns=int(settings.confirm_window_s * _NS))
    broker = AngelOneBroker(session, instrument, clock, reconcile_config=confirm)

    cutoffs: CutoffFn | None = None
    if not settings.market_always_open:
        cutoffs = _lead_cutoffs(broker_cutoffs(instruments), settings.squareoff_lead_s)
    squareoff = IntradaySquareOff(cutoffs, clock)
    gate = ServiceGate()
    checks: list[RiskCheck] = [gate, NoDeliveryShort(), squareoff]
    if p.risk is not None:
        checks.append(p.risk)
    if p.risk_factory is not None:
        checks.append(p.risk_factory(config, clock))

    def exchange_of(symbol: str) -> str:
        inst = instruments.get(symbol)
        return inst.exchange.value if inst is not None else "NSE"

    res: Resilience | None = None
    if p.resilience:
        several = settings.leases == "on" or (settings.leases == "auto" and not settings.is_sqlite)
        res = build_resilience(
            db,
            account=account,
            instance_id=instance_id,
            strategies=[sc.id for sc in config.strategies],
            leases=SqlLeases(db) if several else None,
            clock=clock,
            positions=angelone_positions(AngelOneAccount(session)),
            cash_from_books=False,  # the engine's cash is the broker's live funds already
            lease_config=LeaseConfig.from_ttl(
                settings.lease_ttl_s,
                max_owned=settings.lease_max_owned,
                overflow_grace_s=settings.lease_overflow_grace_s,
            ),
            reconcile_config=confirm,
            renew_on_thread=True,  # a loop busy with a takeover keeps its leases
        )
    fence = res.fence if res is not None and res.fenced else p.fence
    # With leases, every send asks the lease once more at the broker's door: an intent
    # committed under a good lease by a process then paused (SIGSTOP, a long GC) is not sent
    # on waking after another instance took the strategy (services/fenced_broker.py).
    door: Broker = broker
    if res is not None and res.fenced:

        def strategy_of(client_order_id: ClientOrderId) -> str | None:
            order = engine.orders.orders.get(client_order_id)
            return None if order is None else order.strategy_id

        door = FencedBroker(broker, res.owns, clock, strategy_of)
    sender = ThreadedSender(door, clock)
    stack.callback(sender.close)  # closed by the service too; this covers a failed build
    sql_log = SqlTradeLog(db, account=account, exchange_of=exchange_of, fence=fence)
    trade_log = MeteredTradeLog(sql_log, obs.metrics) if obs is not None else sql_log
    try:
        cash = AngelOneAccount(session).funds().available_cash_paise
    except AngelOneError as exc:
        raise ConfigError(f"cannot read the broker's funds: {exc}") from None
    engine = TradingEngine(
        clock,
        door,
        starting_cash_paise=cash,
        instruments=instruments.values(),
        risk=RiskChain(*checks),
        trade_log=trade_log,
        ids=RunIds(),
        charges=RoundTripCharges(BROKERS["angelone"], instruments),
        raise_strategy_errors=False,
        throttle=OrderThrottle(DEFAULT_ORDERS_PER_SECOND),
        audit=SqlOrderAuditLog(db),
        sender=sender,
        account=account,
        risk_manager=p.risk_manager(config) if p.risk_manager is not None else None,
        notifier=notifier,
    )
    sender.connect(engine.report)
    plans = _strategies(config, engine)
    # the day's risk baselines, peaks, halts and the kill switch, kept across restarts
    risk_state = RiskPersistence(
        SqlRiskState(db),
        engine,
        clock,
        account=account,
        owns=res.owns if res is not None else (p.owns or (lambda _sid: True)),
    )
    if res is not None:
        res.on_takeover = risk_state.restore
    market_data = AngelOneMarketData(session)
    bands: PriceBands | None = None
    if engine.risk_manager is not None:  # the day's circuit limits from the broker's quotes
        traded = list(instruments.values())
        bands = PriceBands(
            lambda: market_data.price_bands(traded), engine.risk_manager, instruments
        )

    def connect_feed(on_packet: Callable[[FeedPacket], None]) -> FeedSource:
        return FeedPool(ang.feed_ws_url, session, on_packet, SocketOptions())

    feed = MarketFeed(connect_feed, instruments.values(), monotonic=p.monotonic)
    stream = OrderStream(
        ang.order_ws_url, session, broker.on_order_update, SocketOptions(), on_connect=broker.poll
    )
    stream.start()
    stack.callback(stream.close)

    options = ServiceOptions(
        feed_stale_s=settings.feed_stale_s,
        order_poll_s=settings.order_poll_s,
        reconcile_every_s=settings.reconcile_every_s,
        drain_timeout_s=settings.drain_timeout_s,
        cancel_open_on_drain=settings.drain_cancel_open,
    )
    service = TradingService(
        engine,
        plans=plans,
        broker=broker,
        feed=feed,
        clock=clock,
        market_open=market_hours(
            list(instruments.values()), always_open=settings.market_always_open
        ),
        notifier=notifier,
        squareoff=squareoff if cutoffs is not None else None,
        order_stream=stream,
        sender=sender,
        observability=obs,
        options=options,
        owns=res.owns if res is not None else (p.owns or (lambda _sid: True)),
        paused=p.paused,
        startup=_recording_runs(
            _restoring_risk(_startup(p, res, db, broker, account), risk_state, bands),
            db,
            config,
            clock,
            stack,
        ),
        # one round a minute: resilience's reads the books once for the adapter's orders in
        # doubt and the database's orders, fills and positions (never a second pass beside it)
        reconcile=res.reconcile if res is not None else None,
        warm_up=_warm_up(market_data, clock) if settings.warm_up else None,
        on_close=[
            *p.on_close,
            *([res.close] if res is not None else []),
            risk_state.save,
            stack.close,
        ],
        instance_id=instance_id,
        monotonic=p.monotonic,
    )
    gate.bind(stale=lambda: service.feed_stale, draining=lambda: service.draining)
    if p.commands is not None:
        service.commands = p.commands(service)
    elif p.command_table:
        processor = _command_processor(settings, store, db, service, config, res)
        stack.callback(processor.close)
        service.commands = processor
    for every_s, fn in [*p.periodic, *(res.periodic() if res is not None else [])]:
        service.add_periodic(every_s, fn)
    funds = FundsRecorder(AngelOneAccount(session), db, account)  # for the dashboard
    service.add_periodic(settings.reconcile_every_s, funds, "funds")
    service.add_periodic(RiskPersistence.SAVE_EVERY_S, risk_state.save, "risk state")
    if bands is not None:
        service.add_periodic(PriceBands.REFRESH_EVERY_S, bands.refresh, "price bands")
    leases_ready = res.readiness if res is not None and res.fenced else p.leases_ready
    if obs is not None:
        _readiness(obs, service, session, db, leases_ready, settings.feed_stale_s)
    return service


def _command_processor(
    settings: Settings,
    secrets: SecretStore,
    db: Database,
    service: TradingService,
    config: TradeConfig,
    res: Resilience | None,
) -> TableCommands:
    """Commands from the dashboard, through the engine's own checks; with leases, only those
    naming a strategy this instance holds (or none)."""
    users = load_user_store(settings, secrets)
    control = EngineControl(
        service.engine, service.paused, strategy_ids=[sc.id for sc in config.strategies]
    )
    keeper = res.keeper if res is not None else None
    return TableCommands(
        db,
        control,
        users,
        service.clock,
        settings.instance_id,
        strategies=keeper.owned if keeper is not None else None,
    )


def _startup(
    p: Plugins, res: Resilience | None, db: Database, broker: AngelOneBroker, account: str
) -> Callable[[TradingService], object]:
    if res is not None:
        return res.startup
    return p.startup or startup_reconciliation(db, broker, account)


def _restoring_risk(
    startup: Callable[[TradingService], object],
    risk_state: RiskPersistence,
    bands: PriceBands | None,
) -> Callable[[TradingService], object]:
    """The start-up recovery, then the risk state restored over the books it loaded (a halt
    or a kill switch tripped before a restart holds before any strategy runs), then the
    day's price bands read from the broker."""

    def startup_then_restore(service: TradingService) -> object:
        result = startup(service)
        risk_state.restore()
        if bands is not None:
            bands.refresh(service.clock.now_ns())
        return result

    return startup_then_restore


def _recording_runs(
    startup: Callable[[TradingService], object],
    db: Database,
    config: TradeConfig,
    clock: Clock,
    stack: ExitStack,
) -> Callable[[TradingService], object]:
    """The start-up hook, then one `strategy_runs` row per strategy (RUNNING), closed as
    STOPPED when the service closes: what the dashboard shows as running."""
    run_prefix = token_source.token_hex(4)

    def startup_and_record(service: TradingService) -> object:
        result = startup(service)
        now = clock.now_ns()
        runs = {sc.id: f"{sc.id[:40]}-{run_prefix}" for sc in config.strategies}
        with SqlUnitOfWork(db) as uow:
            for sc in config.strategies:
                params = (
                    {k: str(v) for k, v in dataclasses.asdict(sc.params).items()}
                    if dataclasses.is_dataclass(sc.params) and not isinstance(sc.params, type)
                    else {}
                )
                params |= {"_strategy": sc.strategy, "_bar_minutes": str(sc.bar_minutes)}  # Charts
                uow.runs.start_strategy_run(runs[sc.id], sc.id, config.mode, params, now)
            uow.commit()

        def stop_runs() -> None:
            with SqlUnitOfWork(db) as uow:
                for run_id in runs.values():
                    uow.runs.stop_strategy_run(run_id, "STOPPED", "service stopped", clock.now_ns())
                uow.commit()

        stack.callback(stop_runs)  # runs before the database is disposed (callbacks unwind)
        return result

    return startup_and_record


def _readiness(
    obs: Observability,
    service: TradingService,
    session: AngelOneSession,
    db: Database,
    leases: ReadinessCheck | None,
    stale_s: float,
) -> None:
    """/readyz: broker session valid, feed fresh (while the market is open), database
    reachable, this instance's leases held."""

    def broker_session() -> CheckResult:
        if session.logged_in:
            return CheckResult.passed("logged in")
        return CheckResult.failed("not logged in to the broker")

    def feed_fresh() -> CheckResult:
        if not service.market_open(service.clock.now_ns()):
            return CheckResult.passed("market closed")
        silent = service.feed.silent_for_s(service.feed.last_tick_s or 0.0)
        if service.feed.last_tick_s is None:
            return CheckResult.failed("no tick yet")
        verdict = CheckResult.passed if silent <= stale_s else CheckResult.failed
        return verdict(f"last tick {silent:.1f}s ago (limit {stale_s:g}s)")

    obs.health.add_check("broker_session", broker_session)
    obs.health.add_check("feed", feed_fresh)
    obs.health.add_check("database", probe(db.ping, "reachable"))
    obs.health.add_check(
        "leases", leases or (lambda: CheckResult.passed("one instance: no leases"))
    )
