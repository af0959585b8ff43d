"""Backup documents and exports on the pages: the staff's pay-app page (session cookie, CSRF
token on the form) and the contact's page (their link's token), as plain form posts."""

import re
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.pages.session import SESSION_COOKIE
from paydraw.db.engine import session_scope
from paydraw.invitations.tokens import ContactClaim, issue
from paydraw.settings import Settings
from paydraw.users import sign_in
from paydraw.users.service import ensure_user
from tests.attachments.conftest import OTHER_CONTACT, Files, Scene
from tests.pay_apps.builders import ADMIN_EMAIL, CONTACT_EMAIL


def sign_in_browser(client: TestClient, engine: Engine, settings: Settings, email: str) -> str:
    """A signed-in browser session for `email`; the CSRF token its forms carry."""
    with session_scope(engine) as session:
        token = sign_in.start_session(session, settings, ensure_user(session, email))
    client.cookies.set(SESSION_COOKIE, token)
    return sign_in.csrf_token(settings, token)


def links_named(page: str, name: str) -> list[str]:
    return re.findall(rf'<a href="([^"]+)" download>{re.escape(name)}</a>', page)


class TestStaffPayAppPage:
    def test_attach_list_download_and_remove_from_the_page(
        self, client: TestClient, engine: Engine, settings: Settings, scene: Scene, files: Files
    ) -> None:
        csrf = sign_in_browser(client, engine, settings, ADMIN_EMAIL)
        page_path = f"/pay-apps/{scene.pay_app_id}"
        page = client.get(page_path).text
        assert "Backup documents" in page
        assert "No backup documents yet." in page
        assert f'href="{page_path}/g703.csv"' in page

        posted = client.post(
            f"{page_path}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("Invoice 1041.pdf", files.pdf(), "application/pdf")},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == f"{page_path}#attachments"
        page = client.get(page_path).text
        (link,) = links_named(page, "Invoice 1041.pdf")
        assert ADMIN_EMAIL in page
        download = client.get(link)
        assert download.content == files.pdf()
        assert download.headers["content-disposition"].startswith("attachment;")

        remove = link + "/remove"
        assert f'action="{remove}"' in page
        removed = client.post(remove, data={"csrf_token": csrf}, follow_redirects=False)
        assert removed.status_code == 303
        assert links_named(client.get(page_path).text, "Invoice 1041.pdf") == []

    def test_a_form_without_the_csrf_token_attaches_nothing(
        self, client: TestClient, engine: Engine, settings: Settings, scene: Scene, files: Files
    ) -> None:
        sign_in_browser(client, engine, settings, ADMIN_EMAIL)
        page_path = f"/pay-apps/{scene.pay_app_id}"
        posted = client.post(
            f"{page_path}/attachments",
            files={"file": ("invoice.pdf", files.pdf(), "application/pdf")},
        )
        assert posted.status_code == 403
        assert "No backup documents yet." in client.get(page_path).text

    def test_a_refusal_says_which_field_and_why(
        self, client: TestClient, engine: Engine, settings: Settings, scene: Scene, files: Files
    ) -> None:
        csrf = sign_in_browser(client, engine, settings, ADMIN_EMAIL)
        posted = client.post(
            f"/pay-apps/{scene.pay_app_id}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("invoice.pdf", files.image("GIF"), "application/pdf")},
        )
        assert posted.status_code == 422
        assert "Please check file: its content is GIF" in posted.text
        assert f'href="/pay-apps/{scene.pay_app_id}"' in posted.text

    def test_after_finalize_there_is_no_remove_button_and_a_remove_is_refused(
        self, client: TestClient, engine: Engine, settings: Settings, scene: Scene, files: Files
    ) -> None:
        csrf = sign_in_browser(client, engine, settings, ADMIN_EMAIL)
        page_path = f"/pay-apps/{scene.pay_app_id}"
        client.post(
            f"{page_path}/attachments",
            data={"csrf_token": csrf},
            files={"file": ("invoice.pdf", files.pdf(), "application/pdf")},
        )
        scene.job.certify(scene.pay_app_id)
        page = client.get(page_path).text
        (link,) = links_named(page, "invoice.pdf")
        assert "/remove" not in page
        refused = client.post(link + "/remove", data={"csrf_token": csrf})
        assert refused.status_code == 409
        assert "can no longer be removed" in refused.text

    def test_the_board_links_its_exports(
        self, client: TestClient, engine: Engine, settings: Settings, scene: Scene
    ) -> None:
        sign_in_browser(client, engine, settings, ADMIN_EMAIL)
        board_path = f"/billing-periods/{scene.job.periods[-1]}"
        assert f'href="{board_path}/board.xlsx"' in client.get(board_path).text
        exported = client.get(f"{board_path}/board.csv")
        assert exported.status_code == 200
        assert "SC-001,Acme Framing LLC,accepted,draft" in exported.content.decode("utf-8-sig")
        g703 = client.get(f"/pay-apps/{scene.pay_app_id}/g703.xlsx")
        assert g703.content.startswith(b"PK")


class TestContactPage:
    def test_the_contact_attaches_and_downloads_on_their_page(
        self, client: TestClient, settings: Settings, scene: Scene, files: Files
    ) -> None:
        period_id = scene.job.periods[-1]
        token = issue(settings, ContactClaim(scene.job.commitment_id, period_id, CONTACT_EMAIL))
        page_path = f"/contact?{urlencode({'token': token})}"
        assert "Backup documents" in client.get(page_path).text

        posted = client.post(
            "/contact/attachments",
            data={"token": token},
            files={"file": ("delivery ticket.jpg", files.image("JPEG"), "image/jpeg")},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        page = client.get(page_path).text
        (link,) = links_named(page, "delivery ticket.jpg")
        assert link.startswith("/contact/attachments/att_")
        assert client.get(link).content == files.image("JPEG")
        assert "/contact/g703.csv?token=" in page

        # The same file through another commitment's contact's link: not there.
        other = issue(settings, ContactClaim(scene.other_commitment_id, period_id, OTHER_CONTACT))
        attachment_id = link.split("?")[0].rsplit("/", 1)[1]
        theirs = client.get(f"/contact/attachments/{attachment_id}?{urlencode({'token': other})}")
        assert theirs.status_code == 404
