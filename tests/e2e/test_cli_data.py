"""`algo-trading data ...` and `backtest --data store:...` as a user runs them: a backtest from
the store gives the same result to the paisa as the same bars from CSV; bad input is one line
and exit code 2; validate exits 1 on findings."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.backtest import generate_bars, write_bars
from algo_trading.cli.main import cli

COLS = ("ts_ns", "open", "high", "low", "close", "volume")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr


@pytest.fixture(scope="module")
def csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("csv")
    out = {}
    for symbol, seed in (("SBIN-EQ", 11), ("TCS-EQ", 12)):
        out[symbol] = write_bars(
            generate_bars(4_000, symbol=symbol, seed=seed, start=dt.date(2025, 1, 1)),
            folder / f"{symbol}.csv",
        )
    return out


@pytest.fixture(scope="module")
def store(csvs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    for path in csvs.values():
        result = run("data", "import", str(path), "--store", str(root))
        assert result.exit_code == 0, result.output
        assert "4,000 bars read, 4,000 new" in result.output
    return root


def _backtest(
    *data: str, out: Path, extra: tuple[str, ...] = ()
) -> tuple[dict[str, object], dict[str, bytes]]:
    args = [
        "backtest",
        "--strategy",
        "sma_crossover",
        "--quantity",
        "10",
        "--json",
        "--out",
        str(out),
    ]
    for d in data:
        args += ["--data", d]
    result = run(*args, *extra)
    assert result.exit_code == 0, result.output
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix == ".csv"}
    return json.loads(result.output.strip().splitlines()[-1]), files


def test_a_backtest_from_the_store_matches_the_csv_to_the_paisa(
    csvs: dict[str, Path], store: Path, tmp_path: Path
) -> None:
    from_csv, csv_files = _backtest(*(str(p) for p in csvs.values()), out=tmp_path / "csv")
    from_store, store_files = _backtest(
        "store:SBIN-EQ,TCS-EQ", out=tmp_path / "store", extra=("--store", str(store))
    )
    assert from_store == from_csv
    assert from_csv["trades"] > 0
    assert store_files == csv_files  # trades, orders, fills, equity: every paisa
    assert "trades.csv" in store_files


def test_a_date_range_from_the_store_matches_the_same_rows_of_csv(
    csvs: dict[str, Path], store: Path, tmp_path: Path
) -> None:
    import datetime as dt

    from algo_trading.adapters.history import load_bars
    from algo_trading.domain.events import IST

    (full,) = load_bars(csvs["SBIN-EQ"])
    lo = int(dt.datetime(2025, 1, 3, tzinfo=IST).timestamp()) * 10**9
    hi = int(dt.datetime(2025, 1, 9, tzinfo=IST).timestamp()) * 10**9  # --to 2025-01-08
    rows = (full.ts_ns >= lo) & (full.ts_ns < hi)
    part = write_bars(
        BarSeries("SBIN-EQ", *(getattr(full, c)[rows] for c in COLS)), tmp_path / "SBIN-EQ.csv"
    )
    from_csv, _ = _backtest(str(part), out=tmp_path / "a")
    from_store, _ = _backtest(
        "store:SBIN-EQ",
        out=tmp_path / "b",
        extra=("--store", str(store), "--from", "2025-01-03", "--to", "2025-01-08"),
    )
    assert from_store == from_csv
    assert from_store["bars"] == int(rows.sum()) > 0


def test_importing_again_stores_nothing_twice(csvs: dict[str, Path], store: Path) -> None:
    result = run("data", "import", str(csvs["SBIN-EQ"]), "--store", str(store))
    assert "4,000 bars read, 0 new" in result.output


def test_list_shows_each_series_with_its_coverage(store: Path) -> None:
    result = run("data", "list", "--store", str(store))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("NSE:")]
    assert [line.split()[0] for line in lines] == [
        "NSE:SBIN-EQ:ONE_MINUTE",
        "NSE:TCS-EQ:ONE_MINUTE",
    ]
    assert all("4,000" in line and "2025" in line for line in lines)


def test_validate_is_clean_on_imported_sessions_and_exits_1_on_a_gap(
    csvs: dict[str, Path], tmp_path: Path
) -> None:
    from algo_trading.adapters.history import load_bars

    (full,) = load_bars(csvs["SBIN-EQ"])
    keep = np.ones(len(full), dtype=bool)
    keep[500:510] = False  # ten minutes of the second day
    holed = write_bars(
        BarSeries("SBIN-EQ", *(getattr(full, c)[keep] for c in COLS)), tmp_path / "SBIN-EQ.csv"
    )
    root = tmp_path / "store"
    assert run("data", "import", str(holed), "--store", str(root)).exit_code == 0
    result = run("data", "validate", "--store", str(root))
    assert result.exit_code == 1, result.output
    assert "gap: 2025-01-02 11:20 IST to 11:29 IST: 10 bars missing" in result.output


def test_adjust_is_off_by_default_and_changes_prices_when_asked(
    csvs: dict[str, Path], store: Path, tmp_path: Path
) -> None:
    actions = tmp_path / "actions.csv"
    actions.write_text(
        "symbol,ex_date,action,ratio\nSBIN-EQ,2025-01-20,split,2:1\n", encoding="utf-8"
    )
    plain, _ = _backtest("store:SBIN-EQ", out=tmp_path / "a", extra=("--store", str(store)))
    adjusted, _ = _backtest(
        "store:SBIN-EQ", out=tmp_path / "b", extra=("--store", str(store), "--adjust", str(actions))
    )
    assert plain["bars"] == adjusted["bars"]
    assert plain != adjusted


# --- bad input: one line, exit code 2 --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ("--interval", "TWO_MINUTE", "--from", "2025-01-01", "--to", "2025-01-31"),
            ("TWO_MINUTE",),
        ),
        (("--from", "2025-03-01", "--to", "2025-01-31"), ("reversed",)),
        (("--from", "2999-01-01", "--to", "2999-01-31"), ("in the future",)),
        (("--from", "2025-01-01", "--to", "2025-01-31", "--exchange", "LSE"), ("LSE",)),
        (
            (
                "--from",
                "2025-01-01",
            ),
            ("--to",),
        ),
    ],
)
def test_fetch_refuses_bad_input_before_any_network(
    args: tuple[str, ...], needles: tuple[str, ...], tmp_path: Path
) -> None:
    # no broker runs at this URL: every one of these must be refused before a connection
    result = run(
        "data",
        "fetch",
        "--symbol",
        "SBIN-EQ",
        "--broker-url",
        "http://127.0.0.1:9",
        "--store",
        str(tmp_path),
        *args,
    )
    _one_line_error(result, *needles)


def test_angel_one_without_credentials_in_the_secret_store_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "data",
            "fetch",
            "--symbol",
            "SBIN-EQ",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-31",
            "--broker",
            "angelone",
            "--store",
            str(tmp_path),
        ],
        env={"ALGO_DATA_DIR": str(tmp_path), "ALGO_SECRETS_BACKEND": "env"},
    )
    _one_line_error(result, "angelone_")
    assert not list(tmp_path.rglob("*.parquet"))


def test_a_csv_of_unknown_shape_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,price\n2025-01-02 09:15,100\n", encoding="utf-8")
    result = run("data", "import", str(path), "--store", str(tmp_path / "store"))
    _one_line_error(result, "unknown CSV shape", "odd.csv")
    assert not (tmp_path / "store").exists()


def test_an_import_on_the_wrong_interval_grid_is_refused(
    csvs: dict[str, Path], tmp_path: Path
) -> None:
    result = run(
        "data",
        "import",
        str(csvs["SBIN-EQ"]),
        "--interval",
        "FIVE_MINUTE",
        "--store",
        str(tmp_path),
    )
    _one_line_error(result, "not on the FIVE_MINUTE grid")


def test_store_data_of_an_unknown_symbol_is_refused(store: Path) -> None:
    result = run(
        "backtest", "--strategy", "sma_crossover", "--data", "store:NOPE-EQ", "--store", str(store)
    )
    _one_line_error(result, "store:NOPE-EQ", "SBIN-EQ, TCS-EQ")


def test_store_data_with_an_unknown_interval_is_refused(store: Path) -> None:
    result = run(
        "backtest",
        "--strategy",
        "sma_crossover",
        "--data",
        "store:SBIN-EQ",
        "--interval",
        "HOURLY",
        "--store",
        str(store),
    )
    _one_line_error(result, "HOURLY")


def test_validate_with_an_unknown_interval_is_refused(store: Path) -> None:
    _one_line_error(run("data", "validate", "--interval", "DAILY", "--store", str(store)), "DAILY")


def test_a_corrupt_parquet_file_is_one_line_for_list_validate_and_backtest(
    csvs: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "store"
    assert run("data", "import", str(csvs["SBIN-EQ"]), "--store", str(root)).exit_code == 0
    (bad,) = root.rglob("bars.parquet")
    bad.write_bytes(bad.read_bytes()[:100])  # cut short, as a full disk would leave it
    for args in (
        ("data", "list", "--store", str(root)),
        ("data", "validate", "--store", str(root)),
        (
            "backtest",
            "--strategy",
            "sma_crossover",
            "--data",
            "store:SBIN-EQ",
            "--store",
            str(root),
        ),
    ):
        _one_line_error(run(*args), str(bad), "cannot read it")


def test_a_real_process_reports_a_corrupt_file_in_one_line(tmp_path: Path) -> None:
    folder = (
        tmp_path / "store" / "exchange=NSE" / "symbol=SBIN-EQ" / "interval=ONE_MINUTE" / "year=2025"
    )
    folder.mkdir(parents=True)
    (folder / "bars.parquet").write_bytes(b"\x00garbage\x1b[31m")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "algo_trading.cli.main",
            "data",
            "validate",
            "--store",
            str(tmp_path / "store"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr
    assert "bars.parquet: cannot read it" in result.stderr


def _master_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A scrip master in Angel One's shape: (symbol, token, tick_size in paise)."""
    path.write_text(
        json.dumps(
            [
                {
                    "token": token,
                    "symbol": symbol,
                    "name": symbol.removesuffix("-EQ"),
                    "expiry": "",
                    "strike": "-1.000000",
                    "lotsize": "1",
                    "instrumenttype": "",
                    "exch_seg": "NSE",
                    "tick_size": tick,
                }
                for symbol, token, tick in rows
            ]
        )
    )
    return path


def test_validate_takes_each_symbols_tick_from_the_instrument_master(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.engine.ports import BarKey
    from tests.support.history import ist_ns, make_bars

    monkeypatch.setenv("ALGO_DATA_DIR", str(tmp_path / "data"))  # no cached master there
    root = tmp_path / "store"
    bars = ParquetBarStore(root)
    on_fives = make_bars("X", ist_ns(2025, 1, 6, 9, 15), 375)  # on 0.05, mostly off 0.10
    f = on_fives
    on_paise = BarSeries("X", f.ts_ns, f.open + 1, f.high + 1, f.low + 1, f.close + 1, f.volume)
    bars.write(BarKey("NSE", "SBIN-EQ", "ONE_MINUTE"), on_fives)
    bars.write(BarKey("NSE", "WIPRO-EQ", "ONE_MINUTE"), on_paise)
    bars.write(BarKey("NSE", "NOPE-EQ", "ONE_MINUTE"), on_fives)
    master = _master_file(
        tmp_path / "master.json",
        [("SBIN-EQ", "3045", "10.000000"), ("WIPRO-EQ", "3787", "1.000000")],
    )

    result = run("data", "validate", "--store", str(root), "--master", str(master))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"tick sizes: the instrument master {master}"
    sbin = next(line for line in lines if line.startswith("NSE:SBIN-EQ"))
    assert sbin.endswith(f"finding(s) (tick 0.10 from the instrument master {master})")
    assert "is not on the 0.10 tick" in result.output
    wipro = next(line for line in lines if line.startswith("NSE:WIPRO-EQ"))
    assert wipro.endswith(f"bars: ok (tick 0.01 from the instrument master {master})")
    nope = next(line for line in lines if line.startswith("NSE:NOPE-EQ"))
    assert nope.endswith(
        f"ok (tick 0.05 from the default (NOPE-EQ not in the instrument master {master}))"
    )

    # the shipped NIFTY 50 list when no master is named or cached: SBIN 0.10, WIPRO 0.01
    result = run("data", "validate", "--store", str(root), "--symbol", "SBIN-EQ,WIPRO-EQ")
    assert result.exit_code == 1, result.output
    assert "tick sizes: the NIFTY 50 reference list" in result.output
    assert "(tick 0.10 from the NIFTY 50 reference list" in result.output
    assert "WIPRO-EQ:ONE_MINUTE: 375 bars: ok (tick 0.01 from the NIFTY 50" in result.output

    # --tick-size overrides the master for every series
    result = run(
        "data", "validate", "--store", str(root), "--tick-size", "0.01", "--master", str(master)
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("(tick 0.01 from --tick-size)") == 3
    assert "tick sizes:" not in result.output


def test_validate_with_an_unreadable_master_is_one_line(store: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    _one_line_error(
        run("data", "validate", "--store", str(store), "--master", str(missing)), str(missing)
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    _one_line_error(
        run("data", "validate", "--store", str(store), "--master", str(broken)), str(broken)
    )
