"""The /mailbox pages: every email the local mail server of the one-command run received.

A new user sees the invites Paydraw sent without setting up a mail account. Messages are shown
as received: the HTML part only inside a sandboxed frame, where none of its scripts can run.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SettingsDep
from api.pages.html import templates
from emails.mailbox import Mailbox

router = APIRouter(prefix="/mailbox", tags=["pages"], include_in_schema=False)

# Defence in depth for a page that shows mail from anywhere: no scripts, no outside requests.
# The sandboxed frame's srcdoc document inherits this policy too.
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


@router.get("", response_class=HTMLResponse)
def list_messages(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Every message received, newest first."""
    messages = Mailbox(settings.mailbox_dir).messages()
    return templates.TemplateResponse(
        request, "mailbox.html", {"messages": messages}, headers=HEADERS
    )


@router.get("/{message_id}", response_class=HTMLResponse)
def show_message(request: Request, message_id: str, settings: SettingsDep) -> HTMLResponse:
    """One message: its headers, its text part and its HTML part as the recipient would see it."""
    message = Mailbox(settings.mailbox_dir).get(message_id)
    if message is None:
        return templates.TemplateResponse(
            request, "mailbox_missing.html", {}, status_code=404, headers=HEADERS
        )
    return templates.TemplateResponse(
        request,
        "mailbox_message.html",
        {"message": message, "html_frame": opening_links_in_new_tabs(message.html)},
        headers=HEADERS,
    )


def opening_links_in_new_tabs(html: str) -> str:
    """A link clicked in the frame opens in its own tab rather than inside the small frame."""
    return f'<base target="_blank">{html}'
