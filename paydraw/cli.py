"""The ``paydraw`` command line: users and keys, migrations, running the API or everything."""

from datetime import date
from typing import Annotated

import typer
import uvicorn
from sqlmodel import Session, select

from paydraw import demo
from paydraw.db.engine import engine_for, session_scope
from paydraw.db.migrate import upgrade
from paydraw.db.tables import User
from paydraw.projects.repository import created_with_number
from paydraw.settings import Settings, get_settings
from paydraw.users.service import ensure_user, issue_key
from paydraw.users.sign_in import sign_in_link

app = typer.Typer(help="Paydraw: durable progress billing for construction.", no_args_is_help=True)

FIRST_ADMIN_EMAIL = "admin@paydraw.local"


@app.command()
def migrate() -> None:
    """Apply database migrations (SQLite by default, PAYDRAW_DATABASE_URL otherwise)."""
    url = get_settings().resolved_database_url
    upgrade(url)
    typer.echo(f"database is up to date: {url}")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="the user's email address")],
    name: Annotated[str, typer.Option(help="the user's name")] = "",
) -> None:
    """Create a staff user (or find an existing one) and print a new API key."""
    settings = get_settings()
    upgrade(settings.resolved_database_url)
    with session_scope(engine_for(settings.resolved_database_url)) as session:
        user = ensure_user(session, email, name)
        key = issue_key(session, user)
    typer.echo(key)


@app.command("sweep-attachments")
def sweep_attachments(
    older_than_hours: Annotated[
        float, typer.Option(help="only objects written at least this long ago")
    ] = 1.0,
) -> None:
    """Delete stored backup documents that no pay app names: uploads cut off between storing
    the file and recording it, and the files of deleted drafts. Safe to run at any time."""
    from datetime import timedelta

    from paydraw.attachments.service import sweep
    from paydraw.attachments.storage import storage_for

    settings = get_settings()
    engine = engine_for(settings.resolved_database_url)
    deleted = sweep(engine, storage_for(settings), timedelta(hours=older_than_hours))
    typer.echo(f"{len(deleted)} stored object(s) no pay app names were deleted")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Run the HTTP API (migrations are applied first)."""
    settings = get_settings()
    upgrade(settings.resolved_database_url)
    notice = first_admin_notice()
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"Paydraw API   http://{host}:{port}/api/v1")
    typer.echo(f"API docs      http://{host}:{port}/docs")
    typer.echo(notice)
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="info")


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="seed a demo project and send its invites")] = False,
) -> None:
    """Run all of Paydraw on this machine: Temporal, the mailbox, the worker and the API."""
    # Imported here because temporalio is slow to load and only this command needs it.
    from paydraw import runner

    runner.main(get_settings(), first_admin_notice, after_start=seed_demo if demo else None)


@app.command("demo")
def demo_command() -> None:
    """Seed a demo project in a running Paydraw (``paydraw run``) and send its invites."""
    seed_demo()


def seed_demo() -> None:
    """Seed the demo once: run again, it points at the project it made before."""
    settings = get_settings()
    with session_scope(engine_for(settings.resolved_database_url)) as session:
        admin = ensure_user(session, FIRST_ADMIN_EMAIL, "First admin")
        seeded_before = created_with_number(session, admin.id, demo.PROJECT_NUMBER)
        key = issue_key(session, admin)
    if seeded_before is not None:
        typer.echo(
            f"Demo: project {seeded_before.name} ({seeded_before.id}) is already there; "
            "nothing was added."
        )
        typer.echo(f"Demo: its emails are at {settings.resolved_public_url}/mailbox")
        typer.echo(f"Demo: API key for {FIRST_ADMIN_EMAIL}: {key}")
        return
    seeded = demo.seed(settings.resolved_public_url, key, date.today())
    typer.echo(
        f"Demo: project {seeded['project']['name']} ({seeded['project']['id']}), billing period "
        f"{seeded['period']['id']}, {len(seeded['invites']['invited'])} invites sent."
    )
    typer.echo(f"Demo: the invite emails arrive at {settings.resolved_public_url}/mailbox")
    typer.echo(f"Demo: API key for {FIRST_ADMIN_EMAIL}: {key}")


def first_admin_notice() -> str:
    """On an empty database, the first admin's new key and a link that signs them in; otherwise
    how to sign in and how to get a key."""
    settings = get_settings()
    first = first_admin(settings)
    if first:
        key, link = first
        minutes = f"{settings.sign_in_link_max_age_minutes:g}"
        return (
            f"First admin   {FIRST_ADMIN_EMAIL}, API key (shown once): {key}\n"
            f"Sign in       {link}  (works once, within {minutes} minutes)"
        )
    return (
        f"Sign in       {settings.resolved_public_url}/sign-in  (the link is emailed)\n"
        "API key       uv run paydraw create-user you@example.com"
    )


def first_admin(settings: Settings) -> tuple[str, str] | None:
    """On an empty database, make a first user so a new user can sign in and call the API at
    once: their API key and a one-time sign-in link."""
    engine = engine_for(settings.resolved_database_url)
    with Session(engine) as session:
        if session.exec(select(User)).first() is not None:
            return None
    with session_scope(engine) as session:
        admin = ensure_user(session, FIRST_ADMIN_EMAIL, "First admin")
        return issue_key(session, admin), sign_in_link(session, settings, admin)
