"""The command processor (services/commands.py) on in-memory fakes: who may ask, what a
payload may hold, which control call each kind makes, and what the row and the audit log say
afterwards. A refused command never reaches the control."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.orders import OrderSide, OrderType, ProductType, Validity
from algo_trading.engine import SimulatedClock
from algo_trading.engine.ports import CommandKind, CommandStatus
from algo_trading.services.command_payloads import parse_payload
from algo_trading.services.commands import CommandProcessor, Outcome
from tests.support.commands import T0, FakeControl, MemoryCommandStore, Users, command

NS = 1_000_000_000


def _rig(**control_kw: object) -> tuple[MemoryCommandStore, FakeControl, CommandProcessor]:
    store = MemoryCommandStore()
    control = FakeControl(**control_kw)  # type: ignore[arg-type]
    users = Users(asha="trader", vikram="viewer")
    processor = CommandProcessor(store.uow, control, users, SimulatedClock(T0), "svc-1")
    return store, control, processor


def _outcome(store: MemoryCommandStore, cid: str) -> tuple[CommandStatus, str]:
    row = store.get(cid)
    assert row is not None
    return row.status, row.outcome_code


def test_a_traders_limit_order_reaches_the_control_as_an_exact_intent_and_is_answered() -> None:
    store, control, processor = _rig()
    payload = {
        "symbol": "SBIN-EQ",
        "side": "SELL",
        "quantity": "15",
        "order_type": "LIMIT",
        "price": "612.35",
        "product": "DELIVERY",
        "validity": "IOC",
    }
    store.add(command("c1", CommandKind.MANUAL_ORDER, payload, strategy="sma-sbin"))
    control.answer = Outcome.done("ORDER_SENT", "sent", client_order_id="O1")

    assert processor.poll_once() == 1

    ((name, (intent,)),) = control.calls
    assert name == "place"
    assert (intent.strategy_id, intent.symbol, intent.side, intent.quantity) == (
        "sma-sbin",
        "SBIN-EQ",
        OrderSide.SELL,
        15,
    )
    assert (intent.order_type, intent.price_paise, intent.product, intent.validity) == (
        OrderType.LIMIT,
        61235,
        ProductType.DELIVERY,
        Validity.IOC,
    )
    row = store.get("c1")
    assert row is not None
    assert (row.status, row.outcome_code, row.result) == (
        CommandStatus.DONE,
        "ORDER_SENT",
        {"client_order_id": "O1"},
    )
    ((actor, action, subject, detail, _),) = store.audit
    assert (actor, action, subject) == (
        "asha",
        "COMMAND_MANUAL_ORDER",
        "command c1 strategy sma-sbin",
    )
    assert detail == "DONE ORDER_SENT: sent"


def test_an_order_naming_no_strategy_goes_to_the_manual_book() -> None:
    store, control, processor = _rig()
    store.add(
        command(
            "c1", CommandKind.MANUAL_ORDER, {"symbol": "INFY-EQ", "side": "BUY", "quantity": "3"}
        )
    )
    processor.poll_once()
    ((_, (intent,)),) = control.calls
    assert (intent.strategy_id, intent.quantity, intent.order_type) == (
        "manual",
        3,
        OrderType.MARKET,
    )


@pytest.mark.parametrize(
    ("kind", "payload", "strategy", "call"),
    [
        (
            CommandKind.MODIFY,
            {"client_order_id": "O7", "price": "101.05"},
            "sma-sbin",
            ("modify", ("sma-sbin", "O7", None, 10105, None)),
        ),
        (CommandKind.CANCEL, {"client_order_id": "O7"}, None, ("cancel", (None, "O7"))),
        (CommandKind.SQUARE_OFF, {}, None, ("square_off", (None, None))),
        (
            CommandKind.SQUARE_OFF,
            {"symbol": "SBIN-EQ"},
            "sma-sbin",
            ("square_off", ("sma-sbin", "SBIN-EQ")),
        ),
        (CommandKind.PAUSE, {}, "ema-infy", ("pause", ("ema-infy",))),
        (CommandKind.RESUME, {}, "ema-infy", ("resume", ("ema-infy",))),
        (
            CommandKind.KILL_SWITCH,
            {"reason": "feed looks wrong"},
            None,
            ("kill", ("feed looks wrong", "asha")),
        ),
        (CommandKind.KILL_RESET, {}, None, ("reset_kill", ("asha",))),
    ],
)
def test_each_kind_makes_its_one_control_call(
    kind: CommandKind,
    payload: dict[str, str],
    strategy: str | None,
    call: tuple[str, tuple[object, ...]],
) -> None:
    store, control, processor = _rig()
    store.add(command("c1", kind, payload, strategy=strategy))
    processor.poll_once()
    assert control.calls == [call]
    assert _outcome(store, "c1") == (CommandStatus.DONE, call[0].upper())


@pytest.mark.parametrize(
    ("user", "code"),
    [("vikram", "NOT_ALLOWED"), ("mallory", "UNKNOWN_USER"), ("", "UNKNOWN_USER")],
)
def test_a_viewer_or_an_unknown_user_is_refused_and_nothing_happens(user: str, code: str) -> None:
    store, control, processor = _rig()
    store.add(command("c1", CommandKind.KILL_SWITCH, {"reason": "x"}, by=user))
    store.add(command("c2", CommandKind.SQUARE_OFF, {}, by=user))
    assert processor.poll_once() == 2
    assert control.calls == []
    assert _outcome(store, "c1") == (CommandStatus.REFUSED, code)
    assert _outcome(store, "c2") == (CommandStatus.REFUSED, code)
    assert [a[0] for a in store.audit] == [user, user]  # audited under the name it gave
    assert all(a[3].startswith(f"REFUSED {code}") for a in store.audit)


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "0"}, "quantity"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1.5"}, "quantity"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "-3"}, "quantity"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "ten"}, "quantity"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "True"}, "quantity"),
        ({"symbol": "SBIN-EQ", "side": "buy", "quantity": "1"}, "side"),
        ({"symbol": "SBIN-EQ", "side": "BUY"}, "'quantity' is missing"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1", "colour": "red"}, "'colour'"),
        (
            {"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1", "requested_by": "root"},
            "'requested_by'",
        ),
        (
            {"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1", "order_type": "LIMIT"},
            "needs price",
        ),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1", "price": "10"}, "takes no price"),
        (
            {
                "symbol": "SBIN-EQ",
                "side": "BUY",
                "quantity": "1",
                "order_type": "LIMIT",
                "price": "1.005",
            },
            "finer than one paisa",
        ),
        (
            {
                "symbol": "SBIN-EQ",
                "side": "BUY",
                "quantity": "1",
                "order_type": "LIMIT",
                "price": "0",
            },
            "above zero",
        ),
        ({"symbol": "SBIN EQ; DROP", "side": "BUY", "quantity": "1"}, "symbol"),
        ({"symbol": "SBIN-EQ", "side": "BUY", "quantity": "{'n': 1}"}, "quantity"),
    ],
)
def test_a_malformed_order_is_refused_with_one_line_naming_the_key(
    payload: dict[str, str], names: str
) -> None:
    store, control, processor = _rig()
    store.add(command("c1", CommandKind.MANUAL_ORDER, payload))
    processor.poll_once()
    row = store.get("c1")
    assert row is not None
    assert (row.status, row.outcome_code) == (CommandStatus.REFUSED, "MALFORMED")
    assert names in row.outcome_detail
    assert "\n" not in row.outcome_detail
    assert row.outcome_detail.startswith("MANUAL_ORDER payload: ")
    assert control.calls == []


@pytest.mark.parametrize(
    ("kind", "payload", "strategy", "code"),
    [
        (
            CommandKind.MANUAL_ORDER,
            {"symbol": "XYZ-EQ", "side": "BUY", "quantity": "1"},
            None,
            "UNKNOWN_SYMBOL",
        ),
        (CommandKind.SQUARE_OFF, {"symbol": "XYZ-EQ"}, None, "UNKNOWN_SYMBOL"),
        (CommandKind.PAUSE, {}, "ghost", "UNKNOWN_STRATEGY"),
        (CommandKind.PAUSE, {}, None, "MALFORMED"),
        (CommandKind.RESUME, {"now": "1"}, "sma-sbin", "MALFORMED"),
        (CommandKind.KILL_SWITCH, {"reason": "x"}, "sma-sbin", "MALFORMED"),
        (CommandKind.KILL_SWITCH, {}, None, "MALFORMED"),
        (CommandKind.MODIFY, {"client_order_id": "O1"}, None, "MALFORMED"),
        (CommandKind.CANCEL, {"client_order_id": "O1 OR 1=1"}, None, "MALFORMED"),
    ],
)
def test_a_command_that_names_what_is_not_here_is_refused_before_the_control(
    kind: CommandKind, payload: dict[str, str], strategy: str | None, code: str
) -> None:
    store, control, processor = _rig()
    store.add(command("c1", kind, payload, strategy=strategy))
    processor.poll_once()
    assert _outcome(store, "c1") == (CommandStatus.REFUSED, code)
    assert control.calls == []


def test_a_refusal_from_the_control_is_the_commands_outcome() -> None:
    store, control, processor = _rig()
    control.answer = Outcome.refused("NO_DELIVERY_SHORT", "sell 5 SBIN-EQ as DELIVERY, 0 free")
    store.add(
        command(
            "c1", CommandKind.MANUAL_ORDER, {"symbol": "SBIN-EQ", "side": "SELL", "quantity": "5"}
        )
    )
    processor.poll_once()
    row = store.get("c1")
    assert row is not None
    assert (row.status, row.outcome_code, row.outcome_detail) == (
        CommandStatus.REFUSED,
        "NO_DELIVERY_SHORT",
        "sell 5 SBIN-EQ as DELIVERY, 0 free",
    )


def test_a_control_that_raises_fails_that_command_and_the_next_one_still_runs() -> None:
    store, control, processor = _rig()
    control.boom = RuntimeError("broker\nwent away")
    store.add(command("c1", CommandKind.SQUARE_OFF, {}))
    store.add(command("c2", CommandKind.PAUSE, {}, strategy="sma-sbin"))
    assert processor.poll_once() == 2
    row = store.get("c1")
    assert row is not None
    assert (row.status, row.outcome_code) == (CommandStatus.FAILED, "ERROR")
    assert row.outcome_detail == "RuntimeError: broker went away"
    assert _outcome(store, "c2") == (CommandStatus.FAILED, "ERROR")
    assert len(control.calls) == 2


def test_a_command_is_answered_once_and_a_poll_takes_at_most_a_batch() -> None:
    store = MemoryCommandStore()
    control = FakeControl()
    processor = CommandProcessor(
        store.uow, control, Users(asha="trader"), SimulatedClock(T0), "svc-1", batch=3
    )
    for i in range(5):
        store.add(command(f"c{i}", CommandKind.PAUSE, {}, strategy="sma-sbin"))
    assert [processor.poll_once() for _ in range(4)] == [3, 2, 0, 0]
    assert len(control.calls) == 5


def test_with_leases_only_commands_of_held_strategies_or_of_none_are_taken() -> None:
    store = MemoryCommandStore()
    control = FakeControl()
    held = {"sma-sbin"}
    processor = CommandProcessor(
        store.uow,
        control,
        Users(asha="trader"),
        SimulatedClock(T0),
        "svc-1",
        strategies=lambda: held,
    )
    store.add(command("mine", CommandKind.PAUSE, {}, strategy="sma-sbin"))
    store.add(command("theirs", CommandKind.PAUSE, {}, strategy="ema-infy"))
    store.add(
        command(
            "manual",
            CommandKind.MANUAL_ORDER,
            {"symbol": "SBIN-EQ", "side": "BUY", "quantity": "1"},
        )
    )
    store.add(command("other-account", CommandKind.SQUARE_OFF, {}, account="acct-2"))
    assert processor.poll_once() == 2
    assert _outcome(store, "mine")[0] is CommandStatus.DONE
    assert _outcome(store, "manual")[0] is CommandStatus.DONE
    assert _outcome(store, "theirs")[0] is CommandStatus.PENDING
    assert _outcome(store, "other-account")[0] is CommandStatus.PENDING
    held.add("ema-infy")  # the lease moved here
    assert processor.poll_once() == 1
    assert _outcome(store, "theirs")[0] is CommandStatus.DONE


def test_a_command_claimed_by_a_service_that_died_is_failed_not_run_again() -> None:
    store, control, processor = _rig()
    clock = SimulatedClock(T0)
    processor = CommandProcessor(store.uow, control, Users(asha="trader"), clock, "svc-2")
    store.add(command("c1", CommandKind.SQUARE_OFF, {}))
    assert store.claim_next("svc-dead", T0) is not None
    clock.set(T0 + 30 * NS)
    processor.poll_once()
    assert _outcome(store, "c1")[0] is CommandStatus.CLAIMED  # might still be running
    clock.set(T0 + 61 * NS)
    processor.poll_once()
    assert _outcome(store, "c1") == (CommandStatus.FAILED, "INTERRUPTED")
    assert control.calls == []
    assert store.audit[-1][1] == "COMMAND_INTERRUPTED"


def _done(store: MemoryCommandStore, cid: str, kind: CommandKind, **kw: object) -> None:
    """A command another instance (svc-old) claimed and executed."""
    payload = kw.pop("payload", {})
    store.add(command(cid, kind, payload, **kw))  # type: ignore[arg-type]
    assert store.claim_next("svc-old", T0) is not None
    store.finish(cid, CommandStatus.DONE, code="OK", detail="", ts_ns=T0, worker="svc-old")


def test_a_restart_restores_paused_strategies_and_a_tripped_kill_switch_from_the_table() -> None:
    store, control, processor = _rig()
    _done(store, "p1", CommandKind.PAUSE, strategy="sma-sbin")
    _done(store, "p2", CommandKind.PAUSE, strategy="ema-infy")
    _done(store, "r2", CommandKind.RESUME, strategy="ema-infy")
    _done(store, "k1", CommandKind.KILL_SWITCH, payload={"reason": "loss"})
    _done(store, "k2", CommandKind.KILL_RESET)
    _done(store, "k3", CommandKind.KILL_SWITCH, payload={"reason": "again"}, by="ravi")
    processor = CommandProcessor(
        store.uow, control, Users(asha="trader", ravi="trader"), SimulatedClock(T0), "svc-new"
    )
    assert processor.poll_once() == 0
    assert control.calls == [("pause", ("sma-sbin",)), ("kill", ("again", "ravi"))]
    processor.poll_once()
    assert len(control.calls) == 2  # restored once, not again


def test_a_reset_kill_switch_stays_reset_after_a_restart() -> None:
    store, control, processor = _rig()
    _done(store, "k1", CommandKind.KILL_SWITCH, payload={"reason": "loss"})
    _done(store, "k2", CommandKind.KILL_RESET)
    processor.poll_once()
    assert control.calls == []


def test_what_another_instance_executed_is_followed_here_once_and_not_what_this_one_did() -> None:
    store, control, processor = _rig()
    processor.poll_once()  # restored: nothing yet
    _done(store, "k1", CommandKind.KILL_SWITCH, payload={"reason": "loss"})
    store.add(command("mine", CommandKind.PAUSE, {}, strategy="sma-sbin"))
    processor.poll_once()  # executes "mine", follows "k1"
    processor.poll_once()
    assert sorted(control.calls) == [("kill", ("loss", "asha")), ("pause", ("sma-sbin",))]


def test_a_command_finished_late_below_a_later_one_is_still_followed() -> None:
    store, control, processor = _rig()
    processor.poll_once()
    store.add(command("k1", CommandKind.KILL_SWITCH, {"reason": "slow"}))
    assert store.claim_next("svc-slow", T0) is not None  # executing elsewhere, for a while
    _done(store, "p1", CommandKind.PAUSE, strategy="sma-sbin")
    processor.poll_once()
    assert control.calls == [("pause", ("sma-sbin",))]
    store.finish("k1", CommandStatus.DONE, code="OK", detail="", ts_ns=T0, worker="svc-slow")
    processor.poll_once()
    assert control.calls == [("pause", ("sma-sbin",)), ("kill", ("slow", "asha"))]


def test_a_row_written_as_done_by_someone_who_may_not_act_is_not_followed() -> None:
    store, control, processor = _rig()
    processor.poll_once()
    _done(store, "k1", CommandKind.KILL_RESET, by="vikram")
    _done(store, "k2", CommandKind.PAUSE, strategy="sma-sbin", by="mallory")
    processor.poll_once()
    assert control.calls == []


_KEYS = st.sampled_from(
    [
        "symbol",
        "side",
        "quantity",
        "order_type",
        "price",
        "trigger_price",
        "product",
        "validity",
        "client_order_id",
        "reason",
        "extra",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "SBIN-EQ",
            "BUY",
            "SELL",
            "LIMIT",
            "MARKET",
            "1",
            "0",
            "-1",
            "1.5",
            "612.35",
            "NaN",
            "Infinity",
            "1e3",
            "None",
            "True",
            "O000001",
        ]
    ),
)


@given(kind=st.sampled_from(list(CommandKind)), payload=st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_any_payload_is_either_a_valid_command_or_refused_on_one_line(
    kind: CommandKind, payload: dict[str, str]
) -> None:
    parsed = parse_payload(kind, payload)
    if isinstance(parsed, str):
        assert parsed.startswith(f"{kind.value} payload: ")
        assert "\n" not in parsed
        return
    for name in ("quantity", "price", "trigger_price"):
        value = getattr(parsed, name, None)
        assert value is None or (isinstance(value, int) and value > 0)
