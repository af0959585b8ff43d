"""The Temporal worker: runs the billing workflows and their activities.

Start it with ``python -m paydraw.worker`` (``paydraw run`` does, next to the API). Workers are
stateless; run more of them for more throughput.
"""

import asyncio
import logging
import signal
from concurrent.futures import Executor, ThreadPoolExecutor

import uvloop
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.billing import BillingActivities
from activities.bounded import BoundedBugRetries
from activities.certificates import CertificateActivities, printer
from activities.fan_out import FanOutActivities
from paydraw import logs, tracing
from paydraw.db.engine import engine_for
from paydraw.request_ids import RequestIds
from paydraw.settings import Settings, get_settings
from paydraw.temporal_client import connect
from workflows.billing_period import BillingPeriodWorkflow
from workflows.commitment_billing import CommitmentBillingWorkflow
from workflows.ids import printer_task_queue
from workflows.mail import DeliverEmailsWorkflow
from workflows.monthly_cycle import MonthlyBillingCycleWorkflow

log = logging.getLogger("paydraw.worker")

# Activities mostly wait, for the database's write lock or the mail server. With a slot free, the
# server hands a workflow's next activity straight back with the workflow task's answer (eager
# dispatch) instead of queueing it for a poll, which costs it and the worker more. (Their database
# work still queues, for the threads that run it and for the write lock.)
MAX_CONCURRENT_ACTIVITIES = 64

WORKFLOWS = [
    BillingPeriodWorkflow,
    CommitmentBillingWorkflow,
    MonthlyBillingCycleWorkflow,
    DeliverEmailsWorkflow,
]


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    executor: ThreadPoolExecutor,
    certificate_printer: Executor | None = None,
) -> Worker:
    """The billing worker. It also prints the certificates that workflows scheduled on its task
    queue before the printer had a queue of its own (see `build_printer_worker`)."""
    billing = BillingActivities(engine, settings)
    fan_out = FanOutActivities(client, engine, settings)
    certificates = CertificateActivities(engine, certificate_printer)
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=[
            billing.record_invite,
            billing.record_reminder,
            billing.record_overdue,
            billing.persist_invitation,
            billing.extend_due_date,
            billing.close_period,
            billing.plan_monthly_period,
            billing.open_monthly_period,
            billing.apply_pay_app_step,
            billing.deliver_emails,
            billing.unsent_emails,
            fan_out.start_commitment_billings,
            fan_out.close_commitment_billings,
            certificates.print_certificate,
        ],
        interceptors=[*request_ids_unless_on(client), BoundedBugRetries()],
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        workflow_runner=(
            SandboxedWorkflowRunner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()
        ),
    )


def build_printer_worker(
    client: Client, settings: Settings, engine: Engine, certificate_printer: Executor | None = None
) -> Worker:
    """The certificate printer's worker: one certificate at a time, from a task queue of its own,
    printed on `certificate_printer` (a process of its own at the idle priority, see
    activities.certificates), or on a thread without one. Certificates waiting for the printer
    wait in Temporal's queue, not in the billing worker's activity slots."""
    certificates = CertificateActivities(engine, certificate_printer)
    return Worker(
        client,
        task_queue=printer_task_queue(settings.temporal_task_queue),
        activities=[certificates.print_certificate],
        interceptors=[*request_ids_unless_on(client), BoundedBugRetries()],
        max_concurrent_activities=1,
    )


def request_ids_unless_on(client: Client) -> list[RequestIds]:
    """The request-id interceptor, unless the client has it (a worker then takes it from there)."""
    on_client = any(isinstance(each, RequestIds) for each in client.config()["interceptors"])
    return [] if on_client else [RequestIds()]


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime that serves the SDK's own metrics (task latencies, slots, polls,
    activity failures) in Prometheus' format at ``/metrics`` on the configured address."""
    if not settings.worker_metrics_address:
        return None
    prometheus = PrometheusConfig(
        bind_address=settings.worker_metrics_address,
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def run(settings: Settings) -> None:
    tracing.configure(settings, "paydraw-worker")
    client = await connect(settings, metrics_runtime(settings))
    engine = engine_for(settings.resolved_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with (
        ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor,
        printer() as certificate_printer,
    ):
        worker = build_worker(client, settings, engine, executor, certificate_printer)
        printer_worker = build_printer_worker(client, settings, engine, certificate_printer)
        async with worker, printer_worker:
            log.info("worker polling task queue %r", settings.temporal_task_queue)
            await stop.wait()


def main() -> None:
    logs.configure()
    # uvloop: the worker hands every database step to a thread and back, and talks to the Temporal
    # server and the mail server; its event loop does that for about half the CPU of asyncio's.
    uvloop.run(run(get_settings()))


if __name__ == "__main__":
    main()
