"""The object store on S3 (boto3), used when ALGO_S3_BUCKET is set.

Every put is one PutObject (S3 makes an object visible whole or not at all) that asks for
server-side encryption (SSE-S3, or SSE-KMS when a key is named) and carries the bytes'
SHA-256 as metadata (`x-amz-meta-sha256`); a get checks it. Timeouts, 5xx answers and
throttling are retried with backoff by `RetryPolicy` (botocore's own retries are off, so the
policy is the only one); an unknown bucket or a refused request fails at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from algo_trading.adapters.objectstore.layout import check_key
from algo_trading.adapters.objectstore.retrying import RetryPolicy, Transient, sha256_hex
from algo_trading.domain.errors import (
    ChecksumMismatchError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreUnavailableError,
)
from algo_trading.engine.ports import ObjectInfo

__all__ = ["S3ObjectStore"]

T = TypeVar("T")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_TRANSIENT = {
    "500",
    "502",
    "503",
    "504",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
}


class S3ObjectStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        kms_key_id: str = "",
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._kms_key_id = kms_key_id
        self._retry = retry or RetryPolicy()
        self._endpoint = endpoint_url or "AWS"
        self._client = client or boto3.client(
            "s3",
            region_name=region or None,
            endpoint_url=endpoint_url or None,
            config=Config(
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.bucket!r})"

    def _name(self, key: str) -> str:
        return self._prefix + check_key(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    def _sse(self) -> dict[str, str]:
        if self._kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id}
        return {"ServerSideEncryption": "AES256"}

    def check(self) -> None:
        try:
            self._call(f"s3://{self.bucket}", lambda: self._client.head_bucket(Bucket=self.bucket))
        except ObjectNotFoundError:
            raise ObjectStoreUnavailableError(
                f"bucket s3://{self.bucket} ({self._endpoint}) does not exist; "
                "create it or fix ALGO_S3_BUCKET"
            ) from None

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        name = self._name(key)
        info = ObjectInfo(key, len(data), sha256_hex(data))
        self._call(
            self.uri(key),
            lambda: self._client.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=data,
                ContentType=content_type,
                Metadata={"sha256": info.sha256},
                **self._sse(),
            ),
        )
        return info

    def get(self, key: str) -> bytes:
        name = self._name(key)

        def read() -> tuple[bytes, str]:
            answer = self._client.get_object(Bucket=self.bucket, Key=name)
            return answer["Body"].read(), answer.get("Metadata", {}).get("sha256", "")

        data, stored = self._call(self.uri(key), read)
        if not stored or sha256_hex(data) != stored:
            raise ChecksumMismatchError(
                f"{self.uri(key)}: its bytes do not match the SHA-256 stored with it "
                f"({'none stored' if not stored else 'corrupt'}); not used"
            )
        return data

    def head(self, key: str) -> ObjectInfo | None:
        name = self._name(key)
        try:
            answer = self._call(
                self.uri(key), lambda: self._client.head_object(Bucket=self.bucket, Key=name)
            )
        except ObjectNotFoundError:
            return None
        return ObjectInfo(
            key, int(answer["ContentLength"]), answer.get("Metadata", {}).get("sha256", "")
        )

    def sse_of(self, key: str) -> str:
        """The server-side encryption S3 reports for the object (tests, audits)."""
        name = self._name(key)
        answer = self._call(
            self.uri(key), lambda: self._client.head_object(Bucket=self.bucket, Key=name)
        )
        return str(answer.get("ServerSideEncryption", ""))

    def list(self, prefix: str) -> list[str]:
        def read() -> list[str]:
            keys = []
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._prefix + prefix
            )
            for page in pages:
                keys += [o["Key"][len(self._prefix) :] for o in page.get("Contents", [])]
            return keys

        return sorted(self._call(f"s3://{self.bucket}/{self._prefix}{prefix}", read))

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._call(self.uri(key), lambda: self._client.delete_object(Bucket=self.bucket, Key=name))

    def _call(self, where: str, action: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return action()
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
                if code in _NOT_FOUND or (status == "404" and code != "NoSuchBucket"):
                    raise ObjectNotFoundError(f"{where}: no such object") from None
                if code in _TRANSIENT or status in _TRANSIENT:
                    raise Transient(exc) from exc
                raise ObjectStoreUnavailableError(
                    f"{where} ({self._endpoint}): {code or status} refused; "
                    "check ALGO_S3_BUCKET and the credentials' permissions"
                ) from None
            except (NoCredentialsError, PartialCredentialsError):
                raise ObjectStoreUnavailableError(
                    f"{where}: no AWS credentials found (an instance role, AWS_PROFILE or "
                    "AWS_ACCESS_KEY_ID); nothing was sent"
                ) from None
            except (EndpointConnectionError, BotoCoreError, OSError) as exc:
                raise Transient(exc) from exc

        try:
            return self._retry.run(attempt)
        except Transient as exc:
            raise ObjectStoreUnavailableError(
                f"{where} ({self._endpoint}): unreachable after {self._retry.attempts} tries "
                f"({type(exc.cause).__name__})"
            ) from None
        except ObjectStoreError:
            raise
