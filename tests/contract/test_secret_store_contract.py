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

from algo_trading.adapters.secrets import AwsSecretsManagerStore, EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import SecretStore
from tests.support.aws import REGION, isolate_from_aws, moto_server

MakeStore = Callable[[Mapping[str, str]], SecretStore]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    isolate_from_aws(monkeypatch, tmp_path)


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
