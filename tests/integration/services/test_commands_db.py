"""Commands through a real database, on SQLite and on the local PostgreSQL (a fresh schema per
test): a written row is picked up within a second (LISTEN/NOTIFY on PostgreSQL, polling on
SQLite), two services racing never run a command twice, rows nobody can read are refused in
the row, and a place command becomes an order at the in-process simulated broker through the
engine's own risk checks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork, upgrade
from algo_trading.adapters.storage.sql.command_signal import CommandSignal
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.domain.errors import StorageError
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import equity
from algo_trading.domain.orders import OrderStatus
from algo_trading.engine import NoDeliveryShort, SimulatedClock, TradingEngine
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus
from algo_trading.services.commands import CommandProcessor, EngineControl
from tests.support.commands import T0, FakeControl, Users, command
from tests.support.storage import find_postgres, fresh_schema

COMMANDS = metadata.tables["commands"]
AUDIT = metadata.tables["audit_log"]
USERS = Users(asha="trader", vikram="viewer")


@pytest.fixture(scope="module")
def postgres_base() -> str:
    url, why = find_postgres()
    if url is None:
        message = f"PostgreSQL at 127.0.0.1:5432 (database test) is unreachable: {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path / 'commands.db'}")
        return
    with fresh_schema(request.getfixturevalue("postgres_base")) as url:
        yield from _migrated(url)


@pytest.fixture
def pg(postgres_base: str) -> Iterator[Database]:
    with fresh_schema(postgres_base) as url:
        yield from _migrated(url)


Make = Callable[..., CommandProcessor]


@pytest.fixture
def make() -> Iterator[Make]:
    """CommandProcessor(...), closed (with its LISTEN connection) at the end of the test."""
    made: list[CommandProcessor] = []

    def build(*args: Any, **kw: Any) -> CommandProcessor:
        made.append(CommandProcessor(*args, **kw))
        return made[-1]

    yield build
    for processor in made:
        processor.close()


def _migrated(url: str) -> Iterator[Database]:
    database = Database(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


def _add(db: Database, *records: CommandRecord) -> None:
    with SqlUnitOfWork(db) as uow:
        for record in records:
            uow.commands.add(record)
        uow.commit()


def _get(db: Database, cid: str) -> CommandRecord:
    with SqlUnitOfWork(db, read_only=True) as uow:
        row = uow.commands.get(cid)
    assert row is not None
    return row


def _raw_insert(db: Database, cid: str, kind: str, payload: Any, by: str = "asha") -> None:
    """A row as any writer (psql, a buggy dashboard) could put it there."""
    with db.engine.begin() as conn:
        conn.execute(
            insert(COMMANDS).values(
                command_id=cid,
                kind=kind,
                account="default",
                strategy=None,
                payload=payload,
                requested_by=by,
                requested_at=ns_to_datetime(T0),
                status="PENDING",
                outcome_code="",
                outcome_detail="",
            )
        )


def _audit(db: Database) -> list[tuple[str, str, str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AUDIT.c.actor, AUDIT.c.action, AUDIT.c.subject, AUDIT.c.detail).order_by(
                AUDIT.c.id
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


class Loop:
    """The trading service's use of the processor, on a thread: poll, then wait."""

    def __init__(self, processor: CommandProcessor, wait_s: float) -> None:
        self.processor = processor
        self.wait_s = wait_s
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.processor.poll_once()
                self.processor.wait(self.wait_s)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def __enter__(self) -> Loop:
        self.processor.poll_once()  # armed before the test writes anything
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.processor.wake()
        self.thread.join(timeout=15)
        self.processor.close()
        assert not self.thread.is_alive()
        assert self.errors == []


def _until(check: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until `check()` held; fails at the deadline."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"not within {timeout_s} s")
        time.sleep(0.005)
    return time.monotonic() - start


def test_a_written_command_is_picked_up_and_answered_within_a_second(
    db: Database, make: Make
) -> None:
    control = FakeControl()
    processor = make(db, control, USERS, SimulatedClock(T0), "svc-1")
    # On PostgreSQL the loop waits 30 s at a time: only the NOTIFY can wake it in time.
    wait_s = 30.0 if db.dialect == "postgresql" else 1.0
    with Loop(processor, wait_s):
        for i in range(3):
            time.sleep(0.05)  # the loop is asleep in wait()
            _add(db, command(f"c{i}", CommandKind.PAUSE, {}, strategy="sma-sbin"))
            took = _until(lambda i=i: _get(db, f"c{i}").status is CommandStatus.DONE, 5.0)
            assert took < 1.0
    assert [name for name, _ in control.calls] == ["pause"] * 3
    row = _get(db, "c2")
    assert (row.claimed_by, row.outcome_code) == ("svc-1", "PAUSE")
    assert [a[:2] for a in _audit(db)] == [("asha", "COMMAND_PAUSE")] * 3


def test_a_notification_wakes_the_waiter_and_another_schemas_does_not(
    pg: Database, postgres_base: str
) -> None:
    signal = CommandSignal(pg)
    signal.arm()
    assert signal.listening
    with fresh_schema(postgres_base) as other_url:
        for other in _migrated(other_url):
            _add(other, command("elsewhere", CommandKind.SQUARE_OFF, {}))
            assert signal.wait(0.3) is False  # the channel is shared; the schema is not ours
    timer = threading.Timer(0.2, _add, (pg, command("here", CommandKind.SQUARE_OFF, {})))
    timer.start()
    start = time.monotonic()
    try:
        assert signal.wait(10.0) is True
    finally:
        timer.join()
        signal.close()
    assert time.monotonic() - start < 2.0


def test_two_services_racing_never_run_a_command_twice(db: Database, make: Make) -> None:
    n = 60
    strategies = [f"s{i}" for i in range(n)]
    other = Database(db.url)
    controls = [FakeControl(strategies=strategies), FakeControl(strategies=strategies)]
    processors = [
        make(d, c, USERS, SimulatedClock(T0), f"svc-{k}", batch=5)
        for k, (d, c) in enumerate(zip((db, other), controls, strict=True))
    ]
    try:
        with Loop(processors[0], 0.05), Loop(processors[1], 0.05):
            for i in range(0, n, 10):
                _add(
                    db,
                    *(
                        command(f"c{j}", CommandKind.SQUARE_OFF, {}, strategy=f"s{j}")
                        for j in range(i, i + 10)
                    ),
                )
            _until(
                lambda: all(_get(db, f"c{j}").status is CommandStatus.DONE for j in range(n)), 30.0
            )
    finally:
        other.dispose()
    ran = [(k, args[0]) for k, c in enumerate(controls) for _, args in c.calls]
    assert sorted(s for _, s in ran) == sorted(strategies)  # each once, none twice
    for k, sid in ran:  # whoever ran it is who the row names
        assert _get(db, f"c{sid[1:]}").claimed_by == f"svc-{k}"


def test_rows_no_service_can_read_are_refused_in_the_row_and_the_queue_goes_on(
    db: Database, make: Make
) -> None:
    control = FakeControl()
    processor = make(db, control, USERS, SimulatedClock(T0), "svc-1")
    _raw_insert(db, "bad-kind", "DROP_TABLES", {})
    _raw_insert(db, "bad-payload", "SQUARE_OFF", [1, 2])
    _raw_insert(
        db, "float-qty", "MANUAL_ORDER", {"symbol": "SBIN-EQ", "side": "BUY", "quantity": 1.5}
    )
    _raw_insert(
        db, "nested", "MANUAL_ORDER", {"symbol": "SBIN-EQ", "side": "BUY", "quantity": {"n": 1}}
    )
    _raw_insert(db, "json-int", "MANUAL_ORDER", {"symbol": "SBIN-EQ", "side": "BUY", "quantity": 5})
    _raw_insert(db, "viewer", "KILL_SWITCH", {"reason": "x"}, by="vikram")
    _raw_insert(db, "stranger", "KILL_SWITCH", {"reason": "x"}, by="mallory")

    assert processor.poll_once() == 5  # the two unreadable rows are answered by the claim

    expected = {
        "bad-kind": (CommandStatus.REFUSED, "MALFORMED"),
        "bad-payload": (CommandStatus.REFUSED, "MALFORMED"),
        "float-qty": (CommandStatus.REFUSED, "MALFORMED"),
        "nested": (CommandStatus.REFUSED, "MALFORMED"),
        "json-int": (CommandStatus.DONE, "PLACE"),
        "viewer": (CommandStatus.REFUSED, "NOT_ALLOWED"),
        "stranger": (CommandStatus.REFUSED, "UNKNOWN_USER"),
    }
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                COMMANDS.c.command_id,
                COMMANDS.c.status,
                COMMANDS.c.outcome_code,
                COMMANDS.c.outcome_detail,
            )
        ).all()
    got = {cid: (CommandStatus(status), code) for cid, status, code, _ in rows}
    assert got == expected
    detail = {cid: text for cid, _, _, text in rows}
    assert "'DROP_TABLES' is not a command" in detail["bad-kind"]
    assert detail["bad-payload"] == "payload is a JSON list, not an object"
    assert [name for name, _ in control.calls] == ["place"]  # only the well-formed one
    audited = {(a[0], a[2].split()[1]) for a in _audit(db)}
    assert audited == {
        ("asha", "bad-kind"),
        ("asha", "bad-payload"),
        ("asha", "float-qty"),
        ("asha", "nested"),
        ("asha", "json-int"),
        ("vikram", "viewer"),
        ("mallory", "stranger"),
    }


def test_a_finished_command_is_never_taken_again_nor_one_written_as_already_done(
    db: Database, make: Make
) -> None:
    control = FakeControl()
    processor = make(db, control, USERS, SimulatedClock(T0), "svc-1")
    forged = command("forged", CommandKind.SQUARE_OFF, {})
    _add(db, CommandRecord(**{**_fields(forged), "status": CommandStatus.DONE}))
    _add(db, command("real", CommandKind.SQUARE_OFF, {}))
    assert processor.poll_once() == 1
    assert processor.poll_once() == 0
    assert control.calls == [("square_off", (None, None))]
    assert _get(db, "forged").outcome_code == ""


def _fields(record: CommandRecord) -> dict[str, Any]:
    return {f: getattr(record, f) for f in record.__dataclass_fields__}


# --- end to end: a command becomes an order at the simulated broker, through the engine ----


def _engine(db: Database) -> tuple[TradingEngine, SimulatedBroker]:
    clock = SimulatedClock(T0)
    broker = SimulatedBroker(clock, lambda s: equity(s))
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=100_000_000,
        instruments=[equity("SBIN-EQ")],
        risk=NoDeliveryShort(),
        trade_log=SqlTradeLog(db),
    )
    engine.start()
    return engine, broker


def test_a_place_command_becomes_an_order_at_the_broker_through_the_risk_checks(
    db: Database, make: Make
) -> None:
    engine, broker = _engine(db)
    processor = make(db, EngineControl(engine, set()), USERS, SimulatedClock(T0), "svc-1")
    limit = {
        "symbol": "SBIN-EQ",
        "side": "BUY",
        "quantity": "10",
        "order_type": "LIMIT",
        "price": "600.05",
    }
    _add(
        db,
        command("buy", CommandKind.MANUAL_ORDER, limit),
        command(
            "short",
            CommandKind.MANUAL_ORDER,
            {"symbol": "SBIN-EQ", "side": "SELL", "quantity": "5", "product": "DELIVERY"},
        ),
        command("peek", CommandKind.MANUAL_ORDER, limit, by="vikram"),
        command("odd", CommandKind.MANUAL_ORDER, {**limit, "symbol": "NOPE-EQ"}),
    )
    assert processor.poll_once() == 4
    engine.drain()

    bought = _get(db, "buy")
    assert (bought.status, bought.outcome_code) == (CommandStatus.DONE, "ORDER_SENT")
    coid = ClientOrderId(bought.result["client_order_id"])
    assert broker.matcher.get(coid) is not None  # resting at the venue
    with SqlUnitOfWork(db, read_only=True) as uow:
        order = uow.orders.get(coid)
    assert order is not None
    assert (order.strategy_id, order.quantity, order.price_paise, order.status) == (
        "manual",
        10,
        60005,
        OrderStatus.OPEN,
    )

    short = _get(db, "short")
    assert (short.status, short.outcome_code) == (CommandStatus.REFUSED, "NO_DELIVERY_SHORT")
    assert short.outcome_detail == "sell 5 SBIN-EQ as DELIVERY, 0 free to sell"
    assert broker.matcher.get(ClientOrderId(short.result["client_order_id"])) is None
    assert _get(db, "peek").outcome_code == "NOT_ALLOWED"
    assert _get(db, "odd").outcome_code == "UNKNOWN_SYMBOL"
    assert len(engine.orders.orders) == 2  # the refused commands made no order at all

    # and a cancel through the table reaches the venue
    _add(db, command("cancel", CommandKind.CANCEL, {"client_order_id": coid}))
    assert processor.poll_once() == 1
    engine.drain()
    assert _get(db, "cancel").outcome_code == "CANCEL_SENT"
    assert broker.matcher.get(coid) is None
    with SqlUnitOfWork(db, read_only=True) as uow:
        cancelled = uow.orders.get(coid)
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELLED


def test_every_instance_follows_a_pause_and_the_kill_switch_whichever_executed_it(
    db: Database, make: Make
) -> None:
    other = Database(db.url)
    try:
        a, b = FakeControl(), FakeControl()
        first = make(db, a, USERS, SimulatedClock(T0), "svc-a")
        _add(db, command("pause", CommandKind.PAUSE, {}, strategy="sma-sbin"))
        assert first.poll_once() == 1  # executed by svc-a
        second = make(other, b, USERS, SimulatedClock(T0), "svc-b")  # starts later
        assert second.poll_once() == 0  # restored from the table
        _add(db, command("kill", CommandKind.KILL_SWITCH, {"reason": "loss limit"}))
        assert second.poll_once() == 1  # executed by svc-b
        assert first.poll_once() == 0  # followed by svc-a
        first.poll_once()
        second.poll_once()
    finally:
        other.dispose()
    expected = [("pause", ("sma-sbin",)), ("kill", ("loss limit", "asha"))]
    assert a.calls == expected
    assert b.calls == expected


def test_a_claim_whose_service_died_is_failed_as_interrupted_and_its_late_answer_refused(
    db: Database, make: Make
) -> None:
    _add(db, command("orphan", CommandKind.SQUARE_OFF, {}))
    with SqlUnitOfWork(db) as uow:
        assert uow.commands.claim_next("svc-dead", T0) is not None
        uow.commit()
    control = FakeControl()
    clock = SimulatedClock(T0 + 61 * 1_000_000_000)
    assert make(db, control, USERS, clock, "svc-1").poll_once() == 0
    row = _get(db, "orphan")
    assert (row.status, row.outcome_code) == (CommandStatus.FAILED, "INTERRUPTED")
    assert control.calls == []
    with SqlUnitOfWork(db) as uow, pytest.raises(StorageError, match="no longer claimed"):
        uow.commands.finish(
            "orphan", CommandStatus.DONE, code="OK", detail="", ts_ns=T0, worker="svc-dead"
        )
    assert _audit(db)[-1][:2] == ("svc-1", "COMMAND_INTERRUPTED")
