"""Printing a finalized pay app's G702/G703 and keeping the PDF: the activity the commitment's
workflow runs after the finalize step has committed.

It adapts one idempotent call (`certificate_pdf.kept_pdf`): the document was frozen by the
finalize transaction, the PDF is printed outside any transaction, and it is kept only into an
empty place. A retry after a crash, or a second worker taking over a timed-out attempt, finds the
PDF kept (nothing more to do) or prints the same document again and keeps whichever came first;
a download that came before the activity did the same.
"""

from sqlalchemy import Engine
from temporalio import activity

from paydraw.pay_apps import certificate_pdf
from workflows.messages import CertificateToPrint


class CertificateActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def print_certificate(self, certificate: CertificateToPrint) -> None:
        """Print and keep the certificate's PDF, unless it is kept already."""
        certificate_pdf.kept_pdf(self.engine, certificate.pay_app_id)
