"""Several processes writing at once, on SQLite and PostgreSQL: client order ids stay unique,
no fill is lost from a position, commands are taken once, migrations run once, and a reader
never makes the trading path wait."""

from __future__ import annotations

import multiprocessing as mp
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, select

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.adapters.storage.sql.models import TradeRow
from algo_trading.domain import (
    ClientOrderId,
    Fill,
    OrderEvent,
    OrderSide,
    OrderStatus,
    ProductType,
    StrategyId,
    TradeId,
)
from algo_trading.domain.errors import DuplicateOrderError
from algo_trading.engine.ports import CommandKind, CommandRecord
from tests.support.builders import make_order
from tests.support.fakes import FakeBroker
from tests.support.storage import make_manager, submit

WORKERS = 4
T0 = 1_700_000_000_000_000_000
DEADLINE_S = 60.0
# Children fork from a server process that imported this module once: quick to start, and
# no connection of the test process crosses a fork.
_CTX = mp.get_context("forkserver")
_CTX.set_forkserver_preload([__name__])


def _worker(
    job: Callable[..., Any], url: str, args: tuple[Any, ...], barrier: Any, out: Any
) -> None:
    db = Database(url)
    try:
        barrier.wait(timeout=DEADLINE_S)
        out.put(("ok", job(db, *args)))
    except BaseException:
        out.put(("error", traceback.format_exc()))
    finally:
        db.dispose()


def _in_processes(
    job: Callable[..., Any], url: str, per_worker: Iterable[tuple[Any, ...]]
) -> list[Any]:
    """Run `job(db, *args)` in one process per args tuple, released together; its results."""
    arg_list = list(per_worker)
    barrier, out = _CTX.Barrier(len(arg_list)), _CTX.Queue()
    procs = [_CTX.Process(target=_worker, args=(job, url, args, barrier, out)) for args in arg_list]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=DEADLINE_S) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=DEADLINE_S)
            if p.is_alive():
                p.kill()
                p.join()
    errors = [detail for kind, detail in results if kind == "error"]
    assert errors == []
    return [detail for _, detail in results]


# --- jobs, run in the child processes ------------------------------------------------------


def _claim_ids(db: Database, coids: list[str]) -> list[str]:
    log = SqlTradeLog(db)
    won = []
    for coid in coids:
        order = make_order(coid)
        order.apply(OrderEvent.SUBMIT, T0)
        try:
            log.record_order(order, OrderEvent.SUBMIT)
        except DuplicateOrderError:
            continue
        won.append(coid)
    return won


def _book_fills(db: Database, coid: str, symbol: str, prices: list[int]) -> int:
    log = SqlTradeLog(db)
    for i, price in enumerate(prices):
        log.record_fill(
            Fill(
                TradeId(f"{coid}-{i}"),
                ClientOrderId(coid),
                StrategyId("s"),
                symbol,
                OrderSide.BUY,
                1,
                price,
                T0 + i,
            )
        )
    return len(prices)


def _claim_commands(db: Database, worker: str) -> list[str]:
    taken: list[str] = []
    while True:
        with SqlUnitOfWork(db) as uow:
            cmd = uow.commands.claim_next(worker, T0)
            uow.commit()
        if cmd is None:
            return taken
        taken.append(cmd.command_id)


def _upgrade(db: Database) -> str | None:
    return upgrade(db).current


# --- the tests -----------------------------------------------------------------------------


def test_two_writers_never_create_the_same_client_order_id(
    migrated_url: str, database: Database, unique: Callable[[str], str]
) -> None:
    coids = [unique(f"C{i:02d}-") for i in range(25)]
    won = _in_processes(_claim_ids, migrated_url, [(coids,)] * WORKERS)
    flat = [c for w in won for c in w]
    assert sorted(flat) == sorted(coids)
    with SqlUnitOfWork(database) as uow:
        events = [uow.orders.events(ClientOrderId(c)) for c in coids]
    assert all(e == [(OrderEvent.SUBMIT, OrderStatus.SUBMITTED)] for e in events)


def test_fills_for_one_symbol_arriving_together_lose_no_update(
    migrated_url: str, database: Database, unique: Callable[[str], str]
) -> None:
    symbol, per_worker = unique("SYM"), 20
    coids = [unique(f"P{i}-") for i in range(WORKERS)]
    manager = make_manager(FakeBroker(), SqlTradeLog(database), *coids)
    for _ in coids:
        submit(manager, symbol, per_worker, strategy="s")
    prices = {
        c: [10_000 + 5 * (k * per_worker + i) for i in range(per_worker)]
        for k, c in enumerate(coids)
    }
    booked = _in_processes(_book_fills, migrated_url, [(c, symbol, prices[c]) for c in coids])
    assert booked == [per_worker] * WORKERS
    with SqlUnitOfWork(database) as uow:
        pos = uow.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY)
        orders = [uow.orders.get(ClientOrderId(c)) for c in coids]
        trades = uow.connection.execute(
            select(func.count()).select_from(TradeRow).where(TradeRow.symbol == symbol)
        ).scalar_one()
    assert pos is not None
    assert (pos.quantity, pos.cost_paise) == (WORKERS * per_worker, sum(map(sum, prices.values())))
    assert trades == WORKERS * per_worker
    assert [(o.status, o.filled_quantity) for o in orders if o] == [
        (OrderStatus.FILLED, per_worker)
    ] * WORKERS


def test_several_services_never_take_the_same_command(
    migrated_url: str, database: Database, unique: Callable[[str], str]
) -> None:
    ids = [unique(f"K{i:02d}-") for i in range(30)]
    with SqlUnitOfWork(database) as uow:
        for i, cid in enumerate(ids):
            uow.commands.add(CommandRecord(cid, CommandKind.PAUSE, "ops", T0 + i))
        uow.commit()
    taken = _in_processes(_claim_commands, migrated_url, [(f"w{i}",) for i in range(WORKERS)])
    flat = [c for t in taken for c in t if c in ids]
    assert sorted(flat) == sorted(ids)


def test_services_starting_together_migrate_once_and_all_start(empty_url: str) -> None:
    revisions = _in_processes(_upgrade, empty_url, [()] * 3)
    assert len(set(revisions)) == 1
    assert revisions[0] is not None


def test_a_reader_holding_a_transaction_never_blocks_the_trading_path(
    database: Database, unique: Callable[[str], str]
) -> None:
    symbol, coid = unique("SYM"), unique("W")
    done = threading.Event()
    failure: list[BaseException] = []

    def trade() -> None:
        try:
            manager = make_manager(FakeBroker(), SqlTradeLog(database), coid)
            submit(manager, symbol, 5, strategy="s")
            SqlTradeLog(database).record_fill(
                Fill(
                    TradeId(coid),
                    ClientOrderId(coid),
                    StrategyId("s"),
                    symbol,
                    OrderSide.BUY,
                    5,
                    100,
                    T0,
                )
            )
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    with SqlUnitOfWork(database, read_only=True) as reader:
        reader.orders.unresolved("default")
        reader.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY)
        writer = threading.Thread(target=trade)
        writer.start()
        finished = done.wait(timeout=10.0)
    writer.join(timeout=DEADLINE_S)
    assert finished, "the writer waited for the reader"
    assert failure == []
    with SqlUnitOfWork(database) as uow:
        assert (
            uow.positions.get("default", StrategyId("s"), symbol, ProductType.INTRADAY) is not None
        )
