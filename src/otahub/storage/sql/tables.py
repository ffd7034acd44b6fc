"""SQLAlchemy Core tables. One schema for SQLite and PostgreSQL; Alembic migrations create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same values on every dialect."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAME = String(128)

credentials = Table(
    "credentials",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("secret_access_key", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

thing_types = Table(
    "thing_types",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("type_id", String(64), nullable=False),
    Column("description", Text),
    Column("searchable_attributes", JSON, nullable=False),
    Column("propagating_attributes", JSON),
    Column("deprecated", Boolean, nullable=False, default=False),
    Column("deprecated_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
)

things = Table(
    "things",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("thing_id", String(64), nullable=False),
    Column("type_name", NAME, index=True),
    Column("attributes", JSON, nullable=False),
    Column("billing_group", NAME),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

thing_attributes = Table(
    "thing_attributes",
    metadata,
    Column("thing_seq", Integer, ForeignKey("things.seq", ondelete="CASCADE"), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("value", String(800), nullable=False),
    Index("ix_thing_attributes_name_value", "name", "value"),
)

thing_groups = Table(
    "thing_groups",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("group_id", String(64), nullable=False),
    Column("parent_seq", Integer, ForeignKey("thing_groups.seq"), index=True),
    # "/<root seq>/.../<own seq>/": descendants share the prefix, so recursive queries are one LIKE.
    Column("path", String(1024), nullable=False, index=True),
    Column("ancestors", JSON, nullable=False),
    Column("description", Text),
    Column("attributes", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # A dynamic group has all three (and no parent); its members are rows of thing_group_members
    # kept by its query. The index finds the dynamic groups without reading the static ones.
    Column("query_string", Text),
    Column("query_version", String(32)),
    Column("index_name", NAME, index=True),
)

thing_group_members = Table(
    "thing_group_members",
    metadata,
    Column("group_seq", Integer, ForeignKey("thing_groups.seq", ondelete="CASCADE"), primary_key=True),
    Column("thing_seq", Integer, ForeignKey("things.seq", ondelete="CASCADE"), primary_key=True),
    Index("ix_thing_group_members_thing_seq", "thing_seq"),
)

tags = Table(
    "tags",
    metadata,
    Column("resource_arn", String(2048), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

buckets = Table(
    "buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("versioning", String(16), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(63), ForeignKey("buckets.name"), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("sha256", String(64)),  # NULL: a delete marker
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32)),
    Column("content_type", String(256)),
    Column("metadata", JSON, nullable=False),
    Column("checksums", JSON, nullable=False),
    Column("last_modified", UtcDateTime(), nullable=False),
    Index("ix_objects_bucket_key", "bucket", "key", "seq"),
    Index("ix_objects_latest", "bucket", "is_latest", "key"),
    Index("ix_objects_sha256", "sha256"),
)

multipart_uploads = Table(
    "multipart_uploads",
    metadata,
    Column("upload_id", String(64), primary_key=True),
    Column("bucket", String(63), ForeignKey("buckets.name"), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("content_type", String(256)),
    Column("metadata", JSON, nullable=False),
    Column("initiated", UtcDateTime(), nullable=False),
)

multipart_parts = Table(
    "multipart_parts",
    metadata,
    Column("upload_id", String(64), ForeignKey("multipart_uploads.upload_id", ondelete="CASCADE"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("etag", String(80), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("last_modified", UtcDateTime(), nullable=False),
    Index("ix_multipart_parts_sha256", "sha256"),
)

streams = Table(
    "streams",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("stream_id", NAME, nullable=False, unique=True),
    Column("description", Text),
    Column("role_arn", String(2048), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# A stream's files as resolved when the stream was created or last updated: what devices are served.
stream_files = Table(
    "stream_files",
    metadata,
    Column("stream_seq", Integer, ForeignKey("streams.seq", ondelete="CASCADE"), primary_key=True),
    Column("file_id", Integer, primary_key=True),
    Column("position", Integer, nullable=False),  # order of the files as given
    Column("bucket", String(63), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("requested_version", String(1024)),  # the version as asked for; NULL: the latest
    Column("version_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Index("ix_stream_files_sha256", "sha256"),
)

# --- jobs ------------------------------------------------------------------------------------------
# A job's configuration is kept as JSON in the domain's own field names (see job_repositories.py);
# what the engine queries (status, deadlines, counts) has columns of its own.

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False, unique=True),
    Column("status", String(32), nullable=False, index=True),
    Column("target_selection", String(16), nullable=False),
    Column("document", Text, nullable=False),
    Column("document_source", String(1350)),
    Column("description", Text),
    Column("config", JSON, nullable=False),
    Column("extra", JSON, nullable=False),  # template, namespace, parameters, package versions
    Column("force_canceled", Boolean, nullable=False),
    Column("reason_code", String(128)),
    Column("comment", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime()),
    Column("notified", Integer, nullable=False),
    Column("bucket_start", UtcDateTime()),
    Column("bucket_count", Integer, nullable=False),
    # The latest execution of each thing, by status, kept with every change; targets not yet notified.
    Column("n_queued", Integer, nullable=False),
    Column("n_in_progress", Integer, nullable=False),
    Column("n_succeeded", Integer, nullable=False),
    Column("n_failed", Integer, nullable=False),
    Column("n_timed_out", Integer, nullable=False),
    Column("n_rejected", Integer, nullable=False),
    Column("n_removed", Integer, nullable=False),
    Column("n_canceled", Integer, nullable=False),
    Column("n_pending", Integer, nullable=False),
)

job_targets = Table(
    "job_targets",
    metadata,
    Column("job_seq", Integer, ForeignKey("jobs.seq", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", NAME, nullable=False),
    Column("arn", String(2048), nullable=False),
    Index("ix_job_targets_kind_name", "kind", "name"),
)

# Things a job will notify but has not yet (rollout rate, schedule, maintenance windows).
job_pending = Table(
    "job_pending",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_seq", Integer, ForeignKey("jobs.seq", ondelete="CASCADE"), nullable=False),
    Column("thing_name", NAME, nullable=False),
    Index("ix_job_pending_job_seq_seq", "job_seq", "seq"),
    Index("ix_job_pending_job_seq_thing_name", "job_seq", "thing_name", unique=True),
)

job_executions = Table(
    "job_executions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_seq", Integer, ForeignKey("jobs.seq", ondelete="CASCADE"), nullable=False),
    Column("thing_name", NAME, nullable=False),
    Column("execution_number", Integer, nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_details", JSON, nullable=False),
    Column("queued_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("last_updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("retry_attempt", Integer, nullable=False),
    Column("retry_counts", JSON, nullable=False),
    Column("force_canceled", Boolean, nullable=False),
    Column("in_progress_deadline", UtcDateTime()),
    Column("step_deadline", UtcDateTime()),
    Column("timeout_at", UtcDateTime()),  # the earlier deadline while IN_PROGRESS, else NULL
    Index("ix_job_executions_job_thing_number", "job_seq", "thing_name", "execution_number", unique=True),
    Index("ix_job_executions_job_latest_status", "job_seq", "is_latest", "status", "seq"),
    Index("ix_job_executions_job_latest", "job_seq", "is_latest", "seq"),
    Index("ix_job_executions_thing_latest_status", "thing_name", "is_latest", "status"),
    Index("ix_job_executions_timeout_at", "timeout_at"),
)

# Things whose pending executions may have changed since their last notify / notify-next push: an outbox
# written in the transaction that changes the executions, drained by gateway/notifier.py.
device_notices = Table(
    "device_notices",
    metadata,
    Column("thing_name", NAME, primary_key=True),
    Column("noted_at", UtcDateTime(), nullable=False),
    Index("ix_device_notices_noted_at", "noted_at"),
)

# The embedded MQTT broker's persistent sessions (those that outlive their connection), written through by
# storage/sql/mqtt_sessions.py so they survive a restart: the session, its subscriptions, and the QoS 1
# messages queued or in flight for it (message_id increases in queue order).
mqtt_sessions = Table(
    "mqtt_sessions",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("expiry", Integer, nullable=False),  # seconds the session outlives its connection
    Column("expires_at", UtcDateTime()),  # NULL while its client is connected
)

mqtt_subscriptions = Table(
    "mqtt_subscriptions",
    metadata,
    Column("client_id", Text, ForeignKey("mqtt_sessions.client_id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the order they were made in
    Column("topic_filter", Text, nullable=False),
    Column("qos", Integer, nullable=False),
    Column("no_local", Boolean, nullable=False),
    Column("retain_as_published", Boolean, nullable=False),
    Column("retain_handling", Integer, nullable=False),
)

mqtt_messages = Table(
    "mqtt_messages",
    metadata,
    Column("client_id", Text, ForeignKey("mqtt_sessions.client_id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", BigInteger, primary_key=True),
    Column("topic", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("retain", Boolean, nullable=False),
    Column("properties", LargeBinary, nullable=False),  # the MQTT 5 PUBLISH property block (empty: none)
)

job_templates = Table(
    "job_templates",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("template_id", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("document", Text),
    Column("document_source", String(1350)),
    Column("config", JSON, nullable=False),
    Column("extra", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

ota_updates = Table(
    "ota_updates",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ota_update_id", String(128), nullable=False, unique=True),
    Column("status", String(32), nullable=False, index=True),
    Column("description", Text),
    Column("request", JSON, nullable=False),  # targets, protocols, files, configs as asked for
    Column("job_id", String(64)),
    Column("stream_id", String(128)),
    Column("stream_created", Boolean, nullable=False),  # the stream is ours (deleteStream may remove it)
    Column("error_info", JSON),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# --- device identity -------------------------------------------------------------------------------

certificates = Table(
    "certificates",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("certificate_id", String(64), nullable=False, unique=True),  # SHA-256 of the DER bytes
    Column("pem", Text, nullable=False),
    Column("ca_certificate_id", String(64)),
    Column("status", String(32), nullable=False),
    Column("customer_version", Integer, nullable=False),
    Column("generation_id", String(64), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("not_after", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

thing_principals = Table(
    "thing_principals",
    metadata,
    Column("thing_name", NAME, primary_key=True),
    Column("principal", String(2048), primary_key=True),
    Column("exclusive", Boolean, nullable=False),
    Column("seq", Integer, nullable=False),  # attachment order, for stable pages
    Index("ix_thing_principals_principal", "principal"),
    Index("ix_thing_principals_seq", "seq"),  # attach takes max(seq) + 1: an index lookup, not a scan
)

# otahub's own CA (signs the certificates CreateKeysAndCertificate makes); one row.
authorities = Table(
    "authorities",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key_pem", Text, nullable=False),
    Column("cert_pem", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# --- managed integrations ---------------------------------------------------------------------------
# A managed thing's own thing (same name) is a row of `things`; an OTA task's job is a row of `jobs`
# (job_id = task_id). These tables keep what the managed-integrations face adds to them.

managed_things = Table(
    "managed_things",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("managed_thing_id", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("authentication_material", Text, nullable=False),
    Column("authentication_material_type", String(64), nullable=False),
    Column("provisioning_status", String(32), nullable=False),
    Column("owner", String(64), index=True),
    Column("credential_locker_id", String(64)),
    Column("serial_number", String(128)),
    Column("brand", String(128)),
    Column("model", String(128)),
    Column("name", String(128)),
    Column("classification", String(64)),
    Column("hub_network_mode", String(32)),
    Column("meta_data", JSON),
    Column("documents", JSON, nullable=False),  # capability report, schemas, capabilities, Wi-Fi setup: as given
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

ota_task_configurations = Table(
    "ota_task_configurations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("configuration_id", String(64), nullable=False, unique=True),
    Column("name", String(128)),
    Column("description", Text),
    Column("push_config", JSON, nullable=False),  # a job configuration in the domain's names (job_repositories.py)
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
)

ota_tasks = Table(
    "ota_tasks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(200), nullable=False, unique=True),
    Column("job_id", String(64), nullable=False),
    Column("description", Text),
    Column("s3_url", String(1000), nullable=False),
    Column("ota_type", String(16), nullable=False),
    Column("protocol", String(16), nullable=False),
    Column("mechanism", String(16), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("query_string", Text),
    Column("group_name", NAME),
    Column("task_configuration_id", String(64), index=True),
    Column("schedule", JSON),
    Column("retry", JSON, nullable=False),
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# --- iotwireless: destinations, LoRaWAN devices, multicast groups, FUOTA tasks ------------------------
# Keys, FPorts and group settings are JSON in the domain's own names (wireless_repositories.py); the
# columns beside them are what lookups and ListWirelessDevices' filters need.

wireless_destinations = Table(
    "wireless_destinations",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("expression_type", String(16), nullable=False),
    Column("expression", String(2048), nullable=False),
    Column("description", Text),
    Column("role_arn", String(2048), nullable=False),
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
)

wireless_devices = Table(
    "wireless_devices",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("name", String(256)),
    Column("description", Text),
    Column("destination_name", NAME, nullable=False, index=True),
    Column("dev_eui", String(16), unique=True),  # lower case: DevEui lookups ignore the case of hex digits
    Column("device_profile_id", String(256), index=True),
    Column("service_profile_id", String(256)),
    Column("thing_name", NAME, index=True),
    Column("positioning", String(16)),
    Column("lorawan", JSON, nullable=False),
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

multicast_groups = Table(
    "multicast_groups",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("group_id", String(64), nullable=False, unique=True),
    Column("name", String(256)),
    Column("description", Text),
    Column("rf_region", String(16), nullable=False),
    Column("dl_class", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("settings", JSON, nullable=False),  # participating gateways, default session parameters
    Column("session", JSON),  # the scheduled session, if any
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

multicast_group_devices = Table(
    "multicast_group_devices",
    metadata,
    Column("group_id", String(64), primary_key=True),
    Column("device_id", String(64), primary_key=True, index=True),
    Column("mc_group_id", Integer, nullable=False),
    Column("status", String(256), nullable=False),
    Column("joined", Boolean, nullable=False),
)

fuota_tasks = Table(
    "fuota_tasks",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(64), nullable=False, unique=True),
    Column("status", String(32), nullable=False, index=True),
    Column("settings", JSON, nullable=False),  # name, description, region, role, redundancy, fragments, descriptor
    Column("image_uri", String(4096), nullable=False),
    Column("image_bucket", String(255), nullable=False),
    Column("image_key", String(1024), nullable=False),
    Column("image_version_id", String(64), nullable=False),
    Column("image_size", BigInteger, nullable=False),
    Column("image_sha256", String(64), nullable=False, index=True),
    Column("start_time", UtcDateTime()),
    Column("client_token", String(64), unique=True),
    Column("request_hash", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

fuota_task_devices = Table(  # devices associated directly (direct) and every device a status was recorded for
    "fuota_task_devices",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("device_id", String(64), primary_key=True, index=True),
    Column("direct", Boolean, nullable=False),
    Column("status", String(64)),
    Column("updated_at", UtcDateTime(), nullable=False),
)

fuota_task_groups = Table(
    "fuota_task_groups",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(64), nullable=False),
    Column("group_id", String(64), nullable=False, index=True),
    Index("ix_fuota_task_groups_task_id_group_id", "task_id", "group_id", unique=True),
)
