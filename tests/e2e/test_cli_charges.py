"""`algo-trading charges`, and the backtest's `--charges`/`--product`, as a user runs them: a real
process; figures from indian-market.md §1.4."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from algo_trading.adapters.history import load_bars
from algo_trading.backtest import BacktestConfig, generate_bars, run_backtest, write_bars
from algo_trading.backtest.charges import backtest_charges
from algo_trading.domain import ProductType, ns_to_ist
from algo_trading.market import ANGEL_ONE, ChargeSegment, round_trip_charges
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover

EXAMPLE = ("--buy-price", "1000", "--sell-price", "1010", "--quantity", "100")
KEYS = (
    "brokerage",
    "stt",
    "exchange_charges",
    "sebi_fees",
    "stamp_duty",
    "gst",
    "dp_charges",
    "total",
    "net_pnl",
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def last_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The last stdout line as JSON, numbers read exactly as Decimal."""
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    payload: dict[str, Any] = json.loads(line, parse_float=Decimal, parse_int=Decimal)
    return payload


def test_json_line_gives_every_line_of_the_delivery_example_in_rupees() -> None:
    result = run_cli(
        "charges", "--segment", "equity-delivery", "--exchange", "NSE", *EXAMPLE, "--json"
    )
    payload = last_json(result)
    assert tuple(payload) == KEYS
    expected = ("0", "201", "6.17", "0.20", "15", "1.15", "15.34", "238.86", "761.14")
    assert payload == {k: Decimal(v) for k, v in zip(KEYS, expected, strict=True)}


def breakdown(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The readable output's lines after the heading, label -> amount."""
    assert result.returncode == 0, result.stderr
    rows = (line.rsplit(maxsplit=1) for line in result.stdout.splitlines()[1:])
    return {label.strip(): amount for label, amount in rows}


@pytest.mark.parametrize(
    ("segment", "broker", "total"),
    [
        ("equity-intraday", "zerodha", "82.72"),
        ("futures", "zerodha", "104.78"),
        ("options", "zerodha", "286.71"),
        ("equity-delivery", "angelone", "294.32"),
        ("equity-delivery", "zero", "223.52"),
    ],
)
def test_each_segment_and_broker_totals_as_worked_in_the_spec(
    segment: str, broker: str, total: str
) -> None:
    result = run_cli(
        "charges", "--segment", segment, "--exchange", "NSE", *EXAMPLE, "--broker", broker, "--json"
    )
    assert last_json(result)["total"] == Decimal(total)


def test_the_date_picks_the_rates_of_that_day() -> None:
    result = run_cli(
        "charges", "--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--date", "2025-06-02"
    )
    table = breakdown(result)
    assert table["STT"] == "₹20.00"  # 0.02 % in 2025, not 0.05 %
    assert table["Total charges"] == "₹73.78"


def test_without_json_the_breakdown_is_readable_lines() -> None:
    result = run_cli("charges", "--segment", "equity-intraday", "--exchange", "BSE", *EXAMPLE)
    table = breakdown(result)
    assert table["Exchange charges"] == "₹7.54"  # BSE group A, 0.00375 %
    assert list(table) == [
        "Brokerage",
        "STT",
        "Exchange charges",
        "SEBI fees",
        "Stamp duty",
        "GST",
        "DP charges",
        "Total charges",
        "Gross P&L",
        "Net P&L",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--segment", "commodity", "--exchange", "NSE", *EXAMPLE), "--segment 'commodity'"),
        (("--segment", "futures", "--exchange", "MCX", *EXAMPLE), "--exchange 'MCX'"),
        (("--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--broker", "x"), "--broker"),
        (
            ("--segment", "futures", "--exchange", "NSE", *EXAMPLE[:5], "0"),
            "--quantity 0 must be positive",
        ),
        (
            ("--segment", "futures", "--exchange", "NSE", *EXAMPLE[:5], "-3"),
            "--quantity -3 must be positive",
        ),
        (
            ("--segment", "futures", "--exchange", "NSE", "--buy-price", "0", *EXAMPLE[2:]),
            "--buy-price 0 must be positive",
        ),
        (
            ("--segment", "futures", "--exchange", "NSE", "--buy-price", "-5", *EXAMPLE[2:]),
            "--buy-price -5 must be positive",
        ),
        (
            ("--segment", "futures", "--exchange", "NSE", "--buy-price", "10.005", *EXAMPLE[2:]),
            "finer than one paisa",
        ),
        (("--segment", "futures", "--exchange", "NSE", *EXAMPLE[2:]), "--buy-price is required"),
        (
            ("--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--date", "2019-01-01"),
            "no rates",
        ),
        (("--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--date", "May 5"), "--date"),
        (("--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--lots", "2"), "--lots"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args: tuple[str, ...], message: str) -> None:
    result = run_cli("charges", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert result.stdout == ""


def _record(
    symbol: str, token: str, kind: str, segment: str, lot: str, expiry: str
) -> dict[str, str]:
    return {
        "token": token,
        "symbol": symbol,
        "name": symbol[:5],
        "expiry": expiry,
        "strike": "-1.000000",
        "lotsize": lot,
        "instrumenttype": kind,
        "exch_seg": segment,
        "tick_size": "5.000000",
    }


@pytest.fixture(scope="module")
def master_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("master") / "OpenAPIScripMaster.json"
    records = [
        _record("NIFTY29DEC26FUT", "35001", "FUTIDX", "NFO", "65", "29DEC2026"),
        _record("SBIN-EQ", "3045", "", "NSE", "1", ""),
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_a_futures_symbol_from_the_master_is_charged_in_whole_lots(master_json: Path) -> None:
    args = ("charges", "--segment", "futures", "--exchange", "NSE", "--buy-price", "1000")
    ok = run_cli(
        *args, "--sell-price", "1010", "--quantity", "130", "--symbol", "NIFTY29DEC26FUT",
        "--master", str(master_json), "--json",
    )  # fmt: skip
    assert last_json(ok)["stt"] == Decimal("66")  # two lots: 0.05 % × 1,31,300 = ₹65.65 -> ₹66
    bad = run_cli(
        *args, "--sell-price", "1010", "--quantity", "100", "--symbol", "NIFTY29DEC26FUT",
        "--master", str(master_json),
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "not a multiple of the lot size 65" in bad.stderr


@pytest.mark.parametrize(
    ("symbol", "segment", "message"),
    [
        ("RELIANCE-EQ", "equity-intraday", "no symbol 'RELIANCE-EQ'"),
        ("SBIN-EQ", "futures", "no symbol 'SBIN-EQ' on NFO"),
        ("NIFTY29DEC26FUT", "equity-delivery", "no symbol 'NIFTY29DEC26FUT' on NSE"),
    ],
)
def test_a_symbol_not_in_the_master_for_that_segment_is_one_line_and_exit_code_2(
    master_json: Path, symbol: str, segment: str, message: str
) -> None:
    result = run_cli(
        "charges", "--segment", segment, "--exchange", "NSE", *EXAMPLE,
        "--symbol", symbol, "--master", str(master_json),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_a_symbol_without_a_master_file_is_refused() -> None:
    result = run_cli(
        "charges", "--segment", "futures", "--exchange", "NSE", *EXAMPLE, "--symbol", "X"
    )
    assert result.returncode == 2
    assert "--symbol needs --master" in result.stderr


@pytest.fixture(scope="module")
def bars_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "SBIN-EQ.csv"
    write_bars(generate_bars(3_000, symbol="SBIN-EQ", seed=11), path)
    return path


def test_backtest_with_angel_one_intraday_reports_the_calculators_sum_over_its_trades(
    bars_csv: Path,
) -> None:
    common = ("backtest", "--strategy", "sma_crossover", "--data", str(bars_csv))
    result = run_cli(
        *common, "--quantity", "100", "--charges", "angelone", "--product", "intraday", "--json"
    )
    reported = last_json(result)["charges"]
    # The same run in this process, and the calculator applied to each of its round trips.
    strategy = SmaCrossover(quantity=100, product=ProductType.INTRADAY)
    run = run_backtest(
        strategy, load_bars(bars_csv), BacktestConfig(charges=backtest_charges("angelone"))
    )
    expected = 0
    for trip in run.round_trips:
        assert trip.direction > 0
        expected += round_trip_charges(
            ChargeSegment.EQUITY_INTRADAY,
            trip.entry_value_paise,
            trip.exit_value_paise,
            broker=ANGEL_ONE,
            trade_date=ns_to_ist(trip.entry_ns).date(),
            sell_date=ns_to_ist(trip.exit_ns).date(),
        ).total_paise
    assert len(run.round_trips) > 3
    assert reported == Decimal(expected).scaleb(-2)


def test_backtest_charges_angel_ones_schedule_for_the_strategys_product_by_default(
    bars_csv: Path,
) -> None:
    common = ("backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), "--json")
    default = last_json(run_cli(*common, "--quantity", "100"))
    named = last_json(
        run_cli(*common, "--quantity", "100", "--charges", "angelone", "--product", "delivery")
    )

    # sma_crossover without allow_short is a delivery (CNC) strategy
    assert default["charges"] == named["charges"] > 0
    assert default["charges_schedule"] == "Angel One's schedule for delivery (CNC), taxes and fees"
    assert default["charges_off"] is False


def test_charges_none_turns_them_off_and_the_report_says_so_on_its_first_line(
    bars_csv: Path,
) -> None:
    common = ("backtest", "--strategy", "sma_crossover", "--data", str(bars_csv))
    off = last_json(run_cli(*common, "--quantity", "100", "--charges", "none", "--json"))
    text = run_cli(*common, "--quantity", "100", "--charges", "none")
    on = run_cli(*common, "--quantity", "100")

    assert off["charges"] == 0
    assert off["charges_off"] is True
    assert text.stdout.splitlines()[0].startswith("CHARGES OFF (--charges none)")
    assert on.stdout.splitlines()[0].startswith("Strategy")
    assert "Angel One's schedule" in on.stdout


def test_backtest_delivery_product_pays_delivery_charges(bars_csv: Path) -> None:
    common = ("backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), "--json")
    intraday = last_json(
        run_cli(*common, "--quantity", "100", "--charges", "zerodha", "--product", "intraday")
    )
    delivery = last_json(
        run_cli(*common, "--quantity", "100", "--charges", "zerodha", "--product", "delivery")
    )
    # Delivery pays 0.1 % STT on both sides and a DP charge: far more than intraday.
    assert delivery["charges"] > 2 * intraday["charges"] > 0


@pytest.mark.parametrize(
    ("flag", "value"), [("--charges", "upstox"), ("--product", "carryforward")]
)
def test_backtest_refuses_an_unknown_charges_model_or_product_in_one_line(
    bars_csv: Path, flag: str, value: str
) -> None:
    result = run_cli(
        "backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), flag, value
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{flag} {value!r} is not one of" in result.stderr


RECORD = (
    '{"token":"1","symbol":"X","name":"X","expiry":"","strike":"%s","lotsize":"1",'
    '"instrumenttype":"","exch_seg":"NSE","tick_size":"5.000000"}'
)
HOSTILE_MASTERS = {
    "nested-100k-deep": ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    "5000-digit-integer": ("[" + "9" * 5_000 + "]", "thousands of digits"),
    # int(Decimal("1e999999999")) would build a billion-digit number: a hang, not an error
    "huge-exponent-strike": ("[" + RECORD % "1e999999999" + "]", "strike '1e999999999' is out"),
    "devanagari-strike": ("[" + RECORD % "१२" + "]", "is not a number"),
}


@pytest.mark.parametrize(
    ("text", "fact"), list(HOSTILE_MASTERS.values()), ids=list(HOSTILE_MASTERS)
)
def test_a_hostile_scrip_master_is_one_line_and_exit_2_within_the_timeout(
    tmp_path: Path, text: str, fact: str
) -> None:
    master = tmp_path / "master.json"
    master.write_text(text, encoding="utf-8")

    result = run_cli(
        "charges", "--segment", "equity-intraday", "--exchange", "NSE", *EXAMPLE,
        "--symbol", "X", "--master", str(master),
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert fact in result.stderr
