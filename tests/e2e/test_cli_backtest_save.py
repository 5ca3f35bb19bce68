"""`algo-trading backtest --save` as a user runs it (a real process): the results in the object
store under backtest-results/YYYY/MM/<run-id>/ with a manifest of checksums, and the run's row
in backtest_runs, on the embedded defaults (local folder, SQLite) and on S3 (moto's server).
An unreachable bucket is one line and exit code 2, before any work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from sqlalchemy import select

from algo_trading.adapters.history import load_bars
from algo_trading.adapters.objectstore import LocalObjectStore
from algo_trading.adapters.objectstore.s3 import S3ObjectStore
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.models import BacktestRun, BacktestTrade
from algo_trading.backtest import generate_bars, write_bars
from algo_trading.engine.ports import ObjectStore
from algo_trading.services.backtest_results import data_fingerprint
from tests.support.aws import REGION, isolate_from_aws, moto_server

SAVED = re.compile(r"^saved as (bt-\d{8}T\d{6}-[0-9a-f]{8}): (\S+)$", re.MULTILINE)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


@pytest.fixture
def bars_csv(tmp_path: Path) -> Path:
    path = tmp_path / "SBIN-EQ.csv"
    write_bars(generate_bars(3_000, symbol="SBIN-EQ", seed=5), path)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("ALGO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ALGO_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def _saved_and_checked(
    store: ObjectStore, result: subprocess.CompletedProcess[str], csv: Path
) -> str:
    assert result.returncode == 0, result.stderr
    match = SAVED.search(result.stderr)
    assert match is not None, result.stderr
    run_id, manifest_uri = match.groups()
    keys = store.list("backtest-results/")
    manifest_key = next(k for k in keys if k.endswith(f"/{run_id}/manifest.json"))
    assert re.fullmatch(rf"backtest-results/\d{{4}}/\d{{2}}/{run_id}/manifest\.json", manifest_key)
    assert store.uri(manifest_key) == manifest_uri
    manifest = json.loads(store.get(manifest_key))
    assert set(manifest["files"]) == {
        "config.json",
        "metrics.json",
        "trades.csv",
        "orders.csv",
        "fills.csv",
        "equity.csv",
        "tearsheet.html",
        "tearsheet.json",
    }
    for name, info in manifest["files"].items():
        head = store.head(manifest_key.replace("manifest.json", name))
        assert head is not None
        assert head.sha256 == info["sha256"]
    config = json.loads(store.get(manifest_key.replace("manifest.json", "config.json")))
    assert config["data"]["fingerprint_sha256"] == data_fingerprint(load_bars(csv))
    assert config["config"]["strategy"] == "sma_crossover"
    metrics = json.loads(store.get(manifest_key.replace("manifest.json", "metrics.json")))
    assert metrics == json.loads(result.stdout.strip().splitlines()[-1])
    sheet = json.loads(store.get(manifest_key.replace("manifest.json", "tearsheet.json")))
    assert sheet["config"]["data"]["fingerprint_sha256"] == config["data"]["fingerprint_sha256"]
    assert sheet["metrics"]["trades"] == len(sheet["trades"])
    page = store.get(manifest_key.replace("manifest.json", "tearsheet.html")).decode()
    assert page.startswith("<!DOCTYPE html>")
    return run_id


def _row(db_file: Path, run_id: str) -> tuple[BacktestRun, int]:
    db = Database(f"sqlite:///{db_file}")
    try:
        with db.engine.connect() as conn:
            row = conn.execute(
                select(BacktestRun.__table__).where(BacktestRun.run_id == run_id)
            ).one()
            trades = conn.execute(
                select(BacktestTrade.__table__).where(BacktestTrade.backtest_run_id == row.id)
            ).all()
        return row, len(trades)  # type: ignore[return-value]
    finally:
        db.dispose()


def test_save_on_the_embedded_defaults_writes_results_and_a_row(
    bars_csv: Path, clean_env: Path
) -> None:
    result = run_cli(
        "backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), "--save", "--json"
    )
    store = LocalObjectStore(clean_env / "objects")
    run_id = _saved_and_checked(store, result, bars_csv)
    row, trades = _row(clean_env / "algo_trading.db", run_id)
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert row.status == "DONE"
    assert row.results_uri.endswith(f"/{run_id}/manifest.json")
    assert trades == payload["fills"] == row.trade_count
    assert row.summary["data_fingerprint"] == data_fingerprint(load_bars(bars_csv))


def test_save_to_s3_asks_for_encryption_on_every_object(
    bars_csv: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolate_from_aws(monkeypatch, tmp_path)
    with moto_server() as endpoint:
        bucket = f"bt-{uuid.uuid4().hex[:12]}"
        admin = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        monkeypatch.setenv("ALGO_S3_BUCKET", bucket)
        monkeypatch.setenv("ALGO_S3_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("ALGO_S3_REGION", REGION)
        result = run_cli(
            "backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), "--save", "--json"
        )
        store = S3ObjectStore(bucket, region=REGION, endpoint_url=endpoint)
        run_id = _saved_and_checked(store, result, bars_csv)
        keys = store.list("backtest-results/")
        assert len(keys) == 9  # eight files and the manifest
        assert {store.sse_of(k) for k in keys} == {"AES256"}
        assert _row(clean_env / "algo_trading.db", run_id)[0].results_uri.startswith(
            f"s3://{bucket}/"
        )


def test_an_unreachable_bucket_is_one_line_and_exit_2_before_the_run(
    bars_csv: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolate_from_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("ALGO_S3_BUCKET", "no-such-bucket")
    monkeypatch.setenv("ALGO_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    result = run_cli("backtest", "--strategy", "sma_crossover", "--data", str(bars_csv), "--save")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "s3://no-such-bucket" in result.stderr
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (clean_env / "algo_trading.db").exists()
