"""Attachment tests run twice over: on local disk and on a real S3-compatible server (moto's
server mode), each on SQLite and on PostgreSQL."""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from api.app import create_app
from paydraw.attachments.storage import Storage, storage_for
from paydraw.settings import Settings
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

MAX_FILE = 150_000
MAX_TOTAL = 250_000


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Small caps, so a test file can be over them; the storage the parameter names."""
    storage: dict[str, object] = {}
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3")
        storage = {
            "storage_backend": "s3",
            "s3_endpoint_url": server.endpoint_url,
            "s3_bucket": server.new_bucket(),
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret",
        attachment_max_bytes=MAX_FILE,
        pay_app_attachments_max_bytes=MAX_TOTAL,
        **storage,  # type: ignore[arg-type]
    )


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return storage_for(settings)


@pytest.fixture
def client(settings: Settings, engine: Engine, storage: Storage) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine, storage=storage)) as client:
        yield client


@dataclass(frozen=True)
class Files:
    """Real files of each kind, made by the libraries that write them."""

    @staticmethod
    def pdf(text: str = "Invoice 1041") -> bytes:
        body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        return (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            + f"4 0 obj<</Length {len(body)}>>stream\n".encode()
            + body
            + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        )

    @staticmethod
    def image(kind: str, size: int = 8) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (size, size), (200, 120, 40)).save(buffer, format=kind)
        return buffer.getvalue()

    @staticmethod
    def noise(size: int) -> bytes:
        """A PNG of `size` bytes or a little more (random pixels do not compress)."""
        import os

        side = int((size / 3) ** 0.5) + 1
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=0)
        return buffer.getvalue()


@pytest.fixture
def files() -> Files:
    return Files()
