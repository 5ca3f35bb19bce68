"""Issue #12's acceptance under AppTest: the login gate, every page for a viewer, no controls
for a viewer (even with a forged session or command), the ticket's refusals writing nothing,
every control writing its command, and an answered command's outcome shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.dashboard import commands
from algo_trading.dashboard.auth import SESSION_KEY
from algo_trading.dashboard.format import rupees
from algo_trading.engine.ports import CommandStatus
from algo_trading.services.users import Session, demo_store
from tests.integration.dashboard.conftest import NOW_NS, count, log_in

VIEWER_PAGES = ("portfolio", "orders", "performance", "charts", "backtests", "health")
COMMANDS = metadata.tables["commands"]
AUDIT = metadata.tables["audit_log"]


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _command_row(db: Database, command_id: str) -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(select(COMMANDS).where(COMMANDS.c.command_id == command_id)).one()
    return dict(row._mapping)


def test_a_visitor_sees_only_the_login(app_env: Callable[..., AppTest]) -> None:
    at = app_env().run()
    _no_exception(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.header
    assert not at.metric
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/portfolio.py")


def test_a_wrong_password_is_refused_and_audited(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    at = log_in(app_env(), "viewer", "not the password")
    assert "wrong user name or password" in _texts(at)
    assert not at.header
    with database.engine.connect() as conn:
        actions = list(
            conn.execute(select(AUDIT.c.action).where(AUDIT.c.actor == "viewer")).scalars()
        )
    assert "dashboard.login_failed" in actions


def test_repeated_failures_lock_the_login_out(app_env: Callable[..., AppTest]) -> None:
    at = app_env(dashboard_lockout_failures="2")
    for _ in range(2):
        at = log_in(at, "demo", "wrong")
    assert "locked" in _texts(at)
    at = log_in(at, "demo")  # the right password, but locked
    assert "locked" in _texts(at)
    assert not at.header


@pytest.mark.parametrize("page", VIEWER_PAGES)
def test_a_viewer_sees_every_page_without_an_error(
    app_env: Callable[..., AppTest], page: str
) -> None:
    at = log_in(app_env(), "viewer")
    at.switch_page(f"pages/{page}.py").run()
    _no_exception(at)
    assert at.header, page
    assert not [b for b in at.button if b.label in ("Send order", "Check order")]


def test_the_portfolio_shows_the_positions_totals_in_rupees(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    from algo_trading.dashboard import queries

    at = log_in(app_env(), "viewer")
    _no_exception(at)
    frame = queries.portfolio(database)
    realized = sum(int(x) for x in frame["realized_pnl"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Realized"].endswith(rupees(realized))
    assert len(at.dataframe) == frame["strategy"].nunique()


def test_orders_show_the_rejection_reason_and_offer_csv(app_env: Callable[..., AppTest]) -> None:
    at = log_in(app_env(), "viewer")
    at.switch_page("pages/orders.py").run()
    at.multiselect(key="f_status").select("REJECTED").run()
    _no_exception(at)
    assert "MAX_ORDER_VALUE" in _texts(at)
    assert at.get("download_button")


def test_a_viewer_has_no_controls_even_with_a_forged_session_role(
    app_env: Callable[..., AppTest],
) -> None:
    at = app_env()
    at.session_state[SESSION_KEY] = Session("viewer", "trader", NOW_NS, 2**62)
    at.run()
    _no_exception(at)
    assert at.header  # logged in, as the viewer the store says it is
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/controls.py")


def test_a_forged_viewer_command_is_refused_and_nothing_is_written(database: Database) -> None:
    before = count(database, "commands")
    with pytest.raises(commands.CommandRefusedError, match="trader role is needed"):
        commands.submit(
            database, demo_store(), "viewer", "kill", {"reason": "forged"}, now_ns=NOW_NS
        )
    assert count(database, "commands") == before
    with database.engine.connect() as conn:
        refused = list(
            conn.execute(
                select(AUDIT.c.action).where(
                    AUDIT.c.actor == "viewer", AUDIT.c.detail.like("%kill")
                )
            ).scalars()
        )
    assert "dashboard.refused.kill" in refused


def _controls(app_env: Callable[..., AppTest]) -> AppTest:
    at = log_in(app_env(), "demo")
    at.switch_page("pages/controls.py").run()
    _no_exception(at)
    return at


def _ticket(at: AppTest, **fields: str) -> AppTest:
    values = {
        "t_type": "LIMIT",
        "t_symbol": "SBIN-EQ",
        "t_lots": "2",
        "t_price": "1010.50",
    } | fields
    for key, value in values.items():
        if key in ("t_type", "t_side", "t_exchange", "t_product"):
            at.selectbox(key=key).select(value)
        else:
            at.text_input(key=key).input(value)
    next(b for b in at.button if b.label == "Check order").click()
    return at.run()


BAD_TICKETS = (
    ({"t_lots": "0"}, "lots: at least one lot"),
    ({"t_lots": "1.5"}, "is not a whole number of lots"),
    ({"t_price": "1010.55"}, "is not on the 0.10 tick"),
    ({"t_symbol": "NOSUCH-EQ"}, "NOSUCH-EQ is not in the instrument master"),
    ({"t_price": "5000.00"}, "outside the band"),
)


def test_a_bad_ticket_is_refused_in_the_form_and_nothing_is_written(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    """Zero or fractional lots, an off-tick price, an unknown symbol and a price outside the
    band, one after another in one session: each refused with its reason, nothing written."""
    at = _controls(app_env)
    before = count(database, "commands")
    for fields, reason in BAD_TICKETS:
        at = _ticket(at, **fields)
        _no_exception(at)
        assert reason in _texts(at), fields
        assert not [b for b in at.button if b.label == "Send order"], fields
    assert count(database, "commands") == before


def test_a_valid_order_is_written_and_its_outcome_shown_once_answered(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    at = _ticket(_controls(app_env))
    assert "Ready: BUY 2 SBIN-EQ" in _texts(at)
    assert at.dataframe  # the estimated charges, line by line
    at.button(key="send_order").click().run()
    _no_exception(at)
    command_id = at.session_state["commands_sent"][-1]
    row = _command_row(database, command_id)
    assert row["kind"] == "MANUAL_ORDER"
    assert row["status"] == "PENDING"
    assert row["requested_by"] == "demo"
    assert row["payload"]["price"] == "1010.50"
    assert row["strategy"] == "manual"
    assert f"{command_id}: PENDING: waiting for the trading service" in _texts(at)
    with SqlUnitOfWork(database) as uow:  # the trading service's answer
        uow.commands.finish(
            command_id, CommandStatus.DONE, code="PLACED", detail="order m-1", ts_ns=NOW_NS
        )
        uow.commit()
    at.run()
    assert f"MANUAL_ORDER {command_id}: DONE PLACED order m-1" in _texts(at)


CONTROLS = (  # widgets to set, the button, and the row's kind, strategy and payload
    ({"cancel_order": "DOPEN0001"}, "cancel", "CANCEL", None, {"client_order_id": "DOPEN0001"}),
    (
        {"modify_order": "DOPEN0001", "modify_price": "1001.00", "modify_quantity": "20"},
        "modify",
        "MODIFY",
        None,
        {"client_order_id": "DOPEN0001", "quantity": "20", "price": "1001.00"},
    ),
    ({}, "square_off", "SQUARE_OFF", None, {}),
    ({"sq_strategy": "rsi_reversion"}, "square_off", "SQUARE_OFF", "rsi_reversion", {}),
    ({"pr_strategy": "sma_crossover"}, "pause", "PAUSE", "sma_crossover", {}),
    ({"pr_strategy": "sma_crossover"}, "resume", "RESUME", "sma_crossover", {}),
    ({"kill_reason": "market halt"}, "kill", "KILL_SWITCH", None, {"reason": "market halt"}),
    ({}, "reset_kill", "KILL_RESET", None, {}),
)


def test_every_control_writes_its_command_only_after_confirmation(
    app_env: Callable[..., AppTest], database: Database
) -> None:
    """Cancel, modify, square off (all, one strategy), pause, resume, kill and reset, in one
    session:
    without the confirmation nothing is written; with it, the command row and its audit line."""
    at = _controls(app_env)
    for setup, key, kind, strategy, payload in CONTROLS:
        for widget, value in setup.items():
            if widget in ("kill_reason", "modify_price", "modify_quantity"):
                at.text_input(key=widget).input(value)
            else:
                at.selectbox(key=widget).select(value)
        at.checkbox(key=f"{key}_confirm").uncheck()
        before = count(database, "commands")
        at.button(key=key).click().run()
        assert "Tick the confirmation first." in _texts(at), key
        assert count(database, "commands") == before, key
        at.checkbox(key=f"{key}_confirm").check()
        at.button(key=key).click().run()
        _no_exception(at)
        row = _command_row(database, at.session_state["commands_sent"][-1])
        assert (row["kind"], row["strategy"], row["payload"]) == (kind, strategy, payload), key
        assert row["requested_by"] == "demo"
        with database.engine.connect() as conn:
            audited = conn.execute(
                select(AUDIT.c.actor, AUDIT.c.action).where(AUDIT.c.subject == row["command_id"])
            ).one()
        assert tuple(audited) == ("demo", f"dashboard.{key}")


def test_logging_out_returns_to_the_login(app_env: Callable[..., AppTest]) -> None:
    at = log_in(app_env(), "viewer")
    at.button(key="logout").click().run()
    _no_exception(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"]


def test_an_expired_session_sees_the_login_again(app_env: Callable[..., AppTest]) -> None:
    at = app_env()
    at.session_state[SESSION_KEY] = Session("demo", "trader", 0, 1)  # expired long ago
    at.run()
    _no_exception(at)
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.header
