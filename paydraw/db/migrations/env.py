"""Alembic environment: the URL comes from the caller or from Paydraw's settings."""

from alembic import context
from sqlmodel import SQLModel

from paydraw.db import tables  # noqa: F401  (registers the tables on the metadata)
from paydraw.db.engine import make_engine
from paydraw.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
connection = config.attributes.get("connection")


def run(connection_to_use: object) -> None:
    context.configure(
        connection=connection_to_use,  # type: ignore[arg-type]
        target_metadata=SQLModel.metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
