"""Where backup documents are kept: a folder on local disk, or an S3-compatible bucket.

Both keep bytes under a key that Paydraw makes (`new_key`: ``pay-apps/<pay app>/<random>``);
no name or path a caller sends reaches either. An object is written whole or not at all: the
local disk writes a temporary file beside it and renames it into place, and S3 makes an object
visible only once its upload completes.
"""

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from paydraw.settings import Settings

PREFIX = "pay-apps/"
KEY = re.compile(r"pay-apps/[a-z]+_[0-9a-f]+/[0-9a-f]{32}")
CHUNK_BYTES = 256 * 1024
PARTIAL = ".partial-"
"""The start of a local object's name while it is written (never a key: keys have no dot)."""


def new_key(pay_app_id: str) -> str:
    """A fresh key for a pay app's new object: never one used before, so writing it can never
    overwrite a document that a row already names."""
    key = f"{PREFIX}{pay_app_id}/{secrets.token_hex(16)}"
    _check(key)
    return key


def _check(key: str) -> None:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a storage key Paydraw makes: {key!r}")


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime


class Storage(Protocol):
    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Store the bytes of `source` (read from where it stands) under `key`."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes, a chunk at a time; the object is opened before this returns, so
        a missing one fails here rather than half-way through an answer."""

    def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is no error."""

    def objects(self) -> Iterator[StoredObject]:
        """Every object kept, with when it was written."""

    def discard_partial(self, started_before: datetime) -> int:
        """Drop the parts of writes that began before `started_before` and never finished (a
        temporary file, an S3 multipart upload); how many."""


class LocalStorage:
    """A folder on local disk, the data directory's ``attachments`` by default."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        _check(key)
        return self.root / key

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=PARTIAL)
        try:
            with os.fdopen(descriptor, "wb") as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            os.replace(temporary, path)
            _sync_folder(path.parent)  # the rename itself survives a power cut
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def chunks(self, key: str) -> Iterator[bytes]:
        stored = self.path_of(key).open("rb")  # opened now: a missing file fails here

        def read() -> Iterator[bytes]:
            with stored:
                while chunk := stored.read(CHUNK_BYTES):
                    yield chunk

        return read()

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def objects(self) -> Iterator[StoredObject]:
        base = self.root / PREFIX
        if not base.is_dir():
            return
        for path in base.glob("*/*"):
            key = path.relative_to(self.root).as_posix()
            if KEY.fullmatch(key):
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                yield StoredObject(key, modified)

    def discard_partial(self, started_before: datetime) -> int:
        discarded = 0
        for path in (self.root / PREFIX).glob(f"*/{PARTIAL}*"):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < started_before:
                path.unlink(missing_ok=True)
                discarded += 1
        return discarded


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph, Cloudflare R2, ...), through boto3."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        _check(key)
        self.client.upload_fileobj(
            source, self.bucket, key, ExtraArgs={"ContentType": content_type}
        )

    def chunks(self, key: str) -> Iterator[bytes]:
        _check(key)
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

        def read() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            finally:
                body.close()

        return read()

    def delete(self, key: str) -> None:
        _check(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def objects(self) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=PREFIX
        )
        for listing in pages:
            for stored in listing.get("Contents", []):
                if KEY.fullmatch(stored["Key"]):
                    yield StoredObject(stored["Key"], stored["LastModified"])

    def discard_partial(self, started_before: datetime) -> int:
        """Abort multipart uploads cut off mid-way, whose parts the bucket keeps (and bills)
        until they are aborted or a lifecycle rule expires them."""
        discarded = 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=PREFIX
        )
        for listing in pages:
            for upload in listing.get("Uploads", []):
                if upload["Initiated"] < started_before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    discarded += 1
        return discarded


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def storage_for(settings: Settings) -> Storage:
    """The storage the settings choose."""
    if settings.storage_backend == "local":
        return LocalStorage(settings.attachments_dir)
    import boto3  # imported here: only an S3 deployment loads it

    if not settings.s3_bucket:
        raise ValueError("s3_bucket: set PAYDRAW_S3_BUCKET to store attachments in S3")
    secret = settings.s3_secret_access_key.get_secret_value()
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=secret or None,
    )
    return S3Storage(client, settings.s3_bucket)
