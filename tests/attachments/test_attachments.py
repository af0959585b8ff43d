"""Backup documents through the HTTP API: who may attach, list, download and remove; what is
refused (over a cap, a type by its content, a name with a path); the same on local disk and on
an S3-compatible server."""

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from api.app import create_app
from paydraw.attachments.service import sweep
from paydraw.attachments.storage import PARTIAL, LocalStorage, S3Storage, Storage, new_key
from paydraw.db.engine import session_scope
from paydraw.db.tables import AuditEvent, PayAppAttachment
from paydraw.domain.transitions import Role
from paydraw.pay_apps import service as pay_apps
from paydraw.settings import Settings
from tests.api.helpers import create_project
from tests.attachments.conftest import CONTACT_FILES, MAX_FILE, Files, Scene
from tests.conftest import new_user_headers
from tests.pay_apps.builders import ADMIN_EMAIL, CONTACT_EMAIL


def upload(
    client: TestClient, path: str, headers: dict[str, str], name: str, content: bytes
) -> Any:
    return client.post(
        path, files={"file": (name, content, "application/octet-stream")}, headers=headers
    )


def refusal_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "file"
    reason: str = error["reason"]
    return reason


def stored_objects(storage: Storage) -> list[str]:
    return [stored.key for stored in storage.objects()]


class TestAGoodUpload:
    def test_lists_with_who_and_when_and_downloads_byte_identical(
        self, client: TestClient, scene: Scene, files: Files, storage: Storage
    ) -> None:
        invoice, photo = files.pdf(), files.image("JPEG")
        added = upload(client, scene.files_path, scene.admin, "Invoice 1041.pdf", invoice)
        assert added.status_code == 201, added.text
        by_contact = upload(
            client, "/api/v1/contact/pay-app/attachments", scene.contact, "site photo.jpg", photo
        )
        assert by_contact.status_code == 201, by_contact.text

        listed = client.get(scene.files_path, headers=scene.viewer).json()
        rows = {row["name"]: row for row in listed["attachments"]}
        assert set(rows) == {"Invoice 1041.pdf", "site photo.jpg"}
        assert rows["Invoice 1041.pdf"]["added_by"] == f"user:{ADMIN_EMAIL}"
        assert rows["site photo.jpg"]["added_by"] == f"contact:{CONTACT_EMAIL}"
        assert rows["site photo.jpg"]["content_type"] == "image/jpeg"
        assert rows["Invoice 1041.pdf"]["sha256"] == hashlib.sha256(invoice).hexdigest()
        assert all(row["added_at"] for row in rows.values())
        assert listed["total_size"] == len(invoice) + len(photo)
        assert len(stored_objects(storage)) == 2

        # Whoever sees the pay app downloads the same bytes: a viewer, and the contact.
        staff_copy = client.get(f"{scene.files_path}/{added.json()['id']}", headers=scene.viewer)
        assert staff_copy.status_code == 200
        assert staff_copy.content == invoice
        assert staff_copy.headers["content-type"] == "application/pdf"
        assert staff_copy.headers["content-disposition"].startswith("attachment;")
        assert 'filename="Invoice 1041.pdf"' in staff_copy.headers["content-disposition"]
        assert staff_copy.headers["x-content-type-options"] == "nosniff"
        contact_copy = client.get(
            f"/api/v1/contact/pay-app/attachments/{by_contact.json()['id']}", headers=scene.contact
        )
        assert contact_copy.content == photo
        assert contact_copy.headers["content-type"] == "image/jpeg"
        assert contact_copy.headers["content-disposition"].startswith("attachment;")

    def test_a_resend_with_the_same_idempotency_key_stores_nothing_more(
        self, client: TestClient, scene: Scene, files: Files, storage: Storage
    ) -> None:
        headers = scene.admin | {"Idempotency-Key": "ticket-1041"}
        first = upload(client, scene.files_path, headers, "ticket.pdf", files.pdf())
        again = upload(client, scene.files_path, headers, "ticket.pdf", files.pdf())
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json()["id"] == first.json()["id"]
        other = upload(client, scene.files_path, headers, "ticket.pdf", files.pdf("another"))
        assert other.status_code == 422  # the same key for another file is a mistake
        assert len(client.get(scene.files_path, headers=scene.admin).json()["attachments"]) == 1
        assert len(stored_objects(storage)) == 1

    def test_text_is_served_as_plain_text_never_as_a_page(
        self, client: TestClient, scene: Scene
    ) -> None:
        page = b"<html><script>alert(document.cookie)</script></html>\n"
        added = upload(client, scene.files_path, scene.admin, "notes.txt", page)
        assert added.status_code == 201, added.text
        served = client.get(f"{scene.files_path}/{added.json()['id']}", headers=scene.admin)
        assert served.content == page
        assert served.headers["content-type"] == "text/plain; charset=utf-8"
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["x-content-type-options"] == "nosniff"

    def test_a_spreadsheet_and_a_png_are_taken(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        import io

        from openpyxl import Workbook

        workbook = io.BytesIO()
        Workbook().save(workbook)
        for name, content in (
            ("takeoff.xlsx", workbook.getvalue()),
            ("ticket.png", files.image("PNG")),
        ):
            assert upload(client, scene.files_path, scene.admin, name, content).status_code == 201


class TestRefusals:
    def test_a_file_over_the_cap_is_refused_and_nothing_is_kept(
        self, client: TestClient, scene: Scene, files: Files, storage: Storage
    ) -> None:
        too_big = files.noise(MAX_FILE + 10_000)
        assert len(too_big) > MAX_FILE
        reason = refusal_of(upload(client, scene.files_path, scene.admin, "big.png", too_big))
        assert "cap per file" in reason
        assert client.get(scene.files_path, headers=scene.admin).json()["attachments"] == []
        assert stored_objects(storage) == []

    def test_the_pay_apps_total_is_capped(
        self, client: TestClient, scene: Scene, files: Files, storage: Storage
    ) -> None:
        for number in (1, 2):
            image = files.noise(100_000)
            added = upload(client, scene.files_path, scene.admin, f"photo {number}.png", image)
            assert added.status_code == 201, added.text
        reason = refusal_of(
            upload(client, scene.files_path, scene.admin, "photo 3.png", files.noise(100_000))
        )
        assert "per pay app" in reason
        assert len(client.get(scene.files_path, headers=scene.admin).json()["attachments"]) == 2
        assert len(stored_objects(storage)) == 2

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            ("GIF", "GIF"),
            ("BMP", "BMP"),
            ("exe", "EXE"),
            ("binary", "not a kind of file"),
            ("html", "the file is a text file, but its name has .pdf"),
        ],
    )
    def test_a_disallowed_type_renamed_pdf_is_refused(
        self, client: TestClient, scene: Scene, files: Files, kind: str, expected: str
    ) -> None:
        content = {
            "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
            "binary": bytes(range(256)),
            "html": b"<html><body onload='alert(1)'>invoice</body></html>",
        }.get(kind) or files.image(kind)
        reason = refusal_of(upload(client, scene.files_path, scene.admin, "invoice.pdf", content))
        assert expected in reason

    def test_an_allowed_type_under_another_types_name_is_refused(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        reason = refusal_of(
            upload(client, CONTACT_FILES, scene.contact, "invoice.pdf", files.image("PNG"))
        )
        assert reason == "the file is a PNG image, but its name has .pdf; name it .png"

    @pytest.mark.parametrize(
        "name", ["../../../etc/cron.d/invoice.pdf", "..\\..\\invoice.pdf", "a/b.pdf", ".htaccess"]
    )
    def test_a_name_with_a_path_is_refused(
        self,
        client: TestClient,
        scene: Scene,
        files: Files,
        storage: Storage,
        settings: Settings,
        name: str,
    ) -> None:
        before = sorted(str(path) for path in Path(settings.data_dir).parent.rglob("*"))
        reason = refusal_of(upload(client, scene.files_path, scene.admin, name, files.pdf()))
        assert "without a path" in reason
        assert stored_objects(storage) == []
        after = sorted(str(path) for path in Path(settings.data_dir).parent.rglob("*"))
        assert [path for path in after if path not in before and "invoice" in path] == []

    def test_an_empty_file_and_a_missing_file_are_refused(
        self, client: TestClient, scene: Scene
    ) -> None:
        assert "empty" in refusal_of(upload(client, scene.files_path, scene.admin, "a.pdf", b""))
        missing = client.post(scene.files_path, data={"x": "y"}, headers=scene.admin)
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "file"


class TestWhoSees:
    def test_another_projects_user_gets_404(
        self, client: TestClient, engine: Engine, scene: Scene, files: Files
    ) -> None:
        added = upload(client, scene.files_path, scene.admin, "invoice.pdf", files.pdf()).json()
        stranger = new_user_headers(engine, "ap@other-gc.example")
        create_project(client, stranger, name="Their own tower")
        download = client.get(f"{scene.files_path}/{added['id']}", headers=stranger)
        assert download.status_code == 404
        assert download.json()["error"] == "not_found"
        assert client.get(scene.files_path, headers=stranger).status_code == 404
        attach = upload(client, scene.files_path, stranger, "x.pdf", files.pdf())
        assert attach.status_code == 404
        remove = client.delete(f"{scene.files_path}/{added['id']}", headers=stranger)
        assert remove.status_code == 404

    def test_the_contact_of_another_commitment_gets_404(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        added = upload(
            client, "/api/v1/contact/pay-app/attachments", scene.contact, "ticket.pdf", files.pdf()
        ).json()
        theirs = client.get(
            f"/api/v1/contact/pay-app/attachments/{added['id']}", headers=scene.other_contact
        )
        assert theirs.status_code == 404
        listed = client.get("/api/v1/contact/pay-app/attachments", headers=scene.other_contact)
        assert listed.json()["attachments"] == []
        remove = client.delete(
            f"/api/v1/contact/pay-app/attachments/{added['id']}", headers=scene.other_contact
        )
        assert remove.status_code == 404
        # Nor through the staff's address, whose credentials a contact's token is not.
        staff_path = f"{scene.files_path}/{added['id']}"
        assert client.get(staff_path, headers=scene.other_contact).status_code == 401

    def test_an_attachment_of_another_pay_app_is_not_found_under_this_one(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        other_path = f"/api/v1/pay-apps/{scene.other_pay_app_id}/attachments"
        added = upload(client, other_path, scene.admin, "wiring.pdf", files.pdf()).json()
        assert (
            client.get(f"{scene.files_path}/{added['id']}", headers=scene.admin).status_code == 404
        )
        contact_path = f"/api/v1/contact/pay-app/attachments/{added['id']}"
        assert client.get(contact_path, headers=scene.contact).status_code == 404

    def test_a_viewer_reads_but_may_not_attach_or_remove(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        added = upload(client, scene.files_path, scene.admin, "invoice.pdf", files.pdf()).json()
        assert (
            client.get(f"{scene.files_path}/{added['id']}", headers=scene.viewer).status_code == 200
        )
        refused = upload(client, scene.files_path, scene.viewer, "mine.pdf", files.pdf())
        assert refused.status_code == 403
        assert (
            client.delete(f"{scene.files_path}/{added['id']}", headers=scene.viewer).status_code
            == 403
        )

    def test_a_contact_removes_only_what_they_attached(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        staff_file = upload(client, scene.files_path, scene.admin, "gc.pdf", files.pdf()).json()
        path = f"/api/v1/contact/pay-app/attachments/{staff_file['id']}"
        assert client.delete(path, headers=scene.contact).status_code == 403


class TestRemoving:
    def test_removing_is_audited_and_deletes_the_file(
        self, client: TestClient, engine: Engine, scene: Scene, files: Files, storage: Storage
    ) -> None:
        added = upload(client, scene.files_path, scene.admin, "wrong.pdf", files.pdf()).json()
        removed = client.delete(f"{scene.files_path}/{added['id']}", headers=scene.admin)
        assert removed.status_code == 204
        assert (
            client.get(f"{scene.files_path}/{added['id']}", headers=scene.admin).status_code == 404
        )
        assert stored_objects(storage) == []
        with session_scope(engine) as session:
            actions = [
                (event.action, event.actor, event.detail.get("name"))
                for event in session.exec(
                    select(AuditEvent).where(AuditEvent.entity_id == scene.pay_app_id)
                )
                if "attach" in event.action
            ]
        assert actions == [
            ("attach", f"user:{ADMIN_EMAIL}", "wrong.pdf"),
            ("remove_attachment", f"user:{ADMIN_EMAIL}", "wrong.pdf"),
        ]

    def test_a_finalized_pay_apps_attachments_cannot_be_removed(
        self, client: TestClient, scene: Scene, files: Files
    ) -> None:
        added = upload(client, scene.files_path, scene.admin, "invoice.pdf", files.pdf()).json()
        scene.job.certify(scene.pay_app_id)
        listed = client.get(scene.files_path, headers=scene.admin).json()
        assert [row["removable"] for row in listed["attachments"]] == [False]
        refused = client.delete(f"{scene.files_path}/{added['id']}", headers=scene.admin)
        assert refused.status_code == 409
        assert refused.json()["status"] == "finalized"
        assert "can no longer be removed" in refused.json()["message"]
        # Still there, still the same bytes; and backup may still come in after certification.
        copy = client.get(f"{scene.files_path}/{added['id']}", headers=scene.admin)
        assert copy.content == files.pdf()
        late = upload(client, scene.files_path, scene.admin, "lien release.pdf", files.pdf("LR"))
        assert late.status_code == 201


class TestOrphans:
    def test_the_sweep_deletes_objects_no_row_names_and_keeps_the_rest(
        self, client: TestClient, engine: Engine, scene: Scene, files: Files, storage: Storage
    ) -> None:
        """An upload that died after its object was written and before its row: the object is
        an orphan, which the sweep deletes; a file with its row is kept."""
        import io
        from datetime import timedelta

        kept = upload(client, scene.files_path, scene.admin, "invoice.pdf", files.pdf()).json()
        orphan = new_key(scene.pay_app_id)
        storage.put(orphan, io.BytesIO(files.pdf("lost")), "application/pdf")
        assert len(stored_objects(storage)) == 2

        assert sweep(engine, storage, older_than=timedelta(hours=1)) == []  # too young yet
        assert sweep(engine, storage, older_than=timedelta(seconds=-5)) == [orphan]
        with session_scope(engine) as session:
            (row,) = session.exec(select(PayAppAttachment)).all()
        assert stored_objects(storage) == [row.storage_key]
        copy = client.get(f"{scene.files_path}/{kept['id']}", headers=scene.admin)
        assert copy.content == files.pdf()

    def test_the_sweep_drops_writes_cut_off_mid_way(
        self, engine: Engine, scene: Scene, files: Files, storage: Storage
    ) -> None:
        """A temporary file on local disk, an unfinished multipart upload in S3: neither is an
        object yet, and the sweep drops them once they are old enough."""
        from datetime import timedelta

        key = new_key(scene.pay_app_id)
        if isinstance(storage, LocalStorage):
            partial = storage.root / key.rsplit("/", 1)[0] / f"{PARTIAL}cut-off"
            partial.parent.mkdir(parents=True)
            partial.write_bytes(files.pdf()[:20])

            def left() -> int:
                return len(list(partial.parent.iterdir()))
        else:
            assert isinstance(storage, S3Storage)
            bucket = storage.bucket
            storage.client.create_multipart_upload(Bucket=bucket, Key=key)

            def left() -> int:
                uploads = storage.client.list_multipart_uploads(Bucket=bucket)
                return len(uploads.get("Uploads", []))

        assert stored_objects(storage) == []
        assert left() == 1
        if isinstance(storage, LocalStorage):
            # (moto's server reports every multipart upload as begun in 2010, so a young one
            # cannot be told from an old one there.)
            sweep(engine, storage, older_than=timedelta(hours=1))
            assert left() == 1  # it may still be under way
        sweep(engine, storage, older_than=timedelta(seconds=-5))
        assert left() == 0

    def test_deleting_a_draft_leaves_its_files_to_the_sweep(
        self, client: TestClient, engine: Engine, scene: Scene, files: Files, storage: Storage
    ) -> None:
        from datetime import timedelta

        upload(client, scene.files_path, scene.admin, "invoice.pdf", files.pdf())
        scene.job.run(pay_apps.delete_draft, scene.job.admin, Role.ADMIN, scene.pay_app_id)
        assert len(stored_objects(storage)) == 1
        assert len(sweep(engine, storage, older_than=timedelta(seconds=-5))) == 1
        assert stored_objects(storage) == []


class TestRequestSize:
    def test_an_upload_may_be_as_large_as_its_cap_and_no_larger(
        self, settings: Settings, engine: Engine, storage: Storage, scene: Scene, files: Files
    ) -> None:
        """Other requests stop at 1 MiB; an upload goes up to the per-file cap, and a body
        far past it is cut off with a 413 before it is read to the end."""
        mebibyte = 1024 * 1024
        roomy = settings.model_copy(
            update={
                "attachment_max_bytes": 3 * mebibyte,
                "pay_app_attachments_max_bytes": 9 * mebibyte,
            }
        )
        with TestClient(create_app(roomy, engine, storage=storage)) as client:
            large = files.noise(2 * mebibyte)
            added = upload(client, scene.files_path, scene.admin, "large.png", large)
            assert added.status_code == 201, added.text
            copy = client.get(f"{scene.files_path}/{added.json()['id']}", headers=scene.admin)
            assert copy.content == large
            huge = upload(
                client, scene.files_path, scene.admin, "huge.png", files.noise(5 * mebibyte)
            )
            assert huge.status_code == 413
            assert huge.json()["errors"][0]["field"] == "body"
            assert len(stored_objects(storage)) == 1
