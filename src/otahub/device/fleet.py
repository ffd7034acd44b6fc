"""A simulated fleet: many reference agents (``agent.py``) over iot-jobs-data, each with a fate from a ``Mix``.

``Mix`` decides per device, from a SHA-256 of the seed and the thing name (so a device's fate is the same on
every run and on every machine), whether it succeeds, fails its self-test, or rejects the job, and how long it
waits before each call to the server. The failures go through the agent's own paths, unchanged::

    succeed  the new image boots as the running version's next build and passes its self-test -> SUCCEEDED
    fail     same boot, the self-test returns False -> rolled back to the old slot -> FAILED, rejected: 0x00000000
    reject   the new image boots reporting the running version (OtaErrSameFirmwareVersion) -> rolled back
             -> FAILED, rejected: 0x00000010

``Fleet.run`` runs the devices on a bounded thread pool. Each has its slots under ``work_dir/<thing>`` and calls
``Agent.run_once`` until it gets an outcome or its rounds run out, sleeping ``poll_seconds`` between empty
rounds. Every wait is bounded: the rounds, the boto3 connect and read timeouts and the downloader's timeout.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from otahub.device.agent import Agent, JobsTransport
from otahub.device.document import Execution
from otahub.device.download import DEFAULT_BLOCK_SIZE, RangedDownloader
from otahub.device.http_jobs import HttpJobs
from otahub.device.slots import SlotStore
from otahub.device.status import AppVersion, Details

log = logging.getLogger(__name__)

MAX_WORKERS = 32
MAX_LATENCY_MS = 60_000
FACTORY_VERSION = AppVersion(1, 0, 0)
NO_JOB, ERROR = "NO_JOB", "ERROR"  # a device's status when it got no outcome from the agent
Sleep = Callable[[float], None]


class Fate(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"  # the self-test fails
    REJECT = "reject"  # the new image reports the running version


@dataclass(frozen=True, slots=True)
class Plan:
    fate: Fate
    latency_ms: int  # before each call to the server


@dataclass(frozen=True, slots=True)
class Mix:
    """How a fleet behaves: shares of failing and rejecting devices and a latency range, decided per thing."""

    failure_rate: float = 0.0
    reject_rate: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0.0 <= self.failure_rate <= 1.0 and 0.0 <= self.reject_rate <= 1.0):
            raise ValueError("failure_rate and reject_rate must be between 0 and 1")
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
        return Plan(fate, low + int.from_bytes(digest[8:16], "big") % (high - low + 1))


@dataclass(frozen=True, slots=True)
class DeviceResult:
    thing: str
    fate: Fate
    status: str  # SUCCEEDED | FAILED (the agent's outcome) | NO_JOB | ERROR
    rounds: int
    job_id: str = ""
    reason: str = ""  # the outcome's statusDetails reason
    message: str = ""


@dataclass(frozen=True, slots=True)
class Summary:
    results: tuple[DeviceResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Devices per final status."""
        return dict(sorted(Counter(result.status for result in self.results).items()))


class _Delayed:
    """A JobsTransport that waits a fixed time before every call, as a slow link would."""

    def __init__(self, inner: JobsTransport, seconds: float, sleep: Sleep) -> None:
        self.inner, self.seconds, self.sleep = inner, seconds, sleep

    def _wait(self) -> None:
        if self.seconds > 0:
            self.sleep(self.seconds)

    def start_next(self) -> Execution | None:
        self._wait()
        return self.inner.start_next()

    def describe(self, job_id: str) -> Execution:
        self._wait()
        return self.inner.describe(job_id)

    def update(self, job_id: str, job_status: str, details: Details) -> None:
        self._wait()
        self.inner.update(job_id, job_status, details)


class Fleet:
    def __init__(self, endpoint: str, region: str, key_id: str | None, secret: str | None, things: list[str],
                 work_dir: Path, signer_certs_dir: Path, mix: Mix, *, version: AppVersion = FACTORY_VERSION,
                 block_size: int = DEFAULT_BLOCK_SIZE, timeout: float = 30.0, sleep: Sleep = time.sleep) -> None:
        if len(set(things)) != len(things):
            raise ValueError("thing names must be unique")
        self.endpoint, self.region, self.key_id, self.secret = endpoint, region, key_id, secret
        self.things = list(things)
        self.work_dir, self.signer_certs_dir, self.mix = work_dir, signer_certs_dir, mix
        self.version, self.block_size, self.timeout, self.sleep = version, block_size, timeout, sleep
        self.workers = max(1, min(len(self.things), MAX_WORKERS))

    def run(self, rounds: int, poll_seconds: float) -> Summary:
        """Every device to an outcome or to the end of its ``rounds``; results in the order of ``things``."""
        if rounds < 1 or poll_seconds < 0:
            raise ValueError("rounds must be at least 1 and poll_seconds not negative")
        client = self._client()  # one client, thread-safe, shared by the devices
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="device") as pool:
            futures = [pool.submit(self._device, client, thing, rounds, poll_seconds) for thing in self.things]
            return Summary(tuple(future.result() for future in futures))

    def _client(self) -> Any:
        config = Config(connect_timeout=self.timeout, read_timeout=self.timeout, max_pool_connections=self.workers,
                        retries={"max_attempts": 3, "mode": "standard"})
        return boto3.client("iot-jobs-data", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret, config=config)

    def _agent(self, client: Any, thing: str, plan: Plan) -> Agent:
        slots = self.work_dir / thing
        store = SlotStore.open(slots, self.version)
        if not store.active_image().exists():
            store.provision(f"simulated factory image of {thing}\n".encode(), self.version)

        def boot(_image: Path) -> AppVersion:
            previous = store.state.previous
            running = (store.version(previous) if previous else None) or self.version
            return running if plan.fate is Fate.REJECT else running.next_build()

        transport = _Delayed(HttpJobs(client, thing), plan.latency_ms / 1000, self.sleep)
        downloader = RangedDownloader(slots / "download", block_size=self.block_size, timeout=self.timeout)
        return Agent(transport, store, self.signer_certs_dir, boot=boot,
                     self_test=lambda _image: plan.fate is not Fate.FAIL, downloader=downloader, version=self.version)

    def _device(self, client: Any, thing: str, rounds: int, poll_seconds: float) -> DeviceResult:
        plan = self.mix.plan(thing)
        try:
            agent = self._agent(client, thing, plan)
        except Exception as exc:
            log.exception("%s: the device did not start", thing)
            return DeviceResult(thing, plan.fate, ERROR, 0, message=f"{type(exc).__name__}: {exc}")
        problem = ""
        for done in range(1, rounds + 1):
            try:
                outcome = agent.run_once()
            except Exception as exc:  # a real device retries on its next poll; durable state lets it resume
                log.warning("%s: round %d failed: %s", thing, done, exc)
                outcome, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                problem = ""
            if outcome is not None:
                return DeviceResult(thing, plan.fate, outcome.status, done, outcome.job_id,
                                    outcome.details.get("reason", ""), outcome.message)
            if done < rounds:
                self.sleep(poll_seconds)
        return DeviceResult(thing, plan.fate, ERROR if problem else NO_JOB, rounds, message=problem)
