"""Hostile CSV files through `algo-trading backtest` as a user meets them, in a real process
(issue #15, point 3): each is one `error:` line naming the file and the true reason, exit code
2, no traceback and no warning text. A table of the reported classes, then a bounded fuzz of
hostile cells; the processes run side by side, since each spends most of its time importing."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]
ROWS = [
    ["2025-01-02T09:15:00+05:30", "100.00", "101.00", "99.00", "100.50", "10"],
    ["2025-01-02T09:16:00+05:30", "100.50", "101.50", "100.00", "101.00", "20"],
    ["2025-01-02T09:17:00+05:30", "101.00", "102.00", "100.50", "101.50", "30"],
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def cell(column: str, value: str) -> list[list[str]]:
    rows = [list(r) for r in ROWS]
    rows[1][HEADER.index(column)] = value
    return rows


def assert_one_error_line(result: subprocess.CompletedProcess[str], path: Path) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr
    for noise in ("Traceback", "Warning", "warn", "None"):
        assert noise not in result.stderr, result.stderr
    assert result.stdout == ""
    return result.stderr


TABLE: dict[str, tuple[list[str], list[list[str]], tuple[str, ...]]] = {
    "duplicate-column": (
        [*HEADER, "volume"],
        [[*r, r[5]] for r in ROWS],
        ("line 1", "column 'volume' appears twice"),
    ),
    "volume-1e30": (HEADER, cell("volume", "1e30"), ("line 3", "volume '1e30'", "out of range")),
    "unicode-digits": (HEADER, cell("open", "१००.५०"), ("line 3", "open", "not a number")),
    "huge-exponent": (HEADER, cell("close", "1e999999999"), ("line 3", "close", "out of range")),
    "tiny-exponent": (HEADER, cell("low", "1e-999999999"), ("line 3", "finer than one paisa")),
    "timestamp-year-9999": (
        HEADER,
        cell("timestamp", "9999-12-31T09:15:00+05:30"),
        ("line 3", "timestamp"),
    ),
    "off-session-bar": (
        HEADER,
        [*ROWS, ["2025-01-02T18:00:00+05:30", "101.00", "102.00", "100.50", "101.50", "30"]],
        ("line 5", "outside", "--allow-off-session"),
    ),
    "holiday-bar": (
        HEADER,
        [*ROWS, ["2025-02-26T09:15:00+05:30", "101.00", "102.00", "100.50", "101.50", "30"]],
        ("line 5", "Mahashivratri", "--allow-off-session"),
    ),
}


@pytest.fixture(scope="module")
def table_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {name: write(folder / f"{name}.csv", h, r) for name, (h, r, _) in TABLE.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(
                run_cli, "backtest", "--strategy", "sma_crossover", "--data", str(path)
            )
            for name, path in paths.items()
        }
        return {name: (paths[name], f.result()) for name, f in futures.items()}


@pytest.mark.parametrize("name", list(TABLE))
def test_a_hostile_file_is_one_error_line_with_its_true_reason_and_exit_2(
    name: str, table_results: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    path, result = table_results[name]

    message = assert_one_error_line(result, path)

    for fact in TABLE[name][2]:
        assert fact in message


HOSTILE = [
    "1e30",
    "-1e30",
    "1e999999999",
    "1e-999999999",
    "9" * 300,
    "१००",
    "٣",
    "１",
    "1_0",
    "nan",
    "-inf",
    "=1+1",
    "\u202e1",
    "9223372036854775808",
    "",
]


@settings(
    max_examples=3,
    phases=[Phase.generate],  # no shrinking: each example costs a few processes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(HOSTILE)),
        min_size=4,
        max_size=4,
    )
)
def test_hostile_cells_through_the_command_are_one_error_line_and_exit_2(
    tmp_path_factory: pytest.TempPathFactory, cells: list[tuple[int, str]]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    paths = []
    for k, (column, value) in enumerate(cells):
        paths.append(write(folder / f"case{k}.csv", HEADER, cell(HEADER[column], value)))
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(
            pool.map(
                lambda p: run_cli("backtest", "--strategy", "sma_crossover", "--data", str(p)),
                paths,
            )
        )
    for path, result in zip(paths, runs, strict=True):
        assert_one_error_line(result, path)
