"""The services' containers would start (issue #13): each image's exact entry command, run here
outside Docker with the environment its ECS task definition gives it (read from
infra/modules/ecs), pointed at the local PostgreSQL, Redis and an S3 protocol server, answers
its readiness probe.

What differs from AWS, and only that: addresses are loopback and ports free ones; the broker is
the local simulator instead of Angel One (no credentials, no internet here); the test servers'
endpoints are named; the market is always open so the probe does not depend on the day."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from algo_trading.services.simulator_thread import SimulatorThread
from algo_trading.simulator.config import SimulatorConfig
from tests.integration.deploy.conftest import INFRA, ROOT, parse, unwrap
from tests.support.aws import REGION, moto_server
from tests.support.storage import fresh_schema, require_postgres

pytestmark = pytest.mark.slow


def _task_definitions() -> dict[str, dict[str, Any]]:
    blocks = parse(INFRA / "modules" / "ecs" / "main.tf")["locals"]
    merged: dict[str, Any] = {}
    for block in blocks:
        merged.update({k: unwrap(v) for k, v in block.items()})
    services = merged["services"]
    out = {}
    for name, body in services.items():
        out[name] = {
            "command": unwrap(body["command"]),
            "environment": {**merged["common_environment"], **unwrap(body["environment"])},
            "secrets": {**merged["common_secrets"], **unwrap(body["secrets"])},
        }
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback only
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = require_postgres()
    folder = tmp_path_factory.mktemp("containers")
    sim = SimulatorThread(SimulatorConfig(port=0, always_open=True, tick_interval_s=0.05))
    server = sim.start()
    try:
        with fresh_schema(base) as url, moto_server() as endpoint:
            session = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's, on loopback
                region_name=REGION,
            )
            session.client("s3", endpoint_url=endpoint).create_bucket(
                Bucket="algo-trading-dev-data-000000000000",
                CreateBucketConfiguration={"LocationConstraint": REGION},
            )
            topic = session.client("sns", endpoint_url=endpoint).create_topic(Name="alarms")
            # the task definition's URL has no password; ECS injects it beside (trust auth
            # here takes any, and the settings fold it into the URL)
            plain, query = url.split("?", 1)
            yield {
                "url": plain,
                "query": query,
                "endpoint": endpoint,
                "topic": str(topic["TopicArn"]),
                "simulator": server.base_url,
                "folder": str(folder),
            }
    finally:
        sim.stop()


def _environment(name: str, world: dict[str, str], health_port: int) -> dict[str, str]:
    task = _task_definitions()[name]
    given: dict[str, str] = {}
    values = {
        "ALGO_PROFILE": "dev",
        "ALGO_DATABASE_URL": f"{world['url']}?{world['query']}",
        "ALGO_S3_BUCKET": "algo-trading-dev-data-000000000000",
        "ALGO_METRICS_NAMESPACE": "AlgoTrading/dev",
        "ALGO_ALERT_SNS_TOPIC_ARN": world["topic"],
        "AWS_REGION": REGION,
        "ALGO_LIVE_CONFIRM": "no",
    }
    for key, value in task["environment"].items():
        text = str(value)
        given[key] = values.get(key, text) if "${" in text or key in values else text
    # secrets: the database password (any: trust auth); Angel One's are left out, so the
    # simulator's demo login is used; the dashboard's users are the dev demo ones
    for key in task["secrets"]:
        if key == "ALGO_DATABASE_PASSWORD":
            given[key] = "injected-by-ecs"
    assert given["ALGO_METRICS_EMF"] == "true"
    given.update(
        ALGO_HEALTH_HOST="127.0.0.1",  # the task says 0.0.0.0; tests stay on loopback
        ALGO_BROKER_KIND="simulator",
        ALGO_BROKER_URL=world["simulator"],
        ALGO_S3_ENDPOINT_URL=world["endpoint"],
        ALGO_S3_REGION=REGION,
        ALGO_ALERT_SNS_ENDPOINT_URL=world["endpoint"],
        ALGO_ALERT_SNS_REGION=REGION,
        ALGO_MARKET_ALWAYS_OPEN="true",
        ALGO_REDIS_URL="redis://127.0.0.1:6379/0",
        ALGO_DATA_DIR=str(Path(world["folder"]) / name),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's, on loopback
    )
    if "ALGO_HEALTH_PORT" in given:
        given["ALGO_HEALTH_PORT"] = str(health_port)
    if "ALGO_DATA_HEALTH_PORT" in given:
        given["ALGO_DATA_HEALTH_PORT"] = str(health_port)
    return given


def _start(name: str, world: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    task = _task_definitions()[name]
    command = [str(part) for part in task["command"]]
    assert command[0] == "algo-trading"
    if "/app/config/trade.toml" in command:  # the image's copy of docker/trade.toml
        config = Path(world["folder"]) / "trade.toml"
        shutil.copy(ROOT / "docker" / "trade.toml", config)
        command[command.index("/app/config/trade.toml")] = str(config)
    if "--port" in command:
        command[command.index("--port") + 1] = str(port)
        command[command.index("--host") + 1] = "127.0.0.1"
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(("ALGO_", "AWS_"))}
    env = {**base, **_environment(name, world, port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "algo_trading.cli.main", *command[1:]],
        env=env,
        cwd=world["folder"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, port


def _migrate(world: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    env["ALGO_DATABASE_URL"] = f"{world['url']}?{world['query']}"
    done = subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "probe"),
    [("trading", "/readyz"), ("data", "/readyz"), ("dashboard", "/_stcore/health")],
)
def test_each_service_answers_its_probe_with_the_task_definitions_environment(
    world: dict[str, str], name: str, probe: str
) -> None:
    _migrate(world)  # the release's one-off task: the services start with migrations off
    proc, port = _start(name, world)
    try:
        deadline = time.monotonic() + 120
        while _get(f"http://127.0.0.1:{port}{probe}") != 200:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"{name} ended ({proc.returncode}) before {probe}: {err[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name}: {probe} did not answer 200 within 120 s")
            time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert json.dumps(name)  # the probe answered: the container would start
