"""Render an email of one kind into its subject, plain-text part and HTML part.

Templates live in emails/templates/ as ``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html``.
A missing context key is an error, never a silently blank line in a message sent to a customer.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from paydraw.domain.terminology import Terminology, words


class EmailKind(StrEnum):
    INVITE = "invite"
    REMINDER = "reminder"
    DECLINE_NOTICE = "decline_notice"
    OVERDUE_NOTICE = "overdue_notice"
    PAY_APP_SUBMITTED = "pay_app_submitted"
    PAY_APP_REVISE = "pay_app_revise"
    PAY_APP_READY_FOR_PAYMENT = "pay_app_ready_for_payment"
    PAY_APP_APPROVED_AS_NOTED = "pay_app_approved_as_noted"
    PAY_APP_PAYMENT = "pay_app_payment"
    SIGN_IN = "sign_in"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    # Only the HTML part is markup; the subject and the text part show the words as typed.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship with the code: no look at their files' times at every email.
    auto_reload=False,
)


def render(kind: str, context: Mapping[str, object]) -> RenderedEmail:
    """Render `kind` with `context` plus ``words``, the labels of the project's terminology."""
    kind = EmailKind(kind)
    values = {**context, "words": words(Terminology(str(context["terminology"])))}
    subject = one_line(TEMPLATES.get_template(f"{kind}.subject.txt").render(values))
    return RenderedEmail(
        subject=subject,
        text=TEMPLATES.get_template(f"{kind}.txt").render(values),
        html=TEMPLATES.get_template(f"{kind}.html").render({**values, "subject": subject}),
    )


def one_line(subject: str) -> str:
    """A Subject header is one line: a project name with a line break must not split it."""
    return " ".join(subject.split())
