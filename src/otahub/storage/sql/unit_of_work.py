"""Engine, migrations and transactions. SQLite by default; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

from otahub.storage.sql.certificate_repositories import SqlAuthorities, SqlCertificates, SqlPrincipals
from otahub.storage.sql.fuota_repositories import SqlFuotaTasks
from otahub.storage.sql.job_repositories import SqlJobs, SqlJobTemplates
from otahub.storage.sql.managed_repositories import SqlManagedThings, SqlOtaTasks, SqlTaskConfigurations
from otahub.storage.sql.object_repositories import SqlBuckets, SqlMultipart, SqlObjects
from otahub.storage.sql.ota_repositories import SqlOtaUpdates
from otahub.storage.sql.repositories import (
    SqlCredentials,
    SqlTags,
    SqlThingGroups,
    SqlThings,
    SqlThingTypes,
)
from otahub.storage.sql.stream_repositories import SqlStreams
from otahub.storage.sql.wireless_repositories import SqlDestinations, SqlMulticastGroups, SqlWirelessDevices

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, sqlite_synchronous: str = "FULL") -> Engine:
    engine = create_engine(url, pool_size=16, max_overflow=16) if not url.startswith("sqlite") else \
        create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None})
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, sqlite_synchronous)
    return engine


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a commit is on disk before we answer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the lock up front, so two writers queue instead of failing to upgrade a read lock.
        write = conn.get_execution_options().get("otahub_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def upgrade_schema(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@dataclass
class SqlUnitOfWork:
    conn: Connection

    def __post_init__(self) -> None:
        self.things = SqlThings(self.conn)
        self.thing_types = SqlThingTypes(self.conn)
        self.thing_groups = SqlThingGroups(self.conn)
        self.tags = SqlTags(self.conn)
        self.credentials = SqlCredentials(self.conn)
        self.buckets = SqlBuckets(self.conn)
        self.objects = SqlObjects(self.conn)
        self.multipart = SqlMultipart(self.conn)
        self.streams = SqlStreams(self.conn)
        self.jobs = SqlJobs(self.conn)
        self.job_templates = SqlJobTemplates(self.conn)
        self.ota_updates = SqlOtaUpdates(self.conn)
        self.certificates = SqlCertificates(self.conn)
        self.principals = SqlPrincipals(self.conn)
        self.authorities = SqlAuthorities(self.conn)
        self.managed_things = SqlManagedThings(self.conn)
        self.ota_task_configurations = SqlTaskConfigurations(self.conn)
        self.ota_tasks = SqlOtaTasks(self.conn)
        self.destinations = SqlDestinations(self.conn)
        self.wireless_devices = SqlWirelessDevices(self.conn)
        self.multicast_groups = SqlMulticastGroups(self.conn)
        self.fuota_tasks = SqlFuotaTasks(self.conn)


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self, write: bool = False) -> Iterator[SqlUnitOfWork]:
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(otahub_write=True)
            with conn.begin():
                yield SqlUnitOfWork(conn)
