"""Signed contact links: one commitment, one period, one contact; they expire and carry one purpose.

The token is the whole credential of an invoice contact (no password), so it is signed with the
server's secret and a purpose salt: a token made for another purpose never verifies here.
"""

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paydraw.settings import Settings

INVITATION_PURPOSE = "paydraw.contact-invitation.v1"


@dataclass(frozen=True)
class ContactClaim:
    commitment_id: str
    period_id: str
    email: str


class InvalidToken(Exception):
    """The link is tampered with, expired, or made for another purpose."""


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=purpose)


def issue(settings: Settings, claim: ContactClaim, purpose: str = INVITATION_PURPOSE) -> str:
    payload = {"c": claim.commitment_id, "p": claim.period_id, "e": claim.email}
    return _serializer(settings, purpose).dumps(payload)


def verify(settings: Settings, token: str, purpose: str = INVITATION_PURPOSE) -> ContactClaim:
    max_age = settings.contact_link_max_age_days * 24 * 3600
    try:
        payload = _serializer(settings, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken(
            "the link has expired; ask the general contractor for a new one"
        ) from None
    except BadSignature:
        raise InvalidToken("the link is not valid") from None
    if not isinstance(payload, dict) or not {"c", "p", "e"} <= payload.keys():
        raise InvalidToken("the link is not valid")
    return ContactClaim(commitment_id=payload["c"], period_id=payload["p"], email=payload["e"])


def link(settings: Settings, claim: ContactClaim) -> str:
    """The URL in the invite email: the contact's page, token included."""
    return f"{settings.resolved_public_url}/contact?token={issue(settings, claim)}"
