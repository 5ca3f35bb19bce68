"""The SecretStore port (engine/ports.py), one suite for every implementation: the environment
store (over a monkeypatched environment) and the AWS Secrets Manager store (over moto's real
protocol server on 127.0.0.1, never a patched boto3).

Values are random per test, so "no value in the message" can only pass by hiding it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping

import boto3
import pytest
from moto.server import ThreadedMotoServer

from algo_trading.adapters.secrets import AwsSecretsManagerStore, EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import SecretStore

REGION = "ap-south-1"

MakeStore = Callable[[Mapping[str, str]], SecretStore]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    """Explicit fake credentials and no metadata service or profile: boto3 cannot reach AWS."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.path.join(tmp_path, "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.path.join(tmp_path, "no-credentials"))


def _env_store(monkeypatch: pytest.MonkeyPatch) -> MakeStore:
    def make(values: Mapping[str, str]) -> SecretStore:
        for name, value in values.items():
            monkeypatch.setenv(f"ALGO_{name.upper()}", value)
        return EnvSecretStore(os.environ)

    return make


def _aws_store(endpoint: str) -> MakeStore:
    def make(values: Mapping[str, str]) -> SecretStore:
        secret_id = f"algo-trading/contract/{uuid.uuid4().hex}"
        admin = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
        admin.create_secret(Name=secret_id, SecretString=json.dumps(dict(values)))
        return AwsSecretsManagerStore(secret_id, region=REGION, endpoint_url=endpoint)

    return make


@pytest.fixture(params=["env", "aws"])
def make_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> MakeStore:
    if request.param == "env":
        return _env_store(monkeypatch)
    request.getfixturevalue("fake_aws")
    return _aws_store(request.getfixturevalue("moto_endpoint"))


def _secret() -> str:
    return f"val-{uuid.uuid4().hex}"


def test_get_returns_each_stored_value(make_store: MakeStore) -> None:
    mpin, api_key = _secret(), _secret()
    store = make_store({"contract_mpin": mpin, "contract_api_key": api_key})

    assert store.get("contract_mpin") == mpin
    assert store.get("contract_api_key") == api_key


def test_an_unknown_name_is_a_config_error_naming_the_key_and_no_value(
    make_store: MakeStore,
) -> None:
    present = _secret()
    store = make_store({"contract_present": present})

    with pytest.raises(ConfigError) as caught:
        store.get("contract_absent")

    message = str(caught.value)
    assert "contract_absent" in message.lower()
    assert present not in message
    assert "\n" not in message


def test_an_empty_value_counts_as_missing(make_store: MakeStore) -> None:
    store = make_store({"contract_blank": ""})

    with pytest.raises(ConfigError, match=r"(?i)contract_blank"):
        store.get("contract_blank")


def test_repr_and_str_show_no_value_even_after_a_read(make_store: MakeStore) -> None:
    value = _secret()
    store = make_store({"contract_token": value})
    assert store.get("contract_token") == value

    assert value not in repr(store)
    assert value not in str(store)
