"""Alembic environment for Flask-Migrate with Flask-SQLAlchemy 3.x.

Options come from create_app(): migrate.init_app(app, db, render_as_batch=True, compare_type=True).
render_as_batch lets ALTERs work on SQLite (copy-and-move); the constraint naming convention on
webapp.extensions.Base gives every constraint a name that batch mode can find again.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config

# Keep loggers configured by the app (and by pytest) alive.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_ext = current_app.extensions["migrate"]
target_db = migrate_ext.db


def get_engine():
    return target_db.engine


def get_metadata():
    return target_db.metadata


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)


def run_migrations_offline():
    """Emit SQL to stdout (`flask db upgrade --sql`) instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
        **migrate_ext.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    # Don't write an empty revision when autogenerate finds no change.
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)

    with get_engine().connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode recreates tables (copy, drop, rename): enforced foreign keys would block the drop.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
