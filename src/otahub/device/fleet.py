"""A simulated fleet: many reference agents (``agent.py``) in one asyncio loop, each with a fate from a ``Mix``.

Devices talk to otahub over HTTP (iot-jobs-data, presigned-URL downloads) or over MQTT (the jobs topics, and
the document's stream when it offers one, else its HTTP URL). ``Mix`` decides per device, from a SHA-256 of
the seed and the thing name (so a device's fate is the same on every run and on every machine), whether it
succeeds, fails its self-test, or rejects the job, whether it loses its MQTT connection half-way through a
stream download (and resumes), and how long it waits before each call to the server. The failures go
through the agent's own paths, unchanged::

    succeed  the new image boots as the running version's next build and passes its self-test -> SUCCEEDED
    fail     same boot, the self-test returns False -> rolled back to the old slot -> FAILED, rejected: 0x00000000
    reject   the new image boots reporting the running version (OtaErrSameFirmwareVersion) -> rolled back
             -> FAILED, rejected: 0x00000010

``Fleet.run`` runs every device as a task. Each has its slots under ``work_dir/<thing>`` and calls
``Agent.run_once`` until it gets an outcome or its rounds run out, waiting up to ``poll_seconds`` for work
between empty rounds (over MQTT a notify-next ends the wait early). Every wait is bounded: the rounds, the
MQTT request timeout, the boto3 connect and read timeouts and the downloaders' timeouts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from otahub.device.agent import ABANDONED, Agent, JobsTransport
from otahub.device.document import Execution
from otahub.device.download import DEFAULT_BLOCK_SIZE, RangedDownloader
from otahub.device.http_jobs import HttpJobs
from otahub.device.mqtt_jobs import MqttJobs
from otahub.device.mqtt_link import MqttEndpoint, MqttLink
from otahub.device.slots import SlotStore
from otahub.device.sources import FileSource, HttpSource
from otahub.device.status import AppVersion, Details
from otahub.device.stream_download import StreamSource

log = logging.getLogger(__name__)

CONNECTS_AT_ONCE = 64
MAX_LATENCY_MS = 60_000
FACTORY_VERSION = AppVersion(1, 0, 0)
NO_JOB, ERROR = "NO_JOB", "ERROR"  # a device's status when it got no outcome from the agent
Sleep = Callable[[float], Awaitable[None]]
ResultHook = Callable[["DeviceResult"], None]


class Fate(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"  # the self-test fails
    REJECT = "reject"  # the new image reports the running version


@dataclass(frozen=True, slots=True)
class Plan:
    fate: Fate
    latency_ms: int  # before each call to the server
    drops: bool = False  # loses its MQTT connection half-way through a stream download, once


@dataclass(frozen=True, slots=True)
class Mix:
    """How a fleet behaves: shares of failing and rejecting devices and a latency range, decided per thing."""

    failure_rate: float = 0.0
    reject_rate: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    seed: int = 0
    drop_rate: float = 0.0  # share of devices that lose the connection mid-download (MQTT streams)

    def __post_init__(self) -> None:
        if not all(0.0 <= rate <= 1.0 for rate in (self.failure_rate, self.reject_rate, self.drop_rate)):
            raise ValueError("failure_rate, reject_rate and drop_rate must be between 0 and 1")
        if self.failure_rate + self.reject_rate > 1.0:
            raise ValueError("failure_rate + reject_rate must not exceed 1")
        low, high = self.latency_ms
        if not 0 <= low <= high <= MAX_LATENCY_MS:
            raise ValueError(f"latency_ms must be a range 0 <= low <= high <= {MAX_LATENCY_MS}")

    def plan(self, thing: str) -> Plan:
        """The same thing and seed give the same plan: one uniform draw picks the fate, another the latency."""
        digest = hashlib.sha256(f"{self.seed}\0{thing}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
        if draw < self.reject_rate:
            fate = Fate.REJECT
        elif draw < self.reject_rate + self.failure_rate:
            fate = Fate.FAIL
        else:
            fate = Fate.SUCCEED
        low, high = self.latency_ms
        drops = int.from_bytes(digest[16:24], "big") / 2**64 < self.drop_rate
        return Plan(fate, low + int.from_bytes(digest[8:16], "big") % (high - low + 1), drops)


@dataclass(frozen=True, slots=True)
class DeviceResult:
    thing: str
    fate: Fate
    status: str  # SUCCEEDED | FAILED (the agent's outcome) | NO_JOB | ERROR
    rounds: int
    job_id: str = ""
    reason: str = ""  # the outcome's statusDetails reason
    message: str = ""
    connects: int = 0  # MQTT connections the device made (more than 1 after a drop)
    abandoned: int = 0  # jobs the service took away while the device ran them (canceled, timed out)


@dataclass(frozen=True, slots=True)
class Summary:
    results: tuple[DeviceResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Devices per final status."""
        return dict(sorted(Counter(result.status for result in self.results).items()))


class _Delayed:
    """A JobsTransport that waits a fixed time before every call, as a slow link would."""

    def __init__(self, inner: JobsTransport, seconds: float, sleep: Sleep, calls: Counter[str]) -> None:
        self.inner, self.seconds, self.sleep, self.calls = inner, seconds, sleep, calls

    async def _wait(self, call: str) -> None:
        self.calls[call] += 1
        if self.seconds > 0:
            await self.sleep(self.seconds)

    async def start_next(self) -> Execution | None:
        await self._wait("start_next")
        return await self.inner.start_next()

    async def describe(self, job_id: str) -> Execution:
        await self._wait("describe")
        return await self.inner.describe(job_id)

    async def update(self, job_id: str, job_status: str, details: Details,
                     execution_number: int | None = None) -> None:
        await self._wait("update")
        await self.inner.update(job_id, job_status, details, execution_number)

    async def wait_for_work(self, seconds: float) -> None:
        await self.inner.wait_for_work(seconds)


@dataclass(frozen=True, slots=True)
class HttpAccess:
    """otahub's HTTP endpoint and the SigV4 credentials of the iot-jobs-data calls (None: boto3's chain)."""

    endpoint: str
    region: str = "us-east-1"
    key_id: str | None = None
    secret: str | None = None


@dataclass
class Fleet:
    """``mqtt`` set: devices take their jobs over MQTT and prefer the stream; else over HTTP (``http``)."""

    things: list[str]
    work_dir: Path
    signer_certs_dir: Path
    mix: Mix
    http: HttpAccess | None = None
    mqtt: MqttEndpoint | None = None
    version: AppVersion = FACTORY_VERSION
    block_size: int = DEFAULT_BLOCK_SIZE
    timeout: float = 30.0
    sleep: Sleep = asyncio.sleep
    on_result: ResultHook | None = None
    calls: Counter[str] = field(default_factory=Counter)  # jobs calls the devices made, by kind
    _gate: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.things)) != len(self.things):
            raise ValueError("thing names must be unique")
        if self.http is None and self.mqtt is None:
            raise ValueError("a fleet needs an HTTP endpoint, an MQTT endpoint or both")

    def run_sync(self, rounds: int, poll_seconds: float) -> Summary:
        return asyncio.run(self.run(rounds, poll_seconds))

    async def run(self, rounds: int, poll_seconds: float) -> Summary:
        """Every device to an outcome or to the end of its ``rounds``; results in the order of ``things``."""
        if rounds < 1 or poll_seconds < 0:
            raise ValueError("rounds must be at least 1 and poll_seconds not negative")
        self._gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        client = self._client() if self.mqtt is None else None  # one boto3 client, thread-safe, for all
        results = await asyncio.gather(*(self._device(client, thing, rounds, poll_seconds) for thing in self.things))
        return Summary(tuple(results))

    def _client(self) -> Any:
        assert self.http is not None
        config = Config(connect_timeout=self.timeout, read_timeout=self.timeout, max_pool_connections=32,
                        retries={"max_attempts": 3, "mode": "standard"})
        return boto3.client("iot-jobs-data", endpoint_url=self.http.endpoint, region_name=self.http.region,
                            aws_access_key_id=self.http.key_id, aws_secret_access_key=self.http.secret, config=config)

    def _agent(self, client: Any, thing: str, plan: Plan) -> tuple[Agent, MqttLink | None]:
        slots = self.work_dir / thing
        store = SlotStore.open(slots, self.version)
        if not store.active_image().exists():
            store.provision(f"simulated factory image of {thing}\n".encode(), self.version)

        def boot(_image: Path) -> AppVersion:
            previous = store.state.previous
            running = (store.version(previous) if previous else None) or self.version
            return running if plan.fate is Fate.REJECT else running.next_build()

        link: MqttLink | None = None
        sources: list[FileSource] = []
        jobs: JobsTransport
        if self.mqtt is not None:
            link = MqttLink(self.mqtt, thing, gate=self._gate)
            jobs = MqttJobs(link)
            sources.append(StreamSource(link, slots / "stream", block_size=max(256, self.block_size),
                                        on_received=_dropper(link) if plan.drops else None))
        else:
            jobs = HttpJobs(client, thing)
        downloader = RangedDownloader(slots / "download", block_size=self.block_size, timeout=self.timeout)
        sources.append(HttpSource(downloader))
        transport = _Delayed(jobs, plan.latency_ms / 1000, self.sleep, self.calls)
        agent = Agent(transport, store, self.signer_certs_dir, boot=boot,
                      self_test=lambda _image: plan.fate is not Fate.FAIL, sources=sources, version=self.version)
        return agent, link

    async def _device(self, client: Any, thing: str, rounds: int, poll_seconds: float) -> DeviceResult:
        plan = self.mix.plan(thing)
        try:
            agent, link = self._agent(client, thing, plan)
        except Exception as exc:
            log.exception("%s: the device did not start", thing)
            return self._done(DeviceResult(thing, plan.fate, ERROR, 0, message=f"{type(exc).__name__}: {exc}"))
        try:
            result = await self._rounds(agent, thing, plan, rounds, poll_seconds)
        finally:
            if link is not None:
                await link.close()
        return self._done(replace(result, connects=link.connects) if link is not None else result)

    async def _rounds(self, agent: Agent, thing: str, plan: Plan, rounds: int, poll_seconds: float) -> DeviceResult:
        """Rounds until an outcome; a job taken away (ABANDONED) is counted and the device waits for the next."""
        problem, abandoned = "", 0
        for done in range(1, rounds + 1):
            try:
                outcome = await agent.run_once()
            except Exception as exc:  # a real device retries on its next poll; durable state lets it resume
                log.warning("%s: round %d failed: %s", thing, done, exc)
                outcome, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                problem = ""
            if outcome is not None and outcome.status == ABANDONED:
                abandoned += 1
            elif outcome is not None:
                return DeviceResult(thing, plan.fate, outcome.status, done, outcome.job_id,
                                    outcome.details.get("reason", ""), outcome.message, abandoned=abandoned)
            if done < rounds:
                try:
                    await agent.transport.wait_for_work(poll_seconds)
                except Exception as exc:
                    log.warning("%s: waiting for work failed: %s", thing, exc)
                    await self.sleep(poll_seconds)
        return DeviceResult(thing, plan.fate, ERROR if problem else NO_JOB, rounds, message=problem,
                            abandoned=abandoned)

    def _done(self, result: DeviceResult) -> DeviceResult:
        if self.on_result is not None:
            self.on_result(result)
        return result


def _dropper(link: MqttLink) -> Callable[[int], Awaitable[None]]:
    """A hook for StreamSource.on_received: drop the connection once, after the first request's blocks."""
    dropped = False

    async def maybe_drop(_received: int) -> None:
        nonlocal dropped
        if not dropped:
            dropped = True
            await link.drop()

    return maybe_drop
