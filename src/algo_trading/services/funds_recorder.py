"""The broker's funds, recorded for the dashboard: the trading service reads getRMS (available
cash, margin used, net) at start and then about every reconciliation interval, and stores the
reading in `account_funds`. The dashboard is another process without a broker session; it shows
the newest reading with its time."""

from __future__ import annotations

import logging
from typing import Protocol

from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.account_funds import FundsRecord, SqlAccountFunds

__all__ = ["FundsRecorder", "FundsSource"]

log = logging.getLogger(__name__)


class _Funds(Protocol):
    """What getRMS gives (`adapters.brokers.angelone.BrokerFunds` is one), in paise."""

    @property
    def net_paise(self) -> int: ...
    @property
    def available_cash_paise(self) -> int: ...
    @property
    def available_intraday_payin_paise(self) -> int: ...
    @property
    def collateral_paise(self) -> int: ...
    @property
    def m2m_realized_paise(self) -> int: ...
    @property
    def m2m_unrealized_paise(self) -> int: ...
    @property
    def utilised_debits_paise(self) -> int: ...


class FundsSource(Protocol):
    def funds(self) -> _Funds: ...


class FundsRecorder:
    """A periodic hook `fn(now_ns)` for `TradingService.add_periodic` (its first call is at the
    loop's start). A failed reading or write is logged and tried again next time: the dashboard
    then shows the older reading with its time, never a made-up one."""

    def __init__(self, source: FundsSource, db: Database, account: str) -> None:
        self._source = source
        self._store = SqlAccountFunds(db)
        self._account = account

    def __call__(self, now_ns: int) -> FundsRecord | None:
        try:
            f = self._source.funds()
            record = FundsRecord(
                account=self._account,
                net=f.net_paise,
                available_cash=f.available_cash_paise,
                available_intraday_payin=f.available_intraday_payin_paise,
                collateral=f.collateral_paise,
                m2m_realized=f.m2m_realized_paise,
                m2m_unrealized=f.m2m_unrealized_paise,
                utilised_debits=f.utilised_debits_paise,
                recorded_ns=now_ns,
            )
            self._store.record(record)
        except Exception as exc:  # a periodic hook must not stop the loop
            log.warning("funds: not recorded for account %s: %s", self._account, exc)
            return None
        return record
