"""Printing a finalized pay app's G702/G703 and keeping the PDF: the activity the commitment's
workflow runs after the finalize step has committed, from the printer's task queue.

It takes `certificate_pdf.kept_pdf`'s idempotent steps one by one: the document was frozen by the
finalize transaction, the PDF is printed outside any transaction, and it is kept only into an
empty place. A retry after a crash, or a second worker taking over a timed-out attempt, finds the
PDF kept (nothing more to do) or prints the same document again and keeps whichever came first;
a download that came before the activity did the same.

Printing is a few hundred milliseconds of pure Python layout (WeasyPrint) per certificate. In the
deployed worker it runs in a printer process of its own (`printer`), at the idle priority: on a
thread of the worker it held the interpreter's lock for all that time, and every billing step the
worker ran meanwhile waited (an action's p50 went from 2x a bare update's to 7x). The certificate
loses nothing by waiting for a free moment: what it prints was frozen at the finalize."""

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy import Engine
from temporalio import activity

from paydraw import logs
from paydraw.pay_apps import certificate_pdf
from workflows.messages import CertificateToPrint

# The printer process steps back from the CPU twice over. Where the kernel shares the CPU between
# sessions (autogroups) before it shares it within each, as on a desktop or under `paydraw run`,
# the printer has a session of its own at the lowest autogroup priority: in the worker's session
# it kept that session always runnable, and the worker's share of the machine grew at the cost of
# the API and the Temporal server. Where it does not (autogroups off, as in most containers),
# Linux's idle policy (SCHED_IDLE) lets any other process take the CPU from the printer at once.
PRINTER_NICENESS = 19
# While the printer works (or waits its turn), the activity tells the server it is alive this often.
HEARTBEAT_SECONDS = 5.0
# Out of the worker's session, the printer no longer gets the signals sent to the worker's group:
# it ends itself once the worker is gone, looking this often.
ORPHAN_CHECK_SECONDS = 1.0

T = TypeVar("T")


def _start_printer() -> None:
    """In the printer process, before its first certificate."""
    logs.configure()  # its records as the worker's, on the same standard error
    worker = os.getppid()
    threading.Thread(target=_end_when_orphaned, args=(worker,), daemon=True).start()
    with suppress(OSError):
        os.setsid()
        Path("/proc/self/autogroup").write_text(f"{PRINTER_NICENESS}\n")
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(PRINTER_NICENESS)


def _end_when_orphaned(worker: int) -> None:
    while os.getppid() == worker:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


class Printer(Executor):
    """One printer process, started on the first certificate to print (spawned, not forked: the
    worker runs the Temporal core's threads). Nothing starts before, not even multiprocessing's
    resource tracker, so a worker that prints nothing leaves no process behind it.

    The process only prints: it gets a document and gives back the PDF's bytes. It never touches
    the database, where a process of the idle priority holding SQLite's write lock would be
    preempted by the very steps that wait for the lock."""

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self.lock:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=get_context("spawn"), initializer=_start_printer
                )
            return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.lock:
            if self.pool is not None:
                self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@contextmanager
def printer() -> Iterator[Printer]:
    """The worker's printer, stopped when the block ends."""
    pool = Printer()
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
        """Print and keep the certificate's PDF, unless it is kept already. The database's reads
        and write run on the worker's threads; the printing on the printer, or on a thread
        without one."""
        found = await anyio.to_thread.run_sync(
            certificate_pdf.kept_or_to_print, self.engine, certificate.pay_app_id
        )
        if isinstance(found, bytes):
            return
        printing: asyncio.Future[bytes] = asyncio.get_running_loop().run_in_executor(
            self.printer, certificate_pdf.printed, found.document
        )
        while True:
            done, _ = await asyncio.wait({printing}, timeout=HEARTBEAT_SECONDS)
            if done:
                break
            activity.heartbeat()
        pdf = printing.result()  # the printer's error, if any, fails this attempt
        await anyio.to_thread.run_sync(certificate_pdf.keep_printed, self.engine, found, pdf)
