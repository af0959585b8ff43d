"""Example contexts for each kind of email, and unsaved outbox rows to send."""

from emails.outbox import message_id_for
from emails.render import EmailKind
from paydraw.db.tables import EmailOutbox

HOSTILE_MESSAGE = '<script>alert(1)</script> & "quotes"'

INVITE = {
    "terminology": "general_contractor",
    "project_name": "Harbor View Tower",
    "general_contractor": "Bayline Builders",
    "vendor_name": "Acme Framing",
    "commitment_number": "SC-014",
    "commitment_title": "Framing and blocking",
    "contact_name": "Dana Ruiz",
    "period_start": "2025-06-01",
    "period_end": "2025-06-30",
    "due_date": "2025-06-25",
    "link": "http://127.0.0.1:8000/contact?token=abc&period=per_1",
    "message": "Please include lien waivers.",
}

PAY_APP = {
    "terminology": "general_contractor",
    "project_name": "Harbor View Tower",
    "vendor_name": "Acme Framing",
    "commitment_number": "SC-014",
    "application_number": 2,
    "period_start": "2025-06-01",
    "period_end": "2025-06-30",
    "link": "http://127.0.0.1:8000/contact?token=abc",
}

CONTEXTS: dict[EmailKind, dict[str, object]] = {
    EmailKind.INVITE: INVITE,
    EmailKind.REMINDER: {**INVITE, "days_left": 7},
    EmailKind.DECLINE_NOTICE: {
        "terminology": "general_contractor",
        "project_name": "Harbor View Tower",
        "vendor_name": "Acme Framing",
        "commitment_number": "SC-014",
        "contact_email": "billing@acme.example",
        "reason": "No work performed this month.",
        "period_start": "2025-06-01",
        "period_end": "2025-06-30",
        "board_link": "http://127.0.0.1:8000/billing-periods/per_1",
    },
    EmailKind.OVERDUE_NOTICE: {
        "terminology": "general_contractor",
        "project_name": "Harbor View Tower",
        "vendor_name": "Acme Framing",
        "commitment_number": "SC-014",
        "due_date": "2025-06-25",
        "link": "http://127.0.0.1:8000/contact?token=abc&period=per_1",
    },
    EmailKind.PAY_APP_SUBMITTED: {
        **PAY_APP,
        "total_completed_and_stored": "64500.00",
        "current_payment_due": "31950.00",
    },
    EmailKind.PAY_APP_REVISE: {
        **PAY_APP,
        "note": "Please attach the delivery tickets.",
        "reasons": [
            {"code": "03", "description": "Windows", "reason": "Stored material not verified"}
        ],
    },
    EmailKind.PAY_APP_READY_FOR_PAYMENT: {
        **PAY_APP,
        "total_earned_less_retainage": "58050.00",
        "previous_certificates": "26100.00",
        "current_payment_due": "31950.00",
        "due_terms": "Net 30",
        "settled": "",
    },
    EmailKind.PAY_APP_APPROVED_AS_NOTED: {
        **PAY_APP,
        "note": HOSTILE_MESSAGE,
        "changes": [
            {
                "code": "02",
                "description": "Framing",
                "submitted_work": "18000.00",
                "submitted_stored": "0.00",
                "approved_work": "15000.00",
                "approved_stored": "0.00",
                "note": "Measured on site: 3 of 4 floors <framed>",
            }
        ],
        "total_completed_and_stored": "61500.00",
        "current_payment_due": "29250.00",
    },
    EmailKind.PAY_APP_PAYMENT: {
        **PAY_APP,
        "amount": "10000.00",
        "method": "check",
        "reference": "1042",
        "paid_on": "2025-07-15",
        "paid_to_date": "10000.00",
        "remaining_due": "21950.00",
    },
    EmailKind.SIGN_IN: {
        "terminology": "general_contractor",
        "link": "https://paydraw.example/sign-in/abc",
        "minutes": 15,
        "name": "Dana <Admin>",
    },
}


def outgoing(
    *,
    to_address: str = "dana@acme.example",
    subject: str = "Invite to bill: Harbor View Tower",
    text_body: str = "Hello Dana,\n\nPlease bill by June 25.\n",
    html_body: str = "<p>Hello Dana,</p><p>Please bill by June 25.</p>",
    dedupe_key: str = "invite:cmt_1:per_1:dana@acme.example",
) -> EmailOutbox:
    """An outbox row that is never saved: what `send` takes, without a database."""
    return EmailOutbox(
        dedupe_key=dedupe_key,
        message_id=message_id_for(dedupe_key),
        kind="invite",
        to_address=to_address,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
    )
