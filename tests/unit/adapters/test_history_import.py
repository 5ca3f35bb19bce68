"""`data import`: the common broker export shapes read to the same bars; an unknown shape,
or IST times without `--tz`, refused with one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from algo_trading.adapters.history.imports import import_csv
from algo_trading.domain.errors import ConfigError, DataError
from tests.support.history import ist_ns

T0 = ist_ns(2025, 1, 6, 9, 15)
MIN = 60 * 10**9


def _write(tmp_path: Path, text: str, name: str = "SBIN.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SHAPES = {
    "iso with offset": "timestamp,open,high,low,close,volume\n"
    "2025-01-06T09:15:00+05:30,100.00,100.50,99.95,100.20,10\n"
    "2025-01-06T09:16:00+05:30,100.20,100.40,100.00,100.05,12\n",
    "capitalised, naive IST": "Date,Open,High,Low,Close,Volume\n"
    "2025-01-06 09:15:00,100,100.5,99.95,100.2,10\n"
    "2025-01-06 09:16:00,100.2,100.4,100,100.05,12\n",
    "datetime, upper case, extra columns, BOM": "\ufeffDATETIME,OPEN,HIGH,LOW,CLOSE,VOLUME,OI\n"
    "2025-01-06 09:15,100,100.5,99.95,100.2,10,0\n"
    "2025-01-06 09:16,100.2,100.4,100,100.05,12,0\n",
    "separate date and time, day first": "date,time,open,high,low,close,vol\n"
    "06-01-2025,09:15:00,100,100.5,99.95,100.2,10\n"
    "06-01-2025,09:16:00,100.2,100.4,100,100.05,12\n",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_common_export_shapes_give_the_same_bars(tmp_path: Path, shape: str) -> None:
    path = _write(tmp_path, SHAPES[shape])
    (series,) = import_csv(path, symbol=None, tz="Asia/Kolkata", calendar=None)
    assert series.symbol == "SBIN"
    assert series.ts_ns.tolist() == [T0, T0 + MIN]
    assert series.open.tolist() == [10_000, 10_020]
    assert series.high.tolist() == [10_050, 10_040]
    assert series.low.tolist() == [9_995, 10_000]
    assert series.close.tolist() == [10_020, 10_005]
    assert series.volume.tolist() == [10, 12]


def test_a_symbol_column_gives_one_series_per_symbol(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Symbol,Timestamp,Open,High,Low,Close,Volume\n"
        "SBIN-EQ,2025-01-06T09:15:00+05:30,100,101,99,100,1\n"
        "TCS-EQ,2025-01-06T09:15:00+05:30,3000,3001,2999,3000,1\n",
    )
    got = import_csv(path, symbol=None, tz=None, calendar=None)
    assert [s.symbol for s in got] == ["SBIN-EQ", "TCS-EQ"]


def test_naive_times_without_tz_are_refused_with_the_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, SHAPES["capitalised, naive IST"])
    with pytest.raises(DataError, match=r"no UTC offset .*--tz Asia/Kolkata"):
        import_csv(path, symbol=None, tz=None, calendar=None)


def test_an_unknown_shape_names_the_columns_it_has_and_what_it_lacks(tmp_path: Path) -> None:
    path = _write(tmp_path, "when,price,size\n2025-01-06 09:15,100,1\n")
    with pytest.raises(DataError) as caught:
        import_csv(path, symbol=None, tz="Asia/Kolkata", calendar=None)
    text = str(caught.value)
    assert text.startswith(f"{path}: unknown CSV shape: columns 'when', 'price', 'size'")
    assert "date/datetime/timestamp" in text
    assert "\n" not in text


def test_an_unknown_time_zone_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, SHAPES["capitalised, naive IST"])
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        import_csv(path, symbol=None, tz="Mars/Olympus", calendar=None)


def test_a_bad_price_still_names_its_line(tmp_path: Path) -> None:
    text = SHAPES["capitalised, naive IST"].replace("100.05", "abc")
    with pytest.raises(DataError, match=r"line 3\): close 'abc' is not a number"):
        import_csv(_write(tmp_path, text), symbol=None, tz="Asia/Kolkata", calendar=None)
