"""Composition root: build_app(settings) wires storage, services and adapters together."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from otahub.aws.asgi import AwsAsgiApp
from otahub.aws.dispatch import HandlerRegistry
from otahub.aws.iot import IotApi
from otahub.aws.iot_certificates import IotCertificatesApi
from otahub.aws.iot_fuota import IotFuotaApi
from otahub.aws.iot_jobs import IotJobsApi
from otahub.aws.iot_jobs_data import IotJobsDataApi
from otahub.aws.iot_ota import IotOtaApi
from otahub.aws.iot_streams import IotStreamsApi
from otahub.aws.iot_wireless import IotWirelessApi
from otahub.aws.managed_integrations import ManagedIntegrationsApi
from otahub.aws.pipeline import AwsPipeline, PipelineSettings
from otahub.aws.presign import DirectUrl, Presigner
from otahub.aws.s3 import CODE_ALIASES as S3_CODES
from otahub.aws.s3 import S3Api
from otahub.aws.s3 import map_error as s3_errors
from otahub.config import Settings
from otahub.domain.clock import AdjustableClock, Clock, FakeClock, SystemClock
from otahub.domain.documents import ObjectRef
from otahub.domain.errors import NotFound
from otahub.domain.ids import Arns
from otahub.domain.objects import BlobRef, Conditions
from otahub.domain.streams import StreamFile
from otahub.gateway.device_endpoint import DeviceAuthenticator, DeviceTopics
from otahub.gateway.external import BrokerAddress, ExternalBroker
from otahub.gateway.jobs import JobsTopics
from otahub.gateway.lorawan.simulated import SimulatedNetwork
from otahub.gateway.mqtt.broker import Broker
from otahub.gateway.notifier import Notifier
from otahub.gateway.streams import StreamsTopics
from otahub.services.certificates import CertificateService
from otahub.services.credentials import CredentialStore, StartupCredentials
from otahub.services.device_jobs import DeviceJobs, DeviceView
from otahub.services.fuota import FuotaService
from otahub.services.fuota_engine import FuotaEngine
from otahub.services.jobs import JobService
from otahub.services.managed_things import ManagedThingService
from otahub.services.objects import ObjectStore
from otahub.services.ota import OtaService
from otahub.services.ota_tasks import OtaTaskService
from otahub.services.rollout import RolloutEngine
from otahub.services.streams import StreamService
from otahub.services.tags import TagService
from otahub.services.things import ThingRegistry
from otahub.services.timekeeping import Engines, EngineTicker, TimeDriver
from otahub.services.wireless import WirelessService
from otahub.services.wireless_tags import WirelessTags
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.blobs.s3 import S3BlobOptions, S3BlobStore
from otahub.storage.sql.mqtt_sessions import SqlMqttSessions
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

NOTICE_INTERVAL = 0.5  # seconds between drains of the device notice outbox


@dataclass
class Endpoints:
    """Where otahub is reached; the CLI sets ``http`` once its socket is bound."""

    http: str = "http://127.0.0.1:4680"
    mqtt_port: int | None = None  # TLS
    mqtt_plain_port: int | None = None
    notifier: Notifier | None = None  # pushes notify / notify-next, with the MQTT endpoint
    pushes: asyncio.Task[None] | None = None  # the notify / notify-next pusher, while MQTT runs


@dataclass
class App:
    asgi: AwsAsgiApp
    engine: Engine
    credentials: StartupCredentials
    rollout: RolloutEngine
    endpoints: Endpoints


def _clocks(settings: Settings, given: Clock | None) -> tuple[Clock, AdjustableClock | FakeClock | None]:
    """The service clock, and the same clock when clients may move it (virtual or offset)."""
    if given is not None:
        return given, None
    if settings.virtual_clock:
        virtual = FakeClock(SystemClock().now())
        return virtual, virtual
    if settings.clock_control:
        offset = AdjustableClock()
        return offset, offset
    return SystemClock(), None


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    clock, movable = _clocks(settings, clock)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url, settings.sqlite_synchronous)
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    arns = Arns(settings.region, settings.account_id)

    store = CredentialStore(uow)
    configured = None
    if settings.access_key_id and settings.secret_access_key:
        configured = (settings.access_key_id, settings.secret_access_key)
    startup_credentials = store.load(configured)

    registry = HandlerRegistry()
    things = ThingRegistry(uow, clock, arns)
    registry.add("iot", IotApi(things, TagService(uow, arns), arns).handlers())
    blobs = _blob_store(settings)
    objects = ObjectStore(uow, blobs, clock)
    streams = StreamService(uow, objects, clock, arns)
    registry.add("iot", IotStreamsApi(streams, arns).handlers())
    registry.add("s3", S3Api(objects).handlers(), error_mapper=s3_errors, code_aliases=S3_CODES)

    jobs = JobService(uow, objects, clock, arns)
    things.listeners.append(jobs)
    rollout = RolloutEngine(uow, clock)
    presigner = Presigner(startup_credentials.access_key_id, startup_credentials.secret_access_key, settings.region,
                          _direct_urls(objects, blobs) if settings.device_downloads == "direct" else None)
    registry.add("iot", IotJobsApi(jobs, arns).handlers())
    registry.add("iot-jobs-data", IotJobsDataApi(DeviceJobs(uow, clock), presigner).handlers())
    ota = OtaService(uow, objects, streams, jobs, clock, arns, lambda doc: json.dumps(doc, separators=(",", ":")))
    registry.add("iot", IotOtaApi(ota, arns).handlers())
    managed = ManagedIntegrationsApi(ManagedThingService(uow, clock, arns, things, jobs),
                                     OtaTaskService(uow, jobs, things, objects, clock, arns), arns)
    registry.add("iot-managed-integrations", managed.handlers())
    wireless, fuota = WirelessService(uow, clock, arns), FuotaService(uow, objects, clock, arns)
    registry.add("iotwireless", IotWirelessApi(wireless, WirelessTags(uow, arns), arns).handlers())
    registry.add("iotwireless", IotFuotaApi(fuota, arns).handlers())
    sessions_engine = FuotaEngine(fuota, wireless, SimulatedNetwork(), lambda ref: b"".join(blobs.read(ref)), clock)
    certificates = CertificateService(uow, clock, arns)
    registry.add("iot", IotCertificatesApi(certificates, arns).handlers())
    endpoints = Endpoints()
    broker = None
    if settings.mqtt_plain_port is not None or settings.mqtt_port is not None:
        broker = _device_broker(DeviceJobs(uow, clock), streams, blobs, certificates, presigner, endpoints, clock,
                                plain_allowed=settings.mqtt_plain_port is not None,
                                sessions=SqlMqttSessions(uow, SystemClock()))
    external = None
    if settings.mqtt_broker_url is not None:
        external = _external_broker(BrokerAddress.parse(settings.mqtt_broker_url), DeviceJobs(uow, clock), streams,
                                    blobs, presigner, endpoints, clock, settings.mqtt_share_group)

    pipeline = AwsPipeline(
        PipelineSettings(settings.region, settings.account_id, settings.max_body_bytes),
        registry, store.secret_for, clock, wall_clock=SystemClock() if settings.virtual_clock else None,
    )
    workers = 0 if engine.dialect.name == "sqlite" else 16  # SQLite is local and single-writer: no pool
    engines = Engines(rollout, sessions_engine)
    driver = TimeDriver(movable, engines) if movable is not None else None
    ticker = None if settings.virtual_clock else EngineTicker(engines, settings.engine_interval)
    asgi = AwsAsgiApp(
        pipeline, workers=workers, clock_control=driver, spool=blobs.spool,
        on_startup=lambda: _start(ota, ticker, broker, external, settings, endpoints, certificates),
        on_shutdown=lambda: _stop(ticker, broker, external, endpoints),
    )
    return App(asgi, engine, startup_credentials, rollout, endpoints)


def _direct_urls(objects: ObjectStore, blobs: LocalBlobStore | S3BlobStore) -> DirectUrl:
    """Presigned URLs of the external store itself, so devices download without passing through otahub."""
    assert isinstance(blobs, S3BlobStore)  # Settings allows direct downloads only with --blob-store s3

    def url(ref: ObjectRef, expires: int) -> str:
        version = objects.head_object(ref.bucket, ref.key, ref.version, Conditions())
        if version.blob is None:
            raise NotFound("Object", f"s3://{ref.bucket}/{ref.key}")
        return blobs.presigned_url(version.blob, expires)

    return url


async def _start(ota: OtaService, ticker: EngineTicker | None, broker: Broker | None,
                 external: ExternalBroker | None, settings: Settings, endpoints: Endpoints,
                 certificates: CertificateService) -> None:
    ota.resume_unfinished()  # updates a crash left half-way through their pipeline
    if ticker is not None:
        ticker.start()
    if external is not None:
        await asyncio.to_thread(external.start)
        address = external.address
        sharing = f"shared group {external.group!r}" if external.group else "plain subscriptions"
        print(f"  mqtt (external broker) answering the jobs and streams topics through {address.host}:{address.port}"
              f" ({sharing})", flush=True)
    if broker is None:
        return
    if settings.mqtt_port is not None:
        context, ca_file = _device_tls(certificates, settings)
        endpoints.mqtt_port = await broker.start(settings.host, settings.mqtt_port, ssl=context)
        print(f"  mqtt (TLS, client certificates) listening on {settings.host}:{endpoints.mqtt_port}; "
              f"devices trust {ca_file}", flush=True)
    if settings.mqtt_plain_port is not None:
        port = endpoints.mqtt_plain_port = await broker.start(settings.host, settings.mqtt_plain_port)
        print(f"  mqtt (plain TCP, the client id names the thing) listening on {settings.host}:{port}", flush=True)
    if endpoints.notifier is not None:
        endpoints.pushes = asyncio.get_running_loop().create_task(_push_notices(endpoints.notifier))


async def _push_notices(notifier: Notifier) -> None:
    """notify / notify-next for changes made by the control plane or the engine (a device's own
    publishes push at once); drained on the event loop, where the broker lives."""
    while True:
        await asyncio.sleep(NOTICE_INTERVAL)
        try:
            while notifier.drain() > 0:
                await asyncio.sleep(0)
        except Exception:  # a failed drain is retried on the next round; the pusher must live on
            logging.getLogger("otahub.mqtt").exception("pushing job notices failed")


def _device_tls(certificates: CertificateService, settings: Settings) -> tuple[ssl.SSLContext, Path]:
    """The device port's TLS: a server certificate from otahub's CA, client certificates required.

    Every known device certificate is a trust anchor (partial chains allowed), so certificates
    registered without their CA verify too; whether one may connect (ACTIVE, attached) is decided at
    CONNECT. Certificates made or registered later are added to the trust store as they come.
    """
    folder = settings.data_dir / "tls"
    folder.mkdir(mode=0o700, exist_ok=True)
    cert, key = certificates.server_identity([settings.host, "localhost", "127.0.0.1"])
    cert_file, key_file, ca_file = folder / "server.pem", folder / "server.key", folder / "device-ca.pem"
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    cert_file.write_text(cert)
    ca_file.write_text(certificates.authority().cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=certificates.trust_bundle())
    certificates.on_new.append(lambda pem: context.load_verify_locations(cadata=pem))
    return context, ca_file


async def _stop(ticker: EngineTicker | None, broker: Broker | None, external: ExternalBroker | None,
                endpoints: Endpoints) -> None:
    if ticker is not None:
        ticker.stop()
    if external is not None:
        await asyncio.to_thread(external.stop)
    if endpoints.pushes is not None:
        endpoints.pushes.cancel()
    if broker is not None:
        await broker.stop()


class _BlobBlocks:
    """Stream blocks read from the blob store, one block at a time."""

    def __init__(self, blobs: LocalBlobStore | S3BlobStore) -> None:
        self.blobs = blobs

    def read(self, file: StreamFile, start: int, end: int) -> bytes:
        return b"".join(self.blobs.read(BlobRef(file.sha256, file.size, ""), start, end))


def _device_broker(devices: DeviceJobs, streams: StreamService, blobs: LocalBlobStore | S3BlobStore,
                   certificates: CertificateService, presigner: Presigner, endpoints: Endpoints,
                   clock: Clock, *, plain_allowed: bool, sessions: SqlMqttSessions | None = None) -> Broker:
    """otahub's own MQTT device endpoint: the jobs and streams topics answered by otahub itself; persistent
    sessions kept in ``sessions`` (expiry deadlines in wall time, as the broker's timers) survive restarts."""

    def document(view: DeviceView) -> str:
        return presigner.substitute(view.job.document, endpoints.http, clock.now(), view.job.config.presigned_expiry)

    topics = DeviceTopics(JobsTopics(devices, document, clock), StreamsTopics(streams, _BlobBlocks(blobs), clock))
    broker = Broker(DeviceAuthenticator(certificates, plain_allowed=plain_allowed), topics, store=sessions)
    notifier = Notifier(devices, lambda limit: _take_notices(devices, limit), broker.publish, document, clock)
    topics.notifier = endpoints.notifier = notifier
    return broker


def _external_broker(address: BrokerAddress, devices: DeviceJobs, streams: StreamService,
                     blobs: LocalBlobStore | S3BlobStore, presigner: Presigner, endpoints: Endpoints,
                     clock: Clock, group: str) -> ExternalBroker:
    """otahub as a privileged client of an external broker, answering the same topics through it."""

    def document(view: DeviceView) -> str:
        return presigner.substitute(view.job.document, endpoints.http, clock.now(), view.job.config.presigned_expiry)

    external = ExternalBroker(address, JobsTopics(devices, document, clock),
                              StreamsTopics(streams, _BlobBlocks(blobs), clock), group=group)
    external.notifier = Notifier(devices, lambda limit: _take_notices(devices, limit), external.publish, document,
                                 clock)
    return external


def _take_notices(devices: DeviceJobs, limit: int) -> list[str]:
    with devices.uow() as tx:  # a read first: an idle outbox takes no write lock twice a second
        if not tx.jobs.has_notices():
            return []
    with devices.uow(write=True) as tx:
        return tx.jobs.take_notices(limit)


def _blob_store(settings: Settings) -> LocalBlobStore | S3BlobStore:
    """The local directory, or an external S3 bucket (checked now, so a wrong one fails at start-up)."""
    root = settings.data_dir / "blobs"
    if settings.blob_store != "s3":
        return LocalBlobStore(root)
    assert settings.blob_s3_bucket is not None  # Settings refuses s3 without a bucket
    options = S3BlobOptions(
        bucket=settings.blob_s3_bucket,
        prefix=settings.blob_s3_prefix,
        endpoint_url=settings.blob_s3_endpoint_url,
        region=settings.blob_s3_region,
        access_key_id=settings.blob_s3_access_key_id,
        secret_access_key=settings.blob_s3_secret_access_key,
        addressing_style=settings.blob_s3_addressing_style,
    )
    store = S3BlobStore(root / "tmp", options)
    store.check()
    return store
