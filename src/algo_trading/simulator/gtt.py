"""GTT triggering (spec §2.15): a live rule whose trigger price the market crosses places its
LIMIT order and becomes SENTTOEXCHANGE.

The rule objects the REST routes return stay plain dicts (their wire shape); the numbers that
decide a trigger are kept here in integer paise, with the side of the market the trigger was set
on, so a rule set above the last price fires on a rise to it and one set below on a fall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.money import paise_to_decimal
from algo_trading.simulator.exchange import SimExchange
from algo_trading.simulator.market import InstrumentKey, Quote

__all__ = ["LIVE_STATUSES", "GttTrigger", "fire_gtt_rules", "iso_utc"]

LIVE_STATUSES = frozenset({"NEW", "ACTIVE"})


def iso_utc(ts_ns: int) -> str:
    """GTT dates are ISO UTC, "2020-11-16T14:19:51Z" (spec §2.15)."""
    return ns_to_ist(ts_ns).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class GttTrigger:
    """What fires one rule: its instrument, trigger and limit price (paise), and whether the
    trigger sat above the last price when the rule was written."""

    key: InstrumentKey
    trigger_paise: int
    price_paise: int
    above: bool

    def crossed(self, ltp: int) -> bool:
        return ltp >= self.trigger_paise if self.above else ltp <= self.trigger_paise


def fire_gtt_rules(
    rules: dict[int, dict[str, Any]],
    triggers: dict[int, GttTrigger],
    exchange: SimExchange,
    quotes: Iterable[Quote],
    now_ns: int,
) -> None:
    """Place the order of every live rule whose trigger one of `quotes` crossed."""
    last = {quote.key: quote.ltp for quote in quotes}
    for rule_id, trigger in list(triggers.items()):
        rule = rules.get(rule_id)
        ltp = last.get(trigger.key)
        if rule is None or rule["status"] not in LIVE_STATUSES:
            del triggers[rule_id]
            continue
        if ltp is None or not trigger.crossed(ltp):
            continue
        del triggers[rule_id]
        exchange.place(
            rule["clientid"],
            {
                "variety": "NORMAL",
                "tradingsymbol": rule["tradingsymbol"],
                "symboltoken": rule["symboltoken"],
                "transactiontype": rule["transactiontype"],
                "exchange": rule["exchange"],
                "ordertype": "LIMIT",
                "producttype": rule["producttype"],
                "duration": "DAY",
                "price": str(paise_to_decimal(trigger.price_paise)),
                "triggerprice": "0",
                "quantity": str(rule["qty"]),
                "disclosedquantity": str(rule.get("disclosedqty", 0)),
            },
        )
        rule["status"] = "SENTTOEXCHANGE"
        rule["updateddate"] = iso_utc(now_ns)
