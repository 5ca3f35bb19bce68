"""The cloud secret store: one AWS Secrets Manager secret holding a JSON object of names to values
(DESIGN.md, "Settings"; issue #5).

The secret is fetched on the first `get` and kept until `refresh()`; constructing the store makes
no call and importing this module does nothing (STYLE habit 5). Values are held as `SecretStr`
and no message, log line or `repr` of ours ever carries one (habit 19).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from algo_trading.adapters.logs import register_secret
from algo_trading.domain.errors import AlgoTradingError, ConfigError

__all__ = ["AwsSecretsManagerStore", "SecretStoreUnavailableError"]

log = logging.getLogger(__name__)

# Error codes that a retry will not cure: the secret id, the region or the permissions are wrong.
_CONFIG_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "DecryptionFailure",
        "InvalidParameterException",
        "InvalidRequestException",
    }
)


class SecretStoreUnavailableError(AlgoTradingError):
    """The secret store cannot be reached or answered with a server error: retry later."""


class _SecretsClient(Protocol):
    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


class _DropResponseBodies(logging.Filter):
    """botocore logs every response body at DEBUG; for Secrets Manager that body is the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Response body")


def _quiet_botocore_bodies() -> None:
    parsers = logging.getLogger("botocore.parsers")
    if not any(isinstance(f, _DropResponseBodies) for f in parsers.filters):
        parsers.addFilter(_DropResponseBodies())


class AwsSecretsManagerStore:
    """`get("angelone_mpin")` reads key `angelone_mpin` of the JSON object in secret `secret_id`.

    A missing key, secret or permission is a ConfigError; an unreachable endpoint or a server error
    is a SecretStoreUnavailableError. Both name the secret id and region, never a value.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        client: _SecretsClient | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
    ) -> None:
        if not secret_id or not region:
            raise ConfigError("aws secret store: secret_id and region must be set")
        self._secret_id = secret_id
        self._region = region
        self._endpoint_url = endpoint_url
        self._client = client
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._values: dict[str, SecretStr] | None = None

    def get(self, name: str) -> str:
        values = self._values if self._values is not None else self._load()
        found = values.get(name)
        value = found.get_secret_value() if found is not None else ""
        if not value:
            # An empty value counts as missing, as in the environment store.
            raise ConfigError(
                f"secret {name}: no non-empty key {name!r} in {self._where()}; "
                "add it to the secret's JSON object"
            )
        return value

    def refresh(self) -> None:
        """Fetch the secret again now (after a rotation); the old values are dropped."""
        self._values = None
        self._load()

    def __repr__(self) -> str:
        return f"AwsSecretsManagerStore(secret_id={self._secret_id!r}, region={self._region!r})"

    def _where(self) -> str:
        return f"AWS secret {self._secret_id!r} (region {self._region})"

    def _make_client(self) -> _SecretsClient:
        config = Config(
            connect_timeout=self._timeout_s,
            read_timeout=self._timeout_s,
            retries={"total_max_attempts": self._max_attempts, "mode": "standard"},
        )
        client: _SecretsClient = boto3.client(
            "secretsmanager",
            region_name=self._region,
            endpoint_url=self._endpoint_url,
            config=config,
        )
        return client

    def _fetch(self) -> str:
        _quiet_botocore_bodies()
        if self._client is None:
            self._client = self._make_client()
        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if code in _CONFIG_CODES:
                raise ConfigError(
                    f"{self._where()}: {code}; check the secret id, region and IAM permissions"
                ) from None
            raise SecretStoreUnavailableError(f"{self._where()}: {code}; retry later") from None
        except BotoCoreError as exc:
            # botocore's messages name the endpoint or the credentials problem, never a value.
            raise SecretStoreUnavailableError(
                f"{self._where()}: {type(exc).__name__}: {exc}; check the endpoint or retry later"
            ) from None
        text = answer.get("SecretString")
        if not isinstance(text, str):
            raise ConfigError(f"{self._where()}: holds no SecretString; store a JSON object")
        return text

    def _load(self) -> dict[str, SecretStr]:
        text = self._fetch()
        try:
            parsed = json.loads(text)
        except ValueError:
            # `from None`: a JSONDecodeError keeps the whole document in `.doc`.
            raise ConfigError(
                f"{self._where()}: is not valid JSON; store a JSON object of names to strings"
            ) from None
        if not isinstance(parsed, dict):
            raise ConfigError(
                f"{self._where()}: holds a JSON {type(parsed).__name__}, not an object of names"
            )
        bad = sorted(k for k, v in parsed.items() if not isinstance(v, str))
        if bad:
            raise ConfigError(f"{self._where()}: keys {', '.join(bad)} are not strings")
        self._values = {k: SecretStr(v) for k, v in parsed.items()}
        # Every value of the secret, handed out or not, is masked in every log record: the
        # whole object crossed the wire, and a library may have seen more than `get` returns.
        for value in parsed.values():
            register_secret(value)
        log.debug("loaded %s: %d keys", self._where(), len(self._values))
        return self._values
