"""AwsSecretsManagerStore against moto's real Secrets Manager protocol server on 127.0.0.1 (never
a patched boto3): caching and refresh, the failures a deployment meets (a missing secret, a
secret that is not a JSON object, an endpoint that does not answer), the Angel One credentials
built from it, and not one secret value in a DEBUG log capture of all of it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from algo_trading.adapters.brokers.angelone.config import SECRET_NAMES, credentials_from_store
from algo_trading.adapters.secrets import AwsSecretsManagerStore, SecretStoreUnavailableError
from algo_trading.domain.errors import AlgoTradingError, ConfigError
from tests.support.aws import REGION, isolate_from_aws, moto_server


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    isolate_from_aws(monkeypatch, tmp_path)


def _admin(endpoint: str) -> Any:
    return boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)


def _new_secret(endpoint: str, text: str) -> str:
    secret_id = f"algo-trading/it/{uuid.uuid4().hex}"
    _admin(endpoint).create_secret(Name=secret_id, SecretString=text)
    return secret_id


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_read_is_cached_until_refresh_fetches_the_rotated_value(endpoint: str) -> None:
    old, new = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    secret_id = _new_secret(endpoint, json.dumps({"mpin": old}))
    store = AwsSecretsManagerStore(secret_id, region=REGION, endpoint_url=endpoint)
    assert store.get("mpin") == old

    _admin(endpoint).put_secret_value(SecretId=secret_id, SecretString=json.dumps({"mpin": new}))
    assert store.get("mpin") == old

    store.refresh()
    assert store.get("mpin") == new


def test_a_missing_secret_is_a_one_line_config_error_naming_the_id_and_region(
    endpoint: str,
) -> None:
    store = AwsSecretsManagerStore("algo-trading/absent", region=REGION, endpoint_url=endpoint)

    with pytest.raises(ConfigError) as caught:
        store.get("mpin")

    message = str(caught.value)
    assert "algo-trading/absent" in message
    assert REGION in message
    assert "ResourceNotFoundException" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        pytest.param("{mpin: VALUE", "not valid JSON", id="malformed"),
        pytest.param('["VALUE"]', "not an object", id="a-list"),
        pytest.param('{"mpin": ["VALUE"]}', "not strings", id="a-non-string-value"),
    ],
)
def test_a_secret_that_is_not_a_json_object_of_strings_is_a_config_error_without_its_text(
    endpoint: str, text: str, why: str
) -> None:
    value = f"v-{uuid.uuid4().hex}"
    secret_id = _new_secret(endpoint, text.replace("VALUE", value))
    store = AwsSecretsManagerStore(secret_id, region=REGION, endpoint_url=endpoint)

    with pytest.raises(ConfigError, match=why) as caught:
        store.get("mpin")

    assert secret_id in str(caught.value)
    assert value not in str(caught.value)
    shown = "".join(traceback.format_exception(caught.value))
    assert value not in shown
    # No chained exception (a JSONDecodeError keeps the whole document in `.doc`) rides along.
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_an_unreachable_endpoint_fails_fast_with_a_retryable_error_naming_id_and_region() -> None:
    store = AwsSecretsManagerStore(
        "algo-trading/prod",
        region=REGION,
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        timeout_s=0.5,
        max_attempts=1,
    )
    started = time.monotonic()

    with pytest.raises(SecretStoreUnavailableError) as caught:
        store.get("mpin")

    assert time.monotonic() - started < 5.0
    assert isinstance(caught.value, AlgoTradingError)
    message = str(caught.value)
    assert "algo-trading/prod" in message
    assert REGION in message
    assert "\n" not in message


def test_angel_one_credentials_are_built_from_the_aws_store(endpoint: str) -> None:
    values = {name: f"{field_}-{uuid.uuid4().hex}" for field_, name in SECRET_NAMES.items()}
    secret_id = _new_secret(endpoint, json.dumps(values))
    store = AwsSecretsManagerStore(secret_id, region=REGION, endpoint_url=endpoint)

    creds = credentials_from_store(store)

    assert creds.api_key.get_secret_value() == values["angelone_api_key"]
    assert creds.client_code.get_secret_value() == values["angelone_client_code"]
    assert creds.mpin.get_secret_value() == values["angelone_mpin"]
    assert creds.totp_secret.get_secret_value() == values["angelone_totp_secret"]
    assert not any(v in repr(creds) for v in values.values())


def test_a_debug_log_of_every_path_carries_no_secret_value(
    endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    values = {name: f"{field_}-{uuid.uuid4().hex}" for field_, name in SECRET_NAMES.items()}
    good_id = _new_secret(endpoint, json.dumps(values))
    broken_value = f"broken-{uuid.uuid4().hex}"
    broken_id = _new_secret(endpoint, "{" + broken_value)
    # Capture from here on: the setup calls above send the values and are not the store's.
    # botocore's own level too: install_logging (run by any earlier in-process CLI test) holds
    # third-party loggers at INFO, which once made this test depend on the order of the suite.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")

    good = AwsSecretsManagerStore(good_id, region=REGION, endpoint_url=endpoint)
    credentials_from_store(good)
    good.refresh()
    with pytest.raises(ConfigError):
        good.get("angelone_absent")
    with pytest.raises(ConfigError):
        AwsSecretsManagerStore(broken_id, region=REGION, endpoint_url=endpoint).get("mpin")

    # The capture really saw botocore's GetSecretValue at DEBUG, so silence cannot pass for safety.
    assert any("GetSecretValue" in r.getMessage() for r in caplog.records)
    text = caplog.text
    for value in [*values.values(), broken_value]:
        assert value not in text
