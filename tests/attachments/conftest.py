"""Attachment tests run twice over: on local disk and on a real S3-compatible server (moto's
server mode), each on SQLite and on PostgreSQL."""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from api.app import create_app
from paydraw.attachments.storage import Storage, storage_for
from paydraw.commitments import service as commitments
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, RetainageIn, SovLineIn
from paydraw.db.engine import session_scope
from paydraw.db.tables import Invitation
from paydraw.domain.transitions import Role
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.schemas import LineAmount, PayAppCreate, PerLineAmounts
from paydraw.projects import service as projects
from paydraw.projects.schemas import MemberAdd
from paydraw.settings import Settings
from tests.conftest import new_user_headers
from tests.pay_apps.builders import ADMIN_EMAIL, CONTACT_EMAIL, Job, design_job
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


OTHER_CONTACT = "billing@bolt.example"
VIEWER_EMAIL = "lender@bank.example"
CONTACT_FILES = "/api/v1/contact/pay-app/attachments"


@dataclass
class Scene:
    """DESIGN.md's commitment with a draft pay app and its accepted invite, a second commitment
    of the same project with its own contact and pay app, and who calls."""

    job: Job
    pay_app_id: str
    other_pay_app_id: str
    other_commitment_id: str
    admin: dict[str, str]
    viewer: dict[str, str]
    contact: dict[str, str]
    other_contact: dict[str, str]

    @property
    def files_path(self) -> str:
        return f"/api/v1/pay-apps/{self.pay_app_id}/attachments"


def accepted(engine: Engine, commitment_id: str, period_id: str) -> None:
    with session_scope(engine) as session:
        session.add(Invitation(period_id=period_id, commitment_id=commitment_id, status="accepted"))


def contact_headers(settings: Settings, commitment_id: str, period_id: str, email: str) -> Any:
    token = issue(settings, ContactClaim(commitment_id, period_id, email))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def scene(engine: Engine, settings: Settings, client: TestClient) -> Scene:
    job = design_job(engine)
    period_id = job.periods[-1]
    accepted(engine, job.commitment_id, period_id)
    pay_app = job.create({"01": "5000", "02": "12000"})
    with session_scope(engine) as session:
        projects.add_member(
            session, job.admin, job.project_id, MemberAdd(email=VIEWER_EMAIL, role="viewer")
        )
        other = commitments.create_commitment(
            session,
            job.admin,
            job.project_id,
            CommitmentCreate(
                number="SC-002",
                vendor_name="Bolt Electric",
                contacts=[ContactIn(name="Sam", email=OTHER_CONTACT)],
                retainage=RetainageIn(percent=Decimal("10")),
                sov_lines=[
                    SovLineIn(code="01", description="Wiring", scheduled_value=Decimal(9000))
                ],
            ),
        )
        other = commitments.approve_sov(session, job.admin, other.id)
    accepted(engine, other.id, period_id)
    entry = PerLineAmounts(
        mode="per_line_amounts",
        lines=[LineAmount(sov_line_id=other.sov_lines[0].id, work_this_period=Decimal(900))],
    )
    other_pay_app = job.run(
        pay_apps.create, job.admin, Role.ADMIN, other.id, period_id, PayAppCreate(entry=entry)
    )
    return Scene(
        job=job,
        pay_app_id=pay_app.id,
        other_pay_app_id=other_pay_app.id,
        other_commitment_id=other.id,
        admin=new_user_headers(engine, ADMIN_EMAIL),
        viewer=new_user_headers(engine, VIEWER_EMAIL),
        contact=contact_headers(settings, job.commitment_id, period_id, CONTACT_EMAIL),
        other_contact=contact_headers(settings, other.id, period_id, OTHER_CONTACT),
    )
