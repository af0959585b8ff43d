"""Printing a finalized pay app's G702/G703 and keeping the PDF: the activity the commitment's
workflow runs after the finalize step has committed.

It adapts one idempotent call (`certificate_pdf.kept_pdf`): the document was frozen by the
finalize transaction, the PDF is printed outside any transaction, and it is kept only into an
empty place. A retry after a crash, or a second worker taking over a timed-out attempt, finds the
PDF kept (nothing more to do) or prints the same document again and keeps whichever came first;
a download that came before the activity did the same.

Printing is a few hundred milliseconds of pure Python layout (WeasyPrint) per certificate. In the
deployed worker it runs in a printer process of its own (`printer`), at a lower priority: on a
thread of the worker it held the interpreter's lock for all that time, and every billing step the
worker ran meanwhile waited (an action's p50 went from 2x a bare update's to 7x). The certificate
loses nothing by waiting for a free moment: what it prints was frozen at the finalize.
"""

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, TypeVar

import anyio
from sqlalchemy import Engine
from temporalio import activity

from paydraw.db.engine import engine_for
from paydraw.pay_apps import certificate_pdf
from workflows.messages import CertificateToPrint

# The printer process's niceness: billing steps first, certificates when the machine has a moment.
PRINTER_NICENESS = 10
# While the printer works (or waits its turn), the activity tells the server it is alive this often.
HEARTBEAT_SECONDS = 5.0

_printer_engine: Engine | None = None
T = TypeVar("T")


def _start_printer(database_url: str) -> None:
    """In the printer process: lower its priority and open its own engine."""
    global _printer_engine
    os.nice(PRINTER_NICENESS)
    _printer_engine = engine_for(database_url)


def _print_in_printer(pay_app_id: str) -> None:
    assert _printer_engine is not None  # _start_printer ran first
    certificate_pdf.kept_pdf(_printer_engine, pay_app_id)


class Printer(Executor):
    """One printer process, started on the first certificate to print (spawned, not forked: the
    worker runs the Temporal core's threads). Nothing starts before, not even multiprocessing's
    resource tracker, so a worker that prints nothing leaves no process behind it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.pool: ProcessPoolExecutor | None = None
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self.lock:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=get_context("spawn"),
                    initializer=_start_printer,
                    initargs=(self.database_url,),
                )
            return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.lock:
            if self.pool is not None:
                self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextmanager
def printer(database_url: str) -> Iterator[Executor | None]:
    """The printer for `database_url`; None for an in-memory database, which only this process
    can see, where certificates print on a thread."""
    if ":memory:" in database_url or database_url.rstrip("/") == "sqlite:":
        yield None
        return
    pool = Printer(database_url)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class CertificateActivities:
    def __init__(self, engine: Engine, printer: Executor | None = None) -> None:
        self.engine = engine
        self.printer = printer

    @activity.defn
    async def print_certificate(self, certificate: CertificateToPrint) -> None:
        """Print and keep the certificate's PDF, unless it is kept already."""
        pay_app_id = certificate.pay_app_id
        printing: asyncio.Future[object] = (
            asyncio.ensure_future(
                anyio.to_thread.run_sync(certificate_pdf.kept_pdf, self.engine, pay_app_id)
            )
            if self.printer is None
            else asyncio.get_running_loop().run_in_executor(
                self.printer, _print_in_printer, pay_app_id
            )
        )
        while True:
            done, _ = await asyncio.wait({printing}, timeout=HEARTBEAT_SECONDS)
            if done:
                printing.result()  # the printer's error, if any, fails this attempt
                return
            activity.heartbeat()
