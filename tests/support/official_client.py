"""Angel One's official Python SDK (`smartapi-python`, a test-only dependency) against the
simulator, offline: a loopback-only network guard, a lazy import of the SDK, its WebSocket v2
client on a thread we own and can stop, and converters from the SDK's plain dicts to our units.

The converters are deliberately independent of `adapters.brokers.angelone.parsing`: they turn
the floats and strings the SDK hands out into paise with `Decimal(str(value))`, so comparing
their output with what our adapter parsed checks our parser against a second reading of the
same state, not against itself. Field names and units: specs/angel-one-smartapi.md §2.5-§2.13,
§3, §5.1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from logging.handlers import RotatingFileHandler
from typing import Any

__all__ = [
    "NetworkGuard",
    "OfficialFeed",
    "close_sdk_log_files",
    "packet_fields",
    "paise",
    "sdk_candle",
    "sdk_funds",
    "sdk_ltp",
    "sdk_order_row",
    "sdk_position_row",
    "sdk_tick",
    "sdk_trade_row",
]

_LOOPBACK_NAMES = frozenset({"localhost"})


def _is_loopback(host: object) -> bool:
    if host is None:  # a bind to every interface (servers), not a connection out
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """A replacement for `socket.getaddrinfo` that resolves loopback only and refuses every
    other host at once (`socket.gaierror`), so nothing can leave the machine: requests,
    urllib3, httpx and websocket-client all resolve through it before they connect, and a
    numeric address goes through it too. `refused` lists the hosts it turned away."""

    def __init__(self, real: Callable[..., Any] = socket.getaddrinfo) -> None:
        self._real = real
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            with self._lock:
                self.refused.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: {host} is not loopback")
        return self._real(host, *args, **kwargs)


def close_sdk_log_files() -> None:
    """Close the file handlers the SDK hung on logzero's global logger.

    Every `SmartConnect(...)` and `SmartWebSocketV2(...)` calls `logzero.logfile(...)`, which
    removes the previous file handler without closing it; closing them here keeps the open
    file from surfacing later as a ResourceWarning (an error under warnings-as-errors).
    """
    import logzero

    for handler in list(logzero.logger.handlers):
        if isinstance(handler, RotatingFileHandler):
            logzero.logger.removeHandler(handler)
            handler.close()


# ---- SDK dicts in our units --------------------------------------------------------------


def paise(value: object) -> int:
    """Rupees as the SDK hands them (float from a JSON number, or str) as exact paise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{value!r} is not a rupee amount")
    amount = Decimal(str(value).replace(" ", "")) * 100
    if amount != amount.to_integral_value():
        raise ValueError(f"{value!r} rupees is not a whole number of paise")
    return int(amount)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{value!r} is not a count")
    number = Decimal(str(value) or "0")
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def sdk_order_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An order-book / order-details row (§2.5) under `BrokerOrderRow`'s field names."""
    return {
        "order_id": row["orderid"],
        "unique_order_id": row["uniqueorderid"],
        "tag": row["ordertag"],
        "symbol": row["tradingsymbol"],
        "token": row["symboltoken"],
        "exchange": row["exchange"],
        "side": row["transactiontype"],
        "order_type": row["ordertype"],
        "product": row["producttype"],
        "variety": row["variety"],
        "duration": row["duration"],
        "quantity": _count(row["quantity"]),
        "filled_quantity": _count(row["filledshares"]),
        "price_paise": paise(row["price"]),
        "trigger_price_paise": paise(row["triggerprice"]),
        "average_price_paise": paise(row["averageprice"]),
        "raw_status": row["status"],
        "text": row["text"],
        "update_time": row["updatetime"],
    }


def sdk_trade_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A trade-book row (§2.8) under `BrokerTradeRow`'s field names."""
    return {
        "order_id": row["orderid"],
        "fill_id": row["fillid"],
        "symbol": row["tradingsymbol"],
        "exchange": row["exchange"],
        "side": row["transactiontype"],
        "product": row["producttype"],
        "fill_price_paise": paise(row["fillprice"]),
        "fill_quantity": _count(row["fillsize"]),
        "fill_time": row["filltime"],
    }


def sdk_position_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A getPosition row (§2.11) under `BrokerPositionRow`'s field names."""
    return {
        "symbol": row["tradingsymbol"],
        "token": row["symboltoken"],
        "exchange": row["exchange"],
        "product": row["producttype"],
        "net_quantity": _count(row["netqty"]),
        "buy_quantity": _count(row["buyqty"]),
        "sell_quantity": _count(row["sellqty"]),
        "buy_avg_paise": paise(row["buyavgprice"]),
        "sell_avg_paise": paise(row["sellavgprice"]),
        "ltp_paise": paise(row["ltp"]),
        "pnl_paise": paise(row["pnl"]),
    }


def sdk_funds(data: Mapping[str, Any]) -> dict[str, int]:
    """getRMS `data` (§2.13) under `BrokerFunds`' field names."""
    return {
        "net_paise": paise(data["net"]),
        "available_cash_paise": paise(data["availablecash"]),
        "available_intraday_payin_paise": paise(data["availableintradaypayin"]),
        "collateral_paise": paise(data["collateral"]),
        "m2m_realized_paise": paise(data["m2mrealized"]),
        "m2m_unrealized_paise": paise(data["m2munrealized"]),
        "utilised_debits_paise": paise(data["utiliseddebits"]),
    }


def sdk_ltp(data: Mapping[str, Any]) -> dict[str, Any]:
    """getLtpData `data` (§2.9) under `LtpQuote`'s field names."""
    return {
        "exchange": data["exchange"],
        "symbol": data["tradingsymbol"],
        "token": data["symboltoken"],
        "ltp_paise": paise(data["ltp"]),
        "open_paise": paise(data["open"]),
        "high_paise": paise(data["high"]),
        "low_paise": paise(data["low"]),
        "close_paise": paise(data["close"]),
    }


def sdk_candle(row: list[Any]) -> tuple[int, int, int, int, int, int]:
    """A getCandleData row (§3) as our candle tuple (start epoch ns, o, h, l, c paise, volume)."""
    stamp, o, h, low, c, volume = row
    start = dt.datetime.fromisoformat(stamp)
    if start.tzinfo is None:
        raise ValueError(f"candle timestamp {stamp!r} has no UTC offset")
    epoch_s = int(start.timestamp())
    if dt.datetime.fromtimestamp(epoch_s, dt.UTC) != start:
        raise ValueError(f"candle timestamp {stamp!r} is not on a whole second")
    return (epoch_s * 1_000_000_000, paise(o), paise(h), paise(low), paise(c), _count(volume))


def sdk_tick(data: Mapping[str, Any]) -> dict[str, Any]:
    """A tick as SmartWebSocketV2 hands it to `on_data`, under `FeedPacket`'s field names.

    Two readings differ from the wire on purpose of the SDK, not of the feed (§5.1):
    * the SNAP_QUOTE OI change is a float64 the SDK unpacks as int64 ("q"); its bits are
      reinterpreted back here;
    * in DEPTH mode the SDK drops offset 27 (the exchange timestamp; it reads it as the
      sequence number and then pops that) and reports the dummy offset 35 as both
      `exchange_timestamp` and `packet_received_time`, so no timestamp is compared there.
    """
    mode = data["subscription_mode"]
    out: dict[str, Any] = {
        "mode": mode,
        "exchange_type": data["exchange_type"],
        "token": data["token"],
    }
    if mode == 4:
        out["depth_buy"] = [_level(x) for x in data["depth_20_buy_data"]]
        out["depth_sell"] = [_level(x) for x in data["depth_20_sell_data"]]
        return out
    out |= {
        "sequence": data["sequence_number"],
        "exchange_ts_ms": data["exchange_timestamp"],
        "ltp_paise": data["last_traded_price"],
    }
    if mode in (2, 3):
        out |= {
            "last_traded_qty": data["last_traded_quantity"],
            "avg_price_paise": data["average_traded_price"],
            "volume": data["volume_trade_for_the_day"],
            "total_buy_qty": data["total_buy_quantity"],
            "total_sell_qty": data["total_sell_quantity"],
            "open_paise": data["open_price_of_the_day"],
            "high_paise": data["high_price_of_the_day"],
            "low_paise": data["low_price_of_the_day"],
            "close_paise": data["closed_price"],
        }
    if mode == 3:
        oi_bits = struct.pack("<q", data["open_interest_change_percentage"])
        out |= {
            "last_traded_ts_s": data["last_traded_timestamp"],
            "open_interest": data["open_interest"],
            "oi_change_pct": struct.unpack("<d", oi_bits)[0],
            "best_five": [
                (entry["flag"] == 1, entry["quantity"], entry["price"], entry["no of orders"])
                for entry in (*data["best_5_buy_data"], *data["best_5_sell_data"])
            ],
            "upper_circuit_paise": data["upper_circuit_limit"],
            "lower_circuit_paise": data["lower_circuit_limit"],
            "week52_high_paise": data["52_week_high_price"],
            "week52_low_paise": data["52_week_low_price"],
        }
    return out


def _level(entry: Mapping[str, int]) -> tuple[int, int, int]:
    return (entry["quantity"], entry["price"], entry["num_of_orders"])


# ---- the SDK's WebSocket v2 client on a thread we own ----------------------------------------


class OfficialFeed:
    """A `SmartWebSocketV2` pointed at `url`, run on our thread, ticks collected from `on_data`.

    `sws_class` is the SDK's class (imported by the caller after the network guard). The
    client is built with `max_retry_attempt=0`: its `_on_error` otherwise sleeps `retry_delay`
    (10 s) and reconnects, and it is called on every close (see `close`).
    """

    def __init__(
        self,
        sws_class: Any,
        url: str,
        *,
        auth_token: str,
        api_key: str,
        client_code: str,
        feed_token: str,
    ) -> None:
        close_sdk_log_files()  # the constructor drops SmartConnect's log handler unclosed
        sws = sws_class(auth_token, api_key, client_code, feed_token, max_retry_attempt=0)
        sws.ROOT_URI = url  # a class attribute; the instance's shadows it for this client only
        # `input_request_dict` is a class-level dict shared by every instance (and test):
        # give this client its own before it subscribes.
        sws.input_request_dict = {}
        self._lock = threading.Lock()
        self._ticks: list[dict[str, Any]] = []
        self.errors: list[tuple[Any, ...]] = []
        self.opened = threading.Event()
        sws.on_open = lambda wsapp: self.opened.set()
        sws.on_data = self._on_data
        sws.on_error = lambda *args: self.errors.append(args)
        self.sws = sws
        self._thread = threading.Thread(target=self._run, name="official-sws", daemon=True)
        self.failure: BaseException | None = None

    def _on_data(self, wsapp: object, data: dict[str, Any]) -> None:
        with self._lock:
            self._ticks.append(data)

    def _run(self) -> None:
        try:
            self.sws.connect()  # blocks in websocket-client's run_forever until closed
        except BaseException as exc:  # surfaced to the test through `failure`
            self.failure = exc

    def ticks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._ticks)

    def start(self) -> None:
        self._thread.start()

    def subscribe(self, mode: int, exchange_type: int, tokens: list[str]) -> None:
        self.sws.subscribe("parity", mode, [{"exchangeType": exchange_type, "tokens": tokens}])

    def close(self, drop: Callable[[], None] | None = None, timeout_s: float = 10.0) -> bool:
        """Stop the client and join its thread; True when the thread has ended.

        `close_connection()` from another thread races websocket-client's reader, which may
        then sit out its 10-s `select` before it notices; so when `drop` is given (the server
        cutting this client's socket) it is called first and the client is left to end on its
        own (its `_on_error`, with no retries left, closes the connection), and
        `close_connection()` only tidies up after that.

        The SDK's `_on_close(wsapp)` takes one argument where websocket-client passes three,
        so that TypeError also goes to `_on_error`: `errors` holds entries after any close.
        """
        started = self._thread.ident is not None
        if drop is not None and started:
            drop()
            self._thread.join(timeout_s)
        self.sws.close_connection()
        if started:
            self._thread.join(timeout_s)
        close_sdk_log_files()
        return not self._thread.is_alive()


def packet_fields(packet: Any, keys: Mapping[str, Any]) -> dict[str, Any]:
    """Our `FeedPacket`'s values for the keys of an `sdk_tick` dict, in the same plain shapes."""
    out: dict[str, Any] = {}
    for key in keys:
        value = getattr(packet, key)
        if key == "best_five":
            value = [(b.is_buy, b.quantity, b.price_paise, b.orders) for b in value]
        elif key in ("depth_buy", "depth_sell"):
            value = [(d.quantity, d.price_paise, d.orders) for d in value]
        elif key == "mode":
            value = int(value)
        out[key] = value
    return out
