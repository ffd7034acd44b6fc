"""Settings: one dataclass, built by the CLI from flags and OTAHUB_* variables, passed in, never global."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PORT = 4680
BLOB_STORES = ("local", "s3")
ADDRESSING_STYLES = ("path", "virtual", "auto")
DEVICE_DOWNLOADS = ("proxy", "direct")


class SettingsError(ValueError):
    """A combination of settings that cannot work; raised when Settings is built."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = "us-east-1"
    account_id: str = "123456789012"
    database_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    sqlite_synchronous: str = "FULL"
    clock_control: bool = False  # real time plus an offset that POST /_otahub/clock moves on (tests)
    virtual_clock: bool = False  # time starts at start-up and moves only when told (rehearsals, tests)
    engine_interval: float = 1.0  # seconds between rollout engine ticks on a real-time clock
    mqtt_plain_port: int | None = None  # plain-TCP MQTT device endpoint (local use; the client id names the thing)
    mqtt_port: int | None = None  # MQTT over TLS; a device is the things its client certificate is attached to
    mqtt_broker_url: str | None = None  # external broker mode: mqtt://[user:password@]host[:port]
    mqtt_share_group: str = "otahub"  # shared-subscription group of the replicas ("": plain subscriptions)
    blob_store: str = "local"  # "local": <data dir>/blobs; "s3": an external S3-compatible bucket
    blob_s3_bucket: str | None = None
    blob_s3_prefix: str = ""
    blob_s3_endpoint_url: str | None = None  # None: AWS S3 itself
    blob_s3_region: str | None = None  # None: boto3's chain (AWS_REGION, config file)
    blob_s3_access_key_id: str | None = None  # None: boto3's credential chain
    blob_s3_secret_access_key: str | None = None
    blob_s3_addressing_style: str = "auto"
    device_downloads: str = "proxy"  # "proxy": through otahub; "direct": presigned URLs of the blob store

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise SettingsError(problem)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'otahub.db').resolve()}"


def _problem(settings: Settings) -> str | None:
    embedded = settings.mqtt_port is not None or settings.mqtt_plain_port is not None
    if settings.mqtt_broker_url is not None and embedded:
        return ("--mqtt-broker-url (an external broker) and --mqtt-port/--mqtt-plain-port (the embedded one) "
                "exclude each other")
    url = urlsplit(settings.mqtt_broker_url) if settings.mqtt_broker_url is not None else None
    if url is not None and (url.scheme != "mqtt" or not url.hostname):
        return f"--mqtt-broker-url must look like mqtt://[user:password@]host[:port], not {settings.mqtt_broker_url!r}"
    if bool(settings.access_key_id) != bool(settings.secret_access_key):
        return "--access-key-id and --secret-access-key go together"
    choices = [
        ("--blob-store", settings.blob_store, BLOB_STORES),
        ("--blob-s3-addressing-style", settings.blob_s3_addressing_style, ADDRESSING_STYLES),
        ("--device-downloads", settings.device_downloads, DEVICE_DOWNLOADS),
    ]
    for option, value, allowed in choices:
        if value not in allowed:
            return f"{option} must be one of {', '.join(allowed)}, not {value!r}"
    if settings.blob_store == "s3":
        return _s3_problem(settings)
    if settings.device_downloads == "direct":
        return "--device-downloads direct needs --blob-store s3 (presigned URLs of the external store)"
    if _s3_options_given(settings):
        return "--blob-s3-* options are set but --blob-store is local; add --blob-store s3 or drop them"
    return None


def _s3_problem(settings: Settings) -> str | None:
    if not settings.blob_s3_bucket:
        return "--blob-store s3 needs --blob-s3-bucket"
    if bool(settings.blob_s3_access_key_id) != bool(settings.blob_s3_secret_access_key):
        return "--blob-s3-access-key-id and --blob-s3-secret-access-key go together"
    endpoint = settings.blob_s3_endpoint_url
    if endpoint and not endpoint.startswith(("http://", "https://")):
        return f"--blob-s3-endpoint-url must be an http:// or https:// URL, not {endpoint!r}"
    return None


def _s3_options_given(settings: Settings) -> bool:
    return any([
        settings.blob_s3_bucket, settings.blob_s3_prefix, settings.blob_s3_endpoint_url, settings.blob_s3_region,
        settings.blob_s3_access_key_id, settings.blob_s3_secret_access_key,
        settings.blob_s3_addressing_style != "auto",
    ])
