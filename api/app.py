"""The FastAPI application."""

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api import contact, contact_documents, docs, errors, health, metrics
from api.idempotency import IdempotencyMiddleware
from api.limits import BodyLimitMiddleware
from api.metrics import ApiMetrics, MetricsMiddleware
from api.pages import attachments as attachment_pages
from api.pages import board as board_page
from api.pages import contact as contact_page
from api.pages import gc as gc_pages
from api.pages import mailbox
from api.pages import session as page_session
from api.pages import staff as staff_pages
from api.pages.html import PAGE_ASSETS_URL, page_assets
from api.request_log import RequestLogMiddleware
from api.staff import (
    attachments,
    commitments,
    exports,
    lists,
    pay_apps,
    periods,
    projects,
    waivers,
)
from paydraw import logs, tracing
from paydraw.attachments.service import Limits
from paydraw.attachments.storage import Storage, storage_for
from paydraw.db.engine import engine_for
from paydraw.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    temporal: Client | None = None,
    storage: Storage | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    logs.configure()
    tracing.configure(settings, "paydraw-api")
    engine = engine or engine_for(settings.resolved_database_url)
    app = FastAPI(
        title="Paydraw",
        summary="Durable progress billing: invites to bill, pay applications, retainage.",
        version="0.1.0",
        # Served by api.docs, with their files from the app rather than a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    # Connected on first use when not given (see api.process.get_temporal).
    app.state.temporal = temporal
    app.state.storage = storage or storage_for(settings)
    app.state.attachment_limits = Limits.of(settings)
    errors.install(app)
    app.add_middleware(IdempotencyMiddleware, engine=engine)
    # Outside the Idempotency-Key's middleware, which reads the whole body first.
    app.add_middleware(BodyLimitMiddleware, upload_max_bytes=settings.attachment_max_bytes)
    app.state.metrics = ApiMetrics(engine)
    # Added last, so outermost: it times and counts every answer, replays and refusals too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # Outermost: every record written while a request is served carries its id.
    app.add_middleware(RequestLogMiddleware)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_URL, docs.assets(), name="api-docs-assets")
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Every answer of the API is documented, its errors in the error model (api.errors).
    for router in (
        projects,
        commitments,
        periods,
        pay_apps,
        waivers,
        attachments,
        exports,
        lists,
        contact,
        contact_documents,
    ):
        app.include_router(router.router, responses=errors.ERROR_RESPONSES)
    if settings.local_mailbox:
        app.include_router(mailbox.router)
    app.include_router(contact_page.router)
    app.mount(PAGE_ASSETS_URL, page_assets(), name="page-assets")
    page_session.install(app)
    app.include_router(staff_pages.router)
    app.include_router(gc_pages.router)
    app.include_router(board_page.router)
    app.include_router(attachment_pages.router)

    return app
