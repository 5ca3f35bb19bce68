"""The broker's funds and margin per account (`account_funds`, migration 0009): the trading
service writes what getRMS answered (at start and with each reconciliation), the dashboard
reads the newest. One row per account, replaced on each reading."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import datetime_to_ns, ns_to_datetime

__all__ = ["ACCOUNT_FUNDS", "FundsRecord", "SqlAccountFunds"]

ACCOUNT_FUNDS: Table = metadata.tables["account_funds"]


@dataclass(frozen=True, slots=True)
class FundsRecord:
    """One reading of the broker's funds, in paise; `utilised_debits` is the margin in use."""

    account: str
    net: int
    available_cash: int
    available_intraday_payin: int
    collateral: int
    m2m_realized: int
    m2m_unrealized: int
    utilised_debits: int
    recorded_ns: int


class SqlAccountFunds:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, funds: FundsRecord) -> None:
        """Store `funds` as the account's newest reading (replacing the previous one)."""
        values = asdict(funds)
        values["recorded_at"] = ns_to_datetime(values.pop("recorded_ns"))
        changed = {k: v for k, v in values.items() if k != "account"}
        insert = pg_insert if self._db.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(ACCOUNT_FUNDS)
            .values(values)
            .on_conflict_do_update(index_elements=["account"], set_=changed)
        )
        try:
            with self._db.engine.connect() as c:
                c.execute(statement)
                c.commit()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc

    def latest(self) -> list[FundsRecord]:
        """Every account's newest reading, by account."""
        try:
            with self._db.read_engine.connect() as c:
                rows = c.execute(select(ACCOUNT_FUNDS).order_by(ACCOUNT_FUNDS.c.account)).all()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc
        return [
            FundsRecord(
                row.account,
                int(row.net),
                int(row.available_cash),
                int(row.available_intraday_payin),
                int(row.collateral),
                int(row.m2m_realized),
                int(row.m2m_unrealized),
                int(row.utilised_debits),
                datetime_to_ns(row.recorded_at),
            )
            for row in rows
        ]
