"""The instrument master: Angel One scrip-master records (already loaded) -> Instrument objects,
look-ups, and the derivatives helpers a strategy needs (angel-one-smartapi.md §4;
indian-market.md §4.5-§4.8).

Units in the master (angel-one-smartapi.md §4): every value is a string; `strike` is the strike
× 100, i.e. paise ("2450000.000000" = ₹24,500); `tick_size` is in paise ("5.000000" = ₹0.05);
`expiry` is DDMMMYYYY. Expiries are read from the master, never derived from weekday rules, so
holiday shifts (indian-market.md §4.6) come for free.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from algo_trading.domain.errors import ConfigError, DataError, InvalidInputError
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType, OptionRight

__all__ = [
    "InstrumentMaster",
    "InstrumentNotFoundError",
    "OptionChainRow",
    "build_master",
    "parse_expiry",
    "parse_scrip_record",
]


class InstrumentNotFoundError(InvalidInputError):
    """A symbol, token or contract the instrument master does not list."""


_FIELDS = (
    "token",
    "symbol",
    "name",
    "expiry",
    "strike",
    "lotsize",
    "instrumenttype",
    "exch_seg",
    "tick_size",
)
# Segments this platform trades (MCX, CDS and NCDEX rows are skipped, not refused).
_EXCHANGES = {e.value: e for e in Exchange}
_TYPES = {
    "": InstrumentType.EQUITY,
    "AMXIDX": InstrumentType.INDEX,
    "FUTIDX": InstrumentType.FUTURE,
    "FUTSTK": InstrumentType.FUTURE,
    "OPTIDX": InstrumentType.OPTION,
    "OPTSTK": InstrumentType.OPTION,
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_DERIVATIVES = (InstrumentType.FUTURE, InstrumentType.OPTION)


def _exchange(value: Exchange | str) -> Exchange:
    found = _EXCHANGES.get(str(value))
    if found is None:
        raise InvalidInputError(
            f"unknown exchange {value!r}; expected one of {', '.join(_EXCHANGES)}"
        )
    return found


def parse_expiry(text: str, *, where: str = "expiry") -> dt.date | None:
    """'26NOV2026' -> 2026-11-26; '' -> None. Month names are read by table, not by locale."""
    if text == "":
        return None
    month = _MONTHS.get(text[2:5].upper()) if len(text) == 9 else None
    if month is None or not (text[:2].isdigit() and text[5:].isdigit()):
        raise DataError(f"{where}: expiry {text!r} is not DDMMMYYYY")
    try:
        return dt.date(int(text[5:]), month, int(text[:2]))
    except ValueError:
        raise DataError(f"{where}: expiry {text!r} is not a calendar date") from None


def _whole(text: str, field: str, where: str) -> int:
    # ASCII only (int and Decimal read other scripts' digits), and bounded before int():
    # int(Decimal("1e999999999")) would build a billion-digit number (issue #15).
    head, _, fraction = text.partition(".")
    digits = head.removeprefix("-")
    plain = text.isascii() and len(digits) <= 18 and digits.isdigit()
    if plain and fraction.isdigit() and not fraction.strip("0"):
        return int(head)  # the master's usual "2450000.000000": skip Decimal on 100k+ rows
    try:
        if not text.isascii():
            raise InvalidOperation
        value = Decimal(text)
    except InvalidOperation:
        raise DataError(f"{where}: {field} {text[:40]!r} is not a number") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise DataError(f"{where}: {field} {text[:40]!r} is not a whole number")
    if value.adjusted() >= 18:
        raise DataError(f"{where}: {field} {text[:40]!r} is out of range")
    return int(value)


def parse_scrip_record(record: Mapping[str, object], *, where: str = "record") -> Instrument | None:
    """One master row -> Instrument, or None for a segment or type this platform does not trade.

    Raises DataError naming `where` and the field for a missing or malformed value.
    """
    missing = [f for f in _FIELDS if not isinstance(record.get(f), str)]
    if missing:
        raise DataError(f"{where}: field {missing[0]!r} is missing or not a string")
    row = {f: str(record[f]).strip() for f in _FIELDS}  # all str, checked above
    exchange = _EXCHANGES.get(row["exch_seg"])
    kind = _TYPES.get(row["instrumenttype"])
    if exchange is None or kind is None:
        return None
    where = f"{where} ({row['symbol'] or row['token']})"
    strike = _whole(row["strike"], "strike", where)
    right: OptionRight | None = None
    if kind is InstrumentType.OPTION:
        if strike <= 0:
            raise DataError(f"{where}: option strike {row['strike']!r} is not positive")
        suffix = row["symbol"][-2:]
        if suffix not in ("CE", "PE"):
            raise DataError(f"{where}: option symbol does not end in CE or PE")
        right = OptionRight(suffix)
    expiry = parse_expiry(row["expiry"], where=where)
    if (expiry is None) == (kind in _DERIVATIVES):
        raise DataError(f"{where}: expiry {row['expiry']!r} does not fit a {kind.value} row")
    if not row["token"].isdigit():
        raise DataError(f"{where}: token {row['token']!r} is not numeric")
    try:
        return Instrument(
            symbol=row["symbol"],
            exchange=exchange,
            token=InstrumentToken(row["token"]),
            instrument_type=kind,
            tick_size_paise=_whole(row["tick_size"], "tick_size", where),
            lot_size=_whole(row["lotsize"], "lotsize", where),
            name=row["name"],
            expiry=expiry,
            strike_paise=strike if right is not None else None,
            option_right=right,
        )
    except InvalidInputError as exc:
        raise DataError(f"{where}: {exc}") from None


def build_master(
    records: Iterable[Mapping[str, object]], *, source: str = "scrip master"
) -> InstrumentMaster:
    """Parse every record (rows numbered from 1 in errors) and index the result."""
    instruments: list[Instrument] = []
    skipped = 0
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            raise DataError(f"{source} row {number}: not a JSON object")
        parsed = parse_scrip_record(record, where=f"{source} row {number}")
        if parsed is None:
            skipped += 1
        else:
            instruments.append(parsed)
    return InstrumentMaster(instruments, skipped=skipped, source=source)


@dataclass(frozen=True, slots=True)
class OptionChainRow:
    """One strike of an option chain: the call and the put, either possibly unlisted."""

    strike_paise: int
    call: Instrument | None
    put: Instrument | None


class InstrumentMaster:
    """Instruments indexed by (exchange, token), by trading symbol and by underlying."""

    def __init__(
        self, instruments: Iterable[Instrument], *, skipped: int = 0, source: str = "master"
    ) -> None:
        self.source = source
        self.skipped = skipped
        self._by_token: dict[tuple[Exchange, str], Instrument] = {}
        self._by_symbol: dict[str, list[Instrument]] = defaultdict(list)
        self._contracts: dict[str, list[Instrument]] = defaultdict(list)
        self._indices: dict[str, list[Instrument]] = defaultdict(list)
        for inst in instruments:
            key = (inst.exchange, str(inst.token))
            if key in self._by_token:
                raise DataError(f"{source}: token {inst.token} on {inst.exchange} listed twice")
            self._by_token[key] = inst
            self._by_symbol[inst.symbol].append(inst)
            if inst.instrument_type in _DERIVATIVES:
                self._contracts[inst.name].append(inst)
            elif inst.instrument_type is InstrumentType.INDEX:
                self._indices[inst.name].append(inst)

    def __len__(self) -> int:
        return len(self._by_token)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_token.values())

    # --- look-ups ---------------------------------------------------------------------------

    def by_token(self, exchange: Exchange | str, token: str) -> Instrument:
        found = self._by_token.get((_exchange(exchange), str(token)))
        if found is None:
            raise InstrumentNotFoundError(f"{self.source}: no token {token} on {exchange}")
        return found

    def by_symbol(self, symbol: str, exchange: Exchange | str | None = None) -> Instrument:
        """The instrument with this trading symbol ('SBIN-EQ', 'NIFTY29DEC26FUT', 'Nifty 50');
        name the exchange when the symbol is listed on more than one."""
        found = self._by_symbol.get(symbol, [])
        if exchange is not None:
            found = [i for i in found if i.exchange == _exchange(exchange)]
        if not found:
            on = f" on {exchange}" if exchange is not None else ""
            raise InstrumentNotFoundError(f"{self.source}: no symbol {symbol!r}{on}")
        if len(found) > 1:
            where = ", ".join(sorted(i.exchange.value for i in found))
            raise InstrumentNotFoundError(f"{symbol!r} is listed on {where}; name the exchange")
        return found[0]

    def index(self, underlying: str) -> Instrument:
        """The index row whose `name` is `underlying` ('NIFTY' -> 'Nifty 50', token 99926000)."""
        found = self._indices.get(underlying, [])
        if len(found) != 1:
            raise InstrumentNotFoundError(
                f"{self.source}: {len(found)} index rows named {underlying!r}, expected one"
            )
        return found[0]

    # --- derivatives ------------------------------------------------------------------------

    def contracts(
        self, underlying: str, exchange: Exchange | str | None = None
    ) -> list[Instrument]:
        """Futures and options on `underlying`, on one exchange (NFO or BFO)."""
        found = self._contracts.get(underlying, [])
        if exchange is not None:
            found = [i for i in found if i.exchange == _exchange(exchange)]
        if not found:
            raise InstrumentNotFoundError(f"{self.source}: no contracts on {underlying!r}")
        exchanges = {i.exchange for i in found}
        if len(exchanges) > 1:
            names = ", ".join(sorted(e.value for e in exchanges))
            raise ConfigError(f"{underlying} has contracts on {names}; name the exchange")
        return found

    def futures(self, underlying: str, exchange: Exchange | str | None = None) -> list[Instrument]:
        """Futures on `underlying`, nearest expiry first."""
        found = [
            i
            for i in self.contracts(underlying, exchange)
            if i.instrument_type is InstrumentType.FUTURE
        ]
        return sorted(found, key=lambda i: i.expiry or dt.date.max)

    def expiries(self, underlying: str, exchange: Exchange | str | None = None) -> list[dt.date]:
        """Every listed expiry of futures and options on `underlying`, ascending."""
        return sorted({i.expiry for i in self.contracts(underlying, exchange) if i.expiry})

    def monthly_expiries(
        self, underlying: str, exchange: Exchange | str | None = None
    ) -> list[dt.date]:
        """The last listed expiry of each calendar month: the monthly (and quarterly) series.

        This relies on the master listing each month's monthly contract alongside its weeklies,
        which the exchange's series rules guarantee for live contracts (indian-market.md §4.6).
        """
        last: dict[tuple[int, int], dt.date] = {}
        for day in self.expiries(underlying, exchange):
            last[(day.year, day.month)] = day
        return sorted(last.values())

    def current_monthly_expiry(
        self, underlying: str, on: dt.date, exchange: Exchange | str | None = None
    ) -> dt.date:
        """The first monthly expiry on or after `on` (an expiring contract trades that day)."""
        return self._first_on_or_after(self.monthly_expiries(underlying, exchange), on, underlying)

    def current_weekly_expiry(
        self, underlying: str, on: dt.date, exchange: Exchange | str | None = None
    ) -> dt.date:
        """The nearest option expiry on or after `on`, for an underlying with weekly options
        (only NIFTY on NSE and SENSEX on BSE since 2024-11-20, indian-market.md §4.6)."""
        options = sorted(
            {
                i.expiry
                for i in self.contracts(underlying, exchange)
                if i.instrument_type is InstrumentType.OPTION and i.expiry
            }
        )
        monthly = set(self.monthly_expiries(underlying, exchange))
        if all(day in monthly for day in options):
            raise InstrumentNotFoundError(
                f"{self.source}: {underlying} has no weekly options; use the monthly expiry"
            )
        return self._first_on_or_after(options, on, underlying)

    def _first_on_or_after(self, days: list[dt.date], on: dt.date, underlying: str) -> dt.date:
        for day in days:
            if day >= on:
                return day
        raise InstrumentNotFoundError(f"{self.source}: no {underlying} expiry on or after {on}")

    def option_chain(
        self, underlying: str, expiry: dt.date, exchange: Exchange | str | None = None
    ) -> list[OptionChainRow]:
        """Calls and puts of one expiry side by side, lowest strike first."""
        calls: dict[int, Instrument] = {}
        puts: dict[int, Instrument] = {}
        for inst in self.contracts(underlying, exchange):
            if inst.expiry != expiry or inst.strike_paise is None:
                continue
            side = calls if inst.option_right is OptionRight.CALL else puts
            side[inst.strike_paise] = inst
        if not calls and not puts:
            raise InstrumentNotFoundError(
                f"{self.source}: no {underlying} options expiring {expiry}"
            )
        return [
            OptionChainRow(strike, calls.get(strike), puts.get(strike))
            for strike in sorted(calls.keys() | puts.keys())
        ]

    def atm_strike(
        self,
        underlying: str,
        expiry: dt.date,
        spot_paise: int,
        exchange: Exchange | str | None = None,
    ) -> int:
        """The listed strike nearest the spot, in paise; of two equally near, the lower."""
        if spot_paise <= 0:
            raise InvalidInputError(f"ATM strike for {underlying}: spot {spot_paise} paise <= 0")
        strikes = [row.strike_paise for row in self.option_chain(underlying, expiry, exchange)]
        return min(strikes, key=lambda s: (abs(s - spot_paise), s))
