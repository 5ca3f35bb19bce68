"""`algo-trading charges`: the charges and net P&L of one round trip, line by line.

Every mistake a user can make (a missing or unknown option, a price finer than a paisa) is one
line on stderr and exit code 2, including the ones click itself would answer with a usage
screen.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from algo_trading.domain.errors import AlgoTradingError, ConfigError
from algo_trading.domain.instruments import Exchange, InstrumentType
from algo_trading.domain.money import format_rupees, rupees_to_paise
from algo_trading.market import BROKERS, ChargeSegment, rates_on
from algo_trading.market.charges import ChargeBreakdown, round_trip_charges
from algo_trading.market.instruments import build_master
from algo_trading.market.lots import check_lot_multiple

__all__ = ["charges_command"]

_EXCHANGES = (Exchange.NSE.value, Exchange.BSE.value)
_LABELS = {
    "brokerage": "Brokerage",
    "stt": "STT",
    "exchange_charges": "Exchange charges",
    "sebi_fees": "SEBI fees",
    "stamp_duty": "Stamp duty",
    "gst": "GST",
    "dp_charges": "DP charges",
}


class _OneLineError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _OneLineCommand(click.Command):
    """A command whose usage errors are one line, like every other user error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _OneLineError(exc.format_message()) from None


def _choice(option: str, value: str | None, choices: Sequence[str]) -> str:
    if value is None:
        raise ConfigError(f"{option} is required ({', '.join(choices)})")
    if value not in choices:
        raise ConfigError(f"{option} {value!r} is not one of {', '.join(choices)}")
    return value


def _positive_price(option: str, value: str | None) -> int:
    if value is None:
        raise ConfigError(f"{option} is required (rupees, e.g. 1000.50)")
    paise = rupees_to_paise(value, what=option)
    if paise <= 0:
        raise ConfigError(f"{option} {value} must be positive")
    return paise


def _positive_int(option: str, value: str | None) -> int:
    if value is None:
        raise ConfigError(f"{option} is required (a whole number of units)")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a whole number") from None
    if number <= 0:
        raise ConfigError(f"{option} {value} must be positive")
    return number


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--date {value!r} is not a date (YYYY-MM-DD)") from None


def _rupees(paise: int) -> float:
    # Display only: a two-place Decimal prints as the same digits in JSON.
    return float(Decimal(paise).scaleb(-2))


@click.command("charges", cls=_OneLineCommand)
@click.option("--segment", help="equity-delivery, equity-intraday, futures or options.")
@click.option("--exchange", help="NSE or BSE.")
@click.option("--buy-price", help="Buy price (options: premium) in rupees.")
@click.option("--sell-price", help="Sell price (options: premium) in rupees.")
@click.option("--quantity", help="Units on each side (F&O: lots × lot size).")
@click.option("--broker", default="zerodha", show_default=True, help="angelone, zerodha or zero.")
@click.option(
    "--orders-per-side", default="1", show_default=True, help="Executed orders on each side."
)
@click.option(
    "--date",
    "trade_date",
    default=None,
    help="Trade date YYYY-MM-DD whose rates apply (default: the newest rates in the tables).",
)
@click.option(
    "--symbol",
    default=None,
    help="Trading symbol to check in the instrument master (F&O: quantity in whole lots).",
)
@click.option(
    "--master",
    "master_file",
    default=None,
    help="Angel One scrip master (JSON array) to look --symbol up in.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the figures.")
def charges_command(**options: Any) -> None:
    """Brokerage, taxes and fees of buying and selling one scrip.

    \b
    Statutory rates (STT, exchange, SEBI, stamp duty, GST) are dated: the row in force on
    --date applies. They and the brokers' schedules are tables in the package,
    algo_trading/market/charge_rates.py, each row with its source and the date it took effect.
    """
    try:
        _run(options)
    except AlgoTradingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _run(options: dict[str, Any]) -> None:
    segment = ChargeSegment(
        _choice("--segment", options["segment"], [s.value for s in ChargeSegment])
    )
    exchange_text = options["exchange"]
    exchange_upper = exchange_text.upper() if exchange_text is not None else None
    exchange = Exchange(_choice("--exchange", exchange_upper, _EXCHANGES))
    broker = BROKERS[_choice("--broker", options["broker"], list(BROKERS))]
    buy = _positive_price("--buy-price", options["buy_price"])
    sell = _positive_price("--sell-price", options["sell_price"])
    quantity = _positive_int("--quantity", options["quantity"])
    orders = _positive_int("--orders-per-side", options["orders_per_side"])
    day = _date(options["trade_date"])
    if options["symbol"] is not None:
        _check_symbol(options["symbol"], options["master_file"], segment, exchange, quantity)
    rates = rates_on(day)
    result = round_trip_charges(
        segment,
        buy * quantity,
        sell * quantity,
        exchange=exchange,
        broker=broker,
        trade_date=day,
        buy_orders=orders,
        sell_orders=orders,
    )
    net = (sell - buy) * quantity - result.total_paise
    if options["as_json"]:
        payload = {k: _rupees(v) for k, v in result.lines().items()}
        payload["total"] = _rupees(result.total_paise)
        payload["net_pnl"] = _rupees(net)
        click.echo(json.dumps(payload, separators=(",", ":")))
        return
    when = day.isoformat() if day else f"newest, in force from {rates.effective_from.isoformat()}"
    click.echo(
        f"{segment.value} on {exchange.value}, {broker.name} schedule, "
        f"buy {quantity} @ {format_rupees(buy)}, sell @ {format_rupees(sell)}; rates: {when}"
    )
    click.echo(_table(result, (sell - buy) * quantity, net))


_KINDS = {
    ChargeSegment.EQUITY_DELIVERY: InstrumentType.EQUITY,
    ChargeSegment.EQUITY_INTRADAY: InstrumentType.EQUITY,
    ChargeSegment.FUTURES: InstrumentType.FUTURE,
    ChargeSegment.OPTIONS: InstrumentType.OPTION,
}
_DERIVATIVES_ON = {Exchange.NSE: Exchange.NFO, Exchange.BSE: Exchange.BFO}


def _check_symbol(
    symbol: str, master_file: str | None, segment: ChargeSegment, exchange: Exchange, qty: int
) -> None:
    """The symbol must be in the master, of the segment's kind, and (F&O) traded in whole lots
    of its contract (an F&O order is in whole lots)."""
    if master_file is None:
        raise ConfigError("--symbol needs --master, the scrip master file to look it up in")
    try:
        records = json.loads(Path(master_file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--master {master_file}: cannot read it: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError(f"--master {master_file}: not a JSON file") from None
    except RecursionError:  # arrays nested thousands deep
        raise ConfigError(f"--master {master_file}: JSON nested too deep to read") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ConfigError(
            f"--master {master_file}: holds a number thousands of digits long"
        ) from None
    if not isinstance(records, list):
        raise ConfigError(f"--master {master_file}: not a JSON array of scrip records")
    kind = _KINDS[segment]
    listed_on = exchange if kind is InstrumentType.EQUITY else _DERIVATIVES_ON[exchange]
    instrument = build_master(records, source=master_file).by_symbol(symbol, listed_on)
    if instrument.instrument_type is not kind:
        raise ConfigError(
            f"--symbol {symbol} is a {instrument.instrument_type.value.lower()}, "
            f"not for --segment {segment.value}"
        )
    if kind is not InstrumentType.EQUITY:
        check_lot_multiple(qty, instrument.lot_size, where=f"--quantity for {symbol}")


def _table(result: ChargeBreakdown, gross: int, net: int) -> str:
    rows = [(_LABELS[k], v) for k, v in result.lines().items()]
    rows += [("Total charges", result.total_paise), ("Gross P&L", gross), ("Net P&L", net)]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {format_rupees(v):>14}" for label, v in rows)
