"""Trade config files for the loader's tests and the `trade` command's: the issue's example, and
one broken copy per kind of mistake with the key path and the words its error line must carry.

A case is the example with one edit, so each proves that exactly that edit is refused."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BAD_CONFIGS", "EXAMPLE", "BadConfig", "edited"]

# The example of issue #10, item 2, as written there.
EXAMPLE = """\
mode = "paper"                    # paper | live
[broker]
kind = "simulator"                # simulator (over HTTP/WebSocket) | angelone | inprocess
url = "http://127.0.0.1:8765"     # simulator only; credentials from the secret store (ALGO_ANGELONE_*),
                                  # the simulator's demo credentials by default
[[strategies]]
id = "sma-sbin"
strategy = "sma_crossover"        # a built-in or FILE.py[:Class]
symbols = ["SBIN-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"                   # bars built from ticks: 1m or any multiple
params = { fast = 5, slow = 20 }
[risk]
max_daily_loss_rupees = 5000
"""  # noqa: E501 - the issue's text, comments and all


def edited(old: str, new: str, text: str = EXAMPLE) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    if text.count(old) != 1:
        raise AssertionError(f"{old!r} occurs {text.count(old)} times in the example")
    return text.replace(old, new)


def _risk(line: str) -> str:
    return EXAMPLE + line + "\n"


def _strategy_risk(*lines: str) -> str:
    return edited(
        "[risk]\n", "[strategies.risk]\n" + "".join(f"{ln}\n" for ln in lines) + "[risk]\n"
    )


@dataclass(frozen=True)
class BadConfig:
    text: str
    path: str  # the key path the line names ("" for the file as a whole)
    words: tuple[str, ...]  # more the line must say
    secret: str = ""  # a value the line must never show


_PARAMS = "params = { fast = 5, slow = 20 }"

BAD_CONFIGS: dict[str, BadConfig] = {
    # --- TOML itself
    "toml-syntax": BadConfig(
        edited("quantity = 1", "quantity = "), "", ("TOML syntax error", "line 12", "column")
    ),
    "toml-duplicate-key": BadConfig(
        edited('mode = "paper"', 'mode = "paper"\nmode = "live"'), "", ("TOML syntax error",)
    ),
    # --- unknown keys, at every level
    "unknown-top-level-key": BadConfig("modee = 1\n" + EXAMPLE, "modee", ("unknown key", "mode")),
    "unknown-broker-key": BadConfig(
        edited('kind = "simulator"', 'kind = "simulator"\ntimeout = 5'),
        "broker.timeout",
        ("unknown key", "kind, url"),
    ),
    "credential-in-the-file": BadConfig(
        edited('kind = "simulator"', 'kind = "simulator"\napi_key = "Zq9-leaked-key"'),
        "broker.api_key",
        ("credentials never go in the config file", "secret store"),
        secret="Zq9-leaked-key",  # noqa: S106 - a value the line must not show
    ),
    "unknown-strategy-key": BadConfig(
        edited('symbols = ["SBIN-EQ"]', 'symbols = ["SBIN-EQ"]\nsymbol = "SBIN-EQ"'),
        "strategies[0].symbol",
        ("unknown key", "symbols"),
    ),
    "unknown-risk-key": BadConfig(
        _risk("max_daily_los_rupees = 100"),
        "risk.max_daily_los_rupees",
        ("unknown key", "max_daily_loss_rupees"),
    ),
    "unknown-strategy-risk-key": BadConfig(
        _strategy_risk("max_positions = 3"), "strategies[0].risk.max_positions", ("unknown key",)
    ),
    "odd-key-is-quoted": BadConfig('"bad key" = 1\n' + EXAMPLE, '["bad key"]', ("unknown key",)),
    # --- the strategy and its parameters
    "unknown-strategy": BadConfig(
        edited('strategy = "sma_crossover"', 'strategy = "sma_cross"'),
        "strategies[0].strategy",
        ("unknown strategy 'sma_cross'", "sma_crossover"),
    ),
    "strategy-file-missing": BadConfig(
        edited('strategy = "sma_crossover"', 'strategy = "mine.py:Mine"'),
        "strategies[0].strategy",
        ("mine.py", "no such file"),
    ),
    "unknown-parameter": BadConfig(
        edited(_PARAMS, "params = { fsat = 5 }"),
        "strategies[0].params.fsat",
        ("unknown parameter of sma_crossover", "fast, slow"),
    ),
    "parameter-quoted-number": BadConfig(
        edited(_PARAMS, 'params = { fast = "5", slow = 20 }'),
        "strategies[0].params.fast",
        ("must be an integer, not a string",),
    ),
    "parameter-float-for-int": BadConfig(
        edited(_PARAMS, "params = { fast = 5.0, slow = 20 }"),
        "strategies[0].params.fast",
        ("must be an integer, not a float",),
    ),
    "parameter-int-for-bool": BadConfig(
        edited(_PARAMS, "params = { allow_short = 1 }"),
        "strategies[0].params.allow_short",
        ("must be a boolean, not an integer",),
    ),
    "parameters-impossible-together": BadConfig(
        edited(_PARAMS, "params = { fast = 30, slow = 10 }"),
        "strategies[0].params",
        ("fast (30) must be below slow (10)",),
    ),
    "parameters-not-a-table": BadConfig(
        edited(_PARAMS, "params = 5"),
        "strategies[0].params",
        ("must be a table, not an integer",),
    ),
    # --- symbols, exchange, product, quantity, interval
    "symbol-not-in-master": BadConfig(
        edited('symbols = ["SBIN-EQ"]', 'symbols = ["SBIN-EQ", "NOSUCH-EQ"]'),
        "strategies[0].symbols[1]",
        ("'NOSUCH-EQ' is not in the instrument master",),
    ),
    "symbol-on-another-exchange": BadConfig(
        edited('exchange = "NSE"', 'exchange = "BSE"'),
        "strategies[0].symbols[0]",
        ("'SBIN-EQ' is not in the instrument master", "on BSE"),
    ),
    "index-is-not-tradable": BadConfig(
        edited('symbols = ["SBIN-EQ"]', 'symbols = ["Nifty 50"]'),
        "strategies[0].symbols[0]",
        ("is an index",),
    ),
    "symbol-twice": BadConfig(
        edited('symbols = ["SBIN-EQ"]', 'symbols = ["SBIN-EQ", "SBIN-EQ"]'),
        "strategies[0].symbols[1]",
        ("listed twice",),
    ),
    "no-symbols": BadConfig(
        edited('symbols = ["SBIN-EQ"]', "symbols = []"),
        "strategies[0].symbols",
        ("must not be empty",),
    ),
    "unknown-exchange": BadConfig(
        edited('exchange = "NSE"', 'exchange = "MCX"'),
        "strategies[0].exchange",
        ("must be one of", "'NSE'", "not 'MCX'"),
    ),
    "unknown-product": BadConfig(
        edited('product = "intraday"', 'product = "margin"'),
        "strategies[0].product",
        ("must be one of", "'intraday'", "not 'margin'"),
    ),
    "carryforward-on-cash": BadConfig(
        edited('product = "intraday"', 'product = "carryforward"'),
        "strategies[0].product",
        ("for F&O",),
    ),
    "quantity-zero": BadConfig(
        edited("quantity = 1", "quantity = 0"),
        "strategies[0].quantity",
        ("must be positive (got 0)",),
    ),
    "quantity-negative": BadConfig(
        edited("quantity = 1", "quantity = -3"),
        "strategies[0].quantity",
        ("must be positive (got -3)",),
    ),
    "quantity-quoted": BadConfig(
        edited("quantity = 1", 'quantity = "1"'),
        "strategies[0].quantity",
        ("must be a whole number, not a string",),
    ),
    "quantity-fractional": BadConfig(
        edited("quantity = 1", "quantity = 1.5"),
        "strategies[0].quantity",
        ("must be a whole number, not a float",),
    ),
    "interval-in-seconds": BadConfig(
        edited('interval = "1m"', 'interval = "90s"'),
        "strategies[0].interval",
        ("'90s' is not \"1m\"",),
    ),
    "interval-zero": BadConfig(
        edited('interval = "1m"', 'interval = "0m"'),
        "strategies[0].interval",
        ("'0m'",),
    ),
    "interval-longer-than-a-session": BadConfig(
        edited('interval = "1m"', 'interval = "400m"'),
        "strategies[0].interval",
        ("'400m'", '"375m"'),
    ),
    # --- strategy ids
    "id-with-a-space": BadConfig(
        edited('id = "sma-sbin"', 'id = "sma sbin"'),
        "strategies[0].id",
        ("character ' ' is not allowed",),
    ),
    "id-too-long": BadConfig(
        edited('id = "sma-sbin"', f'id = "{"s" * 25}"'),
        "strategies[0].id",
        ("1 to 24 characters",),
    ),
    "id-without-letters": BadConfig(
        edited('id = "sma-sbin"', 'id = "---"'),
        "strategies[0].id",
        ("at least one letter or digit",),
    ),
    "id-twice": BadConfig(
        edited(
            "[risk]\n",
            '[[strategies]]\nid = "SMA-SBIN"\nstrategy = "ema_crossover"\nsymbols = ["TCS-EQ"]\n'
            'exchange = "NSE"\nproduct = "delivery"\nquantity = 1\n[risk]\n',
        ),
        "strategies[1].id",
        ("'SMA-SBIN' is already the id of strategies[0]",),
    ),
    # --- the file's shape
    "mode-unknown": BadConfig(
        edited('mode = "paper"', 'mode = "demo"'), "mode", ("must be one of", "not 'demo'")
    ),
    "mode-missing": BadConfig(edited('mode = "paper"', ""), "mode", ("missing (required)",)),
    "no-strategies": BadConfig(
        'mode = "paper"\n[risk]\nmax_open_orders = 5\n', "strategies", ("missing (required)",)
    ),
    "strategies-a-table-not-an-array": BadConfig(
        edited("[[strategies]]", "[strategies]"),
        "strategies",
        ("must be an array, not a table",),
    ),
    "broker-not-a-table": BadConfig(
        'mode = "paper"\nbroker = "simulator"\n' + EXAMPLE[EXAMPLE.index("[[strategies]]") :],
        "broker",
        ("must be a table, not a string",),
    ),
    # --- the broker
    "broker-kind-unknown": BadConfig(
        edited('kind = "simulator"', 'kind = "zerodha"'),
        "broker.kind",
        ("must be one of", "not 'zerodha'"),
    ),
    "url-plain-http-to-another-host": BadConfig(
        edited('url = "http://127.0.0.1:8765"', 'url = "http://10.0.0.5:8765"'),
        "broker.url",
        ("plain http only to this machine",),
    ),
    "url-with-credentials": BadConfig(
        edited('url = "http://127.0.0.1:8765"', 'url = "https://S1:Zq9-pw@sim.example.com"'),
        "broker.url",
        ("carries credentials",),
        secret="Zq9-pw",  # noqa: S106 - a value the line must not show
    ),
    "url-not-a-url": BadConfig(
        edited('url = "http://127.0.0.1:8765"', 'url = "127.0.0.1:8765"'),
        "broker.url",
        ("not an http:// or https:// URL",),
    ),
    "url-for-inprocess": BadConfig(
        edited('kind = "simulator"', 'kind = "inprocess"'),
        "broker.url",
        ("only the simulator takes a url",),
    ),
    "angelone-in-paper-mode": BadConfig(
        edited('kind = "simulator"', 'kind = "angelone"'),
        "broker.kind",
        ("places real orders",),
    ),
    "live-through-the-simulator": BadConfig(
        edited('mode = "paper"', 'mode = "live"'),
        "broker.kind",
        ('live mode trades through "angelone"',),
    ),
    # --- limits
    "limit-negative": BadConfig(
        edited("max_daily_loss_rupees = 5000", "max_daily_loss_rupees = -5000"),
        "risk.max_daily_loss_rupees",
        ("must be positive (got -5000)",),
    ),
    "limit-zero": BadConfig(
        _risk("max_open_orders = 0"), "risk.max_open_orders", ("must be positive (got 0)",)
    ),
    "limit-finer-than-a-paisa": BadConfig(
        _risk("max_order_value_rupees = 100.001"),
        "risk.max_order_value_rupees",
        ("finer than one paisa",),
    ),
    "limit-a-boolean": BadConfig(
        _risk("max_order_quantity = true"),
        "risk.max_order_quantity",
        ("must be a whole number, not a boolean",),
    ),
    "limit-not-a-number": BadConfig(
        _risk('max_gross_exposure_rupees = "lots"'),
        "risk.max_gross_exposure_rupees",
        ("'lots' is not a number",),
    ),
    "daily-loss-above-capital": BadConfig(
        _risk("capital_rupees = 1000"),
        "risk.max_daily_loss_rupees",
        ("₹5,000.00 is above the capital (₹1,000.00)",),
    ),
    "strategy-capital-above-account": BadConfig(
        _strategy_risk("capital_rupees = 200000") + "capital_rupees = 100000\n",
        "strategies[0].risk.capital_rupees",
        ("₹2,00,000.00 is above the account's capital_rupees (₹1,00,000.00)",),
    ),
    "window-before-the-open": BadConfig(
        _risk("trading_start = 08:00:00"),
        "risk.trading_start",
        ("08:00 is outside the trading session",),
    ),
    "strategy-window-after-the-close": BadConfig(
        _strategy_risk('trading_end = "16:10"'),
        "strategies[0].risk.trading_end",
        ("16:10 is outside the cash session",),
    ),
    "window-backwards": BadConfig(
        _risk('trading_start = "14:00"\ntrading_end = "10:00"'),
        "risk.trading_end",
        ("10:00 is not after 14:00",),
    ),
    "window-not-a-time": BadConfig(
        _risk('trading_start = "9am"'), "risk.trading_start", ("'9am' is not a time",)
    ),
    "breaker-without-its-window": BadConfig(
        _risk("breaker_rejections = 3"),
        "risk.breaker_window_minutes",
        ("the breaker needs both",),
    ),
    "price-distance-too-fine": BadConfig(
        _risk("max_price_distance_percent = 0.001"),
        "risk.max_price_distance_percent",
        ("finer than 0.01 %",),
    ),
    "price-distance-above-100": BadConfig(
        _risk("max_price_distance_percent = 150"),
        "risk.max_price_distance_percent",
        ("at most 100",),
    ),
    "instrument-master-missing": BadConfig(
        'instrument_master = "no-such-master.json"\n' + EXAMPLE,
        "instrument_master",
        ("no-such-master.json", "cannot read"),
    ),
}
